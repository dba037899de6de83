# One node. The test writes node.json beside this file: the node's name,
# its bundles and its metadata (which left4me-harden binary to run, with
# which host configuration and instances), so nothing here names a path.
from json import load
from os.path import join

with open(join(repo_path, "node.json")) as f:
    nodes = load(f)
