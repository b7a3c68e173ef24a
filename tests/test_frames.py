"""The binary envelope of docs/protocol.md: layout, round trip, quantisation."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from playground_models.experiment import Experiment
from playground_models.trainer import Trainer
from server.frames import (
    FrameError,
    decode,
    dumps,
    encode,
    snapshot_arrays,
    to_int8,
    to_uint8_unit,
)


def test_layout_is_aligned_and_described_by_the_header():
    arrays = {"a": np.arange(5, dtype=np.int8), "b": np.ones((2, 3), np.float32)}
    message = encode({"type": "frame", "seq": 7}, arrays)
    (size,) = struct.unpack_from("<I", message)
    assert size % 4 == 0
    header = json.loads(message[4 : 4 + size])
    assert header["seq"] == 7
    a, b = header["arrays"]
    assert (a["name"], a["dtype"], a["shape"], a["offset"], a["bytes"]) == ("a", "int8", [5], 0, 5)
    assert (b["offset"], b["bytes"], b["shape"]) == (8, 24, [2, 3])  # 5 bytes padded to 8
    payload = message[4 + size :]
    assert np.frombuffer(payload[8:32], "<f4").tolist() == [1.0] * 6


@given(
    st.lists(
        hnp.arrays(
            st.sampled_from([np.int8, np.uint8, np.float32]),
            hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=7),
            elements={"allow_nan": False},
        ),
        max_size=5,
    )
)
def test_round_trip_gives_back_every_array(parts):
    arrays = {f"x{i}": a for i, a in enumerate(parts)}
    header, back = decode(encode({"type": "data", "version": 3}, arrays))
    assert header["type"] == "data" and header["version"] == 3
    assert list(back) == list(arrays)
    for name, array in arrays.items():
        assert back[name].dtype == array.dtype and back[name].shape == array.shape
        np.testing.assert_array_equal(back[name], array)


@pytest.mark.parametrize("broken", [b"", b"\x08\x00\x00\x00{}", b"\x04\x00\x00\x00nope"])
def test_decode_rejects_broken_envelopes(broken):
    with pytest.raises(FrameError):
        decode(broken)


def test_unknown_dtypes_are_refused():
    with pytest.raises(FrameError, match="float64"):
        encode({}, {"x": np.zeros(2)})


def test_quantisation_clamps_and_neutralises_nan():
    assert to_int8(np.array([-2.0, -1.0, 0.0, 0.5, 1.0, np.nan, np.inf, -np.inf])).tolist() == [
        -127, -127, 0, 64, 127, 0, 127, -127
    ]
    assert to_uint8_unit(np.array([0.0, 0.5, 1.0, 3.0, -1.0, np.nan, np.inf])).tolist() == [
        0, 128, 255, 255, 0, 0, 255
    ]
    grid = np.float32([[0.25, -0.75], [np.nan, 2.0]])
    assert to_int8(grid).dtype == np.int8 and to_int8(grid).shape == (2, 2)
    assert np.isnan(grid[1, 0])  # the caller's array is left as it was


def test_headers_are_strict_json():
    assert dumps({"loss": float("nan"), "acc": [float("inf"), 0.5]}) == '{"loss":null,"acc":[null,0.5]}'


def test_snapshot_arrays_flatten_weights_layer_by_layer():
    trainer = Trainer(Experiment(networkShape=(3,)))
    snap = trainer.snapshot(grid_size=20, neuron_grid=10)
    arrays = snapshot_arrays(snap)
    w1, w2 = snap.weights
    np.testing.assert_array_equal(arrays["weights"], np.concatenate([w1.ravel(), w2.ravel()]))
    assert arrays["neurons"].shape == (5, 10, 10) and arrays["neurons"].dtype == np.int8
    assert set(arrays) == {"output", "neurons", "weights", "biases"}


def test_live_frames_are_raw_deflate_from_zlib_ng_that_the_standard_inflater_reads():
    import zlib

    from server import live

    assert live.FRAME_ZLIB.__name__ == "zlib_ng.zlib_ng"  # the dependency is installed and used
    run = live.LiveRun(Experiment(), compression="deflate-raw")
    packed = run.frame()
    header, arrays = decode(zlib.decompress(packed, wbits=-15))
    plain, plain_arrays = decode(live.LiveRun(Experiment(), compression=None).frame())
    assert header["type"] == "frame" and header["epoch"] == plain["epoch"] == 0
    np.testing.assert_array_equal(arrays["output"], plain_arrays["output"])
    assert len(packed) < len(zlib.decompress(packed, wbits=-15)) / 2
