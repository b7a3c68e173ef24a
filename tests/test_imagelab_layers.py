"""The layer table against the course's numbers and against PyTorch's own parameter count."""

from __future__ import annotations

import pytest
import torch

from playground_models.imagelab.layers import (
    SpecError,
    analyze,
    fits,
    keras_shape,
    parse_net,
    total_params,
)
from playground_models.imagelab.network import build_network, count_parameters
from playground_models.imagelab.presets import PRESETS


def _rows(net: str, data_shape=(1, 28, 28)):
    return analyze(parse_net(net), data_shape)


def test_conv_100_filters_3x3_same_on_32x32x3_has_2800_params():
    rows = _rows("in32x32x3-conv100k3same-flatten-fc10")
    conv = rows[1]
    assert conv.params == 2800  # (3·3·3 + 1)·100
    assert keras_shape(conv.output_shape) == [32, 32, 100]
    assert conv.formula == "(3·3·3 + 1)·100 = 2,800"


def test_fully_connected_5_to_10_has_60_params():
    rows = analyze(parse_net("fc10"), (5,))
    assert rows[1].params == 60
    assert rows[1].output_shape == (10,)


def test_lenet5_has_61706_params_and_the_classic_sizes():
    rows = _rows(PRESETS["lenet5"].net)
    assert total_params(rows) == 61_706
    shapes = [(r.token, keras_shape(r.output_shape), r.params) for r in rows]
    assert shapes == [
        ("in32x32x1", [32, 32, 1], 0),
        ("conv6k5", [28, 28, 6], 156),
        ("tanh", [28, 28, 6], 0),
        ("avgpool2", [14, 14, 6], 0),
        ("conv16k5", [10, 10, 16], 2416),
        ("tanh", [10, 10, 16], 0),
        ("avgpool2", [5, 5, 16], 0),
        ("fc120", [120], 48_120),
        ("tanh", [120], 0),
        ("fc84", [84], 10_164),
        ("tanh", [84], 0),
        ("fc10", [10], 850),
    ]


def test_convnetjs_mnist_net_matches_its_5994_params():
    rows = _rows(PRESETS["convnetjs-mnist"].net)
    assert total_params(rows) == 5994
    assert keras_shape(rows[6].output_shape) == [4, 4, 16]  # pool 3 on 12×12


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_count_agrees_with_pytorch(name):
    spec = parse_net(PRESETS[name].net)
    rows = analyze(spec, (1, 28, 28))
    assert fits(rows)
    gen = torch.Generator().manual_seed(0)
    net = build_network(spec, rows, gen, gen).eval()
    assert count_parameters(net) == total_params(rows)
    out = net(torch.zeros(2, *rows[0].output_shape))
    assert tuple(out.shape) == (2, 10)
    # Every layer's inferred shape is the shape PyTorch produces.
    x = torch.zeros(1, *rows[0].output_shape)
    for module, row in zip(net, rows[1:], strict=True):
        x = module(x)
        assert tuple(x.shape[1:]) == row.output_shape, row.token


def test_kernel_larger_than_input_is_a_clear_per_layer_error():
    rows = _rows("in8x8x1-conv4k9-relu-fc10")
    assert "kernel 9×9 is larger than its input 8×8" in rows[1].error
    assert rows[2].error is None and rows[3].error is None
    assert not fits(rows)


def test_after_a_layer_that_does_not_fit_later_shapes_and_counts_are_unknown():
    # The lab's default net with its first conv too large. Its second conv once showed
    # (5·5·1 + 1)·16 = 416, as if the bad layer passed 24×24×1 through; its 8 input
    # channels exist only if the first conv fits, so nothing after it can be counted.
    rows = _rows("in24x24x1-conv8k29p2-relu-maxpool2-conv16k5p2-relu-maxpool3-fc10")
    assert "kernel 29×29 is larger than its input 24×24" in rows[1].error
    table = [(r.to_json()["output_shape"], r.to_json()["params"]) for r in rows]
    assert table == [
        ([24, 24, 1], 0),
        (None, None),  # does not fit
        (None, 0),  # relu and pooling have no weights, whatever their input
        (None, 0),
        (None, None),  # conv16k5p2: 16 filters of 5×5×?
        (None, 0),
        (None, 0),
        ([10], None),  # an fc gives its N values, whatever its input; its count is unknown
    ]
    assert [r.to_json()["input_shape"] for r in rows[1:3]] == [[24, 24, 1], None]
    assert all(r.messages["note"] == {"key": "lab.note.unknown", "values": {"n": 1}}
               for r in rows[2:])
    assert rows[7].error is None  # it does end with 10 values
    assert total_params(rows) is None and not fits(rows)


def test_an_fc_after_a_layer_that_does_not_fit_makes_later_layers_known_again():
    rows = _rows("in8x8x1-conv4k9-fc20-relu-fc10")
    assert rows[2].output_shape == (20,) and rows[2].params is None
    assert rows[3].output_shape == (20,) and rows[3].note is None
    assert rows[4].params == (20 + 1) * 10 and rows[4].note is None


def test_pool_after_flat_input_and_a_wrong_ending_are_marked_not_raised():
    rows = _rows("in28x28x1-fc20-maxpool2-fc5")
    assert "needs an image" in rows[2].error
    assert "must end with 10 values" in rows[3].error


def test_stride_that_skips_pixels_is_a_note_with_floor_output():
    rows = _rows("in7x7x1-conv1k3s3-flatten-fc10")
    assert rows[1].output_shape == (1, 2, 2)  # ⌊(7 − 3)/3⌋ + 1
    assert "skipped" in rows[1].note


def test_same_padding_with_stride_2_is_refused_with_a_reason():
    rows = _rows("in28x28x1-conv4k3s2same-fc10")
    assert "'same' padding needs stride 1" in rows[1].error


def test_unreadable_token_names_the_net_field():
    with pytest.raises(SpecError) as err:
        parse_net("conv8k5-wobble-fc10")
    assert err.value.field == "net" and "wobble" in err.value.message


def test_layer_string_round_trips_to_canonical_form():
    spec = parse_net("in24x24x1, conv8k5s1p2, RELU, maxpool2s2, fc10")
    assert spec.text == "in24x24x1-conv8k5p2-relu-maxpool2-fc10"
    assert parse_net(spec.text) == spec


def test_residual_block_counts_match_pytorch():
    spec = parse_net("in16x16x3-conv8k3p1-res16-res16-flatten-fc10")
    rows = analyze(spec, (1, 16, 16))
    gen = torch.Generator().manual_seed(0)
    net = build_network(spec, rows, gen, gen)
    assert rows[2].params == 9 * 8 * 16 + 9 * 16 * 16 + 4 * 16 + (8 + 1) * 16
    assert rows[3].params == 9 * 16 * 16 * 2 + 4 * 16  # same width: identity shortcut
    assert count_parameters(net) == total_params(rows)
