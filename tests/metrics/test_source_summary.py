"""source_summary: hand-computed values, a brute-force oracle, both return types."""

import sys

import numpy as np
import pytest

from skweak_e2e.metrics import source_summary

# Five sources, three classes; source 4 never votes. Row 5's gold is unknown.
L = np.array(
    [
        [0, 0, -1, 2, -1],
        [1, 0, -1, -1, -1],
        [-1, 1, 1, -1, -1],
        [-1, -1, -1, -1, -1],
        [2, -1, 2, 2, -1],
        [0, -1, -1, -1, -1],
    ]
)
y = np.array([0, 1, 1, 2, 2, -1])

# Worked by hand (see the row-by-row reasoning in the comments).
EXPECTED = {
    # source 0 votes rows 0,1,4,5; 1 on rows 0,1,2; 2 on 2,4; 3 on 0,4.
    "polarity": [(0, 1, 2), (0, 1), (1, 2), (2,), ()],
    "coverage": [4 / 6, 3 / 6, 2 / 6, 2 / 6, 0.0],
    # Row 5 has source 0 alone; every other vote has company.
    "overlap": [3 / 6, 3 / 6, 2 / 6, 2 / 6, 0.0],
    # Source 0 conflicts on row 0 (it says 0, source 3 says 2) and row 1 (it
    # says 1, source 1 says 0); source 1 on rows 0 and 1; source 2 never
    # (rows 2 and 4 agree); source 3 on row 0.
    "conflict": [2 / 6, 2 / 6, 0.0, 1 / 6, 0.0],
    # Row 5 (gold unknown) is left out.
    "correct": [3, 2, 2, 1, 0],
    "incorrect": [0, 1, 0, 1, 0],
    "accuracy": [1.0, 2 / 3, 1.0, 0.5, np.nan],
}


def _check_columns(summary, expected, names):
    _check_columns_only(summary, expected)
    assert list(names) == list(range(5))


def test_hand_computed_values_dict():
    summary = source_summary(L, y, as_frame=False)
    assert isinstance(summary, dict)
    assert list(summary) == [
        "source",
        "polarity",
        "coverage",
        "overlap",
        "conflict",
        "correct",
        "incorrect",
        "accuracy",
    ]
    _check_columns(summary, EXPECTED, summary["source"])


def test_hand_computed_values_dataframe():
    pd = pytest.importorskip("pandas")
    frame = source_summary(L, y)
    assert isinstance(frame, pd.DataFrame)
    assert frame.index.name == "source" and frame.shape == (5, 7)
    _check_columns(frame, EXPECTED, frame.index)
    assert np.isnan(frame.loc[4, "accuracy"])


def test_without_gold_labels_has_no_accuracy_columns():
    summary = source_summary(L, as_frame=False)
    assert set(summary) == {"source", "polarity", "coverage", "overlap", "conflict"}
    np.testing.assert_allclose(summary["conflict"], EXPECTED["conflict"])


def _oracle(L, y, C):
    """Brute-force loops over rows and sources (the definition, verbatim)."""
    n, m = L.shape
    out = {
        k: []
        for k in (
            "polarity",
            "coverage",
            "overlap",
            "conflict",
            "correct",
            "incorrect",
            "accuracy",
        )
    }
    for j in range(m):
        cov = ovl = con = cor = inc = 0
        for i in range(n):
            if L[i, j] < 0:
                continue
            cov += 1
            others = [L[i, k] for k in range(m) if k != j and L[i, k] >= 0]
            ovl += bool(others)
            con += any(v != L[i, j] for v in others)
            if y[i] >= 0:
                cor += L[i, j] == y[i]
                inc += L[i, j] != y[i]
        out["polarity"].append(tuple(c for c in range(C) if (L[:, j] == c).any()))
        out["coverage"].append(cov / n)
        out["overlap"].append(ovl / n)
        out["conflict"].append(con / n)
        out["correct"].append(cor)
        out["incorrect"].append(inc)
        out["accuracy"].append(cor / (cor + inc) if cor + inc else np.nan)
    return out


@pytest.mark.parametrize("seed", range(4))
def test_matches_brute_force_oracle(seed):
    rng = np.random.RandomState(seed)
    n, m, C = rng.randint(5, 60), rng.randint(1, 7), rng.randint(2, 5)
    Lr = rng.randint(0, C, size=(n, m))
    Lr[rng.rand(n, m) < rng.uniform(0.2, 0.9)] = -1
    yr = rng.randint(-1, C, size=n)
    summary = source_summary(Lr, yr, n_classes=C, as_frame=False)
    _check_columns_only(summary, _oracle(Lr, yr, C))


def _check_columns_only(summary, expected):
    assert list(summary["polarity"]) == expected["polarity"]
    for col in ("coverage", "overlap", "conflict", "correct", "incorrect", "accuracy"):
        np.testing.assert_allclose(
            np.asarray(summary[col], dtype=float), expected[col], err_msg=col
        )


def test_custom_abstain_and_source_names():
    L99 = np.where(L == -1, 99, L)
    names = [f"lf_{k}" for k in range(5)]
    summary = source_summary(L99, y, abstain=99, source_names=names, as_frame=False)
    assert summary["source"] == names
    np.testing.assert_allclose(summary["coverage"], EXPECTED["coverage"])


def test_dataframe_input_names_sources_by_column():
    pd = pytest.importorskip("pandas")
    frame_in = pd.DataFrame(L, columns=list("abcde"))
    frame = source_summary(frame_in, y)
    assert frame.index.tolist() == list("abcde")
    np.testing.assert_allclose(frame["overlap"], EXPECTED["overlap"])


def test_dict_fallback_when_pandas_is_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas -> ImportError
    summary = source_summary(L, y)
    assert isinstance(summary, dict)
    np.testing.assert_allclose(summary["coverage"], EXPECTED["coverage"])
    with pytest.raises(ImportError, match="pandas"):
        source_summary(L, y, as_frame=True)


def test_all_abstain_matrix_is_summarised():
    summary = source_summary(np.full((3, 2), -1), as_frame=False)
    np.testing.assert_array_equal(summary["coverage"], 0.0)
    assert summary["polarity"] == [(), ()]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"y": np.array([0, 1])}, "different numbers of samples"),
        ({"y": np.array([0, 1, 1, 2, 2, -2])}, "below -1"),
        ({"y": np.array([0, 1, 1, 2, 2, 0.5])}, "integer"),
        ({"y": np.array([0, 1, 1, 3, 2, 0]), "n_classes": 3}, "class 3"),
        ({"source_names": ["a", "b"]}, "2 entries"),
        ({"as_frame": "yes"}, "as_frame"),
    ],
)
def test_invalid_arguments_raise_value_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        source_summary(L, **kwargs)


def test_invalid_label_matrices_raise():
    with pytest.raises(ValueError, match="2-D"):
        source_summary(np.full((3, 2, 2), 0.3))
    with pytest.raises(ValueError, match="-3"):
        source_summary(np.array([[0, -3]]))
    with pytest.raises(TypeError):
        source_summary(np.array([["a", "b"]]))


def test_vectorised_on_a_large_matrix():
    # 200k x 20 must take well under a second (no Python loop over rows).
    import time

    rng = np.random.RandomState(0)
    big = rng.randint(-1, 3, size=(200_000, 20)).astype(np.int8)
    start = time.perf_counter()
    summary = source_summary(big, rng.randint(0, 3, size=200_000), as_frame=False)
    assert time.perf_counter() - start < 5.0
    np.testing.assert_allclose(summary["coverage"], (big >= 0).mean(axis=0))


def test_dask_label_matrices_are_refused_with_the_way_out():
    da = pytest.importorskip("dask.array")
    from skweak_e2e.metrics import label_buckets, label_matrix_summary
    from skweak_e2e.plotting import plot_source_summary

    L = da.from_array(np.array([[0, 1], [1, -1], [-1, 0], [1, 1]]), chunks=(2, 2))
    for call in (
        lambda: source_summary(L),
        lambda: label_matrix_summary(L),
        lambda: label_buckets(L[:, 0], L[:, 1]),
        lambda: plot_source_summary(L),
    ):
        with pytest.raises(TypeError, match=r"would load the dask .*sample of its rows"):
            call()
