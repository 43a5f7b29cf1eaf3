"""Bad input to WeaSELClassifier gives clear errors."""

import warnings

import numpy as np
import pytest

from skweak_e2e import WeaSELClassifier

torch = pytest.importorskip("torch")
pytest.importorskip("skorch")

from ._weasel_common import FAST, _data, _quiet_fit  # noqa: E402


# ----------------------------------------------------------------------------
# Bad input
# ----------------------------------------------------------------------------
def _bad_cases():
    X, L, _ = _data(n=60, m=3, n_features=4)
    soft_bad = np.full((60, 3, 2), 0.6)
    wrong_width = torch.nn.Linear(4, 3)
    return [
        (
            "X_val without y_val",
            dict(),
            dict(X=X, y=L, X_val=X),
            ValueError,
            "together",
        ),
        (
            "unknown val label",
            dict(),
            dict(X=X, y=L, X_val=X, y_val=np.full(60, 7)),
            ValueError,
            "not classes",
        ),
        (
            "all abstain",
            dict(),
            dict(X=X, y=np.full((60, 3), -1)),
            ValueError,
            "no vote",
        ),
        (
            "one covered row",
            dict(),
            dict(X=X, y=np.where(np.arange(60)[:, None] == 0, L, -1)),
            ValueError,
            "at least 2",
        ),
        (
            "NaN features",
            dict(),
            dict(X=np.where(X > 1, np.nan, X), y=L),
            ValueError,
            "NaN",
        ),
        (
            "soft sum > 1",
            dict(),
            dict(X=X, y=soft_bad),
            ValueError,
            "sum to more than 1",
        ),
        (
            "signed multiclass",
            dict(lf_encoding="signed", classes=[0, 1, 2]),
            dict(X=X, y=L),
            ValueError,
            "needs 2 classes",
        ),
        (
            "bad module output",
            dict(module=wrong_width),
            dict(X=X, y=L),
            ValueError,
            r"shape \(batch, 2\)",
        ),
        (
            "module not a Module",
            dict(module=len),
            dict(X=X, y=L),
            TypeError,
            "nn.Module",
        ),
        (
            "zero prior",
            dict(class_prior=[1.0, 0.0]),
            dict(X=X, y=L),
            ValueError,
            "positive",
        ),
        (
            "bogus device",
            dict(device="bogus"),
            dict(X=X, y=L),
            ValueError,
            "torch device",
        ),
        (
            "rows mismatch",
            dict(),
            dict(X=X[:50], y=L),
            ValueError,
            "inconsistent|different",
        ),
        (
            "params for default",
            dict(module_params={"a": 1}),
            dict(X=X, y=L),
            ValueError,
            "module_params",
        ),
        (
            "bad accuracy_support",
            dict(accuracy_support="voting"),
            dict(X=X, y=L),
            ValueError,
            "accuracy_support",
        ),
        (
            "vote below abstain",
            dict(),
            dict(X=X, y=np.where(L == 1, -2, L)),
            ValueError,
            "vote -2, below abstain=-1",
        ),
        (
            "continuous y",
            dict(),
            dict(X=X, y=np.linspace(0, 1, 60)),
            ValueError,
            "Unknown label type",
        ),
    ]


@pytest.mark.parametrize("case", _bad_cases(), ids=lambda c: c[0])
def test_bad_fit_input_gives_a_clear_error(case):
    _, params, data, error, match = case
    clf = WeaSELClassifier(**dict(FAST, max_epochs=1), **params)
    fit_args = {k: v for k, v in data.items() if k in ("X_val", "y_val")}
    with pytest.raises(error, match=match):
        _quiet_fit(clf, data["X"], data["y"], **fit_args)


def test_negative_labels_are_classes_when_declared():
    X, L, _ = _data(m=3)
    relabelled = np.select([L == 0, L == 1], [-2, 0], -1)  # classes 0, 1 -> -2, 0
    clf = _quiet_fit(WeaSELClassifier(classes=[-2, 0], **FAST), X, relabelled)
    ref = _quiet_fit(WeaSELClassifier(**FAST), X, L)
    assert clf.classes_.tolist() == [-2, 0]
    # Same class codes, same seed: the same network, other label names.
    np.testing.assert_array_equal(clf.predict_proba(X), ref.predict_proba(X))
    np.testing.assert_array_equal(clf.predict(X), np.where(ref.predict(X) == 1, 0, -2))


def test_bad_inspection_input_gives_a_clear_error():
    X, L, _ = _data(m=3)
    clf = _quiet_fit(WeaSELClassifier(**FAST), X, L)
    with pytest.raises(ValueError, match="fitted with 3"):
        clf.accuracy_scores(X, L[:, :2])
    with pytest.raises(ValueError, match="not classes"):
        clf.predict_proba_encoder(X, np.where(L == 1, 5, L))
    with pytest.raises(ValueError, match="different numbers of samples"):
        clf.predict_proba_encoder(X[:10], L)
    with pytest.raises(ValueError, match="features"):
        clf.predict(X[:, :2])


# ----------------------------------------------------------------------------


def test_dataframes_fit_without_spurious_warnings():
    # A DataFrame X_val was converted before the feature-name check, which
    # then warned that it had none; pandas' read-only arrays reached torch,
    # which warned that they are not writable.
    import pandas as pd

    X, L, y = _data(n=120, m=3, n_features=4)
    frame = pd.DataFrame(X, columns=list("abcd"))
    frame_val = frame.iloc[:40]
    read_only = X.copy()
    read_only.setflags(write=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clf = WeaSELClassifier(**FAST).fit(frame, L, X_val=frame_val, y_val=y[:40])
        clf.predict_proba(frame)
        WeaSELClassifier(**FAST).fit(read_only, L).predict_proba(read_only)
    messages = [str(w.message) for w in caught]
    assert not [m for m in messages if "feature names" in m or "not writable" in m], messages
    with pytest.warns(UserWarning, match="feature names"):  # the check still runs
        WeaSELClassifier(**FAST).fit(frame, L, X_val=X[:40], y_val=y[:40])


def test_rows_of_a_read_only_array_become_a_tensor_of_their_own():
    # torch warns once per process, so the warning above may not show: check
    # the copy itself.
    from skweak_e2e.end_to_end._training import feature_rows

    X = np.arange(12.0).reshape(4, 3)
    X.setflags(write=False)
    rows = feature_rows(X, slice(1, 3), torch.float64, "cpu")
    rows[0, 0] = -1.0
    assert X[1, 0] == 3.0
    np.testing.assert_array_equal(rows[1].numpy(), [6.0, 7.0, 8.0])


def test_missing_string_votes_say_how_to_mark_abstains():
    X, _, _ = _data(n=4, m=2, n_features=4)
    L = np.array([["a", None], ["b", "a"], [None, "b"], ["a", "a"]], dtype=object)
    with pytest.raises(ValueError, match=r"missing value\(s\).*abstain=''"):
        WeaSELClassifier(**FAST).fit(X, L)
    L[[0, 2], [1, 0]] = ""
    assert WeaSELClassifier(**FAST, abstain="").fit(X, L).classes_.tolist() == ["a", "b"]
