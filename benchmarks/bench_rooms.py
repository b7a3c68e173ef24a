"""A live room at class size: one teacher playing the default net and N viewers of its room,
against a real `netplay serve` on 127.0.0.1, viewers on the same machine. Prints one JSON
object: each viewer's frames/s (min, median), the teacher's frames/s, and the teacher's
update→frame latency (a learning-rate change until the first frame trained with it).

The teacher is a page-like client (deflated frames, an `ack` per frame, playing at 1 epoch per
frame, a learning-rate change every 0.25 s). The viewers run in a process of their own, each
reading every message of `/ws/room/{id}` (docs/protocol.md, *Rooms*) and counting frames.

    python benchmarks/bench_rooms.py --viewers 200 --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
import zlib
from pathlib import Path

import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_fairness import ROOT, served  # a sibling script, not a package

UPDATE_EVERY_S = 0.25


def header(message: bytes) -> dict:
    raw = zlib.decompressobj(-15).decompress(message, 4096)
    size = int.from_bytes(raw[:4], "little")
    return json.loads(raw[4 : 4 + size])


async def teacher(base: str, room_ready: asyncio.Future[str], seconds: float,
                  go: asyncio.Event) -> dict:
    url = base.replace("http", "ws") + "/ws"
    async with websockets.connect(url, max_size=None, origin=base) as ws:
        await ws.recv()  # hello
        await ws.send(json.dumps({"type": "start", "config": {}, "compression": "deflate-raw"}))
        await ws.send(json.dumps({"type": "share_live", "name": "bench"}))
        await ws.send(json.dumps({"type": "play"}))
        latencies: list[float] = []
        frames, version, target, sent_at = 0, 0, 0, 0.0
        rates = [0.03, 0.01]
        started = next_update = None
        while True:
            message = await asyncio.wait_for(ws.recv(), 30)
            now = time.perf_counter()
            if isinstance(message, str):
                msg = json.loads(message)
                if msg["type"] == "room" and not room_ready.done():
                    room_ready.set_result(msg["id"])
                elif msg["type"] == "config":
                    version = max(version, msg["version"])
                continue
            head = header(message)
            if head["type"] != "frame":
                continue
            await ws.send(json.dumps({"type": "ack", "seq": head["seq"]}))
            if started is None:
                if go.is_set():
                    started = next_update = now
                continue
            frames += 1
            if target and head["version"] >= target:  # the first frame trained at the new rate
                latencies.append((now - sent_at) * 1000)
                target = 0
            if not target and now >= next_update:
                rates.reverse()
                await ws.send(json.dumps({"type": "update", "changes": {"learningRate": rates[0]}}))
                target, sent_at, next_update = version + 1, now, now + UPDATE_EVERY_S
            if now - started >= seconds:
                break
        elapsed = time.perf_counter() - started
        latencies.sort()
        return {"teacher_fps": round(frames / elapsed, 1), "updates": len(latencies),
                "update_to_frame_ms_p50": round(statistics.median(latencies), 1),
                "update_to_frame_ms_p95": round(latencies[int(0.95 * (len(latencies) - 1))], 1)}


async def viewer(url: str, base: str, counts: list[int], i: int, ready: asyncio.Event,
                 joined: list[int]) -> None:
    async with websockets.connect(url, max_size=None, origin=base, compression=None) as ws:
        joined[0] += 1
        if joined[0] == len(counts):
            ready.set()
        async for message in ws:
            if isinstance(message, bytes) and len(message) > 2000:  # a frame, not the data
                counts[i] += 1


async def viewers_load(base: str, room: str, n: int, seconds: float) -> None:
    url = base.replace("http", "ws") + f"/ws/room/{room}"
    counts, joined, ready = [0] * n, [0], asyncio.Event()
    tasks = [asyncio.create_task(viewer(url, base, counts, i, ready, joined)) for i in range(n)]
    await asyncio.wait_for(ready.wait(), 60)
    print("ready", flush=True)
    await asyncio.sleep(1.0)  # every viewer past its first frames
    start = list(counts)
    began = time.perf_counter()
    await asyncio.sleep(seconds)
    elapsed = time.perf_counter() - began
    fps = sorted((c - s) / elapsed for c, s in zip(counts, start, strict=True))
    print(json.dumps({"viewers": n, "viewer_fps_min": round(fps[0], 1),
                      "viewer_fps_p5": round(fps[int(0.05 * (n - 1))], 1),
                      "viewer_fps_median": round(statistics.median(fps), 1)}), flush=True)
    for t in tasks:
        t.cancel()


async def run(base: str, n: int, seconds: float) -> dict:
    room_ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    go = asyncio.Event()
    task = asyncio.create_task(teacher(base, room_ready, seconds, go))
    room = await room_ready
    load = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--viewer-load", base, "--room", room, "--viewers", str(n),
        "--seconds", str(seconds), stdout=subprocess.PIPE, cwd=ROOT)
    assert load.stdout is not None
    line = await asyncio.wait_for(load.stdout.readline(), 120)
    if line.strip() != b"ready":
        raise RuntimeError(f"the viewers did not join: {line!r}")
    go.set()
    out = await task
    rest = await asyncio.wait_for(load.stdout.read(), 60)
    out.update(json.loads(rest.decode().strip().splitlines()[0]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--viewers", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--root", default=str(ROOT), help="the netplay tree to serve")
    parser.add_argument("--viewer-load", metavar="BASE", help=argparse.SUPPRESS)
    parser.add_argument("--room", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.viewer_load:
        asyncio.run(viewers_load(args.viewer_load, args.room, args.viewers, args.seconds + 1.0))
        return
    began = time.monotonic()
    with served(args.root) as base:
        result = asyncio.run(run(base, args.viewers, args.seconds))
        result["machine"] = f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}"
        result["wall_s"] = round(time.monotonic() - began, 1)
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
