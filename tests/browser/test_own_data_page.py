"""Your own data on the page: a CSV chosen or pasted becomes the experiment's data and goes in
the link; a bad one is refused naming its line and column, and nothing changes."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

CSV = "x1,x2,label\n" + "".join(f"{i % 10 - 5},{i // 10 - 2},{int(i % 10 >= 5)}\n" for i in range(40))


def test_a_csv_file_becomes_the_data_and_the_link_carries_it(make_page, tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text(CSV)
    probe = make_page()
    page = probe.open("/?seed=2&networkShape=3")
    page.set_input_files("#own-data-file", str(path))
    probe.wait("netplay.config.data.startsWith('v1.')")
    probe.wait("document.querySelector('#counts').textContent.startsWith('20 train')")
    assert page.is_visible("#own-data-note")
    link = page.evaluate("location.search")
    assert "data=v1." in link
    # Opening the link gives the same points to another person.
    other = make_page().open("/" + link)
    assert other.inner_text("#counts") == page.inner_text("#counts")
    # Back to the data sets: the data key goes.
    page.click("#own-data-off")
    probe.wait("netplay.config.data === ''")
    assert not page.is_visible("#own-data-note")
    assert probe.console_errors == []


def test_a_bad_paste_is_refused_naming_the_place_and_nothing_changes(make_page):
    probe = make_page()
    page = probe.open("/?seed=2")
    version = probe.js("netplay.version")
    page.click("#own-data-paste summary")
    page.fill("#own-data-text", "x1,x2,label\n1,2,0\n3,four,1\n")
    page.click("#own-data-use")
    probe.wait("document.querySelector('#notices').textContent.includes('line 3, column 2')")
    assert "'four' is not a number" in page.inner_text("#notices")
    assert probe.js("netplay.version") == version and probe.js("netplay.config.data") == ""


def test_a_bad_paste_is_named_in_chinese_on_a_chinese_page(make_page):
    probe = make_page()
    page = probe.open("/?seed=2&lang=zh")
    page.click("#own-data-paste summary")
    page.fill("#own-data-text", "1,2,0\n3,four,1\n")
    page.click("#own-data-use")
    probe.wait("document.querySelector('#notices').textContent.includes('第 2 行第 2 列')")
    assert probe.js("netplay.config.data") == ""
