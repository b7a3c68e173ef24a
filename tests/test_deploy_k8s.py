"""deploy/k8s/netplay.yaml holds together: no cluster runs here, so what can be checked without
one is: each pod names itself as `--replica-name`, each pod has a Service of its own, and the
Ingress sends a live room's viewers to the pod that holds the room, read as ingress-nginx reads
its paths (regular expressions, case-insensitive, anchored at the start, the longest first),
for room ids made by the server's own code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from server.roomids import PROCESS_TAG_ENV, new_room_id, room_process
from server.settings import SettingsError, load

MANIFEST = Path(__file__).resolve().parent.parent / "deploy" / "k8s" / "netplay.yaml"


@pytest.fixture(scope="module")
def objects() -> dict[tuple[str, str], dict]:
    docs = [d for d in yaml.safe_load_all(MANIFEST.read_text()) if d]
    return {(d["kind"], d["metadata"]["name"]): d for d in docs}


def _route(ingress: dict, path: str) -> str:
    """The Service ingress-nginx sends `path` to, with `use-regex` on."""
    assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/use-regex"] == "true"
    paths = [p for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]]
    for entry in sorted(paths, key=lambda p: len(p["path"]), reverse=True):
        if re.match(entry["path"], path, re.IGNORECASE):
            return entry["backend"]["service"]["name"]
    raise AssertionError(f"no path takes {path}")


def test_each_pod_names_itself_and_has_a_service_of_its_own(objects):
    pods = objects[("StatefulSet", "netplay")]
    container = pods["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e for e in container["env"]}
    assert env["NETPLAY_REPLICA_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert container["readinessProbe"]["httpGet"]["path"] == "/api/health"
    assert set(container["resources"]["requests"]) == {"cpu", "memory"}
    headless = objects[("Service", pods["spec"]["serviceName"])]
    assert headless["spec"]["clusterIP"] == "None"
    for i in range(pods["spec"]["replicas"]):
        own = objects[("Service", f"netplay-{i}")]["spec"]
        assert own["selector"]["statefulset.kubernetes.io/pod-name"] == f"netplay-{i}"
        assert own["publishNotReadyAddresses"] is True  # a busy pod's rooms stay reachable
        load({"NETPLAY_REPLICA_NAME": f"netplay-{i}"})  # a pod's name is a replica name
    load({"NETPLAY_REPLICA_NAME": "a" * 63})  # as long as any pod's


def test_a_rooms_viewers_reach_the_pod_that_holds_it_and_all_else_any_pod(objects, monkeypatch):
    ingress = objects[("Ingress", "netplay")]
    replicas = objects[("StatefulSet", "netplay")]["spec"]["replicas"]
    assert int(ingress["metadata"]["annotations"]
               ["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600
    for tag in ("", "p1"):  # one process per pod, or `--processes`
        monkeypatch.setenv(PROCESS_TAG_ENV, tag)
        for i in range(replicas):
            for _ in range(50):  # random tails, some with `-` and `_` in them
                room = new_room_id(f"netplay-{i}")
                assert _route(ingress, f"/ws/room/{room}") == f"netplay-{i}", room
                if tag:  # (untagged, the random tail may itself start with `p7-`: no
                    assert room_process(room, f"netplay-{i}") == 1  # process reads it then)
    for path in ("/", "/ws", "/lab", "/room/netplay-0-abc", "/api/health", "/ws/room/x"):
        assert _route(ingress, path) == "netplay", path


@pytest.mark.parametrize("name", ["-netplay", "netplay-", "net_play", "a" * 64, "ne tplay"])
def test_a_replica_name_a_pod_could_not_have_is_refused_naming_it(name):
    with pytest.raises(SettingsError, match="NETPLAY_REPLICA_NAME"):
        load({"NETPLAY_REPLICA_NAME": name})
