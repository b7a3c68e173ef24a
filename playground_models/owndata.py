"""Your own 2-D data: a CSV read into points, and the points packed into the share link's `data`
key so that the link carries them (and `netplay run` trains on them).

A CSV has three columns, x₁, x₂ and the label (a class 0, 1, … for classification, a target
value for regression), with or without a header line. Positions must lie on the plot, −6 … 6;
positions and targets are kept to three decimals. In the link the positions are int16 pairs
(values × 1000), then the classes int8 or the targets × 1000 int32, deflated and written in
base64url after `v1.`: 1,000 points, the most a link carries, make a key of under 6 KB with
classes and 8 KB with targets.
"""

from __future__ import annotations

import base64
import binascii
import math
import zlib
from functools import lru_cache

import numpy as np

from .messages import in_lang, message, said
from .params import DOMAIN

MAX_POINTS = 1000
MIN_POINTS = 4  # two a side at least, so that training and test both have points
MAX_CLASSES = 6
MAX_TARGET = 1000.0
SCALE = 1000  # values are kept to 1/SCALE
PREFIX = "v1."
MAX_CSV_BYTES = 200_000


class DataError(ValueError):
    """A CSV or a `data` key that cannot be used; `line` and `column` (1-based) say where, when
    a place is to blame. `in_lang` says it in a language of the catalogues."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None):
        self.message = message
        self.line = line
        self.column = column
        super().__init__(self.in_lang("en"))

    def in_lang(self, lang: str) -> str:
        text = in_lang(self.message, lang)
        if self.line is None:
            return text
        key = "err.csv.atColumn" if self.column else "err.csv.atLine"
        return message(key, lang, line=self.line, column=self.column or 0, error=text)


def read_csv(text: str, classification: bool) -> tuple[np.ndarray, np.ndarray]:
    """Positions [n, 2] and labels [n] of a CSV, or `DataError` naming the line and column."""
    if len(text.encode()) > MAX_CSV_BYTES:
        raise DataError(said("err.csv.tooBig", kb=MAX_CSV_BYTES // 1000, most=f"{MAX_POINTS:,}"))
    low, high = DOMAIN
    xs: list[tuple[float, float]] = []
    ys: list[float] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        fields = [f.strip() for f in line.replace(";", ",").replace("\t", ",").split(",")]
        if not xs and not _is_number(fields[0]):
            continue  # a header line
        if len(fields) != 3:
            raise DataError(said("err.csv.columns" if classification else "err.csv.columnsTarget",
                                 found=len(fields)), number)
        if len(xs) == MAX_POINTS:
            raise DataError(said("err.csv.tooMany", most=f"{MAX_POINTS:,}"), number)
        x1, x2, label = (_number(value, number, column) for column, value in enumerate(fields, 1))
        for column, value in ((1, x1), (2, x2)):
            if not low <= value <= high:
                raise DataError(said("err.csv.offPlot", x=f"x{column}", value=fields[column - 1],
                                     low=f"{low:g}", high=f"{high:g}"), number, column)
        if classification and (label != int(label) or not 0 <= label < MAX_CLASSES):
            raise DataError(said("err.csv.notClass", label=fields[2], last=MAX_CLASSES - 1),
                            number, 3)
        if not classification and abs(label) > MAX_TARGET:
            raise DataError(said("err.csv.targetBeyond", target=fields[2], most=f"{MAX_TARGET:g}"), number, 3)
        xs.append((x1, x2))
        ys.append(label)
    if len(xs) < MIN_POINTS:
        raise DataError(said("err.csv.tooFew", found=len(xs), least=MIN_POINTS))
    x, y = np.array(xs), np.array(ys)
    if classification and len(np.unique(y)) < 2:
        raise DataError(said("err.csv.oneClass"))
    return np.round(x, 3), np.round(y, 3)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _number(text: str, line: int, column: int) -> float:
    try:
        value = float(text)
    except ValueError:
        raise DataError(said("err.csv.notNumber", value=repr(text)), line, column) from None
    if not math.isfinite(value):
        raise DataError(said("err.csv.notFinite", value=text), line, column)
    return value


def encode(x: np.ndarray, y: np.ndarray, classification: bool) -> str:
    """The `data` key of points `x` [n, 2] and labels `y` [n]."""
    pos = np.rint(np.asarray(x) * SCALE).astype("<i2")
    labels = np.rint(np.asarray(y) * (1 if classification else SCALE)).astype(_label_type(classification))
    raw = pos.tobytes() + labels.tobytes()
    kind = b"c" if classification else b"r"
    return PREFIX + base64.urlsafe_b64encode(kind + zlib.compress(raw, 9)).decode().rstrip("=")


def _label_type(classification: bool) -> str:
    return "i1" if classification else "<i4"


@lru_cache(maxsize=64)
def decode(text: str) -> tuple[np.ndarray, np.ndarray, bool]:
    """(positions [n, 2], labels [n], whether the labels are classes) of a `data` key; a bad key
    raises `DataError`."""
    if not text.startswith(PREFIX):
        raise DataError(said("err.data.prefix", prefix=repr(PREFIX)))
    body = text[len(PREFIX):]
    try:
        packed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        raw = zlib.decompress(packed[1:], bufsize=MAX_POINTS * 8)
    except (binascii.Error, zlib.error, ValueError):
        raise DataError(said("err.data.noDecode")) from None
    kind = packed[:1]
    classification = kind == b"c"
    size = 4 + np.dtype(_label_type(classification)).itemsize  # bytes a point
    if kind not in (b"c", b"r") or len(raw) % size or not MIN_POINTS <= len(raw) // size <= MAX_POINTS:
        raise DataError(said("err.data.count"))
    n = len(raw) // size
    x = np.frombuffer(raw[: 4 * n], dtype="<i2").reshape(n, 2).astype(np.float64) / SCALE
    labels = np.frombuffer(raw[4 * n:], dtype=_label_type(classification)).astype(np.float64)
    low, high = DOMAIN
    if (x < low).any() or (x > high).any():
        raise DataError(said("err.data.offPlot"))
    if classification and ((labels < 0).any() or (labels >= MAX_CLASSES).any()):
        raise DataError(said("err.data.notClass"))
    x.setflags(write=False)
    y = labels if classification else labels / SCALE
    y.setflags(write=False)
    return x, y, classification
