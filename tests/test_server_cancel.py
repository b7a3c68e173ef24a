"""Work that outlives its client, against a real `netplay serve` on 127.0.0.1: a compare replay
or a sweep whose client disconnects stops using CPU, Ctrl-C and SIGTERM stop the server
within seconds whatever trains, and a burst of previews leaves the event loop answering.

CPU is read from /proc (the server and every process under it: sweep workers are children
of its fork server), with generous margins: a busy server uses most of a core, an idle one
almost none, whatever else this machine runs. Every wait is bounded.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from serverproc import free_port, process_tree, stat_fields, tree_cpu, wait_for_health
from websockets.sync.client import connect

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")

ROOT = Path(__file__).resolve().parents[1]
# A replay that would take minutes: 2 runs of a 2,300-weight net at batch 1 to epoch 20,000.
HEAVY = "runs=2&numSamples=2000&percTrainData=90&batchSize=1&networkShape=32,32,32"
HEAVY_POINT = "numSamples=2000&percTrainData=90&batchSize=1&networkShape=32,32,32"












def cpu_over(pid: int, seconds: float) -> float:
    start = tree_cpu(pid)
    time.sleep(seconds)
    return tree_cpu(pid) - start


@pytest.fixture
def serve() -> Iterator:
    """`serve(*flags)`: a `netplay serve` subprocess on a free port; returns (proc, port)."""
    procs: list[subprocess.Popen] = []

    def start(*flags: str) -> tuple[subprocess.Popen, int]:
        port = free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "serve", "--port", str(port), *flags],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        procs.append(proc)
        wait_for_health(f"http://127.0.0.1:{port}", 60)
        return proc, port

    yield start
    for proc in procs:
        if proc.poll() is None:
            tree = process_tree(proc.pid)
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
            for pid in tree - {proc.pid}:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        proc.stderr.close()


def post(port: int, path: str, body: dict) -> http.client.HTTPConnection:
    """Send a POST and return the connection without reading the answer."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
    return conn


def wait_busy(pid: int, limit_s: float = 20) -> float:
    """Wait until the server tree uses CPU (its work has started); returns the CPU of 1 s.
    Busy is a sixth of a core: what a busy process gets when this machine is shared 6 ways."""
    deadline = time.monotonic() + limit_s
    while (used := cpu_over(pid, 1.0)) < 0.16:
        assert time.monotonic() < deadline, "the server never got busy"
    return used


def wait_idle(pid: int, limit_s: float = 10) -> float:
    """Wait until the server tree is idle (under 0.05 s CPU in 1 s: an idle server uses
    about 0.01); returns that CPU."""
    deadline = time.monotonic() + limit_s
    while (used := cpu_over(pid, 1.0)) >= 0.05:
        assert time.monotonic() < deadline, f"still using {used:.2f} s of CPU per second"
    return used


def test_a_compare_replay_stops_when_its_client_disconnects(serve):
    proc, port = serve("--workers", "1", "--max-compare-work", "1000000")
    conn = post(port, "/api/compare/step",
                {"url": HEAVY, "client": "gone", "epoch": 20000, "epochs": 0})
    busy = wait_busy(proc.pid)
    conn.close()
    started = time.monotonic()
    idle = wait_idle(proc.pid)
    assert busy >= 0.16 and idle < 0.05
    assert time.monotonic() - started < 10
    assert urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=5).status == 200


def test_sweep_points_stop_when_the_client_disconnects(serve):
    proc, port = serve("--sweep-workers", "1", "--max-sweeps", "1")
    body = {"url": HEAVY_POINT, "param": "seed", "values": ["1", "2"], "epochs": 2000}
    conn = post(port, "/api/sweep", body)
    assert conn.getresponse().status == 200  # the stream has started; no line is ready yet
    wait_busy(proc.pid)
    conn.close()
    wait_idle(proc.pid)
    # The sweep's slot is free again: a new sweep is admitted (429 while the old one counts).
    small = {"url": "dataset=xor", "param": "dropout", "values": ["0"], "epochs": 2}
    again = post(port, "/api/sweep", small).getresponse()
    assert again.status == 200
    assert json.loads(again.readline())["value"] == 0.0


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_stops_the_server_while_a_sweep_and_a_replay_train(serve, sig):
    with contextlib.ExitStack() as stack:
        signal_while_training(serve, sig, stack)


def signal_while_training(serve, sig: signal.Signals, stack: contextlib.ExitStack) -> None:
    proc, port = serve("--workers", "1", "--sweep-workers", "1",
                       "--max-compare-work", "1000000")
    body = {"url": HEAVY_POINT, "param": "seed", "values": ["1"], "epochs": 2000}
    sweep = post(port, "/api/sweep", body)
    assert sweep.getresponse().status == 200
    replay = post(port, "/api/compare/step",
                  {"url": HEAVY, "client": "held", "epoch": 20000, "epochs": 0})
    # Closed once the server has gone: a short close timeout, not the default 10 s waited out.
    live = stack.enter_context(connect(f"ws://127.0.0.1:{port}/ws", open_timeout=10,
                                       close_timeout=1))
    live.send(json.dumps({"type": "start", "config": {"networkShape": [8, 8]}}))
    live.send(json.dumps({"type": "play"}))  # a learner playing
    wait_busy(proc.pid)  # the sweep point, the replay and the session train
    tree = process_tree(proc.pid)
    assert len(tree) >= 3  # the server, its fork server and a sweep worker
    sent = time.monotonic()
    proc.send_signal(sig)
    proc.wait(15)
    took = time.monotonic() - sent
    deadline = time.monotonic() + 5  # the sweep workers go with it
    while (left := [p for p in tree if stat_fields(p) not in (None,) and stat_fields(p)[0] != "Z"]) \
            and time.monotonic() < deadline:
        time.sleep(0.1)
    sweep.close()
    replay.close()
    print(f"stopped {took:.2f} s after {sig.name}")
    assert took < 6, f"the server took {took:.1f} s to stop"
    assert left == []
    err = proc.stderr.read()
    print(err)
    assert "Traceback" not in err


def test_a_burst_of_previews_leaves_health_answering(serve):
    _, port = serve("--workers", "2")
    base = f"http://127.0.0.1:{port}"

    def preview(seed: int) -> int:
        url = f"{base}/api/preview?url=dataset%3Dspiral%26numSamples%3D5000%26seed%3D{seed}" \
              "&max_points=5000"
        with urllib.request.urlopen(url, timeout=60) as r:
            return len(r.read())

    def health_latencies(until: float) -> list[float]:
        out = []
        while time.monotonic() < until:
            start = time.monotonic()
            urllib.request.urlopen(f"{base}/api/health", timeout=30).read()
            out.append(time.monotonic() - start)
            time.sleep(0.05)
        return out

    with ThreadPoolExecutor(9) as pool:
        checks = pool.submit(health_latencies, time.monotonic() + 4)
        sizes = list(pool.map(preview, range(24)))
        latencies = checks.result()
    assert all(size > 90_000 for size in sizes)  # 2 × 2,500 rows each
    assert len(latencies) > 10
    assert max(latencies) < 0.5, f"health took {max(latencies):.2f} s during the burst"


def test_a_stopping_process_is_ended_when_a_thread_would_keep_it_alive():
    # A worker thread stuck in a call Python cannot interrupt (here a 60 s sleep) would hold
    # the interpreter at exit; `exit_after` ends the process anyway.
    code = (
        "import threading, time\n"
        "from server.shutdown import exit_after\n"
        "threading.Thread(target=time.sleep, args=(60,)).start()\n"
        "exit_after(0.5)\n"
    )
    start = time.monotonic()
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=30, check=False)
    assert time.monotonic() - start < 10
    assert out.returncode == 1 and "after shutdown; exiting" in out.stderr
