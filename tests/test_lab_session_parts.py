"""A lab session's work in short jobs: long commands split over several `work` calls with the
same result as at once, frames built in pieces, and nothing left after `close`."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from playground_models.imagelab import inspection
from playground_models.imagelab.session import LabSession

SMALL = "in8x8x1-conv8k3p1-relu-maxpool2-fc10"
TINY_BUDGET = 1e-6  # every `work` call runs one piece only


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def started(sent: list[dict[str, Any]]) -> tuple[LabSession, int]:
    session = LabSession(sent.append)
    calls = run(session, {"type": "start", "config": {"net": SMALL, "seed": "3"}}, 10.0)
    return session, calls


def run(session: LabSession, message: dict[str, Any] | None, budget: float) -> int:
    """Call `work` as the server's driver does until the session is idle; returns the calls."""
    session.work(budget, message)
    calls = 1
    while session.busy and session.state not in ("playing", "racing"):
        session.work(budget)
        calls += 1
    return calls


def test_a_long_step_runs_over_many_jobs_and_answers_with_one_frame():
    sent: list[dict[str, Any]] = []
    session, _ = started(sent)
    sent.clear()
    session.work(TINY_BUDGET, {"type": "step", "n": 40})
    assert not session.takes_messages  # half done: the next job goes on with it
    calls = 1
    while not session.takes_messages:
        session.work(TINY_BUDGET)
        calls += 1
    assert calls > 40  # a step per job, and the frame in pieces
    frames = [m for m in sent if m["type"] == "frame"]
    assert len(frames) == 1 and frames[0]["steps"] == 40
    assert [m["type"] for m in sent] == ["frame", "state"]

    # The same numbers as one session given the whole step in one job.
    other: list[dict[str, Any]] = []
    at_once, _ = started(other)
    other.clear()
    at_once.work(60.0, {"type": "step", "n": 40})
    (whole,) = [m for m in other if m["type"] == "frame"]
    assert whole["train"] == frames[0]["train"] and whole["test"] == frames[0]["test"]
    assert whole["filters"] == frames[0]["filters"] and whole["confusion"] == frames[0]["confusion"]


def test_a_dream_in_pieces_is_the_dream_at_once():
    sent: list[dict[str, Any]] = []
    session, _ = started(sent)
    session.work(10.0, {"type": "step", "n": 20})
    sent.clear()
    calls = run(session, {"type": "dream", "layer": 4, "unit": 3}, TINY_BUDGET)
    (dream,) = [m for m in sent if m["type"] == "dream"]
    assert calls >= 80  # one gradient step per job
    assert session.trainer is not None
    expected = inspection.activation_maximization(session.trainer, 4, 3)
    assert dream["activation"] == pytest.approx(expected["activation"], rel=1e-6)
    assert all(p.requires_grad for p in session.trainer.net.parameters())  # restored


def test_playing_trains_in_slices_and_frames_wait_for_the_previous_one():
    sent: list[dict[str, Any]] = []
    session, _ = started(sent)
    session.frame_sent()  # the start's frame is written: the server's sender says so
    session.work(1.0, {"type": "play"})
    sent.clear()
    for _ in range(200):  # slices of ~5 ms: about a second of play
        session.work(0.005)
        if any(m["type"] == "frame" for m in sent):
            break
    frames = [m for m in sent if m["type"] == "frame"]
    assert len(frames) == 1 and frames[0]["state"] == "playing" and frames[0]["steps"] > 0
    for _ in range(60):  # the frame is not written yet: training goes on, no second frame
        session.work(0.005)
    assert len([m for m in sent if m["type"] == "frame"]) == 1
    assert session.trainer is not None and session.trainer.steps > frames[0]["steps"]
    session.frame_sent()
    for _ in range(200):
        session.work(0.005)
        if len([m for m in sent if m["type"] == "frame"]) == 2:
            break
    assert len([m for m in sent if m["type"] == "frame"]) == 2


def test_close_drops_the_models_and_work_after_it_does_nothing():
    sent: list[dict[str, Any]] = []
    session, _ = started(sent)
    session.work(TINY_BUDGET, {"type": "step", "n": 50})  # half done
    session.close()
    sent.clear()
    session.work(1.0)
    session.work(1.0, {"type": "ping", "id": 1})
    assert sent == [] and session.trainer is None and not session.busy
