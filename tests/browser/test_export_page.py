"""The page's *PyTorch script* link downloads the experiment in the address bar as a script
that trains as far as the run has (playground_models/export.py; tests/test_export.py runs such
scripts)."""

from __future__ import annotations

import pytest

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
