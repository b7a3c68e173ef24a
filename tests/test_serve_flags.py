"""`netplay serve` with flags it cannot serve with: exit 2 at once, one line naming the flag."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from server import app as app_module
from server.cli import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def never_serves(monkeypatch):
    """A check that misses would start uvicorn and hang the test: fail instead."""

    def refuse(*args, **kwargs):
        raise AssertionError("serve went on to run the server")

    monkeypatch.setattr(app_module, "_run", refuse)


def test_a_port_out_of_range_exits_2_at_once_with_one_line():
    out = subprocess.run(
        [sys.executable, "-m", "server.cli", "serve", "--port", "99999"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        "netplay serve: --port 99999: give a port from 1 to 65535"
    ]
    assert "serving on" not in out.stdout


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--port", "0"], "--port 0: give a port from 1 to 65535"),
        (["--port", "-5"], "--port -5: give a port from 1 to 65535"),
        (["--processes", "0"], "--processes 0: give 1 to 256 processes"),
        (["--processes", "-2"], "--processes -2: give 1 to 256 processes"),
        (["--processes", "100000"], "--processes 100000: give 1 to 256 processes"),
        # TEST-NET-1 (RFC 5737): a valid address that is on no interface of this machine.
        (["--host", "192.0.2.1", "--port", "18201"], "--host 192.0.2.1: cannot listen there"),
        (["--host", "", "--port", "18201"], "--host '': not a name or address"),
    ],
)
def test_bad_serve_flags_exit_2_naming_the_flag(never_serves, capsys, flags, message):
    assert main(["serve", *flags]) == 2
    out = capsys.readouterr()
    assert "serving on" not in out.out
    (line,) = out.err.strip().splitlines()
    assert line.startswith(f"netplay serve: {message}")


def test_a_port_in_use_is_named(never_serves, capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["serve", "--port", str(port)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"netplay serve: --port {port}: already in use on 127.0.0.1"
    )


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


def test_good_flags_reach_the_server(monkeypatch, capsys):
    ran = {}
    monkeypatch.setattr(app_module, "_run", lambda app, args, processes, *rest: ran.update(
        host=args.host, port=args.port, processes=processes))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert main(["serve", "--host", "[::1]" if _ipv6_loopback() else "127.0.0.1",
                 "--port", str(port)]) == 0
    assert ran["port"] == port and ran["processes"] == 1
    assert ran["host"] in ("::1", "127.0.0.1")  # brackets, as in a URL, are taken off
    assert f":{port}/" in capsys.readouterr().out


@pytest.mark.parametrize("how", ["one process", "each of --processes"])
def test_a_serving_process_leaves_what_it_loaded_out_of_the_cyclic_collector(how):
    """`settle_heap`: a full collection in a serving process no longer walks the hundreds of
    thousands of objects torch and the app made at start (it did, 100-119 ms each time, inside
    some learner's frame). Run in a process of its own, as a server's is."""
    if how == "one process":  # `_run` settles the heap just before uvicorn starts
        body = ("import argparse, uvicorn, server.app as a; uvicorn.run = lambda *x, **k: None; "
                "a._run(a.create_app(), argparse.Namespace(host='127.0.0.1', port=0), 1, 1.0)")
    else:
        body = "from server.app import app_from_environment; app_from_environment()"
    script = (f"import gc; {body}; "
              "print(gc.get_freeze_count(), len(gc.get_objects()))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, cwd=ROOT, check=True)
    frozen, left = map(int, done.stdout.split())
    assert frozen > 100_000  # torch and the app, out of the collector's way
    assert left < frozen / 100  # what a full collection still walks
