"""What the RNN-vs-LSTM comparison measured, as the page's note and docs/benchmarks.md state it.

Made by `python benchmarks/bench_seqlab.py --compare --steps 2000` with the page's default
settings (hidden 32, one layer, RMSprop at 0.003, clipping at 1, batch 32) on the `remember`
task: test accuracy after `STEPS` updates, for each N and seed. A run *learned* at `LEARNED`
or above (chance is 0.25). `summary` gives, per N, on how many seeds each cell learned, and the
N from which the LSTM learned on every seed while the plain RNN did not on some (`n_from`), up
to the longest N measured where that still held (`n_upto`).
"""

from __future__ import annotations

from typing import Any

LEARNED = 0.9
STEPS = 2000
SEEDS = ("1", "2", "3", "4", "5")

# test accuracy after STEPS updates, by N, cell and seed 1..5 (benchmarks/bench_seqlab.py)
MEASURED: dict[int, dict[str, tuple[float, ...]]] = {
    10: {"rnn": (1, 1, 1, 0.5625, 1), "lstm": (1, 1, 1, 1, 1)},
    25: {"rnn": (1, 1, 0.5547, 0.4375, 1), "lstm": (1, 1, 1, 1, 1)},
    50: {"rnn": (0.7656, 1, 0.5273, 0.5625, 0.5195), "lstm": (1, 1, 1, 1, 1)},
    75: {"rnn": (0.2422, 0.5234, 0.7617, 0.7227, 0.293), "lstm": (0.7266, 0.5234, 1, 0.5, 1)},
    100: {"rnn": (0.2695, 0.5391, 0.2656, 0.4375, 0.2266), "lstm": (0.2695, 1, 0.2344, 0.2188, 0.4609)},
}


def summary(measured: dict[int, dict[str, tuple[float, ...]]]) -> dict[str, Any]:
    """Per N, the seeds on which each cell learned; `n_from` and `n_upto` (None where no N
    held)."""
    rows = [{"n": n, **{cell: sum(a >= LEARNED for a in runs[cell]) for cell in ("rnn", "lstm")}}
            for n, runs in sorted(measured.items())]
    n_from = n_upto = None
    for row in rows:
        holds = row["lstm"] == len(measured[row["n"]]["lstm"]) and row["rnn"] < row["lstm"]
        if holds and n_from is None:
            n_from = n_upto = row["n"]
        elif holds and n_upto is not None:
            n_upto = row["n"]
        elif n_from is not None:
            break
    return {"rows": rows, "n_from": n_from, "n_upto": n_upto}


FINDINGS: dict[str, Any] = {
    "task": "remember",
    "steps": STEPS,
    "seeds": list(SEEDS),
    "learned_at": LEARNED,
    **summary(MEASURED),
    "measured": {str(n): {c: list(v) for c, v in runs.items()} for n, runs in MEASURED.items()},
}
