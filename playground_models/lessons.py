"""The lesson catalogue: the course's experiments as one-click links, each with what to watch.

A lesson is a share link (a compare link when it holds several runs, see `compare`) plus a
title and two or three sentences, in every language of `LANGS`. The texts live in the message
catalogues `locales/<lang>.json` under `lesson.<id>.title` and `lesson.<id>.text`, beside every
other text of the page (parameter labels and help, choices, buttons, messages), so that a
translation is one file and no text is scattered through code.

The claims each text makes are measured by `tests/test_lessons.py` on the lesson's own link.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .compare import CompareSpec, is_compare_url, parse_compare
from .messages import message
from .urlcodec import parse

# The overfitting setting the capacity lessons share: 200 noisy XOR points, half for training,
# trained long enough (Adam, 300-600 epochs) that a wide net has time to memorise the noise.
NOISY_XOR = (
    "dataset=xor&noise=30&numSamples=200&activation=relu&init=he&optimizer=adam"
    "&learningRate=0.01&showTestData=true"
)
DEEP_CIRCLE = "dataset=circle&networkShape=8,8,8,8,8,8&learningRate=0.03"


@dataclass(frozen=True)
class Lesson:
    """One lesson. `url` is a query string of share keys; `epochs` is how long to watch."""

    id: str
    url: str
    epochs: int
    grad_norms: bool = False  # the lesson is about gradients: show per-layer norms over time
    sweep_param: str | None = None  # a sweep that extends the lesson, on its last run
    sweep_values: str = ""  # as `netplay sweep --values` takes them

    @property
    def is_compare(self) -> bool:
        return is_compare_url(self.url)

    def spec(self) -> CompareSpec:
        """The lesson's runs (a compare lesson) — raises for a one-run lesson."""
        return parse_compare(self.url)

    def run_urls(self) -> list[str]:
        """Each run as a one-run link: what `netplay run` takes."""
        if self.is_compare:
            return self.spec().run_urls()
        return [self.url]

    def page_url(self) -> str:
        """The link the page opens: `/compare?…` for several runs, `/?…` for one."""
        path = "/compare" if self.is_compare else "/"
        return f"{path}?{self.url}&lesson={self.id}"

    def to_json(self, lang: str = "en") -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "url": self.url,
            "page_url": self.page_url(),
            "compare": self.is_compare,
            "runs": len(self.run_urls()),
            "epochs": self.epochs,
            "grad_norms": self.grad_norms,
            "title": message(f"lesson.{self.id}.title", lang),
            "text": message(f"lesson.{self.id}.text", lang),
        }
        if self.sweep_param:
            out["sweep"] = {"param": self.sweep_param, "values": self.sweep_values}
        return out


LESSONS: tuple[Lesson, ...] = (
    Lesson(
        "neurons",
        f"runs=3&{NOISY_XOR}&r1.networkShape=3&r2.networkShape=6&r3.networkShape=20",
        epochs=600,
        sweep_param="networkShape",
        sweep_values="1,2,3,4,6,8,12,20,32",
    ),
    Lesson(
        "regularization",
        f"runs=3&{NOISY_XOR}&networkShape=20&regularization=L2"
        "&r1.regularizationRate=0.001&r2.regularizationRate=0.01&r3.regularizationRate=0.1",
        epochs=300,
        sweep_param="regularizationRate",
        sweep_values="0,0.001,0.003,0.01,0.03,0.1,0.3",
    ),
    Lesson(
        # Seven features where the circle needs two (x₁², x₂²): L1 should cut the other five.
        "l1-sparsity",
        "runs=2&dataset=circle&xSquared=true&ySquared=true&xTimesY=true&sinX=true&sinY=true"
        "&networkShape=6&learningRate=0.1&regularizationRate=0.01"
        "&r1.regularization=L1&r2.regularization=L2",
        epochs=200,
    ),
    Lesson(
        "dropout",
        f"runs=2&{NOISY_XOR}&networkShape=20&r1.dropout=0&r2.dropout=0.5",
        epochs=300,
        sweep_param="dropout",
        sweep_values="0,0.1,0.2,0.3,0.5,0.7",
    ),
    Lesson(
        "vanishing-gradients",
        f"runs=2&{DEEP_CIRCLE}&init=xavier&r1.activation=sigmoid&r2.activation=relu",
        epochs=60,
        grad_norms=True,
    ),
    Lesson(
        # Measured on seeds 1–5 at epoch 100: without batch norm the train loss is 0.692–0.693
        # and the first layer's gradient 5e-6–2e-5; with it the test accuracy is 0.97–1.00 and
        # that gradient 0.02–0.14.
        "batch-norm",
        f"runs=2&{DEEP_CIRCLE}&init=xavier&activation=sigmoid&r1.batchNorm=false&r2.batchNorm=true",
        epochs=100,
        grad_norms=True,
    ),
    Lesson(
        # x₁² and x₂² are never negative: off-centre inputs without moving the data off the
        # [-6, 6]² plot, so the boundary is still drawn where the points are.
        "centering",
        "runs=3&dataset=circle&x=false&y=false&xSquared=true&ySquared=true&networkShape=4"
        "&learningRate=0.3&r1.preprocess=none&r2.preprocess=center&r3.preprocess=standardize",
        epochs=20,
    ),
    Lesson(
        "init-scale",
        f"runs=2&{DEEP_CIRCLE}&activation=relu&r1.init=small&r2.init=he",
        epochs=60,
        grad_norms=True,
    ),
    Lesson(
        # Measured on seeds 1–5: over the last 100 of 300 epochs the train loss varies 0.06–0.13
        # (std) at the constant rate and 0.001–0.009 with the step schedule.
        "lr-decay",
        "runs=2&dataset=spiral&networkShape=8,6&learningRate=1"
        "&r1.schedule=constant&r2.schedule=step&r2.lrStepEpochs=50&r2.lrStepGamma=0.3",
        epochs=300,
    ),
    Lesson(
        # Measured on seeds 1–5: training accuracy at epochs 200 / 300 / 400 is 0.62–0.88 /
        # 0.79–0.95 / 0.96–0.97 with softmax and 0.54–0.64 / 0.63–0.81 / 0.74–0.96 with square
        # loss, behind on every seed; by epoch 600 both are at 0.96–1.00.
        "square-softmax",
        "runs=2&dataset=spiral3&networkShape=16,16&init=xavier&learningRate=0.1"
        "&r1.loss=square&r2.loss=softmax",
        epochs=300,
    ),
    Lesson(
        "hinge-softmax",
        "runs=2&dataset=gauss&networkShape=&r1.loss=softmax&r2.loss=hinge",
        epochs=100,
    ),
    Lesson(
        "knn",
        "dataset=spiral&networkShape=8,8&activation=relu&init=he&optimizer=adam"
        "&learningRate=0.01&knn=5&showTestData=true",
        epochs=200,
    ),
    Lesson(
        "optimizer-race",
        "runs=6&dataset=spiral&networkShape=16,16&activation=relu&init=he"
        "&r1.optimizer=sgd&r1.learningRate=0.03&r2.optimizer=momentum&r2.learningRate=0.03"
        "&r3.optimizer=adagrad&r3.learningRate=0.1&r4.optimizer=adadelta&r4.learningRate=1"
        "&r5.optimizer=rmsprop&r5.learningRate=0.01&r6.optimizer=adam&r6.learningRate=0.01",
        epochs=100,
    ),
)

BY_ID: dict[str, Lesson] = {lesson.id: lesson for lesson in LESSONS}


def lesson(lesson_id: str) -> Lesson:
    """The lesson with this id; KeyError names it if there is none."""
    try:
        return BY_ID[lesson_id]
    except KeyError:
        raise KeyError(f"no lesson {lesson_id!r}; lessons: {', '.join(BY_ID)}") from None


def check_lesson(item: Lesson) -> None:
    """Parse every run of a lesson strictly (raises `ConfigError` on any bad key)."""
    for url in item.run_urls():
        parse(url, strict=True)


