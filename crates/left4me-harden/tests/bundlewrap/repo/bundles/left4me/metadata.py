# The left4me hardening as the deployment's metadata reactor takes it: run
# `left4me-harden write --format bundlewrap` and merge the document
#
# - its drop-ins (`systemd` -> `units`) into `systemd/units`, which the
#   systemd bundle renders into files;
# - its other files (`files`, the sysctl file) into `left4me/files`, file
#   items of this bundle;
# - its provenance (`left4me-harden` -> `provenance`) into
#   `left4me/provenance`, which no renderer reads: it is there for people
#   (`bw metadata NODE -k left4me/provenance`).
#
# Node metadata `left4me-harden`: `binary` (the left4me-harden to run),
# optional `config` (a host configuration) and `instances` (list of str).
import json
import subprocess


def document(harden):
    argv = [harden["binary"], "write", "--format", "bundlewrap"]
    if harden.get("config"):
        argv += ["--config", harden["config"]]
    for instance in harden.get("instances", []):
        argv += ["--instance", instance]
    run = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    if run.returncode != 0:
        raise RuntimeError(
            f"{' '.join(argv)} exited {run.returncode}: {run.stderr.strip()}"
        )
    return json.loads(run.stdout)


@metadata_reactor.provides(
    "systemd/units",
    "left4me/files",
    "left4me/provenance",
)
def hardening(metadata):
    doc = document(metadata.get("left4me-harden"))
    return {
        "systemd": {"units": doc["systemd"]["units"]},
        "left4me": {
            "files": doc["files"],
            "provenance": doc["left4me-harden"]["provenance"],
        },
    }
