"""One WebSocket learner session: limits and message handling (docs/protocol.md).

Three tasks share a session: the receive loop (this module's `Session.serve`) and, while
training, the player or a `step` (server/pacing.py). Every trainer call is made under `_lock`,
so an `update` lands between two frames and the next frame shows it. Every send goes through
the session's `Channel` (server/channel.py), which waits at most `idle_timeout_s`: a client that
does not read is as idle as one that does not write.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import itertools
import logging
import secrets
from collections.abc import MutableMapping
from typing import Any, cast

import numpy as np
import torch
from starlette.websockets import WebSocket, WebSocketDisconnect

from playground_models import netfile
from playground_models.experiment import ConfigError, Experiment
from playground_models.history import Replay
from playground_models.messages import in_lang, said
from playground_models.network import Architecture
from playground_models.params import Effect
from playground_models.tfcompat.engine import TfConfig
from playground_models.tfcompat.live import honoured, leaves_mode
from playground_models.trainer import EditError, Trainer
from playground_models.urlcodec import parse as parse_url
from playground_models.urlcodec import run_query, serialize

from . import protocol
from .admission import Registry, TokenBucket, origin_allowed
from .channel import Channel
from .live import LiveRun, layer_names
from .memory import MemoryLimitError, check_live_session, release_soon
from .pacing import Pacing
from .protocol import ProtocolError
from .rooms import Rooms, RoomsFull, Share
from .scheduler import Scheduler
from .settings import Settings

log = logging.getLogger("netplay.session")

TF_MODE_LEFT = "left TensorFlow Playground mode: {reason}"

CLOSE_POLICY = 1008  # a page from a foreign origin
CLOSE_TRY_AGAIN = 1013  # the server is full
# Messages that do not end a `step` in progress: they neither train nor change the run.
STEP_GOES_ON = frozenset({"ping", "ack", "speed", "snapshot", "share_live", "stop_sharing"})
REPLAY_SLICE = 200  # updates of a link's replay per job on the shared workers
PROGRESS_EVERY_S = 1.0  # a long replay says how far it has got this often
HEARD_MOST = 64  # messages kept from a client while a long job runs; past that, none are read


class Session(Pacing):
    def __init__(self, ws: WebSocket, settings: Settings, scheduler: Scheduler):
        self.ws = ws
        self.settings = settings
        self.scheduler = scheduler
        self.run: LiveRun | None = None
        self._lock = asyncio.Lock()  # one trainer call at a time
        self.channel = Channel(ws, settings.idle_timeout_s)
        self._player: asyncio.Task[None] | None = None
        self._halt = asyncio.Event()
        self._stepper: asyncio.Task[None] | None = None
        self._step_halt = asyncio.Event()
        self._bucket = TokenBucket(settings.max_messages_per_second)
        # Acks come once per frame: their own allowance, so they never eat the controls'.
        self._ack_bucket = TokenBucket(2.0 * settings.max_fps)
        # None until the client's first `ack`: clients that never ack are paced by the socket.
        self._acked: int | None = None
        self._acked_event = asyncio.Event()
        self._steps_per_frame = 25
        self.share: Share | None = None  # the room this session's run is broadcast to
        # While a long job (a link's replay) runs inside a handler: the socket's next event,
        # read meanwhile so that a client who leaves is noticed, and what it sent meanwhile.
        self._listening: asyncio.Task[Any] | None = None
        self._heard: collections.deque[MutableMapping[str, Any]] = collections.deque()

    # --- life ----------------------------------------------------------------------------
    async def serve(self, registry: Registry) -> None:
        """Accept, talk until the client leaves or idles out, then free everything."""
        if not origin_allowed(self.ws, self.settings):
            await self.ws.close(code=CLOSE_POLICY)  # before accept: the handshake gets a 403
            return
        await self.ws.accept()
        if registry.total() >= self.settings.max_sessions:
            await self.channel.send({"type": "error", "code": "too_many_sessions", "field": None,
                              "message": f"the server is full ({self.settings.max_sessions} "
                              "sessions); try again in a minute"})
            await self.ws.close(code=CLOSE_TRY_AGAIN)
            return
        registry.add(self)
        try:
            await self.channel.send(self._hello())
            await self._receive_loop()
        except WebSocketDisconnect:
            pass
        finally:
            registry.discard(self)
            self._stop_listening()
            await self._stop_player(cancel=True)
            await self._end_step(cancel=True)
            await self._end_share()
            if self.run is not None:
                self.run.close()
            self.run = None  # the trainer, its data and tensors go with it
            release_soon()  # what the session freed goes back to the system

    async def _receive_loop(self) -> None:
        idle = self.settings.idle_timeout_s
        while True:
            try:
                # A timeout scope, not `wait_for`: that wraps every message's wait in a task.
                async with asyncio.timeout(idle):
                    event = await self._next_event()
            except TimeoutError:
                await self._close_idle(idle)
                return
            if event["type"] == "websocket.disconnect":
                return
            await self._on_event(event)

    async def _next_event(self) -> MutableMapping[str, Any]:
        """What the client sent next: first what was heard during a long job."""
        if self._heard:
            return self._heard.popleft()
        if self._listening is not None:
            task, self._listening = self._listening, None
            return cast(MutableMapping[str, Any], await task)
        return await self.ws.receive()

    def _listen(self) -> None:
        """During a long job: keep what the client sent meanwhile for the receive loop, and
        end the session (`WebSocketDisconnect`) if the client has left, so that its job stops
        instead of running on for minutes for nobody. Called between slices of the job."""
        while self._listening is not None and self._listening.done():
            event = self._listening.result()
            self._listening = None
            if event["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(event.get("code", 1000))
            self._heard.append(event)
        if self._listening is None and len(self._heard) < HEARD_MOST:
            self._listening = asyncio.create_task(self.ws.receive())

    def _stop_listening(self) -> None:
        if self._listening is not None:
            self._listening.cancel()
            self._listening = None

    async def _close_idle(self, idle: float) -> None:
        """Say why and close; a client that reads nothing gets its connection dropped."""
        await self._stop_player(cancel=True)  # frees the socket from a send that may be stuck
        await self._end_step(cancel=True)
        await self.channel.farewell({"type": "error", "code": "idle_timeout", "field": None,
                                     "message": f"no message for {idle:g} s; the session is "
                                     "closed"})

    async def _on_event(self, event: MutableMapping[str, Any]) -> None:
        try:
            text = event.get("text")
            is_ack = text is not None and len(text) < 64 and '"ack"' in text
            if not (self._ack_bucket if is_ack else self._bucket).take():
                raise ProtocolError("rate_limited", None, "too many messages: at most "
                                    f"{self.settings.max_messages_per_second:g} per second")
            if text is None:
                raise ProtocolError("bad_message", None, "binary messages are not accepted")
            limit = self.settings.max_message_bytes
            if len(text) > limit or len(text.encode()) > limit:
                raise ProtocolError("too_large", None, f"message over {limit} bytes")
            await self._handle(protocol.parse_message(text, self.settings.max_json_depth))
        except ProtocolError as err:
            await self.channel.send(err.reply())
        except ConfigError as err:
            lang = self.run.experiment.lang if self.run is not None else "en"
            await self.channel.send_error("bad_value", err.key, err.in_lang(lang))
        except WebSocketDisconnect:
            raise
        except asyncio.CancelledError:
            raise
        except Exception as err:  # a bug must not end the learner's session
            log.exception("message failed")
            await self.channel.send_error("internal", None, f"the server failed on this message "
                                   f"({type(err).__name__}); the session goes on")

    # --- handlers ------------------------------------------------------------------------
    async def _handle(self, m: Any) -> None:
        kind = m.type
        if kind == "ping":
            await self.channel.send({"type": "pong", "id": m.id})
            return
        if kind == "ack":
            # Clamped: a late ack from before a restart must not open the window wide.
            seq = min(m.seq, self.run.seq) if self.run is not None else 0
            self._acked = max(self._acked or 0, seq)
            self._acked_event.set()
            return
        if kind == "speed":
            await self._set_speed(m.steps_per_frame)
            return
        if kind not in STEP_GOES_ON:
            await self._end_step()  # its frame arrives before this message's reply
        if kind == "start":
            await self._start(m)
            return
        if self.run is None:
            raise ProtocolError("not_started", "type", f"send start before {kind}")
        await getattr(self, f"_on_{kind}")(m)

    async def _start(self, m: protocol.Start, loaded: list[np.ndarray] | None = None,
                     notice: str | None = None) -> None:
        """A new run from a link or a config; `loaded`: a network file's weights to start it
        from (`_on_load`), with `notice` saying so."""
        warnings: list[str] = []
        errors: list[dict[str, str]] = []
        hidden: frozenset[str] = frozenset()
        changes: list[list[Any]] = []
        at: int | None = None
        if m.url is not None:
            shared = parse_url(m.url)  # bad values fall back to defaults, as the page does
            exp, hidden, warnings = shared.experiment, shared.hidden, shared.warnings
            errors = [{"field": e.key, "message": e.in_lang(exp.lang)} for e in shared.errors]
            warnings = [in_lang(w, exp.lang) for w in warnings]
            changes, at = shared.history, shared.at
            if changes:  # the link's settings are the run's now: it replays from its start
                exp = shared.run_start()
        else:
            exp = Experiment(m.config or {})
        if exp.compat == "tf":  # a value TF cannot run opens at its default, named
            exp, notes = honoured(exp, hidden)
            warnings = [*warnings, *notes]
        self._check_limits(exp)
        await self._stop_player()
        async with self._lock:
            old_version = self.run.version if self.run else 0
            if self.run is not None:
                self.run.close()
            self.run = run = await self.scheduler.run(
                LiveRun, exp, hidden, m.compression, self.settings.frame_budget_ms / 1000.0,
            )
            run.version = old_version + 1
            if self._acked is not None:
                self._acked = 0  # frame numbers start again with the new run
            run.steps_per_frame = self._steps_per_frame
            if self.share is not None:
                self.share.room.compression = m.compression
            if (changes or at is not None) and not run.tf_mode:
                error = await self._replay(run, changes, at)
                if error is not None:  # the link's run from its start, the fault named
                    errors.append({"field": error.key, "message": error.in_lang(exp.lang)})
                    await self.scheduler.run(run.restart, exp)
            if loaded is not None:
                await self.scheduler.run(run.adopt, loaded)
            await self.channel.send(run.config_message({}, warnings, errors, notice))
            await self.channel.send_bytes(await self.scheduler.run(run.data))
            await self.channel.send_bytes(await self.scheduler.run(run.frame))
            await self._send_state()

    async def _replay(self, run: LiveRun, changes: list[list[Any]], at: int | None,
                      at_step: int | None = None) -> ConfigError | None:
        """Bring a new run to where its link says: its history made, up to epoch `at` (or
        update `at_step`); in slices on the shared workers, bounded by `max_replay_updates`.
        The error, if any."""
        limit = self.settings.max_replay_updates
        wanted = max(changes[-1][1] if changes else 0, (at or 0) * run.updates_per_epoch,
                     at_step or 0)
        if wanted > limit:
            return ConfigError("h" if changes else "at", said("err.replay.tooLong", wanted=f"{wanted:,}",
                                                              limit=f"{limit:,}"))
        trainer = run.trainer
        assert isinstance(trainer, Trainer)  # TensorFlow Playground mode keeps no history
        return await self._drive(Replay(trainer, changes, at, at_step), wanted)

    async def _drive(self, replay: Replay, wanted: int) -> ConfigError | None:
        """Run `replay` in slices on the shared workers, at most `max_replay_updates` updates;
        the error, if any. Every `PROGRESS_EVERY_S` the client hears how far it has got (a
        big net's replay can take minutes), and a client that leaves ends it."""
        limit, first = self.settings.max_replay_updates, replay.trainer.steps
        told = asyncio.get_running_loop().time()
        try:
            while not await self.scheduler.run(replay.advance, REPLAY_SLICE):
                done = replay.trainer.steps - first
                if done > limit:
                    return ConfigError("at", said("err.replay.over", limit=f"{limit:,}"))
                self._listen()
                if asyncio.get_running_loop().time() - told >= PROGRESS_EVERY_S:
                    told = asyncio.get_running_loop().time()
                    await self.channel.send({"type": "progress", "done": done,
                                             "of": max(wanted, done)})
        except ConfigError as err:
            return err
        return None

    async def _on_update(self, m: protocol.Update) -> None:
        run = self._need_run()
        new = run.experiment.replace(**m.changes)
        warnings = []
        if run.tf_mode and (reason := leaves_mode(run.experiment, new, run.hidden)):
            new = new.replace(compat="netplay")  # the change TF cannot express is made
            warnings.append(TF_MODE_LEFT.format(reason=reason))
        elif new.compat == "tf" and not run.tf_mode:
            try:
                TfConfig.from_experiment(new, run.hidden)
            except ConfigError as err:
                raise ProtocolError("bad_value", err.key, str(err)) from None
        self._check_limits(new)
        async with self._lock:
            was_diverged = run.diverged
            effects = await self.scheduler.run(run.update, new)
            await self.channel.send(run.config_message(effects, warnings))
            rebuilt = any(e is Effect.REBUILD for e in effects.values())
            if rebuilt or Effect.DATA in effects.values():
                await self.channel.send_bytes(await self.scheduler.run(run.data))
            if was_diverged and not run.diverged:
                run.state = "paused"
                await self._send_state()
            if rebuilt or (effects and run.state != "playing"):
                await self.channel.send_bytes(await self.scheduler.run(run.frame))

    async def _on_play(self, m: protocol.Play) -> None:
        run = self._need_run()
        if run.diverged or run.state == "playing":
            await self._send_state()
            return
        run.state = "playing"
        run.clear_rates()
        await self._send_state()
        self._halt.clear()
        self._player = asyncio.create_task(self._play(run))

    async def _on_pause(self, m: protocol.Pause) -> None:
        await self._stop_player()
        await self._send_state()

    async def _on_step(self, m: protocol.Step) -> None:
        run = self._need_run()
        limit = self.settings.max_step_epochs
        if m.n > limit:
            raise ProtocolError("bad_value", "n", f"n must be at most {limit} epochs, got {m.n}")
        per_epoch = run.updates_per_epoch
        updates, most = m.n * per_epoch, self.settings.max_step_updates
        if updates > most:
            raise ProtocolError("bad_value", "n", f"n = {m.n} epochs is {updates} updates here "
                                f"({per_epoch} per epoch); a step may run at most {most}")
        if run.state == "playing":
            await self._stop_player()
            await self._send_state()
        self._step_halt.clear()
        self._stepper = asyncio.create_task(self._step(run, run.trainer.epoch + m.n))

    async def _on_reset(self, m: protocol.Reset) -> None:
        run = self._need_run()
        await self._stop_player()
        async with self._lock:
            await self.scheduler.run(run.reset)
            await self.channel.send_bytes(await self.scheduler.run(run.frame))
            await self._send_state()

    async def _on_reseed(self, m: protocol.Reseed) -> None:
        run = self._need_run()
        # Checked by the parameter table (characters, length) before any work is done.
        seed = m.seed if m.seed is not None else secrets.token_hex(4)
        run.experiment.replace(seed=seed)
        async with self._lock:
            was_diverged = run.diverged
            await self.scheduler.run(run.reseed, seed)
            await self.channel.send(run.config_message({"seed": Effect.REBUILD}))
            await self.channel.send_bytes(await self.scheduler.run(run.data))
            await self.channel.send_bytes(await self.scheduler.run(run.frame))
            if was_diverged:
                run.state = "paused"
                await self._send_state()

    async def _on_rewind(self, m: protocol.Rewind) -> None:
        run = self._need_run()
        trainer = self._history_of(run, "epoch")
        if m.epoch > trainer.epoch:
            raise ProtocolError("bad_value", "epoch", f"epoch must be at most {trainer.epoch}, "
                                f"the run's epoch now; got {m.epoch}")
        await self._go_back(run, list(trainer.history), at_epoch=m.epoch)

    async def _on_undo(self, m: protocol.Undo) -> None:
        run = self._need_run()
        trainer = self._history_of(run, "type")
        if not trainer.history:
            raise ProtocolError("cannot_rewind", "type", "no live change to undo: the run has "
                                "none since it started")
        last = trainer.history[-1]
        await self._go_back(run, list(trainer.history[:-1]), at_step=last[1])

    def _history_of(self, run: LiveRun, field: str) -> Trainer:
        trainer = run.trainer
        if not isinstance(trainer, Trainer):
            raise ProtocolError("cannot_rewind", field, "TensorFlow Playground mode keeps no "
                                "history to go back in; leave the mode first")
        return trainer

    async def _go_back(self, run: LiveRun, changes: list[list[Any]], at_epoch: int | None = None,
                       at_step: int | None = None) -> None:
        """Rewind (to the end of epoch `at_epoch`) or undo (to update `at_step`, before the
        change made there): the run from its latest checkpoint before that moment
        (`checkpoints.py`) replayed through `changes` (`history.Replay`), so the moment is
        shown exactly and training forks from it; bounded by `max_replay_updates`."""
        trainer = run.trainer
        assert isinstance(trainer, Trainer)
        limit = self.settings.max_replay_updates
        cp = trainer.checkpoints.before(at_epoch, at_step, len(changes))
        steps, epoch = (cp.steps, cp.epoch) if cp is not None else (0, 0)
        wanted = (at_step - steps if at_step is not None
                  else ((at_epoch or 0) - epoch) * run.updates_per_epoch)
        if wanted > limit:
            raise ProtocolError("cannot_rewind", "epoch" if at_step is None else "type",
                                f"going back there replays {wanted:,} updates; this server "
                                f"replays at most {limit:,}")
        await self._stop_player()
        async with self._lock:
            was = trainer.epoch
            replay = await self.scheduler.run(trainer.go_back, changes, at_epoch, at_step)
            run.version += 1
            run.clear_rates()
            error = await self._drive(replay, wanted)
            reached = run.trainer.epoch
            await self.channel.send({"type": "rewound", "epoch": reached, "from": was,
                                     "step": run.trainer.steps})
            errors = ([] if error is None else
                      [{"field": error.key, "message": error.in_lang(run.experiment.lang)}])
            await self.channel.send(run.config_message({}, [], errors))
            await self.channel.send_bytes(await self.scheduler.run(run.data))
            await self.channel.send_bytes(await self.scheduler.run(run.frame))
            await self._send_state()

    async def _on_share_live(self, m: protocol.ShareLive) -> None:
        """Broadcast this run to a room (server/rooms.py): replies `room` with its id; the
        room gets the run's picture now, then every message this session is sent."""
        run = self._need_run()
        if self.share is None:
            rooms: Rooms = self.ws.app.state.rooms
            try:
                room = rooms.open(" ".join(m.name.split()), run.compression)
            except RoomsFull as err:
                raise ProtocolError("rooms_full", None, str(err)) from None
            self.share = Share(rooms, room, self.channel)
            self.channel.tap = self.share.tap
        async with self._lock:
            await self.channel.send(self.share.room.info())
            await self.channel.send(run.config_message({}))
            await self.channel.send_bytes(await self.scheduler.run(run.data))
            await self.channel.send_bytes(await self.scheduler.run(run.frame))
            await self._send_state()

    async def _on_stop_sharing(self, m: protocol.StopSharing) -> None:
        room = self.share.room if self.share is not None else None
        await self._end_share()
        await self.channel.send({"type": "room_ended", "id": room.id if room else None,
                                 "link": room.ended_link if room else None})

    async def _end_share(self) -> None:
        """End the room, if any: its viewers get a link that replays the run to here."""
        share, self.share = self.share, None
        if share is None:
            return
        self.channel.tap = None
        link = None
        if self.run is not None:
            query, _ = run_query(self.run.trainer, self.run.hidden)
            epoch = self.run.trainer.epoch
            link = f"/?{query}&at={epoch}" if epoch and "&at=" not in f"&{query}" else f"/?{query}"
        await share.end(link)

    async def _on_snapshot(self, m: protocol.Snapshot) -> None:
        run = self._need_run()
        async with self._lock:
            await self.channel.send_bytes(await self.scheduler.run(run.frame))

    async def _on_save(self, m: protocol.Save) -> None:
        """The network as a file to keep (`netfile.py`), sent as a `network` message."""
        run = self._need_run()
        lang = run.experiment.lang
        if run.tf_mode:
            raise ProtocolError("bad_value", "type", in_lang(said("net.err.tfMode"), lang))
        if run.experiment.batchNorm:
            raise ProtocolError("bad_value", "batchNorm", in_lang(said("net.err.batchNorm"), lang))
        async with self._lock:
            data = await self.scheduler.run(run.network_file)
            trainer = run.trainer
        await self.channel.send({
            "type": "network",
            "name": f"netplay-{run.experiment.seed}-{trainer.epoch}.netplay",
            "data": base64.b64encode(data).decode("ascii"),
        })

    async def _on_load(self, m: protocol.Load) -> None:
        """A kept network: its settings started as a link's are, its weights put in; training
        goes on from them (epoch 0 is the loaded network). A file that does not fit is named
        and nothing changes."""
        lang = self.run.experiment.lang if self.run is not None else "en"

        def refuse(text: str) -> ProtocolError:
            return ProtocolError("bad_value", "file", in_lang(text, lang))

        try:
            raw = base64.b64decode(m.data, validate=True)
        except ValueError:
            raise refuse(said("paint.err.base64")) from None
        try:
            header, tensors = netfile.read(raw, self.settings.max_message_bytes)
        except netfile.NetFileError as err:
            raise refuse(err.message) from None
        if header["lab"] != "2d":
            raise refuse(said("net.err.otherLab", lab=header["lab"]))
        shared = parse_url(str(header.get("query", "")))
        exp = shared.experiment
        if shared.errors:
            first = shared.errors[0]
            raise ProtocolError("bad_value", "file", first.in_lang(lang))  # names its key
        if exp.compat == "tf":
            raise refuse(said("net.err.tfMode"))
        if exp.batchNorm:
            raise refuse(said("net.err.batchNorm"))
        self._check_limits(exp)
        sizes = Architecture.of(exp).sizes
        shapes = [shape for n_in, n_out in itertools.pairwise(sizes)
                  for shape in ((n_out, n_in), (n_out,))]
        state = {name: torch.empty(shape) for name, shape in
                 zip(layer_names(len(sizes) - 1), shapes, strict=True)}
        try:
            weights = netfile.load_into(state, tensors)
        except netfile.NetFileError as err:
            raise refuse(err.message) from None
        trained = header.get("trained")
        epochs = trained.get("epoch", 0) if isinstance(trained, dict) else 0
        if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 0:
            epochs = 0  # only said in the notice; the weights are what the file is for
        compression = self.run.compression if self.run is not None else None
        # The file's settings without any history: a link's `h`/`at` would replay a run whose
        # weights the file's replace anyway.
        start = protocol.Start(type="start", url=serialize(exp, shared.hidden),
                               compression=compression)  # type: ignore[arg-type]
        await self._start(start, [w.numpy() for w in weights.values()],
                          in_lang(said("net.loaded2d", name=m.name, epochs=epochs), exp.lang))

    async def _on_set_weight(self, m: protocol.SetWeight) -> None:
        run = self._need_run()
        await self._edit(run, run.trainer.set_weight, m.layer, m.to, m.from_, m.value)

    async def _on_set_bias(self, m: protocol.SetBias) -> None:
        run = self._need_run()
        await self._edit(run, run.trainer.set_bias, m.layer, m.to, m.value)

    async def _edit(self, run: LiveRun, setter: Any, *args: Any) -> None:
        """A hand edit lands between two frames; while paused, a frame shows it at once."""
        async with self._lock:
            try:
                await self.scheduler.run(setter, *args)
            except EditError as err:
                raise ProtocolError("bad_value", err.field, str(err)) from None
            if run.state != "playing":
                await self.channel.send_bytes(await self.scheduler.run(run.frame))

    async def _set_speed(self, steps: int) -> None:
        limit = self.settings.max_steps_per_frame
        if steps > limit:
            raise ProtocolError("bad_value", "steps_per_frame",
                                f"steps_per_frame must be at most {limit}, got {steps}")
        self._steps_per_frame = steps
        if self.run is not None:
            self.run.steps_per_frame = steps  # read by the player at its next frame
        await self._send_state()

    # --- helpers -------------------------------------------------------------------------
    def _need_run(self) -> LiveRun:
        if self.run is None:
            raise ProtocolError("not_started", "type", "send start first")
        return self.run

    def _check_limits(self, exp: Experiment) -> None:
        s = self.settings
        samples = exp.numSamples + len(exp.points)
        if samples > s.max_samples:
            raise ProtocolError("bad_value", "numSamples",
                                f"{samples} data points; this server allows {s.max_samples}")
        params = Architecture.of(exp).num_parameters
        if params > s.max_parameters:
            raise ProtocolError("bad_value", "networkShape",
                                f"{params} parameters; this server allows {s.max_parameters}")
        ceiling = getattr(self.ws.app.state, "memory", None)  # the app's, for every session
        if ceiling is not None:
            try:  # what `exp` adds over the run it replaces, before anything is allocated
                check_live_session(ceiling, exp, self.run.experiment if self.run else None)
            except MemoryLimitError as err:
                raise ProtocolError("over_memory", err.field, err.message) from None

    def _hello(self) -> dict[str, Any]:
        from . import __version__

        return {"type": "hello", "protocol": protocol.PROTOCOL_VERSION,
                "server": {"name": "netplay", "version": __version__},
                "limits": self.settings.limits()}

    async def _send_state(self) -> None:
        run = self.run
        msg: dict[str, Any] = {"type": "state", "state": "paused", "epoch": 0,
                               "steps_per_frame": self._steps_per_frame}
        if run is not None:
            t = run.trainer
            msg["state"] = "diverged" if run.diverged else run.state
            msg["epoch"] = t.epoch
            if run.diverged:
                msg["diverged_at"] = t.diverged_at
                msg["message"] = (f"diverged at epoch {t.diverged_at} — lower the learning "
                                  "rate, then reset")
        await self.channel.send(msg)
