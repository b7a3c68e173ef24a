"""The image lab's CUDA-graph step (`LabTrainer(cuda_graphs=True)`, the default on CUDA) against
the same trainer stepping eagerly: the same losses, accuracies and weights through warm-up,
capture, replays, a short last batch, live changes that force a new capture, and a reset.

Needs a CUDA device (skipped elsewhere); the CPU never builds a graph."""

from __future__ import annotations

import pytest
import torch

from playground_models.imagelab.config import LabConfig
from playground_models.imagelab.trainer import GRAPH_WARMUP, LabTrainer

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
NET = "in24x24x1-conv8k5p2-relu-maxpool2-conv16k5p2-relu-maxpool3-fc10"


def _pair(**changes) -> tuple[LabTrainer, LabTrainer]:
    config = LabConfig(net=NET, samples=300).with_changes(changes)
    device = torch.device("cuda")
    return LabTrainer(config, device, cuda_graphs=True), LabTrainer(config, device, cuda_graphs=False)


def _same(graphed: LabTrainer, eager: LabTrainer) -> None:
    a, b = graphed.take_train_metrics(), eager.take_train_metrics()
    assert a.loss == pytest.approx(b.loss, rel=1e-4, abs=1e-6)
    assert a.acc == pytest.approx(b.acc, abs=1e-3)
    for pa, pb in zip(graphed.net.parameters(), eager.net.parameters(), strict=True):
        torch.testing.assert_close(pa, pb, rtol=1e-4, atol=1e-5)


@cuda
@pytest.mark.parametrize("optimizer", ["adam", "adadelta", "momentum", "rmsprop", "adagrad"])
def test_graph_steps_equal_eager_steps_through_changes_and_reset(optimizer):
    graphed, eager = _pair(optimizer=optimizer, batchSize=64, augment="on")
    for trainer in (graphed, eager):
        trainer.step(GRAPH_WARMUP + 20)  # warm-up, capture, replays, a short last batch
    _same(graphed, eager)
    if optimizer != "adagrad":
        assert graphed._graph is not None  # the graph really ran
    else:
        assert graphed._graph is None  # Adagrad's step count is on the host: eager
    for change in ({"learningRate": 0.003}, {"batchSize": 20}, {"momentum": 0.5}):
        for trainer in (graphed, eager):
            trainer.update(trainer.config.with_changes(change))
            trainer.step(GRAPH_WARMUP + 5)
        _same(graphed, eager)
    for trainer in (graphed, eager):
        trainer.reset()
        trainer.step(GRAPH_WARMUP + 4)
    _same(graphed, eager)


@cuda
def test_dropout_nets_step_eagerly_and_still_learn():
    config = LabConfig(net="in8x8x1-conv8k3p1-relu-drop0.5-fc10", data="digits")
    trainer = LabTrainer(config, torch.device("cuda"))
    trainer.step(40)
    assert trainer._graph is None
    assert trainer.take_train_metrics().loss is not None


@cuda
def test_resets_and_optimizer_changes_never_replay_an_old_optimizers_graph():
    graphed, eager = _pair(optimizer="adam", batchSize=32)
    for trainer in (graphed, eager):
        trainer.step(GRAPH_WARMUP + 3)
        trainer.reset()
        trainer.reset()  # a new optimizer each time, which may reuse a freed one's id
        trainer.update(trainer.config.with_changes({"optimizer": "momentum"}))
        trainer.update(trainer.config.with_changes({"optimizer": "adam"}))
        trainer.step(GRAPH_WARMUP + 6)
    _same(graphed, eager)


@cuda
def test_sessions_on_two_threads_capture_and_replay_without_disturbing_each_other():
    import threading

    pairs = [_pair(optimizer=name, batchSize=48) for name in ("adam", "rmsprop")]
    errors: list[BaseException] = []

    def train(trainer: LabTrainer) -> None:
        try:
            for _ in range(4):
                trainer.step(GRAPH_WARMUP + 4)
                trainer.update(trainer.config.with_changes(
                    {"learningRate": trainer.config.learningRate * 0.9}))  # a new capture
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=train, args=(graphed,)) for graphed, _ in pairs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    for graphed, eager in pairs:
        train(eager)
        _same(graphed, eager)
