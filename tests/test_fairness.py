"""The fair-share bar against a real server: 16 image-lab sessions training a heavy preset do
not starve a 2-D learner, who still gets at least 20 frames a second on this 2-core machine.

A time bar on a shared machine, as the issue asks: the measurement runs for 5 s after every
lab session has started playing (benchmarks/bench_fairness.py; docs/benchmarks.md has figures).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_a_2d_learner_gets_20_frames_per_second_beside_16_heavy_lab_sessions():
    done = subprocess.run(
        [sys.executable, "benchmarks/bench_fairness.py", "--labs", "16",
         "--preset", "resnet-mini", "--seconds", "5", "--no-alone"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["lab_frames_per_s"] > 0 and result["lab_examples_per_s"] > 0  # labs trained
    assert result["canary_fps_with_labs"] >= 20, result
