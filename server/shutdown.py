"""How the server stops on Ctrl-C or SIGTERM, within seconds whatever is running.

uvicorn, on the signal, stops accepting connections, waits for the open ones, cancels what is
still running after `shutdown_timeout_s` and then ends the app's lifespan. Long requests (a
compare replay, a sweep's stream) should not wait for that cancel: `notice_exit_signals` sets
the app's `stopping` event on the signal itself, and they end at their next slice with a
`shutting_down` answer. Last, Python waits at exit for worker threads to finish the call they
are in (a frame, a lab step), which cannot be interrupted: `exit_after` ends the process if
all that takes more than a few seconds after the signal. Every process of `--processes N`
does this for itself.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

EXIT_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def notice_exit_signals(stopping: asyncio.Event, exit_within_s: float) -> Callable[[], None]:
    """Make the handlers in force for Ctrl-C and SIGTERM (uvicorn's) also set `stopping`, on
    the running loop, and end the process `exit_within_s` after the first signal if it is still
    there. Returns the undo. Does nothing off the main thread, where no signal arrives (a test
    client's app)."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    loop = asyncio.get_running_loop()
    saved: dict[int, Any] = {}
    for sig in EXIT_SIGNALS:
        previous = signal.getsignal(sig)
        if not callable(previous):
            continue

        def handler(signum: int, frame: Any, previous: Callable[..., Any] = previous) -> None:
            if not stopping.is_set():
                exit_after(exit_within_s)
            loop.call_soon_threadsafe(stopping.set)
            previous(signum, frame)

        saved[sig] = previous
        signal.signal(sig, handler)

    def undo() -> None:
        for sig, previous in saved.items():
            signal.signal(sig, previous)

    return undo


def exit_after(seconds: float) -> None:
    """End the process `seconds` from now if it is still there (see the module docstring)."""

    def exit_now() -> None:
        time.sleep(seconds)
        sys.stderr.write(f"netplay: work still running {seconds:g} s after shutdown; exiting\n")
        sys.stderr.flush()
        os._exit(1)

    threading.Thread(target=exit_now, daemon=True, name="netplay-exit").start()
