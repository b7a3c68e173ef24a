"""The image lab's *Export as PyTorch* link downloads the experiment in the address bar as a
script (playground_models/imagelab/export.py; tests/test_lab_export.py runs such scripts)."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.browser


def test_the_lab_export_link_downloads_the_experiments_script(make_page, tmp_path):
    probe = make_page()
    page = probe.page
    page.goto(probe.server.url + "/lab?data=digits&preset=small-digits&seed=4&optimizer=sgd")
    probe.wait("!document.body.classList.contains('loading')")
    assert page.is_visible("#export")
    with page.expect_download() as info:
        page.click("#export")
    download = info.value
    assert download.suggested_filename == "netplay_lab_digits_small-digits.py"
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    script = path.read_text()
    assert "nn.Sequential" in script
    for line in ('SEED = "4"', "EPOCHS = 1\n", 'OPTIMIZER = "sgd"', "nn.Conv2d(1, 16, 3, padding=1)"):
        assert line in script
    compile(script, str(path), "exec")

    # After training, the script trains as many whole epochs as the run has.
    page.click("#play")
    probe.wait("Number(document.getElementById('epoch').textContent) >= 2", timeout=60_000)
    page.click("#play")
    with page.expect_download() as info:
        page.click("#export")
    epochs = re.search(r"^EPOCHS = (\d+)$", info.value.path().read_text(), re.MULTILINE)
    assert epochs and int(epochs.group(1)) >= 2
    assert probe.console_errors == []
