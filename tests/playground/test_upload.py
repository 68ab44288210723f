"""CSV uploads: what a good file becomes, and a one-line message for each bad one."""

from __future__ import annotations

import numpy as np
import pytest

from ffbp.playground.errors import PlaygroundError
from ffbp.playground.session import Session
from ffbp.playground.upload import MAX_ROWS, read_csv

GOOD = b"a,b,c,label\n1,10,0.5,0\n2,20,0.1,1\n3,30,0.9,1\n4,40,0.3,0\n5,50,0.2,1\n6,60,0.7,0\n"


def test_a_good_file_becomes_columns_and_a_target():
    table = read_csv(GOOD, filename="good.csv")
    assert table.columns == ["a", "b", "c"] and table.target == "label"
    np.testing.assert_array_equal(table.X[:, 1], [10, 20, 30, 40, 50, 60])
    np.testing.assert_array_equal(table.t, [0, 1, 1, 0, 1, 0])
    named = read_csv(GOOD, target="a")
    assert named.columns == ["b", "c", "label"] and named.target == "a"


def test_semicolons_a_bom_and_text_labels():
    data = "\ufeffx;y;z;kind\n1;2;3;cat\n4;5;6;dog\n7;8;9;cat\n".encode()
    table = read_csv(data)
    assert table.columns == ["x", "y", "z"] and table.classes == ["cat", "dog"]
    np.testing.assert_array_equal(table.t, [0, 1, 0])


@pytest.mark.parametrize("data, message", [
    (b"", "f.csv is empty"),
    (b"  \n\n", "f.csv is empty"),
    (b"a,b,t\n1,2,\xff\n", r"f.csv is not UTF-8 text \(byte 11 cannot be read\)"),
    (b"1,2,3\n4,5,6\n", "f.csv has no header row: its first line holds numbers"),
    (b"a,b,t\n1,2,0\n1,x2,1\n", "column 'b' is not numeric \\(row 2 holds 'x2'\\)"),
    (b"a,b,t\n1,2,0\n,3,1\n", "column 'a' has a missing value in row 2"),
    (b"a,b,t\n1,NA,0\n", "column 'b' has a missing value in row 1"),
    (b"a,b,t\n1,2,0\n3,4,\n", "the target 't' has a missing value in row 2"),
    (b"a,t\n1,0\n2,1\n", "1 feature column\\(s\\) besides the target 't': the playground "
                         "needs at least 2"),
    (b"a,b,t\n1,2,5\n3,4,5\n", "the target 't' is constant \\(every row holds '5'\\)"),
    (b"a,b,t\n1,2,0\n3,4\n", "row 2 has 2 values but the header names 3 columns"),
    (b"a,b,t\n", "has a header but no data rows"),
    (b"a,a,t\n1,2,0\n", "the header names column 'a' twice"),
    (b"a,b,t\n1,2,x\n3,4,y\n5,6,z\n", "the target 't' is not numeric \\(row 1 holds 'x'\\) "
                                     "and has 3 distinct labels"),
    (b"a,b,t\n1,inf,0\n", "column 'b' holds 'inf' in row 1; values must be finite"),
])
def test_bad_files_get_one_line_messages(data, message):
    with pytest.raises(PlaygroundError, match=message) as info:
        read_csv(data, filename="f.csv")
    assert "\n" not in str(info.value)


def test_too_many_rows_says_the_cap():
    data = b"a,b,t\n" + b"1,2,0\n" * (MAX_ROWS + 1)
    with pytest.raises(PlaygroundError, match="10,001 data rows; the playground takes at "
                                              "most 10,000"):
        read_csv(data, filename="big.csv")


def test_unknown_target_lists_the_columns():
    with pytest.raises(PlaygroundError, match="no column 'y'; its columns are a, b, c, label"):
        read_csv(GOOD, target="y", filename="good.csv")


def _regression_csv(n=200, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3)) * [1, 100, 0.01] + [0, 500, 3]
    y = 2 * X[:, 0] + X[:, 1] / 100 + rng.normal(scale=0.1, size=n)
    rows = "\n".join(",".join(f"{v:.6g}" for v in (*x, t)) for x, t in zip(X, y, strict=True))
    return ("u,v,w,y\n" + rows + "\n").encode()


def test_session_trains_on_an_upload_with_standardised_columns():
    s = Session()
    info = s.load_csv(_regression_csv(), "r.csv")
    assert info == {"columns": ["u", "v", "w"], "target": "y", "rows": 200,
                    "problem": "regression", "classes": None}
    assert s.config["dataset"] == "upload" and s.config["problem"] == "regression"
    Z = s.data.X_train
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(Z.std(axis=0), 1, rtol=1e-12)
    start = s.losses()[0]
    s.train(400)
    assert s.losses()[0] < 0.1 * start
    snap = s.snapshot(grid=5)
    assert snap["features"] == ["u", "v", "w"] and snap["layout"][0] == 3
    # the column off the plane is held at its training mean (0 once standardised)
    assert snap["inputs"][2] == [0.0] * 25
    pts = s.points()
    assert pts["x_name"] == "u" and pts["y_name"] == "v" and len(pts["train"]) == 100


def test_plane_columns_move_without_losing_the_weights():
    s = Session()
    s.load_csv(_regression_csv(), "r.csv")
    s.train(20)
    weights, version = s.network.flat_values.copy(), s.points()["version"]
    s.configure({"x_feature": 2, "y_feature": 0})
    np.testing.assert_array_equal(weights, s.network.flat_values)
    assert s.points()["x_name"] == "w" and s.points()["version"] == version + 1
    assert s.snapshot(grid=4)["inputs"][1] == [0.0] * 16       # now v is held at its mean
    with pytest.raises(PlaygroundError, match="x_feature must be a column index from 0 to 2"):
        s.configure({"x_feature": 3})
    with pytest.raises(PlaygroundError, match="needs a two-valued target"):
        s.configure({"problem": "classification"})


def test_a_two_valued_upload_is_classification_and_back_to_generated_data():
    s = Session({"hidden": [3]})
    assert s.load_csv(GOOD, "good.csv")["problem"] == "classification"
    assert s.network.layers[-1].__class__.__name__ == "Sigmoid"
    s.configure({"dataset": "spiral"})
    assert s.snapshot()["layout"][0] == 2 and s.config["x_feature"] == 0
    s.configure({"dataset": "upload"})          # the table is kept
    assert s.snapshot()["features"] == ["a", "b", "c"]


def test_a_failed_upload_keeps_the_session_as_it_was():
    s = Session()
    before = s.config
    with pytest.raises(PlaygroundError):
        s.load_csv(b"a,b\n1,2\n", "bad.csv")
    assert s.config == before
