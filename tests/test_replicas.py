"""netplay as replicas behind a real proxy (deploy/haproxy.cfg, Debian's HAProxy): learners'
sessions spread over both, and everything a page asks over HTTP (a share link, a comparison
continued, a sweep) is answered the same whichever replica gets it; a live room is watched
through the proxy whichever replica holds it. The page's side, a replica killed mid-run, is
tests/browser/test_replicas_page.py."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

import pytest
from aio import run_async
from replicas import HAPROXY, replicas
from serverproc import http

from server.client import connect_live, ws_url

pytestmark = pytest.mark.skipif(HAPROXY is None, reason="needs HAProxy (.ci/run installs "
                                "Debian's haproxy)")

LINK = "seed=rep&dataset=xor&networkShape=3"


@pytest.fixture(scope="module")
def pair():
    with replicas() as r:
        yield r


@contextlib.asynccontextmanager
async def clients(n: int, url: str) -> AsyncIterator[list]:
    """`n` live clients on `url`, connected one after another and closed together."""
    async with contextlib.AsyncExitStack() as stack:
        yield [await stack.enter_async_context(connect_live(url)) for _ in range(n)]


def _sessions(pair) -> dict[str, int]:
    return {name: s.health().body["sessions"] for name, s in pair.servers.items()}


def test_sessions_spread_over_both_replicas_and_a_link_opens_the_same_anywhere(pair):
    async def four() -> tuple[list[dict], dict[str, int]]:
        async with clients(4, pair.url) as learners:
            frames = [await c.start(url=LINK) for c in learners]
            return frames, _sessions(pair)

    frames, live = run_async(four(), 60)
    assert live == {"r1": 2, "r2": 2}  # leastconn: two long sessions each
    # The same link gives the same first frame on either replica, number for number.
    assert len({json.dumps(f["metrics"], sort_keys=True) for f in frames}) == 1


def test_a_comparison_goes_on_at_either_replica_and_a_sweep_streams_through_the_proxy(pair):
    body = {"url": "r1.seed=1&r2.seed=2", "client": "class", "epoch": 0, "epochs": 3}
    status, _, _ = http(f"{pair.url}/api/compare/step", body)
    assert status == 200
    # The next request carries on from epoch 3: each replica answers it, the same, whether
    # or not it served the first (one that did not replays the link there).
    after = [http(f"{s.url}/api/compare/step", {**body, "epoch": 3, "epochs": 2})
             for s in pair.servers.values()]
    assert [a[0] for a in after] == [200, 200] and after[0][2] == after[1][2]
    status, _, raw = http(f"{pair.url}/api/sweep",
                          {"url": LINK, "param": "learningRate", "values": ["0.01", "0.1"],
                           "epochs": 5}, timeout=60)
    lines = [json.loads(line) for line in raw.decode().splitlines()]
    assert status == 200 and [line["value"] for line in lines if "value" in line] == [0.01, 0.1]


def test_a_room_is_watched_through_the_proxy_whichever_replica_holds_it(pair):
    import websockets

    async def watch_both() -> list[str]:
        async with clients(2, pair.url) as teachers:
            rooms = []
            for teacher in teachers:
                await teacher.start(url=LINK)
                await teacher.send(type="share_live", name="class")
                rooms.append((await teacher.until("room"))["id"])
                await teacher.send(type="play")
            # Each viewer through the proxy, to the room's own replica. In the reverse order of
            # the teachers: the proxy's own turn-taking would send each to the other replica.
            for room in reversed(rooms):
                async with websockets.connect(ws_url(pair.url, f"/ws/room/{room}")) as ws:
                    kinds = set()
                    while "frame" not in kinds:
                        raw = await asyncio.wait_for(ws.recv(), 10)
                        kinds.add("frame" if isinstance(raw, bytes) else json.loads(raw)["type"])
                        assert "error" not in kinds, raw
            return rooms

    rooms = run_async(watch_both(), 60)
    assert sorted(r.split("-", 1)[0] for r in rooms) == ["r1", "r2"]
