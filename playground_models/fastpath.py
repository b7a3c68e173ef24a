"""The fast training path for small MLPs (placeholder until the kernel lands)."""

from __future__ import annotations

from .experiment import Experiment


def supports(exp: Experiment) -> bool:
    return False


class FastBackend:  # pragma: no cover - replaced by the real kernel
    path = "fast"
