"""A Python client of the two live-training sockets, written from docs/protocol.md (`/ws`) and
docs/lab-protocol.md (`/ws/lab`) alone, for the tests and benchmarks that talk to a real server.

`LiveClient` and `LabClient` send messages as keyword arguments and read them back as dicts
(a `/ws` binary message as its header, plus its arrays when asked). `canary` is a learner as the
page is one: it starts the default experiment, plays and acks every frame, and measures the
frames per second it gets. Every read has a timeout, so no caller can hang on a silent server.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import struct
import time
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import websockets

from .frames import decode

READ_TIMEOUT_S = 10.0


class ServerError(AssertionError):
    """The server answered with an `error` (or closed) where the caller wanted something else."""

    def __init__(self, message: dict[str, Any]):
        super().__init__(f"server replied {message}")
        self.reply = message


def ws_url(base: str, path: str) -> str:
    """`http://127.0.0.1:8000` + `/ws` → `ws://127.0.0.1:8000/ws`."""
    return base.replace("http://", "ws://").replace("https://", "wss://").rstrip("/") + path


def binary_header(message: bytes, inflate: bool = False) -> dict[str, Any]:
    """The JSON header of one binary envelope, without decoding its arrays."""
    if inflate:
        message = zlib.decompress(message, wbits=-15)
    (size,) = struct.unpack_from("<I", message, 0)
    return json.loads(message[4 : 4 + size])


class _Socket:
    """What both clients share: JSON out, one message in with a timeout, and `until`."""

    def __init__(self, ws: Any):
        self.ws = ws

    async def send(self, **message: Any) -> None:
        await self.ws.send(json.dumps(message))

    async def send_text(self, text: str) -> None:
        """Any text, sent as it is: for clients that probe the server's checks."""
        await self.ws.send(text)

    async def recv(self, timeout: float = READ_TIMEOUT_S) -> str | bytes | None:
        """The next raw message, or None once the server has closed the socket."""
        try:
            return await asyncio.wait_for(self.ws.recv(), timeout)
        except websockets.ConnectionClosed:
            return None

    async def next(self, timeout: float = READ_TIMEOUT_S) -> dict[str, Any]:
        raw = await self.recv(timeout)
        if raw is None:
            return {"type": "_closed", "code": self.ws.close_code}
        return self._parse(raw)

    def _parse(self, raw: str | bytes) -> dict[str, Any]:
        return json.loads(raw)

    async def until(self, kind: str, timeout: float = READ_TIMEOUT_S,
                    limit: int = 10_000) -> dict[str, Any]:
        """Skip messages (frames, mostly) until one of type `kind`; an `error` or a close
        raises `ServerError` unless that is what was asked for."""
        deadline = time.monotonic() + timeout
        for _ in range(limit):
            msg = await self.next(max(0.0, deadline - time.monotonic()))
            if msg["type"] == kind:
                return msg
            if msg["type"] in ("_closed", "error"):
                raise ServerError(msg)
        raise AssertionError(f"no {kind} within {limit} messages")

    @asynccontextmanager
    async def pinging(self, every_s: float = 1.0) -> AsyncIterator[None]:
        """Send a `ping` every `every_s` meanwhile, so that a long wait (a big net building)
        is not an idle session; the `pong`s are skipped by `until`."""

        async def beat() -> None:
            with contextlib.suppress(websockets.ConnectionClosed):
                while True:
                    await asyncio.sleep(every_s)
                    await self.send(type="ping", id="keepalive")

        task = asyncio.create_task(beat())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def ping(self, timeout: float = READ_TIMEOUT_S) -> float:
        """Round trip of a `ping`, in seconds (messages before the `pong` are skipped)."""
        sent = time.perf_counter()
        await self.send(type="ping", id="rtt")
        await self.until("pong", timeout)
        return time.perf_counter() - sent


class LiveClient(_Socket):
    """A `/ws` learner. Binary messages come back as their header plus `_arrays` (decoded only
    when `arrays` is set: a busy client wants just the header)."""

    def __init__(self, ws: Any, arrays: bool = False, inflate: bool = False):
        super().__init__(ws)
        # Binary messages come as raw DEFLATE after a `start` that asked for it (`start` sets it).
        self.inflate = inflate
        self.arrays = arrays

    def _parse(self, raw: str | bytes) -> dict[str, Any]:
        if isinstance(raw, str):
            return json.loads(raw)
        if not self.arrays:
            return binary_header(raw, self.inflate)
        header, arrays = decode(zlib.decompress(raw, wbits=-15) if self.inflate else raw)
        return {**header, "_arrays": arrays}

    async def hello(self) -> dict[str, Any]:
        msg = await self.next()
        if msg["type"] != "hello":
            raise ServerError(msg)
        return msg

    async def start(self, config: dict[str, Any] | None = None, url: str | None = None,
                    compression: bool = True, timeout: float = READ_TIMEOUT_S) -> dict[str, Any]:
        """Start (after `hello`); returns the first frame once `state` (`paused`) has come."""
        message: dict[str, Any] = {"url": url} if url is not None else {"config": config or {}}
        if compression:
            message["compression"] = "deflate-raw"
        self.inflate = compression
        await self.send(type="start", **message)
        await self.until("config", timeout)
        frame = await self.until("frame", timeout)
        await self.until("state", timeout)
        return frame

    async def play(self, seconds: float, ack: bool = True) -> list[float]:
        """Play for `seconds`, acking each frame as the page does after drawing it; returns
        the arrival time (perf_counter) of every playing frame."""
        await self.send(type="play")
        arrivals: list[float] = []
        deadline = time.perf_counter() + seconds
        while (left := deadline - time.perf_counter()) > 0:
            try:
                msg = await self.next(left)
            except TimeoutError:
                break
            if msg["type"] in ("_closed", "error"):
                raise ServerError(msg)
            if msg["type"] == "frame":
                if ack:
                    await self.send(type="ack", seq=msg["seq"])
                if msg.get("state") == "playing":
                    arrivals.append(time.perf_counter())
        return arrivals


def lab_message(raw: str | bytes) -> dict[str, Any]:
    """One `/ws/lab` message as a dict: JSON text as it is; a binary message (one that carries
    arrays, docs/lab-protocol.md) as its header with each `{"$array": name}` replaced by
    `{"dtype", "shape", "array"}`, the array a numpy view of the payload."""
    if isinstance(raw, str):
        return json.loads(raw)
    header, arrays = decode(raw)
    del header["arrays"]

    def resolve(value: Any) -> Any:
        if isinstance(value, dict):
            if len(value) == 1 and "$array" in value:
                a = arrays[value["$array"]]
                return {"dtype": a.dtype.name, "shape": list(a.shape), "array": a}
            return {k: resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [resolve(v) for v in value]
        return value

    return resolve(header)


class LabClient(_Socket):
    """A `/ws/lab` learner: JSON messages, and binary ones for those that carry arrays."""

    def _parse(self, raw: str | bytes) -> dict[str, Any]:
        return lab_message(raw)

    async def hello(self) -> dict[str, Any]:
        msg = await self.next()
        if msg["type"] != "hello":
            raise ServerError(msg)
        return msg

    async def start(self, config: dict[str, Any] | None = None, url: str | None = None,
                    timeout: float = 60.0) -> dict[str, Any]:
        """Start (after `hello`); returns the `config` reply once `state` has come."""
        message: dict[str, Any] = {"url": url} if url is not None else {"config": config or {}}
        await self.send(type="start", **message)
        config_msg = await self.until("config", timeout)
        await self.until("state", timeout)
        return config_msg


@asynccontextmanager
async def connect_live(base: str, arrays: bool = False, hello: bool = True,
                       **options: Any) -> AsyncIterator[LiveClient]:
    """A `LiveClient` on `base`'s `/ws` (its `hello` read unless `hello=False`). `options` go to
    `websockets.connect` (`origin`, `max_queue`, `open_timeout`, ...)."""
    options = {"max_size": 2**24, "open_timeout": READ_TIMEOUT_S, **options}
    async with websockets.connect(ws_url(base, "/ws"), **options) as ws:
        client = LiveClient(ws, arrays)
        if hello:
            await client.hello()
        yield client


@asynccontextmanager
async def connect_lab(base: str, hello: bool = True, **options: Any) -> AsyncIterator[LabClient]:
    """A `LabClient` on `base`'s `/ws/lab`, as `connect_live`."""
    options = {"max_size": 2**24, "open_timeout": READ_TIMEOUT_S, **options}
    async with websockets.connect(ws_url(base, "/ws/lab"), **options) as ws:
        client = LabClient(ws)
        if hello:
            await client.hello()
        yield client


def abort(clients: list[_Socket]) -> None:
    """Drop these clients' connections at once, with no closing handshake: a client that
    stopped reading would otherwise wait out the handshake's timeout, one by one."""
    for client in clients:
        transport = getattr(client.ws, "transport", None)
        if transport is not None:
            transport.abort()


@dataclass
class CanaryResult:
    """What one canary learner got: `fps` over the window it reports (the best whole window
    when it stopped early at `target_fps`), and its worst wait for a frame."""

    fps: float = 0.0
    frames: int = 0
    first_frame_s: float | None = None  # from connecting to the first playing frame
    max_gap_s: float = 0.0
    windows: list[float] = field(default_factory=list)  # frames/s in each whole window
    error: str | None = None


async def canary(base: str, seconds: float = 2.0, window_s: float = 1.0,
                 target_fps: float | None = None, config: dict[str, Any] | None = None
                 ) -> CanaryResult:
    """A learner on `/ws` that starts `config` (default: the default experiment), plays with
    acks for up to `seconds` and measures its frames per second in windows of `window_s`.

    With `target_fps` it stops at the first window that reaches it (`fps` is that window's);
    otherwise `fps` is over the whole time it played. It never raises for the server's
    failings: an error, a refusal or a timeout ends it with `error` set.
    """
    result = CanaryResult()
    began = time.perf_counter()
    deadline = began + seconds
    arrivals: list[float] = []
    try:
        async with connect_live(base, open_timeout=max(0.1, seconds)) as client:
            await client.start(config, timeout=max(0.1, deadline - time.perf_counter()))
            await client.send(type="play")
            while (left := deadline - time.perf_counter()) > 0:
                try:
                    msg = await client.next(left)
                except TimeoutError:  # the time is up: what came until now is the result
                    break
                if msg["type"] in ("_closed", "error"):
                    raise ServerError(msg)
                if msg["type"] != "frame":
                    continue
                await client.send(type="ack", seq=msg["seq"])
                if msg.get("state") != "playing":
                    continue
                arrivals.append(time.perf_counter())
                if target_fps is not None and _windows(arrivals, window_s)[-1:] >= [target_fps]:
                    break
    except (TimeoutError, OSError, ServerError, websockets.WebSocketException) as err:
        result.error = f"{type(err).__name__}: {err}"
    result.frames = len(arrivals)
    if arrivals:
        result.first_frame_s = arrivals[0] - began
        gaps = [b - a for a, b in itertools.pairwise(arrivals)]
        result.max_gap_s = max([arrivals[0] - began, *gaps])
        result.windows = _windows(arrivals, window_s)
        end = arrivals[-1] if target_fps is not None else max(arrivals[-1], deadline)
        span = end - arrivals[0]
        hit = [w for w in result.windows if target_fps is not None and w >= target_fps]
        result.fps = hit[0] if hit else (len(arrivals) - 1) / span if span > 0 else 0.0
    return result


def _windows(arrivals: list[float], window_s: float) -> list[float]:
    """Frames per second in each whole window of `window_s`, from the first frame on (a
    window ends at the last frame seen, so the list grows as frames arrive)."""
    if not arrivals:
        return []
    rates, start, count = [], arrivals[0], 0
    for t in arrivals[1:]:
        count += 1
        if t - start >= window_s:
            rates.append(count / (t - start))
            start, count = t, 0
    return rates
