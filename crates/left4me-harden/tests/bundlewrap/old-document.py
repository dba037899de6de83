    doc = document(metadata.get("left4me-harden"))
    # A negative control: the bind reset put back where the document had
    # it before the fix, on BindReadOnlyPaths= (which sorts after
    # BindPaths=).
    for unit in doc["systemd"]["units"].values():
        keys = unit["Service"]
        binds = keys.get("BindPaths")
        if isinstance(binds, list) and binds[0] == "":
            rest = binds[1:]
            keys["BindPaths"] = rest[0] if len(rest) == 1 else rest
            read_only = keys.get("BindReadOnlyPaths", [])
            if not isinstance(read_only, list):
                read_only = [read_only]
            keys["BindReadOnlyPaths"] = [""] + read_only
