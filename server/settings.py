"""Server limits and options: one pydantic model, filled from defaults, `NETPLAY_*` and flags.

Every limit the server enforces lives here, so that none hides inline in the session code.
Precedence: command-line flag > environment variable `NETPLAY_<NAME>` > default.
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from playground_models.aelab.limits import AELimits
from playground_models.imagelab.limits import LabLimits
from playground_models.paintlab.limits import PaintLimits
from playground_models.params import BY_NAME, MAX_PARAMETERS
from playground_models.rllab.limits import RLLimits
from playground_models.seqlab.limits import SeqLimits
from playground_models.sweep import MAX_EPOCHS, MAX_POINTS

from .protocol import DEFAULT_MAX_DEPTH

ENV_PREFIX = "NETPLAY_"
_HOST_ENTRY = re.compile(r"^(\*|\.?[A-Za-z0-9\-_.:\[\]]{1,253})$")
_FRAME_SOURCE = re.compile(r"^('none'|'self'|\*|[A-Za-z0-9.*:/\-\[\]_]{1,300})$")
_LAB = LabLimits()  # the image lab's defaults, with the reasons for each
_SEQ = SeqLimits()  # the sequence lab's
_RL = RLLimits()  # the agent lab's
_PAINT = PaintLimits()  # the painting lab's
_AE = AELimits()  # the autoencoder lab's


class Settings(BaseModel):
    """What one server allows. Field descriptions double as `--help` text."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_sessions: int = Field(64, ge=1, le=100_000, description="live training sessions at once")
    max_rooms: int = Field(16, ge=0, le=10_000, description="live rooms (runs shared live "
                           "with viewers) in a server process at once")
    max_viewers_per_room: int = Field(250, ge=1, le=100_000,
                                      description="viewers of one live room at once")
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
    max_json_depth: int = Field(
        DEFAULT_MAX_DEPTH, ge=4, le=256,
        description="deepest nesting of arrays and objects in a client message",
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
    max_replay_updates: int = Field(
        500_000, ge=0, le=100_000_000,
        description="minibatch updates a link's history (`h`) or `at` may replay when a session "
        "opens it, and a rewind or an undo from its nearest checkpoint; replayed in slices on "
        "the shared workers",
    )
    max_step_updates: int = Field(
        25_000, ge=1, le=100_000_000,
        description="minibatch updates one `step` message may ask for (n epochs × updates per "
        "epoch); a step runs in frame-sized slices that stop when its client leaves",
    )
    frame_budget_ms: float = Field(
        50.0,
        gt=0,
        description="compute time per frame, training and drawing together; a frame carries "
        "fewer updates than asked, or a smaller grid, when the machine is slower, so one busy "
        "session cannot hold a worker for long",
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
    max_compare_work: int = Field(
        5000, ge=1, le=10_000_000,
        description="training one compare request may do, replay included, in millions of "
        "work units: runs × epochs × training points × (weights + 200); a million takes "
        "about 3-5 ms of one core, so the default about 15-25 s",
    )
    shutdown_timeout_s: float = Field(
        2.0, gt=0, le=600,
        description="on Ctrl-C or SIGTERM, how long open requests may take to finish before "
        "they are cancelled and the server exits",
    )
    max_memory_mb: int = Field(
        3072, ge=0, le=1_048_576,
        description="memory ceiling per server process, MB: a session that would pass it is "
        "refused with an error (0: no ceiling)",
    )
    lab_max_sessions: int = Field(
        16, ge=1, le=10_000, description="image-lab sessions at once, of all --processes (conv nets are heavier "
        "than the 2-D lab's; a few per core)"
    )
    lab_max_parameters: int = Field(
        _LAB.max_parameters, ge=1, le=100_000_000,
        description="weights and biases of one image-lab network",
    )
    lab_max_activation_mb: int = Field(
        _LAB.max_activation_mb, ge=1, le=1_048_576,
        description="image lab: activation memory of one training step, MB (per example × "
        "batch, forward and backward, estimated from the layer shapes)",
    )
    lab_max_samples: int = Field(
        _LAB.max_samples, ge=200, le=20_000, description="image lab: generated digits per session"
    )
    lab_max_input_size: int = Field(
        _LAB.max_input_size, ge=1, le=64 * 64 * 3,
        description="image lab: values of one input image, height × width × channels",
    )
    lab_max_dream_cost: int = Field(
        _LAB.max_dream_cost, ge=1, le=10**15,
        description="image lab: multiply-adds of one `dream` (80 forward and backward passes)",
    )
    lab_max_frame_kb: int = Field(
        _LAB.max_frame_kb, ge=32, le=65_536,
        description="image lab: size of one frame's message, kB (fewer filters and feature maps "
        "are sent when a net's would not fit)",
    )
    lab_max_upload_bytes: int = Field(
        _LAB.max_upload_bytes, ge=1_000, le=12_000_000,
        description="image lab: bytes of a learner's picture to classify (its base64 must fit "
        "the 16 MiB WebSocket frame)",
    )
    lab_max_upload_pixels: int = Field(
        _LAB.max_upload_pixels, ge=1_000, le=100_000_000,
        description="image lab: pixels (width × height) of a learner's picture, read from its "
        "header before it is decoded",
    )
    replica_name: str = Field(
        "", pattern=r"^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)?$",
        description="this server's name among replicas behind a proxy (up to 63 letters, "
        "digits and inner hyphens, as a Kubernetes pod's name; no replica's name may be "
        "another's with a hyphen and more after it): its live rooms' ids start with it, so "
        "that the proxy sends their viewers here (deploy/haproxy.cfg, deploy/k8s)",
    )
    lab_cifar_dir: str = Field(
        "", max_length=4096,
        description="image lab: a folder holding CIFAR-10's python version "
        "(cifar-10-batches-py, or its parent); ~/.keras/datasets and ./data are searched too",
    )
    seq_max_sessions: int = Field(
        16, ge=1, le=10_000,
        description="sequence-lab sessions at once, of all --processes (a comparison trains two nets)",
    )
    seq_max_parameters: int = Field(
        _SEQ.max_parameters, ge=1, le=100_000_000,
        description="weights and biases of one sequence-lab network",
    )
    seq_max_step_macs: int = Field(
        _SEQ.max_step_macs, ge=1_000, le=10**13,
        description="sequence lab: multiply-adds of one training step (batch × steps × the "
        "cell's work), which runs whole on a shared worker",
    )
    rl_max_sessions: int = Field(
        16, ge=1, le=10_000, description="agent-lab sessions at once, of all --processes",
    )
    rl_max_parameters: int = Field(
        _RL.max_parameters, ge=1, le=100_000_000,
        description="weights and biases of one agent-lab value network",
    )
    rl_max_tick_macs: int = Field(
        _RL.max_tick_macs, ge=1_000, le=10**13,
        description="agent lab: multiply-adds of one learning tick ((6 × batch + 1) × "
        "weights), which runs whole on a shared worker",
    )
    paint_max_sessions: int = Field(
        16, ge=1, le=10_000, description="painting-lab sessions at once, of all --processes",
    )
    paint_max_parameters: int = Field(
        _PAINT.max_parameters, ge=1, le=100_000_000,
        description="weights and biases of one painting-lab network",
    )
    paint_max_update_macs: int = Field(
        _PAINT.max_update_macs, ge=1_000, le=10**13,
        description="painting lab: multiply-adds of one update (3 × batch × weights)",
    )
    paint_max_upload_bytes: int = Field(
        _PAINT.max_upload_bytes, ge=1_000, le=12_000_000,
        description="painting lab: bytes of a learner's picture file (its base64 must fit "
        "the 16 MiB WebSocket frame)",
    )
    paint_max_upload_pixels: int = Field(
        _PAINT.max_upload_pixels, ge=1_000, le=100_000_000,
        description="painting lab: pixels (width × height) of a learner's picture, read from "
        "its header before it is decoded",
    )
    ae_max_sessions: int = Field(
        16, ge=1, le=10_000, description="autoencoder-lab sessions at once, of all --processes",
    )
    ae_max_parameters: int = Field(
        _AE.max_parameters, ge=1, le=100_000_000,
        description="weights and biases of one autoencoder-lab network",
    )
    ae_max_update_macs: int = Field(
        _AE.max_update_macs, ge=1_000, le=10**13,
        description="autoencoder lab: multiply-adds of one update (3 × batch × weights)",
    )
    allowed_origins: tuple[str, ...] = Field(
        (),
        description="extra page origins allowed to open the WebSocket (comma-separated; "
        "'*' allows any); the server's own origin is always allowed",
    )

    allowed_hosts: tuple[str, ...] = Field(
        (),
        description="extra names the server may be reached by (comma-separated; '.example.org' "
        "also allows its subdomains, '*' any name); loopback names, IP addresses and the --host "
        "name are always allowed, and this machine's hostname when bound to 0.0.0.0 or ::. "
        "Other Host headers are refused, against DNS rebinding",
    )
    frame_ancestors: tuple[str, ...] = Field(
        ("'none'",),
        description="pages that may show netplay in a frame (CSP frame-ancestors sources, "
        "comma-separated: 'self', https://course.example); 'none' forbids framing",
    )

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(o.strip().rstrip("/") for o in value.split(",") if o.strip())
        return value

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = tuple(h.strip() for h in value.split(",") if h.strip())
        for host in value:
            if not _HOST_ENTRY.match(host):
                raise ValueError(f"{host!r} is not a host name (give names like "
                                 "school.example, .example.org or *)")
        return value

    @field_validator("frame_ancestors", mode="before")
    @classmethod
    def _frame_sources(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = tuple(s.strip() for s in value.split(",") if s.strip())
        # Keywords may come unquoted: `--frame-ancestors self` is easier to type than "'self'".
        value = tuple(f"'{s}'" if s in ("none", "self") else s for s in value)
        if not value:
            raise ValueError("give 'none', 'self' or the origins that may frame netplay")
        for source in value:
            if not _FRAME_SOURCE.match(source):  # nothing that could end or extend the CSP
                raise ValueError(f"{source!r} is not a frame-ancestors source")
        if "'none'" in value and len(value) > 1:
            raise ValueError("'none' cannot be combined with other sources")
        return value

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
            "max_step_updates": self.max_step_updates,
            "max_replay_updates": self.max_replay_updates,
            "max_frames_in_flight": self.max_frames_in_flight,
            "max_fps": self.max_fps,
            "max_sweep_values": self.max_sweep_values,
            "max_sweep_epochs": self.max_sweep_epochs,
            "max_memory_mb": self.max_memory_mb,
            "max_compare_work": self.max_compare_work,
            "max_rooms": self.max_rooms,
            "max_viewers_per_room": self.max_viewers_per_room,
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
