"""A real `netplay serve` in a subprocess on 127.0.0.1, and what the kernel says about it.

The attack tests and anything else that must see the server as a client does (its own
process, its own threads and memory) start it here. Every wait is bounded. Thread count and
resident memory come from /proc/<pid>/status; CPU time from /proc/<pid>/stat of the server
and every process below it (sweep workers run in child processes).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Self

ROOT = Path(__file__).resolve().parents[1]
_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def free_port(low: int = 0, high: int = 0) -> int:
    """A free port on 127.0.0.1: the first free one of `low..high`, or any when none given."""
    for port in range(low, high + 1) if low else ():
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_health(url: str, seconds: float) -> dict[str, Any]:
    """`/api/health` of the server at `url` once it answers, polled for up to `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(f"{url}/api/health", timeout=1) as r:
                return json.load(r)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def process_tree(pid: int) -> set[int]:
    """`pid` and every live process under it."""
    return {pid, *descendants(pid)}


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by `pid` and the processes under it now."""
    return cpu_seconds(sorted(process_tree(pid)))


@lru_cache(maxsize=1)
def serve_flags() -> frozenset[str]:
    """The flags this checkout's `netplay serve` knows, read from its `--help`."""
    out = subprocess.run(
        [sys.executable, "-m", "server.cli", "serve", "--help"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )
    return frozenset(w.rstrip(",") for w in out.stdout.split() if w.startswith("--"))


def known_flags(flags: dict[str, Any]) -> list[str]:
    """`flags` as an argument list; a flag this server does not have is an error, so that a
    renamed setting cannot quietly leave an attack unbounded."""
    unknown = sorted(set(flags) - serve_flags())
    if unknown:
        raise ValueError(f"netplay serve has no flag {', '.join(unknown)}")
    return [arg for name, value in flags.items() for arg in (name, str(value))]


def proc_status(pid: int) -> dict[str, str]:
    with open(f"/proc/{pid}/status") as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


def threads_of(pid: int) -> int:
    """Threads of process `pid` now."""
    return int(proc_status(pid)["Threads"])


def rss_mb_of(pid: int) -> float:
    """Resident memory of process `pid` now, in MiB."""
    return int(proc_status(pid)["VmRSS"].split()[0]) / 1024


def thread_names(pid: int) -> dict[str, int]:
    """How many threads of `pid` carry each name (for a message when a count is off)."""
    names: dict[str, int] = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                name = f.read().strip()
        except OSError:
            continue
        names[name] = names.get(name, 0) + 1
    return names


def stat_fields(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()  # fields from `state` on


def descendants(pid: int) -> list[int]:
    """Every live process below `pid` (children, their children, ...)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (fields := stat_fields(int(entry))) is not None:
            parents.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def cpu_seconds(pids: list[int]) -> float:
    """User plus system CPU time of these processes so far, in seconds."""
    total = 0
    for pid in pids:
        if (fields := stat_fields(pid)) is not None:
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / _TICK


@dataclass
class Health:
    ms: float  # the best of the tries: the event loop's latency, not the machine's noise
    tries_ms: list[float]
    body: dict[str, Any] | None


class ServerProcess:
    """`netplay serve --port P <flags>` as a subprocess; its log goes to a temporary file."""

    def __init__(self, flags: dict[str, Any] | None = None, ports: tuple[int, int] = (0, 0),
                 env: dict[str, str] | None = None):
        self.port = free_port(*ports)
        self.url = f"http://127.0.0.1:{self.port}"
        argv = known_flags(flags or {})
        # Held open for the server's life and closed by `stop`.
        self._log = tempfile.NamedTemporaryFile(  # noqa: SIM115
            "w+", prefix="netplay-serve-", suffix=".log")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "serve", "--port", str(self.port), *argv],
            cwd=ROOT, env={**os.environ, **(env or {})}, stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self.pid = self.proc.pid

    def wait_ready(self, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while self.health(tries=1, timeout=1).body is None:
            if not self.alive() or time.monotonic() > deadline:
                raise RuntimeError(f"netplay serve did not come up:\n{self.log()[-2000:]}")
            time.sleep(0.1)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def health(self, tries: int = 3, timeout: float = 2.0) -> Health:
        times, body = [], None
        for _ in range(tries):
            start = time.perf_counter()
            try:
                with urllib.request.urlopen(f"{self.url}/api/health", timeout=timeout) as r:
                    body = json.load(r)
            except (OSError, ValueError):
                times.append(float("inf"))
                continue
            times.append((time.perf_counter() - start) * 1000)
        return Health(min(times), times, body)

    def threads(self) -> int:
        return threads_of(self.pid)

    def rss_mb(self) -> float:
        return rss_mb_of(self.pid)

    def thread_names(self) -> dict[str, int]:
        return thread_names(self.pid)

    def tree_cpu_seconds(self) -> float:
        return cpu_seconds([self.pid, *descendants(self.pid)])

    def busy_cores(self, seconds: float = 1.0) -> float:
        """CPU the server and its child processes use over `seconds`, in cores."""
        before, start = self.tree_cpu_seconds(), time.perf_counter()
        time.sleep(seconds)
        return (self.tree_cpu_seconds() - before) / (time.perf_counter() - start)

    def log(self) -> str:
        self._log.flush()
        with open(self._log.name, errors="replace") as f:
            return f.read()

    def stop(self, grace_s: float = 10) -> None:
        """SIGINT (Ctrl-C) first, as a person stops it; SIGKILL if that has not ended it
        within `grace_s`."""
        children = descendants(self.pid)
        if self.alive():
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(grace_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        for child in children:  # sweep workers left behind by a killed server
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
        self._log.close()

    def __enter__(self) -> Self:
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def http(url: str, body: Any = None, headers: dict[str, str] | None = None,
         timeout: float = 10) -> tuple[int, dict[str, str], bytes]:
    """One request: (status, headers, body); an HTTP error status is returned, not raised."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={
        **({"content-type": "application/json"} if data is not None else {}), **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as err:
        return err.code, {k.lower(): v for k, v in err.headers.items()}, err.read()
