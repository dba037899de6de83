# The document's files other than drop-ins (the sysctl file), as file
# items: the document gives each one's content and mode.
files = {
    path: dict(item)
    for path, item in node.metadata.get("left4me/files", {}).items()
}
