"""Server limits and options: one pydantic model, filled from defaults, `NETPLAY_*` and flags.

Every limit the server enforces lives here, so that none hides inline in the session code.
Precedence: command-line flag > environment variable `NETPLAY_<NAME>` > default.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from playground_models.params import BY_NAME, MAX_PARAMETERS
from playground_models.sweep import MAX_EPOCHS, MAX_POINTS

ENV_PREFIX = "NETPLAY_"


class Settings(BaseModel):
    """What one server allows. Field descriptions double as `--help` text."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_sessions: int = Field(64, ge=1, le=100_000, description="live training sessions at once")
    max_parameters: int = Field(
        MAX_PARAMETERS, ge=1, le=10_000_000, description="weights and biases per model"
    )
    max_samples: int = Field(
        int(BY_NAME["numSamples"].max or 5000) + 500,
        ge=1,
        le=1_000_000,
        description="data points per experiment (generated plus added by hand)",
    )
    max_message_bytes: int = Field(
        65_536, ge=256, le=8 * 1024 * 1024, description="largest client message accepted"
    )
    max_messages_per_second: float = Field(
        50.0, gt=0, le=100_000, description="client messages per second (a burst of 2 s is allowed)"
    )
    idle_timeout_s: float = Field(
        1800.0, gt=0, description="close a session after this long without a client message"
    )
    max_fps: float = Field(60.0, gt=0, le=240, description="frames per second per session")
    max_steps_per_frame: int = Field(
        5000, ge=1, le=1_000_000, description="training updates between two frames"
    )
    max_frames_in_flight: int = Field(
        3, ge=1, le=1000, description="frames sent but not yet acknowledged, for clients that ack"
    )
    max_step_epochs: int = Field(
        100, ge=1, le=100_000, description="epochs one `step` message may ask for"
    )
    frame_budget_ms: float = Field(
        50.0,
        gt=0,
        description="compute time per frame; a frame carries fewer updates than asked when "
        "the machine is slower, so one busy session cannot hold a worker for long",
    )
    workers: int = Field(
        max(1, min(8, os.cpu_count() or 1)),
        ge=1,
        le=256,
        description="threads that train and draw, shared by all sessions: the next job is the "
        "one of the session that used the least worker time lately",
    )
    lab_slice_ms: float = Field(
        20.0, gt=0, le=10_000,
        description="worker time per job of an image-lab session (a slice of training, a piece "
        "of a frame or a command); the longest wait it makes another session's job bear",
    )
    lab_queue_messages: int = Field(
        8, ge=1, le=10_000,
        description="image-lab messages queued per session each way; past it the server stops "
        "reading that client until its replies are written",
    )
    torch_threads: int = Field(
        1, ge=1, le=256, description="torch threads per worker (set on each worker thread); tiny nets run best on one"
    )
    group_sessions: Literal["off", "cuda", "cpu", "auto"] = Field(
        "off",
        description="train live sessions of one architecture together, one batched program per "
        "minibatch for all of them: off (each session on the C kernel), cuda, cpu, or auto "
        "(cuda when torch sees a GPU, else off). It pays only with hundreds of sessions "
        "training at once (docs/benchmarks.md)",
    )
    group_capacity: int = Field(
        256, ge=1, le=65_536,
        description="sessions per batched program; fixed, so that a session's numbers do not "
        "depend on how many others are training",
    )
    max_sweeps: int = Field(
        2, ge=1, le=1000, description="sweeps training at once (more are refused until one ends)"
    )
    max_sweep_values: int = Field(
        16, ge=1, le=MAX_POINTS, description="values (trained points) per sweep"
    )
    max_sweep_epochs: int = Field(
        2000, ge=1, le=MAX_EPOCHS, description="epochs per value of a sweep"
    )
    sweep_workers: int = Field(
        max(1, min(8, os.cpu_count() or 1)),
        ge=1,
        le=256,
        description="processes that train sweep points (shared by all sweeps; one torch thread each)",
    )
    max_memory_mb: int = Field(
        3072, ge=0, le=1_048_576,
        description="memory ceiling per server process, MB: a session that would pass it is "
        "refused with an error (0: no ceiling)",
    )
    allowed_origins: tuple[str, ...] = Field(
        (),
        description="extra page origins allowed to open the WebSocket (comma-separated; "
        "'*' allows any); the server's own origin is always allowed",
    )

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(o.strip().rstrip("/") for o in value.split(",") if o.strip())
        return value

    @field_validator("group_sessions")
    @classmethod
    def _cuda_present(cls, value: str) -> str:
        if value == "cuda":
            import torch

            if not torch.cuda.is_available():
                raise ValueError("torch sees no CUDA device here; use auto, cpu or off")
        return value

    def group_device(self) -> str | None:
        """Where grouped sessions train, or None when each trains on its own."""
        if self.group_sessions == "auto":
            import torch

            return "cuda" if torch.cuda.is_available() else None
        return None if self.group_sessions == "off" else self.group_sessions

    def limits(self) -> dict[str, Any]:
        """The limits a client needs to know (sent in `hello` and `/api/schema`)."""
        return {
            "max_sessions": self.max_sessions,
            "max_parameters": self.max_parameters,
            "max_samples": self.max_samples,
            "max_message_bytes": self.max_message_bytes,
            "max_messages_per_second": self.max_messages_per_second,
            "idle_timeout_s": self.idle_timeout_s,
            "max_steps_per_frame": self.max_steps_per_frame,
            "max_step_epochs": self.max_step_epochs,
            "max_frames_in_flight": self.max_frames_in_flight,
            "max_fps": self.max_fps,
            "max_sweep_values": self.max_sweep_values,
            "max_sweep_epochs": self.max_sweep_epochs,
            "max_memory_mb": self.max_memory_mb,
        }


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def add_flags(parser: argparse.ArgumentParser) -> None:
    """One `--max-sessions`-style flag per setting; unset flags leave env/defaults in force."""
    group = parser.add_argument_group("limits (also NETPLAY_<NAME> in the environment)")
    for name, field in Settings.model_fields.items():
        default = field.default
        shown = ",".join(default) if isinstance(default, tuple) else default
        group.add_argument(
            _flag(name),
            dest=f"setting_{name}",
            metavar=name.upper(),
            default=None,
            help=f"{field.description} (default {shown or 'none'})",
        )


class SettingsError(ValueError):
    """A setting from the environment or a flag that cannot be used; names the setting."""


def load(
    environ: Mapping[str, str] | None = None,
    args: argparse.Namespace | None = None,
    **overrides: Any,
) -> Settings:
    """Settings from defaults, then `NETPLAY_*` variables, then flags, then `overrides`."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    source: dict[str, str] = {}
    for name in Settings.model_fields:
        env_key = ENV_PREFIX + name.upper()
        if env_key in environ:
            values[name] = environ[env_key]
            source[name] = env_key
        flag_value = getattr(args, f"setting_{name}", None) if args is not None else None
        if flag_value is not None:
            values[name] = flag_value
            source[name] = _flag(name)
    values.update(overrides)
    try:
        return Settings(**values)
    except ValidationError as err:
        first = err.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else "settings"
        raise SettingsError(f"{source.get(name, name)}: {first['msg']}") from None
