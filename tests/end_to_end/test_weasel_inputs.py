"""Bad input to WeaSELClassifier gives clear errors."""

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
