"""A page behind the proxy of deploy/haproxy.cfg whose replica is killed mid-run: it reconnects
through the proxy to the other replica, which starts the experiment again from the page's link,
and training goes on there."""

from __future__ import annotations

import pytest
from replicas import HAPROXY, replicas

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(HAPROXY is None, reason="needs HAProxy (.ci/run installs Debian's haproxy)"),
]


def test_a_page_whose_replica_dies_reconnects_to_the_other_and_trains_on(make_page):
    with replicas() as pair:
        probe = make_page(server=pair)  # the page knows only the proxy's address
        page = probe.open("/?seed=live&dataset=xor&networkShape=3")
        page.click("#play")
        probe.wait("netplay.frame.epoch >= 3")
        held = {name: s.health().body["sessions"] for name, s in pair.servers.items()}
        assert sorted(held.values()) == [0, 1], held
        dead = next(name for name, n in held.items() if n == 1)
        pair.servers[dead].proc.kill()  # no goodbye: the socket just breaks
        probe.wait("document.getElementById('notices').innerText.includes('Reconnected')", 30_000)
        survivor = next(s for name, s in pair.servers.items() if name != dead)
        assert survivor.health().body["sessions"] == 1
        assert "seed=live" in page.url and "networkShape=3" in page.url  # the same experiment
        if probe.js("netplay.runState") != "playing":
            page.click("#play")
        epoch = probe.js("netplay.frame.epoch")
        probe.wait(f"netplay.frame.epoch > {epoch}", 20_000)  # training goes on there
        assert [e for e in probe.console_errors if "WebSocket" not in e] == []
