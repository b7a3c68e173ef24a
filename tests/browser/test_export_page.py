"""The page's *PyTorch script* link downloads the experiment in the address bar as a script
that trains as far as the run has (playground_models/export.py; tests/test_export.py runs such
scripts); *Download* saves the weights on screen as safetensors and the data as CSV; *Save network*
keeps the network as a file that *Load network…* opens in another tab."""

from __future__ import annotations

import json
import runpy
from pathlib import Path

import numpy as np
import pytest
import torch

pytestmark = pytest.mark.browser


def test_the_export_link_downloads_the_runs_script(make_page, tmp_path):
    probe = make_page()
    page = probe.open("/?seed=7&dataset=spiral&networkShape=5,3&optimizer=adam&learningRate=0.01")
    page.click("#step")
    page.click("#step")
    probe.wait("netplay.frame.epoch >= 2")
    with page.expect_download() as info:
        page.click("#export")
    download = info.value
    assert download.suggested_filename == "netplay_spiral_5x3.py"
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    script = path.read_text()
    for line in ('SEED = "7"', "EPOCHS = 2\n", "LAYER_SIZES = [2, 5, 3, 2]", 'OPTIMIZER = "adam"'):
        assert line in script
    compile(script, str(path), "exec")
    assert probe.console_errors == []


def test_a_classroom_link_can_hide_it(make_page):
    page = make_page().open("/?exportButton_hide=true")
    assert not page.is_visible("#export")
    assert page.is_visible("#share")


def _read_safetensors(raw: bytes) -> tuple[dict, dict]:
    """(header, {name: array}) of a safetensors file, read by its format's definition."""
    size = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + size])
    body = raw[8 + size:]
    arrays = {name: np.frombuffer(body[a:b], dtype="<f4").reshape(info["shape"])
              for name, info in header.items() if name != "__metadata__"
              for a, b in [info["data_offsets"]]}
    return header, arrays


def _download_after_an_epoch(probe, query: str, button: str):
    """Open `query`, train one epoch, click `button`: (the page, its download)."""
    page = probe.open(query)
    page.click("#step")
    probe.wait("netplay.frame.epoch >= 1")
    with page.expect_download() as info:
        page.click(button)
    return page, info


def test_the_weights_and_data_download_as_the_page_holds_them(make_page, tmp_path):
    probe = make_page()
    page, info = _download_after_an_epoch(probe, "/?seed=3&networkShape=3&numSamples=100",
                                          "#dl-weights")
    assert info.value.suggested_filename == "netplay_circle_3_epoch1.safetensors"
    header, arrays = _read_safetensors(Path(info.value.path()).read_bytes())
    assert header["__metadata__"]["epoch"] == "1" and "networkShape=3" in header["__metadata__"]["link"]
    assert {k: v.shape for k, v in arrays.items()} == {
        "weights.0": (3, 2), "biases.0": (3,), "weights.1": (2, 3), "biases.1": (2,)}
    flat_w = np.concatenate([arrays["weights.0"].ravel(), arrays["weights.1"].ravel()])
    np.testing.assert_array_equal(flat_w, np.float32(probe.js("netplay.weights")))
    np.testing.assert_array_equal(np.concatenate([arrays["biases.0"], arrays["biases.1"]]),
                                  np.float32(probe.js("netplay.biases")))
    # The same weights load into the exported script's Net.
    with page.expect_download() as script_info:
        page.click("#export")
    namespace = runpy.run_path(str(script_info.value.path()))  # it trains its one epoch, too
    net = namespace["Net"](namespace["initial_parameters"]())
    net.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in arrays.items()})

    with page.expect_download() as data_info:
        page.click("#dl-data")
    lines = Path(data_info.value.path()).read_text().splitlines()
    assert lines[0] == "x1,x2,label,split" and len(lines) == 1 + 100
    assert sum(line.endswith(",train") for line in lines) == 50
    assert {line.split(",")[2] for line in lines[1:]} == {"0", "1"}


def test_the_chinese_page_exports_the_same_experiment(make_page, tmp_path):
    probe = make_page()
    page = probe.open("/?seed=7&dataset=xor&networkShape=3&lang=zh")
    assert "PyTorch 脚本" in page.inner_text("#export")
    page.click("#step")
    probe.wait("netplay.frame.epoch >= 1")
    with page.expect_download() as info:
        page.click("#export")
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    script = path.read_text()
    assert 'SEED = "7"' in script and "EPOCHS = 1\n" in script
    compile(script, str(path), "exec")


def test_a_network_saved_from_the_page_loads_in_another_tab_with_its_weights(make_page):
    probe = make_page()
    _, info = _download_after_an_epoch(probe, "/?seed=4&networkShape=3&numSamples=100",
                                       "#save-net")
    assert info.value.suggested_filename == "netplay-4-1.netplay"
    path = info.value.path()
    weights = probe.js("netplay.weights")

    other = make_page()
    again = other.open("/?seed=9&networkShape=5")
    again.click("#step")
    other.wait("netplay.frame.epoch >= 1")
    asked = []
    again.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    again.click("#load-net")
    assert asked and asked[0].startswith("Replace this run by the loaded network?")
    again.set_input_files("#net-file", files=[path])
    other.wait("netplay.weights.length === 3 * 2 + 2 * 3")
    assert other.js("netplay.weights") == weights  # the saved network, number for number
    assert "seed=4" in again.url and "networkShape=3" in again.url
    assert "loaded the network" in again.inner_text("#notices")
    big = b"NETPLAY-NET\n" + b"\0" * 70_000  # over the server's 64 kB messages: said here
    again.set_input_files("#net-file", files=[{"name": "big.netplay",
                                               "mimeType": "application/octet-stream",
                                               "buffer": big}])
    other.wait("document.getElementById('notices').innerText.includes('max_message_bytes')")
    assert probe.console_errors == [] and other.console_errors == []
