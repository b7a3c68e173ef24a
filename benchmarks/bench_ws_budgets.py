"""A canary learner's frames/s on `/ws` while other clients do the heaviest things they may,
against a real `netplay serve` on 127.0.0.1 (clients written from docs/protocol.md):

- `heavy_players`: learners playing the largest net on 5,000 points with `gridSize` 200 and
  `knn` 50 (each frame's drawing held to the frame budget);
- `left_steps`: clients that send `step` n=100 at batch 1 (250,000 updates) and disconnect;
- `stuck`: clients that start, play and never read (idle timeout `--idle`), then how long until
  a new learner is admitted.

Prints one JSON object. Every phase is bounded in time.

    python benchmarks/bench_ws_budgets.py --seconds 5 --heavy 2 --stuck 64 --idle 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

import websockets

ROOT = Path(__file__).resolve().parents[1]
HEAVY = {"numSamples": 5000, "percTrainData": 90, "networkShape": [64] * 8, "gridSize": 200,
         "knn": 50, "xSquared": True, "ySquared": True, "xTimesY": True, "sinX": True,
         "sinY": True}
BIG_STEP = {"numSamples": 5000, "batchSize": 1, "networkShape": [64] * 8, "gridSize": 200,
            "learningRate": 0.001}  # small enough not to diverge (a diverged run stops)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def frame_header(message: bytes) -> dict:
    (n,) = struct.unpack_from("<I", message, 0)
    return json.loads(message[4 : 4 + n])


async def canary_fps(url: str, seconds: float) -> float:
    """Frames/s a default learner that acks every frame gets over `seconds`."""
    async with websockets.connect(url, max_size=None) as ws:
        await ws.recv()
        await ws.send(json.dumps({"type": "start", "config": {}}))
        for _ in range(4):
            await ws.recv()
        await ws.send(json.dumps({"type": "play"}))
        frames, deadline = 0, time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                msg = await asyncio.wait_for(ws.recv(), left)
            except TimeoutError:
                break
            if isinstance(msg, bytes):
                frames += 1
                await ws.send(json.dumps({"type": "ack", "seq": frame_header(msg)["seq"]}))
        return frames / seconds


async def heavy_player(url: str, seconds: float, draw_ms: list[float]) -> None:
    async with websockets.connect(url, max_size=None) as ws:
        await ws.recv()
        await ws.send(json.dumps({"type": "start", "config": HEAVY}))
        await ws.send(json.dumps({"type": "play"}))
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                msg = await asyncio.wait_for(ws.recv(), left)
            except TimeoutError:
                break
            if isinstance(msg, bytes):
                head = frame_header(msg)
                if head["type"] == "frame":
                    draw_ms.append(head.get("draw_ms", 0.0))
                    await ws.send(json.dumps({"type": "ack", "seq": head["seq"]}))


async def left_step(url: str) -> None:
    async with websockets.connect(url, max_size=None) as ws:
        await ws.recv()
        await ws.send(json.dumps({"type": "start", "config": BIG_STEP}))
        for _ in range(4):
            await asyncio.wait_for(ws.recv(), 60)
        await ws.send(json.dumps({"type": "step", "n": 100}))
        await asyncio.sleep(0.2)


async def with_heavy(url: str, n: int, seconds: float) -> dict:
    draw_ms: list[float] = []
    players = [asyncio.create_task(heavy_player(url, seconds + 3, draw_ms)) for _ in range(n)]
    await asyncio.sleep(3)  # they start and settle
    fps = await canary_fps(url, seconds)
    await asyncio.gather(*players)
    draw_ms.sort()
    return {"heavy_players": n, "canary_fps": round(fps, 1),
            "heavy_draw_ms_median": draw_ms[len(draw_ms) // 2] if draw_ms else None,
            "heavy_frames": len(draw_ms)}


def stuck_clients(port: int, n: int, idle: float) -> dict:
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                  "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                  "Sec-WebSocket-Version: 13\r\n\r\n".encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += s.recv(1)
        for message in ({"type": "start", "config": {"gridSize": 200}}, {"type": "play"}):
            payload = json.dumps(message).encode()
            s.sendall(struct.pack("!BB", 0x81, 0x80 | len(payload)) + b"\0\0\0\0" + payload)
        socks.append(s)
    quiet = time.monotonic()
    admitted = None
    while time.monotonic() - quiet < idle + 30:
        try:
            if asyncio.run(_admitted(f"ws://127.0.0.1:{port}/ws")):
                admitted = time.monotonic() - quiet
                break
        except OSError:
            pass
        time.sleep(0.25)
    for s in socks:
        s.close()
    return {"stuck_clients": n, "idle_timeout_s": idle,
            "new_learner_admitted_after_s": None if admitted is None else round(admitted, 2)}


async def _admitted(url: str) -> bool:
    async with websockets.connect(url, open_timeout=5) as ws:
        return json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "hello"


def serve(port: int, **settings: str) -> subprocess.Popen:
    env = dict(os.environ, NETPLAY_MAX_MESSAGES_PER_SECOND="1000",
               **{f"NETPLAY_{k.upper()}": v for k, v in settings.items()})
    server = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve", "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return server
        except OSError:
            time.sleep(0.1)
    server.terminate()
    raise SystemExit("the server did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--heavy", type=int, default=2, help="heavy learners beside the canary")
    parser.add_argument("--stuck", type=int, default=64, help="clients that never read")
    parser.add_argument("--idle", type=float, default=3.0, help="idle timeout for that phase")
    args = parser.parse_args()
    out: dict = {"machine": f"{os.cpu_count()} CPUs", "seconds": args.seconds}
    port = free_port()
    server = serve(port, max_step_updates="1000000")
    url = f"ws://127.0.0.1:{port}/ws"
    try:
        out["canary_alone_fps"] = round(asyncio.run(canary_fps(url, args.seconds)), 1)
        out["with_heavy"] = asyncio.run(with_heavy(url, args.heavy, args.seconds))

        async def steps_then_canary() -> float:
            await asyncio.gather(left_step(url), left_step(url))
            return await canary_fps(url, args.seconds)

        out["after_2_left_steps_canary_fps"] = round(asyncio.run(steps_then_canary()), 1)
    finally:
        server.terminate()
        server.wait(timeout=10)
    port = free_port()
    server = serve(port, idle_timeout_s=str(args.idle), max_sessions=str(args.stuck))
    try:
        out["stuck"] = stuck_clients(port, args.stuck, args.idle)
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
