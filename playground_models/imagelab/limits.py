"""What one lab session may ask of the server, checked from the settings alone, before any
tensor exists: parameters, activation memory, samples, input size, the cost of a dream, the
size of a frame, and (through `memory_check`) the process's memory ceiling.

The server fills `LabLimits` from its settings (`--lab-max-parameters`, …); the defaults here are
those settings' defaults. Over a limit is a `LabConfigError` naming the setting to change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .config import LabConfig, LabConfigError
from .cost import ALLOCATOR_SLACK, NetCost, data_bytes, data_examples, net_cost
from .layers import analyze, fits, parse_net, shape_text
from .summary import DATA_SHAPES

DREAM_STEPS = 80  # gradient-ascent steps of one `dream` (inspection.activation_maximization)
MB = 1024 * 1024
# Called with (bytes, field, what) before a build allocates; raises LabConfigError when the
# process would pass its memory ceiling.
MemoryCheck = Callable[[int, str, str], None]


@dataclass(frozen=True)
class LabLimits:
    """The defaults let every preset train at every batch size (1..512) and refuse the nets that
    took a server down: see docs/lab-protocol.md, "Limits", for the figures behind each."""

    max_parameters: int = 250_000  # LeCun's 784-300-10 MLP (238,510); the largest preset 79,510
    max_activation_mb: int = 288  # live, per training step; the largest preset at 512: 261
    max_samples: int = 10_000  # generated digits: ~1 ms of CPU and 20 KB of peak memory each
    max_input_size: int = 4096  # H·W·C values: 64×64×1 or 32×32×3 (the data are grey 28×28)
    max_dream_cost: int = 10_000_000_000  # multiply-adds: ~0.4 s of one core; presets ≤ 0.51 G
    max_frame_kb: int = 256  # one frame's binary message; the largest preset's is 131 kB
    max_upload_bytes: int = 4_000_000  # a learner's picture to classify (a phone's photo)
    max_upload_pixels: int = 16_000_000  # read from its header, before it is decoded
    memory_check: MemoryCheck | None = None

    def to_json(self) -> dict[str, Any]:
        """The limits as `hello` and `/api/lab/summary` report them."""
        return {
            "max_parameters": self.max_parameters,
            "max_activation_mb": self.max_activation_mb,
            "max_samples": self.max_samples,
            "max_input_size": self.max_input_size,
            "max_dream_cost": self.max_dream_cost,
            "max_frame_kb": self.max_frame_kb,
            "max_upload_bytes": self.max_upload_bytes,
            "max_upload_pixels": self.max_upload_pixels,
        }

    @property
    def max_message_bytes(self) -> int:
        """The largest `predict_file` message: the upload's base64 and a little JSON."""
        return (self.max_upload_bytes + 2) // 3 * 4 + 4096

    def cost(self, config: LabConfig) -> NetCost | None:
        """The cost of the config's net, or None when a layer does not fit its input."""
        spec = parse_net(config.net)
        infos = analyze(spec, DATA_SHAPES.get(config.data, (1, 28, 28)))
        return net_cost(spec, infos) if fits(infos) else None

    def violations(self, config: LabConfig) -> list[LabConfigError]:
        """Every limit `config` is over, most fundamental first (net, then batch, then data)."""
        found: list[LabConfigError] = []
        cost = self.cost(config)
        if cost is not None:
            found += self._net_violations(config, cost)
        if config.samples > self.max_samples:
            found.append(LabConfigError(
                "samples", f"{config.samples:,} samples is over this server's limit of "
                f"{self.max_samples:,} (lab_max_samples)"))
        return found

    def _net_violations(self, config: LabConfig, cost: NetCost) -> list[LabConfigError]:
        found = []
        shape = parse_net(config.net).input_shape or DATA_SHAPES.get(config.data, (1, 28, 28))
        if cost.input_values > self.max_input_size:
            found.append(LabConfigError(
                "net", f"the input {shape_text(shape)} = {cost.input_values:,} values is over "
                f"this server's limit of {self.max_input_size:,} (lab_max_input_size)"))
        if cost.params > self.max_parameters:
            found.append(LabConfigError(
                "net", f"{cost.params:,} parameters is over this server's limit of "
                f"{self.max_parameters:,} (lab_max_parameters)"))
        need = cost.activation_bytes(config.batchSize)
        if need > self.max_activation_mb * MB:
            # Name the batch when a smaller one would do; otherwise the net itself is too big.
            fitting = self.max_activation_mb * MB // cost.activation_bytes(1)
            field = "batchSize" if fitting >= 1 else "net"
            hint = (f"; this net fits batches of up to {fitting}" if fitting >= 1
                    else "; even one example is too many")
            found.append(LabConfigError(
                field, f"a training step needs about {need / MB:,.0f} MB of activations "
                f"({cost.activation_bytes(1) / 1024:,.0f} KB per example × batch "
                f"{config.batchSize}), over this server's limit of {self.max_activation_mb:,} MB "
                f"(lab_max_activation_mb){hint}"))
        return found

    def check(self, config: LabConfig) -> None:
        """Raise the first violation of `config`, if any (a `LabConfigError` naming its field)."""
        found = self.violations(config)
        if found:
            raise found[0]

    def check_memory(self, config: LabConfig, what: str = "this network") -> None:
        """Ask the memory ceiling (if any) for what building `config` will take."""
        cost = self.cost(config)
        if self.memory_check is None or cost is None:
            return
        self.memory_check(session_bytes(config, cost), "net", what)

    def check_dream(self, cost: NetCost, layer: int) -> None:
        """Refuse a dream on `layer` (1-based) whose gradient ascent would cost too much."""
        if not 1 <= layer < len(cost.macs_through):
            return  # the dream itself names a layer that does not exist
        macs = cost.dream_macs(layer, DREAM_STEPS)
        if macs > self.max_dream_cost:
            raise LabConfigError(
                "layer", f"a dream up to layer {layer} costs about {macs / 1e9:,.1f} G "
                f"multiply-adds, over this server's limit of {self.max_dream_cost / 1e9:,.1f} G "
                "(lab_max_dream_cost); pick an earlier layer or a smaller net")


def session_bytes(config: LabConfig, cost: NetCost) -> int:
    """An estimate of the resident memory a session of `config` takes at its peak: weights with
    their gradients and optimizer state, one training step's activations with the allocator's
    slack, and the data."""
    c, h, w = DATA_SHAPES.get(config.data, (1, 28, 28))
    data = data_bytes(config.data, config.samples, c * h * w, cost.input_values)
    activations = ALLOCATOR_SLACK * cost.activation_bytes(config.batchSize)
    return cost.param_bytes() + activations + data


def describe(config: LabConfig, cost: NetCost) -> dict[str, Any]:
    """The figures the limits are checked against, for `/api/lab/summary`."""
    return {
        "params": cost.params,
        "input_values": cost.input_values,
        "activation_mb": round(cost.activation_bytes(config.batchSize) / MB, 1),
        "batchSize": config.batchSize,
        "examples": data_examples(config.data, config.samples),
        "memory_mb": round(session_bytes(config, cost) / MB, 1),
        "forward_macs": cost.macs,
    }
