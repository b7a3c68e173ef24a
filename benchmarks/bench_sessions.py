"""Live-training throughput as a client sees it: frames/s, epochs/s, update latency, and many
sessions at once, against a real `netplay serve` on 127.0.0.1.

Each client is written from docs/protocol.md alone: it sends `start` (asking, as the page does,
for binary messages compressed as raw DEFLATE), `speed`, `play`, acks every frame, and inflates
each binary message to read its header. Prints one JSON object.

    python benchmarks/bench_sessions.py --sessions 1,8,32,64,128 --seconds 4
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import websockets

from playground_models.reference_nets import QUERY_A, QUERY_B
from server.client import binary_header

ROOT = Path(__file__).resolve().parents[1]
NET_A, NET_B = QUERY_A, QUERY_B  # the two reference nets as share queries
TF_DEFAULT = "?compat=tf&seed=0.5"  # TF Playground's default net, in TensorFlow Playground mode


class Client:
    """One learner: counts frames and epochs while playing."""

    def __init__(self, url: str, query: str, steps_per_frame: int):
        self.url, self.query, self.steps = url, query, steps_per_frame
        self.frames = 0
        self.epochs = (0, 0)
        self.latencies: list[float] = []
        self.path = None  # the training path the frames name

    async def play(self, seconds: float, measure_updates: int = 0) -> None:
        async with websockets.connect(self.url, max_size=None, origin=self.url.replace(
                "ws://", "http://").rsplit("/", 1)[0]) as ws:
            await ws.send(json.dumps({"type": "start", "url": self.query,
                                      "compression": "deflate-raw"}))
            await ws.send(json.dumps({"type": "speed", "steps_per_frame": self.steps}))
            await ws.send(json.dumps({"type": "play"}))
            first = last = None
            deadline = time.perf_counter() + seconds
            pending: tuple[float, float] | None = None  # (sent at, learning rate)
            updates = 0
            while time.perf_counter() < deadline:
                msg = await asyncio.wait_for(ws.recv(), timeout=10)
                if isinstance(msg, str):
                    continue
                h = binary_header(msg, inflate=True)
                if h.get("type") != "frame" or h.get("state") != "playing":
                    continue
                await ws.send(json.dumps({"type": "ack", "seq": h["seq"]}))
                self.path = h.get("path")
                now = time.perf_counter()
                if first is None:
                    first = (now, h["epoch"])
                    continue
                last = (now, h["epoch"])
                self.frames += 1
                live = h.get("live", {})
                if pending and abs(live.get("learningRate", -1) - pending[1]) < 1e-12:
                    self.latencies.append(now - pending[0])
                    pending = None
                if measure_updates and pending is None and updates < measure_updates:
                    lr = 0.03 if updates % 2 else 0.01
                    updates += 1
                    pending = (time.perf_counter(), lr)
                    await ws.send(json.dumps({"type": "update", "changes": {"learningRate": lr}}))
            if first and last:
                span = last[0] - first[0]
                self.fps = self.frames / span
                self.eps = (last[1] - first[1]) / span


def cpu_list(text: str) -> set[int]:
    """`0-3,8` → {0, 1, 2, 3, 8}."""
    cpus: set[int] = set()
    for part in text.split(","):
        first, _, last = part.partition("-")
        cpus.update(range(int(first), int(last or first) + 1))
    return cpus


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def run_clients(url: str, n: int, query: str, steps: int, seconds: float) -> list[Client]:
    clients = [Client(url, query, steps) for _ in range(n)]
    await asyncio.gather(*(c.play(seconds) for c in clients))
    return clients


def _client_share(job: tuple[str, int, str, int, float]) -> list[tuple[float, float]]:
    """One client process's learners: (frames/s, epochs/s) each."""
    clients = asyncio.run(run_clients(*job))
    return [(getattr(c, "fps", 0.0), getattr(c, "eps", 0.0)) for c in clients]


def classroom(url: str, n: int, seconds: float, client_processes: int) -> dict:
    """n learners of net (a), spread over several client processes so that the clients' own
    Python is not what limits the figure; with the sessions each server process held halfway."""
    k = max(1, min(client_processes, n))
    jobs = [(url, n // k + (i < n % k), NET_A, 25, seconds) for i in range(k)]
    health = url.replace("ws://", "http://").removesuffix("/ws") + "/api/health"
    with multiprocessing.get_context("spawn").Pool(k) as pool:
        pending = pool.map_async(_client_share, jobs)
        spread = None
        pending.wait(seconds / 2 + 1.0)  # every learner connected and playing
        if not pending.ready():
            with contextlib.suppress(OSError, ValueError), \
                    urllib.request.urlopen(health, timeout=5) as reply:
                spread = json.load(reply).get("sessions_per_process")
        rates = [r for share in pending.get() for r in share]
    return {**summary(rates), "sessions_per_process": spread}


def summary(rates: list[tuple[float, float]]) -> dict:
    fps = [f for f, _ in rates]
    eps = [e for _, e in rates]
    return {
        "sessions": len(rates),
        "fps_min": round(min(fps), 1),
        "fps_median": round(statistics.median(fps), 1),
        "epochs_per_s_median": round(statistics.median(eps), 1),
        "epochs_per_frame_min": round(min(e / f if f else 0 for e, f in zip(eps, fps, strict=True)), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", default="1,8,32,64,128")
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--processes", type=int, default=1, help="netplay serve --processes")
    parser.add_argument("--client-processes", type=int, default=1,
                        help="processes the learners are spread over")
    parser.add_argument("--only-concurrent", action="store_true", help="skip the one-learner runs")
    parser.add_argument("--server-cpus", metavar="LIST",
                        help="CPUs the server may use, e.g. 0-3 (a share of a bigger machine)")
    parser.add_argument("--client-cpus", metavar="LIST", help="CPUs the learners may use")
    args = parser.parse_args()
    if args.client_cpus:
        os.sched_setaffinity(0, cpu_list(args.client_cpus))  # the client processes inherit it
    port = free_port()
    env = dict(os.environ, NETPLAY_MAX_SESSIONS="1000", NETPLAY_MAX_MESSAGES_PER_SECOND="1000")
    pin = ["taskset", "-c", args.server_cpus] if args.server_cpus else []
    server = subprocess.Popen(
        [*pin, sys.executable, "-m", "server.cli", "serve", "--port", str(port),
         "--processes", str(args.processes)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"ws://127.0.0.1:{port}/ws"
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        time.sleep(1.0 if args.processes > 1 else 0.0)  # let every process start
        # A second of a few learners first, not counted: a fresh server's first frames pay
        # one-off costs (threads, caches) that once cost one learner of the first point half
        # its frames.
        asyncio.run(run_clients(url, 2 * args.processes, NET_A, 25, 1.0))
        out: dict = {"machine": f"{os.cpu_count()} CPUs", "seconds": args.seconds,
                     "processes": args.processes,
                     "server_cpus": args.server_cpus, "client_cpus": args.client_cpus}
        if not args.only_concurrent:
            one_learner(url, args.seconds, out)
        # A classroom: n learners of net (a) at one epoch (25 updates) per frame.
        out["client_processes"] = args.client_processes
        out["concurrent_a"] = [
            classroom(url, int(n), args.seconds, args.client_processes)
            for n in args.sessions.split(",")
        ]
        print(json.dumps(out, indent=1))
    finally:
        server.terminate()
        server.wait(timeout=10)


def one_learner(url: str, seconds: float, out: dict) -> None:
    """Top speed for nets (a) and (b) and for TF's default net in TensorFlow Playground mode,
    and the latency of a live learning-rate change."""
    # Top speed, one learner: many updates per frame, every frame with the full grid. TF mode
    # trains whole epochs of 25 updates: 1,000 updates are 40 epochs a frame.
    for name, query, steps in (("a", NET_A, 1000), ("b", NET_B, 500), ("tf", TF_DEFAULT, 1000)):
        (c,) = asyncio.run(run_clients(url, 1, query, steps, seconds))
        out[f"top_speed_{name}"] = {"fps": round(c.fps, 1), "epochs_per_s": round(c.eps, 1),
                                    "steps_per_frame": steps, "path": c.path}
    # Latency of a live learning-rate change, to the first frame that shows it.
    c = Client(url, NET_A, 25)
    asyncio.run(c.play(seconds * 2, measure_updates=40))
    lat = sorted(x * 1000 for x in c.latencies)
    out["update_latency_ms"] = {
        "n": len(lat), "median": round(statistics.median(lat), 1),
        "p95": round(lat[int(0.95 * (len(lat) - 1))], 1), "max": round(lat[-1], 1),
    }


if __name__ == "__main__":
    main()
