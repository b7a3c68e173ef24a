"""What the RNN-vs-LSTM comparison measured, as the page's note and docs/seqlab.md state it.

Made by `python benchmarks/bench_seqlab.py --compare` (the page's default settings: hidden 32,
one layer, RMSprop at 0.003, clipping at 1, batch 32) on the `remember` task: test accuracy
after `steps` updates for each N and seed. A run *fails* below `FAIL_BELOW` (chance is 0.25)
and *learns* at `LEARNS_AT` or above; `n_fails` is the smallest N measured from which the RNN
failed and the LSTM learned on every seed, `n_ok` the largest N below it where both learned
on every seed (None where no N held).
"""

from __future__ import annotations

from typing import Any

FAIL_BELOW = 0.5
LEARNS_AT = 0.9

# test accuracy by N, cell and seed ("1".."5"); 0.0 is a run that diverged
MEASURED: dict[int, dict[str, tuple[float, ...]]] = {}
STEPS = 1000
SEEDS = ("1", "2", "3", "4", "5")


def threshold(measured: dict[int, dict[str, tuple[float, ...]]]) -> tuple[int | None, int | None]:
    """(`n_fails`, `n_ok`) of a table of measurements, as the module's docstring defines them."""
    n_ok = None
    for n in sorted(measured):
        rnn, lstm = measured[n]["rnn"], measured[n]["lstm"]
        if all(a < FAIL_BELOW for a in rnn) and all(a >= LEARNS_AT for a in lstm):
            return n, n_ok
        if all(a >= LEARNS_AT for a in rnn + lstm):
            n_ok = n
    return None, None


N_FAILS, N_OK = threshold(MEASURED)
FINDINGS: dict[str, Any] = {
    "task": "remember",
    "steps": STEPS,
    "seeds": list(SEEDS),
    "n_fails": N_FAILS,
    "n_ok": N_OK,
    "fail_below": FAIL_BELOW,
    "learns_at": LEARNS_AT,
    "measured": {str(n): {c: list(v) for c, v in runs.items()} for n, runs in MEASURED.items()},
}
