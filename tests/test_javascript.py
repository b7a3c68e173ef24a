"""The page's pure JavaScript modules: their unit tests under Node's own runner (tests/js/), and
the numbers they share with the Python side checked against the Python's own.

Node is Debian's `nodejs` package (.ci/run installs it); without it these tests are skipped.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from playground_models.features import FEATURE_FUNCTIONS, feature_matrix
from playground_models.grid import grid_points
from playground_models.params import DOMAIN, PARAMS
from server.frames import encode, to_int8

ROOT = Path(__file__).resolve().parent.parent
JS = ROOT / "frontend" / "static" / "js"
NODE = shutil.which("node")
needs_node = pytest.mark.skipif(NODE is None, reason="node is not installed (Debian: nodejs)")


def _node_module(script: str, stdin: bytes = b"") -> object:
    """Run an ES-module script with Node and return what it printed as JSON."""
    done = subprocess.run(
        [NODE, "--input-type=module", "-e", script],
        input=stdin, capture_output=True, timeout=60, cwd=ROOT, check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    return json.loads(done.stdout)


@needs_node
def test_the_javascript_unit_tests_pass():
    files = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests" / "js").glob("*.test.mjs"))
    assert files, "no JavaScript tests found under tests/js"
    done = subprocess.run(
        [NODE, "--test", "--test-reporter=tap", *files], capture_output=True, text=True,
        timeout=120, cwd=ROOT, check=False,
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    passed = re.search(r"^# pass (\d+)$", done.stdout, re.MULTILINE)
    assert passed and int(passed[1]) >= len(files), done.stdout[-2000:]


@needs_node
def test_the_page_draws_the_same_features_as_the_python_computes():
    size = 13  # odd, so the grid has a centre cell at 0 where sin and products change sign
    got = _node_module(
        f"import {{ DOMAIN, FEATURE_FUNCTIONS, gridAxes, featureMap }} from '{(JS / 'features.js').as_uri()}';"
        f"const [xs, ys] = gridAxes({size});"
        "const out = {};"
        "for (const [name, f] of Object.entries(FEATURE_FUNCTIONS)) {"
        "  const values = [];"
        "  for (const y of ys) for (const x of xs) values.push(f(x, y));"
        f"  out[name] = {{ values, map: [...featureMap(name, {size})] }};"
        "}"
        "console.log(JSON.stringify({ domain: DOMAIN, xs, ys, out }));"
    )
    assert tuple(got["domain"]) == DOMAIN
    points = grid_points(size)
    # The same grid: columns left to right in x₁, rows top to bottom in x₂.
    assert np.array_equal(points[:size, 0], got["xs"])
    assert np.array_equal(points[::size, 1], got["ys"])
    assert list(got["out"]) == list(FEATURE_FUNCTIONS)
    table = [p.name for p in PARAMS if p.group == "features" and p.kind == "bool"]
    assert list(got["out"]) == table
    for name, js in got["out"].items():
        python = feature_matrix(points, [name])[:, 0]
        np.testing.assert_allclose(js["values"], python, rtol=1e-12, atol=1e-12, err_msg=name)
        # Quantised as the server quantises: equal but for a rounding tie (JS rounds half up).
        diff = np.abs(np.array(js["map"]) - to_int8(np.clip(python, -1, 1)).astype(int))
        assert diff.max() <= 1 and (diff > 0).sum() <= 1, name


@needs_node
def test_the_page_decodes_the_frames_the_server_encodes():
    arrays = {
        "boundary": np.array([[-127, -3, 0], [5, 64, 127]], np.int8),
        "confidence": np.array([0, 7, 255], np.uint8),  # 3 bytes: the next array is padded
        "weights": np.array([0.5, -2.25, 1e-7, 3.0e5], np.float32),
    }
    message = encode({"type": "frame", "epoch": 12, "train_loss": 0.25, "note": "ü→"}, arrays)
    got = _node_module(
        f"import {{ decodeEnvelope }} from '{(JS / 'protocol.js').as_uri()}';"
        "import { readFileSync } from 'node:fs';"
        "const bytes = readFileSync(0);"
        "const buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length);"
        "const { header, arrays } = decodeEnvelope(buf);"
        "const out = {};"
        "for (const [k, a] of Object.entries(arrays)) {"
        "  out[k] = { type: a.constructor.name, shape: a.shape, values: [...a] };"
        "}"
        "console.log(JSON.stringify({ header, out }));",
        stdin=message,
    )
    header = got["header"]
    assert (header["type"], header["epoch"], header["train_loss"], header["note"]) == (
        "frame", 12, 0.25, "ü→",
    )
    types = {"int8": "Int8Array", "uint8": "Uint8Array", "float32": "Float32Array"}
    assert list(got["out"]) == list(arrays)
    for name, array in arrays.items():
        js = got["out"][name]
        assert js["type"] == types[array.dtype.name], name
        assert js["shape"] == list(array.shape), name
        assert np.array_equal(np.array(js["values"], array.dtype), array.ravel()), name


@needs_node
def test_the_lab_page_draws_a_curve_for_every_optimizer_the_race_runs():
    from playground_models.imagelab.race import RACERS

    lab = ROOT / "frontend" / "static" / "lab" / "race.js"
    got = _node_module(
        f"import {{ RACERS }} from '{lab.as_uri()}';"
        "console.log(JSON.stringify(RACERS.map(([name]) => name)));"
    )
    # race_frame's `loss` and `val_acc` are keyed by these names; the page looks each one up.
    assert got == list(RACERS)


@needs_node
def test_the_lab_page_reads_a_binary_lab_message_as_the_server_wrote_it():
    from playground_models.imagelab.snapshot import pack
    from server.labloop import encode as lab_encode

    weights = np.arange(24, dtype=np.float64).reshape(2, 3, 2, 2) / 8 - 1  # sent as float32
    maps = np.array([[0, 7], [200, 255]], np.uint8)
    message = {
        "type": "frame", "epoch": 3, "val_loss": float("nan"),
        "filters": [{"layer": 1, "weights": pack(weights)}, {"layer": 4}],
        "maps": [{"layer": 2, "maps": pack(maps)}],
    }
    wire = lab_encode(message)
    assert isinstance(wire, bytes)
    arrays = ROOT / "frontend" / "static" / "lab" / "arrays.js"
    got = _node_module(
        f"import {{ decodeEnvelope }} from '{(JS / 'protocol.js').as_uri()}';"
        f"import {{ labMessage, unpack }} from '{arrays.as_uri()}';"
        "import { readFileSync } from 'node:fs';"
        "const bytes = readFileSync(0);"
        "const buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length);"
        "const m = labMessage(decodeEnvelope(buf));"
        "const w = unpack(m.filters[0].weights);"
        "const maps = unpack(m.maps[0].maps);"
        "console.log(JSON.stringify({ type: m.type, epoch: m.epoch, val_loss: m.val_loss,"
        "  keys: Object.keys(m).sort(), second: m.filters[1],"
        "  w: { type: w.data.constructor.name, shape: w.shape, values: [...w.data] },"
        "  maps: { type: maps.data.constructor.name, shape: maps.shape, values: [...maps.data] } }));",
        stdin=wire,
    )
    assert (got["type"], got["epoch"], got["val_loss"]) == ("frame", 3, None)
    assert got["keys"] == ["epoch", "filters", "maps", "type", "val_loss"]  # no envelope table
    assert got["second"] == {"layer": 4}
    assert got["w"]["type"] == "Float32Array" and got["w"]["shape"] == [2, 3, 2, 2]
    assert np.array_equal(np.array(got["w"]["values"], np.float32),
                          weights.astype(np.float32).ravel())
    assert got["maps"] == {"type": "Uint8Array", "shape": [2, 2], "values": [0, 7, 200, 255]}
