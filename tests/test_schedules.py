"""Learning-rate schedules against torch.optim.lr_scheduler's own numbers, and every engine
training at the rate in force."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from playground_models.schedules import Schedule

LR = 0.3
EPOCHS = 1300  # past two cosine cycles of 500, and many steps


def _torch_rates(make) -> list[float]:
    """The rate torch's scheduler gives at epochs 0, 1, …: one `step()` per epoch."""
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=LR)
    sched = make(opt)
    rates = []
    for _ in range(EPOCHS):
        rates.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return rates


S = torch.optim.lr_scheduler
CASES = {
    "constant": (Schedule("constant"), lambda o: S.ConstantLR(o, factor=1.0, total_iters=0)),
    "step": (Schedule("step", gamma=0.5, step_epochs=100), lambda o: S.StepLR(o, 100, gamma=0.5)),
    "exponential": (Schedule("exponential", decay=0.99), lambda o: S.ExponentialLR(o, 0.99)),
    "cosine": (Schedule("cosine", cycle_epochs=500), lambda o: S.CosineAnnealingLR(o, 500)),
    "warmup-cosine": (
        Schedule("warmup-cosine", warmup_epochs=20, cycle_epochs=500),
        lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.1, total_iters=20),
                                     S.CosineAnnealingLR(o, 500)], milestones=[20]),
    ),
}


@pytest.mark.parametrize("name", CASES)
def test_every_schedule_gives_torchs_rate_at_every_epoch(name):
    schedule, make = CASES[name]
    want = _torch_rates(make)
    got = [schedule.rate(LR, e) for e in range(EPOCHS)]
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
    if name != "constant":
        assert min(got) < LR / 2  # it does move the rate


def test_an_unknown_schedule_is_refused_by_name():
    with pytest.raises(ValueError, match="schedule must be one of"):
        Schedule("linear")


ENGINES = ("reference", "fast")


def _engine(engine: str, exp):
    from playground_models import fastpath
    from playground_models.trainer import Trainer

    if engine == "fast" and not fastpath.supports(exp):
        pytest.skip("the C kernel cannot be built here")
    return Trainer(exp, backend="reference" if engine == "reference" else None)


@pytest.mark.parametrize("engine", ENGINES)
def test_every_engine_trains_at_the_scheduled_rate(engine):
    # Plain SGD makes the rate visible in the weights: a run with `step` (halving every 2
    # epochs) matches, epoch by epoch, a constant run whose rate is set by hand the same way.
    from playground_models.experiment import Experiment

    base = Experiment(dataset="xor", networkShape=(4,), numSamples=120, learningRate=0.2,
                      seed="sched")
    scheduled = _engine(engine, base.replace(schedule="step", lrStepEpochs=2, lrStepGamma=0.5))
    by_hand = _engine(engine, base)
    for epoch in range(7):
        rate = 0.2 * 0.5 ** (epoch // 2)
        assert scheduled.learning_rate == pytest.approx(rate)
        by_hand.update(by_hand.experiment.replace(learningRate=rate))
        scheduled.train_epochs(1)
        by_hand.train_epochs(1)
    for a, b in zip(scheduled.parameters(), by_hand.parameters(), strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)


def test_a_live_change_of_schedule_applies_at_once_and_a_link_keeps_it():
    from playground_models.experiment import Experiment
    from playground_models.trainer import Trainer
    from playground_models.urlcodec import parse, serialize

    t = Trainer(Experiment(dataset="circle", learningRate=0.1, seed="s"))
    t.train_epochs(30)
    assert t.learning_rate == 0.1
    t.update(t.experiment.replace(schedule="exponential", lrDecay=0.9))
    assert t.epoch == 30 and t.learning_rate == pytest.approx(0.1 * 0.9**30)
    link = serialize(t.experiment)
    assert "schedule=exponential" in link and "lrDecay=0.9" in link
    assert parse(link, strict=True).experiment.lr_schedule == Schedule("exponential", decay=0.9)


def test_the_image_lab_trains_at_the_scheduled_rate_epoch_by_epoch():
    from playground_models.imagelab.config import LabConfig
    from playground_models.imagelab.trainer import LabTrainer

    config = LabConfig(net="in8x8x1-fc10", data="digits", optimizer="sgd", learningRate=0.2,
                       schedule="step", lrStepEpochs=1, lrStepGamma=0.5, batchSize=256)
    lab = LabTrainer(config, torch.device("cpu"))
    per_epoch = -(-lab.n_train // 256)  # updates in one epoch
    seen = []
    for _ in range(3 * per_epoch + 1):
        lab.step(1)
        seen.append((lab.epoch, lab.optimizer.param_groups[0]["lr"]))
    assert seen[-1][0] == 3
    for epoch, lr in seen:
        assert lr == pytest.approx(0.2 * 0.5**epoch)
    # A live change of schedule applies at once, at the epoch the run is in.
    lab.update(LabConfig(**{**config.to_dict(), "schedule": "constant"}))
    assert lab.optimizer.param_groups[0]["lr"] == 0.2 and lab.learning_rate == 0.2
    lab.update(LabConfig(**{**config.to_dict(), "schedule": "exponential", "lrDecay": 0.9}))
    assert lab.learning_rate == pytest.approx(0.2 * 0.9**3)
