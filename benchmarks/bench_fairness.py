"""Fair share as a client sees it: a 2-D learner's frames/s alone, then beside N image-lab
sessions that all train at once, against a real `netplay serve` on 127.0.0.1.

The learner is bench_sessions.py's client (net (a), one epoch per frame, an `ack` per frame,
as the page plays). The lab sessions run in a process of their own, each written from
docs/lab-protocol.md: `start` with a preset, `play`, and read every frame. Prints one JSON object.

    python benchmarks/bench_fairness.py --labs 16 --preset resnet-mini --seconds 5
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import websockets

from server.client import lab_message

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_health(base: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(f"{base}/api/health", timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@contextlib.contextmanager
def served(root: str | Path = ROOT) -> Iterator[str]:
    """A real `netplay serve` of the tree at `root` on a free port, up and healthy: its URL."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=root, env=dict(os.environ, PYTHONPATH=str(root)),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(base, 60)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


async def canary(base: str, seconds: float) -> float:
    """Frames/s of one 2-D learner playing with acks for `seconds`."""
    # Imported here: it imports torch, which the lab-load process need not wait for.
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_sessions import NET_A, Client

    client = Client(base.replace("http://", "ws://") + "/ws", NET_A, 25)
    await asyncio.wait_for(client.play(seconds), seconds + 30)
    return getattr(client, "fps", 0.0)


async def lab_session(base: str, preset: str, ready: asyncio.Event, counts: list[int]) -> None:
    url = base.replace("http://", "ws://") + "/ws/lab"
    async with websockets.connect(url, max_size=None, origin=base) as ws:
        await ws.send(json.dumps({"type": "start", "url": f"preset={preset}"}))
        await ws.send(json.dumps({"type": "play"}))
        while True:
            message = lab_message(await asyncio.wait_for(ws.recv(), 60))
            if message["type"] == "error":
                raise RuntimeError(f"lab session: {message}")
            if message["type"] == "state" and message["state"] == "playing":
                ready.set()  # built, and training from now on
            if message["type"] == "frame" and message["state"] == "playing":
                counts.append(message["examples"])


async def lab_load(base: str, n: int, preset: str, seconds: float) -> None:
    """n lab sessions; prints `ready` once every one plays, keeps them playing for `seconds`,
    then prints one JSON line of what they trained."""
    events = [asyncio.Event() for _ in range(n)]
    counts: list[list[int]] = [[] for _ in range(n)]
    tasks = [asyncio.create_task(lab_session(base, preset, e, c))
             for e, c in zip(events, counts, strict=True)]
    await asyncio.wait_for(asyncio.gather(*(e.wait() for e in events)), 120)
    print("ready", flush=True)
    started = time.monotonic()
    await asyncio.sleep(seconds)
    span = time.monotonic() - started
    # The figures first: how the sessions' sockets then close is not what is measured.
    frames = sum(len(c) for c in counts)
    examples = sum(c[-1] - c[0] for c in counts if c)
    print(json.dumps({"lab_frames_per_s": round(frames / span, 1),
                      "lab_examples_per_s": round(examples / span)}), flush=True)
    for task in tasks:
        task.cancel()
    await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 30)


def measure(base: str, labs: int, preset: str, seconds: float, alone: bool,
            began: float) -> dict:
    out: dict = {"labs": labs, "preset": preset, "seconds": seconds}
    if alone:
        out["canary_fps_alone"] = round(asyncio.run(canary(base, seconds)), 1)
    if labs:
        load = subprocess.Popen(
            [sys.executable, __file__, "--lab-load", base, "--labs", str(labs),
             "--preset", preset, "--seconds", str(seconds + 1.5)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        )
        try:
            assert load.stdout is not None
            line = load.stdout.readline()
            if line.strip() != "ready":
                raise RuntimeError(f"the lab sessions did not start: {line!r}")
            print(f"labs playing at {time.monotonic() - began:.1f} s", file=sys.stderr)
            time.sleep(1.0)  # every session past its first frames
            out["canary_fps_with_labs"] = round(asyncio.run(canary(base, seconds)), 1)
            rest, errors = load.communicate(timeout=60)
            lines = rest.strip().splitlines()
            if not lines:
                raise RuntimeError(f"the lab sessions reported nothing: {errors[-2000:]}")
            out.update(json.loads(lines[0]))
        finally:
            if load.poll() is None:
                load.kill()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labs", type=int, default=16)
    parser.add_argument("--preset", default="resnet-mini")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--no-alone", action="store_true", help="skip the learner alone")
    parser.add_argument("--root", default=str(ROOT), help="the netplay tree to serve")
    parser.add_argument("--lab-load", metavar="BASE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    began = time.monotonic()
    if args.lab_load:
        asyncio.run(lab_load(args.lab_load, args.labs, args.preset, args.seconds))
        return
    with served(args.root) as base:
        print(f"server up after {time.monotonic() - began:.1f} s", file=sys.stderr)
        result = measure(base, args.labs, args.preset, args.seconds, not args.no_alone, began)
        result["machine"] = f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}"
        result["wall_s"] = round(time.monotonic() - began, 1)
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
