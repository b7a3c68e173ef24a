"""Your own 2-D data (`playground_models/owndata.py`): a CSV read into points, every bad file
refused with its line and column, the points carried by the link's `data` key, and the data
they make (split, removal, classes) — the same for the page, `netplay run` and the API."""

from __future__ import annotations

import numpy as np
import pytest

from playground_models import owndata
from playground_models.datasets import generate
from playground_models.experiment import ConfigError, Experiment
from playground_models.headless import run_epochs
from playground_models.urlcodec import parse

CSV = """x1,x2,label
1.5,-2,0
-3, 0.25 ,1
4.1234,5.9999,2
-6,6,0
0,0,1
2;2;1
"""


def test_a_csv_becomes_points_kept_to_three_decimals():
    x, y = owndata.read_csv(CSV, classification=True)
    np.testing.assert_array_equal(x, [[1.5, -2], [-3, 0.25], [4.123, 6.0], [-6, 6], [0, 0], [2, 2]])
    np.testing.assert_array_equal(y, [0, 1, 2, 0, 1, 1])
    # No header, tabs: the same points.
    plain = "\n".join(line.replace(",", "\t") for line in CSV.splitlines()[1:])
    np.testing.assert_array_equal(owndata.read_csv(plain, True)[0], x)


def test_the_link_carries_the_points_exactly_and_they_are_the_data():
    x, y = owndata.read_csv(CSV, classification=True)
    key = owndata.encode(x, y, True)
    got_x, got_y, classes = owndata.decode(key)
    np.testing.assert_array_equal(got_x, x)
    np.testing.assert_array_equal(got_y, y)
    assert classes
    exp = parse(f"data={key}&percTrainData=50&numSamples=2000&noise=50", strict=True).experiment
    assert exp.num_classes == 3 and exp.data_name == "own"
    split = generate(exp)
    assert len(split.train_x) == 3 and len(split.test_x) == 3  # numSamples and noise step aside
    both = np.concatenate([split.train_x, split.test_x])
    assert sorted(map(tuple, both)) == sorted(map(tuple, x))
    # Removing a point by hand works on them as on generated data.
    assert len(generate(exp.replace(removed=(int(split.train_index[0]),))).train_x) == 2


def test_regression_targets_and_the_problem_must_agree():
    x, y = owndata.read_csv("0,0,0.5\n1,1,-0.25\n2,2,3.125\n3,3,-999.5\n", classification=False)
    key = owndata.encode(x, y, False)
    np.testing.assert_array_equal(owndata.decode(key)[1], [0.5, -0.25, 3.125, -999.5])
    assert parse(f"problem=regression&data={key}", strict=True).experiment.num_classes == 1
    with pytest.raises(ConfigError, match="holds regression targets: set problem=regression"):
        parse(f"data={key}", strict=True)


@pytest.mark.parametrize(("text", "where", "what"), [
    ("1,2,0\n3,abc,1\n", (2, 2), "'abc' is not a number"),
    ("1,2,0\n3,nan,1\n", (2, 2), "nan is not a finite number"),
    ("1,2,0\n3,inf,1\n", (2, 2), "inf is not a finite number"),
    ("1,2,0\n3,4\n", (2, None), "expected 3 columns"),
    ("1,2,0\n3,4,1,9\n", (2, None), "found 4"),
    ("x,y,c\n1,2,0\n3,4,2.5\n", (3, 3), "the label 2.5 is not a class"),
    ("1,2,0\n3,4,6\n", (2, 3), "the label 6 is not a class: use 0 to 5"),
    ("1,2,0\n3,4,-1\n", (2, 3), "is not a class"),
    ("1,2,0\n3,6.5,1\n", (2, 2), "x2 = 6.5 is off the plot; positions go from -6 to 6"),
    ("1,2,0\n" * 1000 + "1,2,1\n", (1001, None), "more than 1,000 points"),
    ("1,2,0\n3,4,1\n", (None, None), "found 2 points; at least 4"),
    ("1,2,1\n3,4,1\n5,5,1\n0,0,1\n", (None, None), "every point has the same class"),
])
def test_a_bad_csv_is_refused_naming_the_line_and_column(text, where, what):
    with pytest.raises(owndata.DataError) as err:
        owndata.read_csv(text, classification=True)
    assert (err.value.line, err.value.column) == where
    assert what in str(err.value)
    if where[0]:
        assert str(err.value).startswith(f"line {where[0]}")


def test_the_largest_data_set_fits_a_link():
    rng = np.random.default_rng(0)
    x = np.round(rng.uniform(-6, 6, (owndata.MAX_POINTS, 2)), 3)
    classes = owndata.encode(x, rng.integers(0, 6, owndata.MAX_POINTS), True)
    targets = owndata.encode(x, np.round(rng.uniform(-1, 1, owndata.MAX_POINTS), 3), False)
    # What docs say (5.5 KB and 8 KB), under the parameter's bound and a server's 16 KB line.
    assert len(classes) < 6_000 and len(targets) < 8_500
    assert max(len(classes), len(targets)) < 16_000


@pytest.mark.parametrize("key", ["v1.", "v1.AAAA", "v2.abc", "plain", "v1." + "A" * 40])
def test_a_damaged_data_key_is_a_named_error(key):
    with pytest.raises(ConfigError) as err:
        parse(f"data={key}", strict=True)
    assert err.value.key == "data"


def test_netplay_run_trains_on_the_points_of_a_link():
    x, y = owndata.read_csv(CSV, classification=True)
    records = list(run_epochs(f"data={owndata.encode(x, y, True)}&networkShape=3", 3))
    assert [r["epoch"] for r in records] == [1, 2, 3]
    assert Experiment().data == ""


def test_the_api_reads_a_csv_or_names_the_place_at_fault(client):
    ok = client.post("/api/data/csv", json={"csv": CSV}).json()
    assert ok["points"] == 6 and ok["classes"] == 3 and ok["data"].startswith("v1.")
    bad = client.post("/api/data/csv", json={"csv": "1,2,0\n3,abc,1\n"})
    assert bad.status_code == 422
    assert bad.json()["error"] | {"message": ""} == {
        "code": "bad_csv", "field": "csv", "message": "", "line": 2, "column": 2}
    wrong = client.post("/api/data/csv", json={"csv": CSV, "problem": "regresion"})
    assert wrong.status_code == 422 and wrong.json()["error"]["field"] == "problem"


def test_a_bad_csv_is_named_in_chinese_for_a_chinese_page(client):
    bad = client.post("/api/data/csv", json={"csv": "1,2,0\n3,abc,1\n", "lang": "zh"}).json()
    assert bad["error"]["message"] == "第 2 行第 2 列：'abc' 不是数字"
    few = client.post("/api/data/csv", json={"csv": "1,2,0\n", "lang": "zh"}).json()
    assert few["error"]["message"] == "只有 1 个点；至少需要 4 个"
