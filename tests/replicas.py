"""Two real `netplay serve` replicas behind Debian's HAProxy on 127.0.0.1, configured by the
repository's own deploy/haproxy.cfg with the addresses rewritten for loopback."""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass

from serverproc import ROOT, ServerProcess, free_port, wait_for_health

HAPROXY = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin")
CONFIG = ROOT / "deploy" / "haproxy.cfg"


@dataclass
class Replicas:
    url: str  # the proxy's
    servers: dict[str, ServerProcess]  # by replica name


def loopback_config(port: int, servers: dict[str, int]) -> str:
    """deploy/haproxy.cfg with its listener on `port` and each `server` line's address on
    127.0.0.1 (`servers`: replica name → port); everything else as shipped."""
    text = CONFIG.read_text().replace("bind :8000", f"bind 127.0.0.1:{port}")
    for name, server_port in servers.items():
        text, found = re.subn(rf"^(\s+server replica{name[1:]}) \S+",
                              rf"\1 127.0.0.1:{server_port}", text, flags=re.MULTILINE)
        assert found == 1, f"deploy/haproxy.cfg has no server line for {name}"
    return text


@contextlib.contextmanager
def replicas(flags: dict[str, object] | None = None) -> Iterator[Replicas]:
    """Replicas `r1` and `r2` and the proxy in front of them, all ready; stopped after."""
    assert HAPROXY is not None
    servers = {name: ServerProcess({"--replica-name": name, **(flags or {})})
               for name in ("r1", "r2")}
    port = free_port()
    with tempfile.NamedTemporaryFile("w", suffix=".cfg") as cfg:
        cfg.write(loopback_config(port, {n: s.port for n, s in servers.items()}))
        cfg.flush()
        proxy = None
        try:
            for server in servers.values():
                server.wait_ready()
            # Started once both answer: HAProxy counts a checked server up from the start.
            proxy = subprocess.Popen([HAPROXY, "-f", cfg.name, "-db"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            url = f"http://127.0.0.1:{port}"
            wait_for_health(url, 30)
            yield Replicas(url, servers)
        finally:
            if proxy is not None:
                proxy.kill()
                proxy.wait(10)
            for server in servers.values():
                server.stop()
