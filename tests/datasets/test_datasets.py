"""The embedded tabular default and the WRENCH reader."""

import json

import numpy as np
import pytest

from skweak_e2e import MajorityVote
from skweak_e2e.datasets import load_tabular_weak_supervision, load_wrench
from skweak_e2e.metrics import source_summary

SIZES = {"breast_cancer": (569, 2), "wine": (178, 3), "digits": (1797, 10)}
SPLITS = ("train", "valid", "test")


# --------------------------------------------------------------------------- #
# load_tabular_weak_supervision
# --------------------------------------------------------------------------- #
@pytest.fixture(scope="module")
def loaded():
    return {name: load_tabular_weak_supervision(name, random_state=0) for name in SIZES}


@pytest.mark.parametrize("name", list(SIZES))
def test_tabular_shapes_and_label_range(loaded, name):
    data = loaded[name]
    n_rows, C = SIZES[name]
    assert data.n_classes == C == len(data.target_names)
    m = len(data.source_names)
    assert len(data.labeling_functions) == len(data.source_descriptions) == m
    total = len(data.y_seed)
    for split in SPLITS:
        X, L, yy = data[f"X_{split}"], data[f"L_{split}"], data[f"y_{split}"]
        assert X.shape[0] == L.shape[0] == yy.shape[0] > 0
        assert X.shape[1] == len(data.feature_names)
        assert L.shape[1] == m
        assert L.min() >= -1 and L.max() <= C - 1
        assert set(np.unique(yy)) <= set(range(C))
        total += len(yy)
    assert total == n_rows  # seed, train, valid and test partition the data
    assert len(data.X_seed) == len(data.y_seed)
    assert data.DESCR.startswith(name)


@pytest.mark.parametrize("name", list(SIZES))
def test_tabular_sources_are_realistic(loaded, name):
    """Partial coverage, one polarity each, varied accuracy, overlaps and conflicts."""
    data = loaded[name]
    summary = source_summary(data.L_train, data.y_train, as_frame=False)
    cov, acc = summary["coverage"], summary["accuracy"]
    assert (cov > 0).all(), "every source votes on the train rows"
    assert (cov < 0.95).all(), "no source votes everywhere"
    assert all(len(p) == 1 for p in summary["polarity"])
    # Every class has at least one source that looks for it.
    assert {p[0] for p in summary["polarity"]} == set(range(data.n_classes))
    assert 0.6 <= np.mean(acc) <= 0.95
    assert np.ptp(acc) > 0.1  # accuracies vary from source to source
    assert np.mean(summary["overlap"]) > 0
    assert np.max(summary["conflict"]) > 0
    assert 0.6 <= (data.L_train >= 0).any(axis=1).mean() <= 1.0
    # The votes carry real signal: majority vote beats the best constant.
    mv_acc = (
        MajorityVote(tie_break="random", random_state=1)
        .fit(data.L_train)
        .score(data.L_test, data.y_test)
    )
    assert mv_acc > np.bincount(data.y_test).max() / len(data.y_test) + 0.1


def test_tabular_is_deterministic_and_seed_dependent(loaded):
    again = load_tabular_weak_supervision("wine", random_state=0)
    first = loaded["wine"]
    for key in ("L_train", "X_test", "y_valid", "L_test", "y_seed"):
        np.testing.assert_array_equal(first[key], again[key])
    assert first.source_names == again.source_names
    other = load_tabular_weak_supervision("wine", random_state=1)
    assert not np.array_equal(first.L_train, other.L_train)
    # A RandomState instance works too and is consumed, not reseeded.
    rs = np.random.RandomState(0)
    from_rs = load_tabular_weak_supervision("wine", random_state=rs)
    np.testing.assert_array_equal(from_rs.L_train, first.L_train)


def test_labeling_functions_reproduce_the_label_matrices(loaded):
    data = loaded["breast_cancer"]
    for split in SPLITS:
        votes = np.stack(
            [lf.apply(data[f"X_{split}"]) for lf in data.labeling_functions], axis=1
        )
        np.testing.assert_array_equal(votes, data[f"L_{split}"])
    assert "tree00" in repr(data.labeling_functions[0])


def test_tabular_options():
    data = load_tabular_weak_supervision(
        "breast_cancer",
        n_sources=4,
        seed_size=0.1,
        valid_size=0.2,
        test_size=0.3,
        random_state=0,
    )
    assert data.L_train.shape[1] == 4
    assert len(data.y_seed) == 57
    n_rest = 569 - 57
    assert abs(len(data.y_test) - 0.3 * n_rest) <= 1
    assert abs(len(data.y_valid) - 0.2 * n_rest) <= 1
    # Stricter sources vote less and are at least as accurate on average.
    loose = load_tabular_weak_supervision(
        "breast_cancer", min_confidence=0.6, random_state=3
    )
    strict = load_tabular_weak_supervision(
        "breast_cancer", min_confidence=0.9, random_state=3
    )
    assert (strict.L_train >= 0).mean() < (loose.L_train >= 0).mean()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"name": "iris"}, "Unknown data set"),
        ({"n_sources": 0}, "n_sources"),
        ({"n_sources": 2.5}, "n_sources"),
        ({"min_confidence": 0.3}, "min_confidence"),
        ({"seed_size": 2}, "seed_size"),
        ({"seed_size": 400}, "seed_size"),
        ({"valid_size": 0.0}, "valid_size"),
        ({"test_size": 1.2}, "test_size"),
        ({"valid_size": 0.5, "test_size": 0.5}, "below 1"),
        # A smoothed share (n + 1) / (n + 2) never reaches 1.
        ({"name": "wine", "min_confidence": 1.0}, "Could not build a source"),
    ],
)
def test_tabular_invalid_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        load_tabular_weak_supervision(**kwargs)


# --------------------------------------------------------------------------- #
# load_wrench on a tiny WRENCH-format directory
# --------------------------------------------------------------------------- #
def _record(text, label, votes, feature=None):
    data = {"text": text}
    if feature is not None:
        data["feature"] = feature
    return {"data": data, "label": label, "weak_labels": votes}


TINY = {
    "train": {
        "0": _record("free money", 1, [1, -1, 1], [0.5, 1.0]),
        "1": _record("nice song", 0, [-1, 0, -1], [0.1, 0.0]),
        "2": _record("visit my channel", 1, [1, 0, -1], [0.9, 0.2]),
        "3": _record("", None, [-1, -1, -1], [0.0, 0.0]),
    },
    "valid": {"10": _record("great", 0, [-1, 0, -1], [0.2, 0.2])},
    "test": {
        "7": _record("subscribe", 1, [1, -1, -1], [0.7, 0.3]),
        "5": _record("lol", 0, [-1, -1, 0], [0.0, 0.1]),
    },
}


LABELS = {"0": "ham", "1": "spam"}


def _write(directory, splits=TINY, labels=LABELS):
    directory.mkdir(parents=True, exist_ok=True)
    for split, records in splits.items():
        (directory / f"{split}.json").write_text(json.dumps(records))
    if labels is not None:
        (directory / "label.json").write_text(json.dumps(labels))
    return directory


def test_wrench_all_splits(tmp_path):
    data = load_wrench(_write(tmp_path / "tiny"))
    assert set(data) == {"train", "valid", "test", "target_names", "n_classes"}
    assert data.target_names == ["ham", "spam"] and data.n_classes == 2
    train = data.train
    np.testing.assert_array_equal(
        train.L, [[1, -1, 1], [-1, 0, -1], [1, 0, -1], [-1, -1, -1]]
    )
    np.testing.assert_array_equal(train.y, [1, 0, 1, -1])  # null gold -> -1
    assert train.texts == ["free money", "nice song", "visit my channel", ""]
    np.testing.assert_allclose(train.X, [[0.5, 1.0], [0.1, 0.0], [0.9, 0.2], [0, 0]])
    assert train.ids == ["0", "1", "2", "3"]
    assert train.data[2] == {"text": "visit my channel", "feature": [0.9, 0.2]}
    assert train.L.dtype.kind == "i"
    # File order is kept, not re-sorted.
    assert data.test.ids == ["7", "5"]
    np.testing.assert_array_equal(data.test.y, [1, 0])
    assert data.valid.L.shape == (1, 3) and data.valid.n_classes == 2


def test_wrench_single_split_and_string_path(tmp_path):
    root = _write(tmp_path / "tiny")
    test = load_wrench(str(root), split="test")
    assert test.L.shape == (2, 3) and test.target_names == ["ham", "spam"]
    # The loaded matrix feeds a label model directly.
    MajorityVote(n_classes=test.n_classes).fit(load_wrench(root, "train").L)


def test_wrench_text_only_records_have_no_features(tmp_path):
    splits = {
        s: {"0": {"data": {"text": "a"}, "label": 0, "weak_labels": [0]}}
        for s in SPLITS
    }
    data = load_wrench(_write(tmp_path / "t", splits))
    assert data.train.X is None and data.train.texts == ["a"]


def test_wrench_without_label_json_infers_classes(tmp_path):
    data = load_wrench(_write(tmp_path / "nolabels", labels=None))
    assert data.target_names is None and data.n_classes == 2


def test_wrench_missing_files_and_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="directory"):
        load_wrench(tmp_path / "nowhere")
    root = _write(tmp_path / "partial", {"train": TINY["train"]})
    with pytest.raises(FileNotFoundError, match="valid.json, test.json"):
        load_wrench(root)
    with pytest.raises(FileNotFoundError, match="test.json"):
        load_wrench(root, split="test")
    assert load_wrench(root, split="train").L.shape == (4, 3)


@pytest.mark.parametrize(
    "mutate, match",
    [
        (lambda d: d["train"]["1"].pop("weak_labels"), "no 'weak_labels'"),
        (lambda d: d["train"]["1"].__setitem__("weak_labels", [0, 1]), "same length"),
        (lambda d: d["train"]["1"].__setitem__("weak_labels", 3), "same length"),
        (lambda d: d["train"]["1"].__setitem__("weak_labels", [0, "x", 1]), "integers"),
        (lambda d: d["train"]["1"].__setitem__("label", 5), "class 5"),
        (lambda d: d["train"]["1"].__setitem__("weak_labels", [0, -2, 1]), "below -1"),
        (
            lambda d: d.__setitem__("valid", {"0": _record("a", 0, [0, 1])}),
            "different numbers of sources",
        ),
        (lambda d: d.__setitem__("test", {}), "non-empty"),
    ],
)
def test_wrench_malformed_content_raises_value_error(tmp_path, mutate, match):
    splits = json.loads(json.dumps(TINY))
    mutate(splits)
    root = _write(tmp_path / "bad", splits)
    with pytest.raises(ValueError, match=match):
        load_wrench(root)


def test_wrench_bad_json_label_file_and_split_name(tmp_path):
    root = _write(tmp_path / "tiny")
    with pytest.raises(ValueError, match="split must be one of"):
        load_wrench(root, split="dev")
    (root / "label.json").write_text(json.dumps({"a": "ham"}))
    with pytest.raises(ValueError, match="class indices"):
        load_wrench(root)
    (root / "label.json").write_text(json.dumps({"0": "ham", "2": "spam"}))
    with pytest.raises(ValueError, match="0..n_classes-1"):
        load_wrench(root)
    (root / "label.json").write_text(json.dumps(["ham", "spam"]))
    with pytest.raises(ValueError, match="map class indices"):
        load_wrench(root)
    (root / "label.json").write_text(json.dumps({"0": "ham", "1": "spam"}))
    (root / "valid.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_wrench(root)
