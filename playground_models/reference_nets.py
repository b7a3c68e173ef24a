"""The two reference nets, the ones every speed figure and agreement test uses.

(a) TF Playground's default: x₁, x₂ → [4, 2] tanh, circle, 250 training points, batch 10.
(b) six features → 6 × 8 relu, spiral, batch 10 (every TF feature but sin x₂).
"""

from __future__ import annotations

from .experiment import Experiment
from .urlcodec import serialize

NET_A = Experiment()
NET_B = Experiment(
    dataset="spiral",
    networkShape=[8] * 6,
    activation="relu",
    xSquared=True,
    ySquared=True,
    xTimesY=True,
    sinX=True,
)
REFERENCE_NETS = {"a": NET_A, "b": NET_B}
# The same nets as share-link queries, for clients that speak only the protocol.
QUERY_A = serialize(NET_A)
QUERY_B = serialize(NET_B)
