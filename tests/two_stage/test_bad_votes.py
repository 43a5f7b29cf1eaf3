"""LabelModelClassifier answers bad votes with a clear, named error.

Its rows of the bad-input tables (see ``tests/_bad_inputs.py``), random
votes from hypothesis, masked votes and fits that fail half-way.
"""

import time

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

from skweak_e2e import DawidSkene, LabelModelClassifier
from skweak_e2e.utils import check_label_matrix

from .._bad_inputs import (
    HUGE,
    L,
    L3,
    L_MASK,
    L_MASKED,
    X,
    Y,
    ZeroRowsModel,
    fitted_state,
    frozen_classifier,
    partial_fit_uncovered,
    raises_quickly,
    same_state,
    string_votes,
    with_vote,
)

CASES = [
    pytest.param(
        lambda: LabelModelClassifier().fit(X, with_vote(HUGE)),
        ValueError,
        r"vote 2000000000.*MajorityVote\(n_classes=\.\.\.\)",
        id="LabelModelClassifier-huge-vote",
    ),
    pytest.param(
        lambda: LabelModelClassifier().fit(X, with_vote(1e20, np.float64)),
        ValueError,
        r"y contains the vote 1e\+20",
        id="LabelModelClassifier-float-1e20",
    ),
    pytest.param(
        lambda: LabelModelClassifier().fit(
            X, np.where(L < 0, 65535, L).astype(np.uint16)
        ),
        ValueError,
        "unsigned dtype uint16 and contains 65535",
        id="LabelModelClassifier-uint16-wrapped",
    ),
    pytest.param(
        lambda: LabelModelClassifier().fit(X, L.astype(str)),
        ValueError,
        "among them '-1', but abstain=-1 is a number.*abstain='-1'",
        id="LabelModelClassifier-string-minus-one",
    ),
    pytest.param(
        lambda: LabelModelClassifier(abstain="-1").fit(X, L),
        ValueError,
        "among them -1, but abstain='-1' is a string",
        id="LabelModelClassifier-string-abstain-int-votes",
    ),
    pytest.param(
        lambda: LabelModelClassifier().fit(X, with_vote(-0.5, np.float64)),
        ValueError,
        "non-integer vote -0.5",
        id="LabelModelClassifier-non-integer",
    ),
    pytest.param(
        lambda: LabelModelClassifier().fit(X, with_vote(-3)),
        ValueError,
        "vote -3, below abstain=-1",
        id="LabelModelClassifier-below-abstain",
    ),
    pytest.param(
        lambda: LabelModelClassifier(abstain="-").fit(
            X, np.where(L < 0, "-", "spam")
        ),
        ValueError,
        "single class, 'spam'",
        id="LabelModelClassifier-single-string-class",
    ),
    pytest.param(
        lambda: LabelModelClassifier().fit(X, L, sample_weight=-np.ones(60)),
        ValueError,
        "sample_weight must be non-negative; got -1 at index 0",
        id="LabelModelClassifier-negative-sample-weight",
    ),
    pytest.param(
        lambda: LabelModelClassifier().fit(X, L, sample_weight=np.ones(59)),
        ValueError,
        "sample_weight has 59 entries but there are 60 samples",
        id="LabelModelClassifier-sample-weight-length",
    ),
    pytest.param(
        lambda: LabelModelClassifier().fit(X, L).score(X, Y, sample_weight=[1, 2]),
        ValueError,
        "sample_weight has 2 entries but there are 60 samples",
        id="LabelModelClassifier-score-sample-weight-length",
    ),
    pytest.param(
        lambda: LabelModelClassifier().fit(X, L).score(X, with_vote(7)),
        ValueError,
        r"labels that are not classes: \[7\]",
        id="LabelModelClassifier-score-unknown-label",
    ),
    pytest.param(
        lambda: LabelModelClassifier(ZeroRowsModel()).fit(X, L),
        ValueError,
        "ZeroRowsModel.predict_proba returned a row of zeros",
        id="LabelModelClassifier-all-zero-label-model-rows",
    ),
    pytest.param(
        lambda: LabelModelClassifier().fit(X, sp.csr_matrix(L + 1)),
        TypeError,
        "takes a dense label matrix",
        id="LabelModelClassifier-sparse-y",
    ),
    pytest.param(
        lambda: LabelModelClassifier().fit(X[:-1], L),
        ValueError,
        "different numbers of samples: 59 and 60",
        id="LabelModelClassifier-misaligned",
    ),
    pytest.param(
        lambda: frozen_classifier().partial_fit(X, np.hstack([L, L[:, :2]])),
        ValueError,
        r"y has 6 sources \(columns\) but the label model DawidSkene was fitted with 4",
        id="LabelModelClassifier-partial_fit-y-of-the-wrong-width",
    ),
    pytest.param(
        lambda: frozen_classifier().fit(X, np.hstack([L, L[:, :2]])),
        ValueError,
        r"y has 6 sources \(columns\) but the label model DawidSkene",
        id="LabelModelClassifier-fit-frozen-y-of-the-wrong-width",
    ),
    pytest.param(
        lambda: partial_fit_uncovered().predict(X),
        NotFittedError,
        "has not trained its estimator yet: partial_fit has seen 60 row",
        id="LabelModelClassifier-predict-after-uncovered-blocks",
    ),
    pytest.param(
        lambda: frozen_classifier().partial_fit(X, string_votes().to_numpy()),
        ValueError,
        "pass classes=",
        id="LabelModelClassifier-partial_fit-string-votes-without-classes",
    ),
]


@pytest.mark.parametrize("call, error, match", CASES)
def test_bad_votes_get_a_named_error(call, error, match):
    raises_quickly(call, error, match)


@st.composite
def vote_arrays(draw):
    """Votes of any kind a user may pass as y: numbers, strings, objects."""
    n = draw(st.integers(1, 8))
    shape = draw(st.sampled_from([(n,), (n, 1), (n, 3)]))
    kind = draw(st.sampled_from(["int", "uint8", "float", "str", "object"]))
    if kind == "str":
        values = st.sampled_from(["-1", "a", "b", "spam", ""])
        return draw(hnp.arrays(np.dtype("<U4"), shape, elements=values))
    if kind == "object":
        values = st.sampled_from([-1, 0, 1, 2, "a", "b"])
        return draw(hnp.arrays(np.dtype(object), shape, elements=values))
    dtype = {"int": np.int64, "uint8": np.uint8, "float": np.float64}[kind]
    choices = {
        "int": [-1, 0, 1, 2, -2, 2_000_000_000],
        "uint8": [0, 1, 2, 255, 7],
        "float": [0.0, 1.0, 2.0, 255.0, 1e20, 0.5, np.nan, -1.0, -2.0],
    }[kind]
    return draw(hnp.arrays(dtype, shape, elements=st.sampled_from(choices)))


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(y=vote_arrays())
def test_random_votes_for_the_classifier_fit_or_get_a_named_error(y):
    X_small = np.arange(len(y), dtype=float)[:, None]
    start = time.perf_counter()
    try:
        clf = LabelModelClassifier().fit(X_small, y)
    except (ValueError, TypeError) as exc:
        assert str(exc)
    else:
        # Every class is a label of y or (integer votes) an index up to the
        # largest vote: never the abstain value, never a wrapped number.
        assert 2 <= len(clf.classes_) <= 1000
        assert -1 not in clf.classes_.tolist()
        assert "-1" not in clf.classes_.tolist()
        assert set(clf.predict(X_small).tolist()) <= set(clf.classes_.tolist())
    assert time.perf_counter() - start < 20


def test_masked_votes_are_abstains_for_the_classifiers():
    X3 = np.array([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]])
    clf = LabelModelClassifier().fit(X3, L_MASKED)
    assert clf.classes_.tolist() == [0, 1]
    strings = np.ma.masked_array(L_MASK.astype(str), mask=L_MASK == 7)
    clf = LabelModelClassifier(abstain="-1").fit(X3, strings)
    assert clf.classes_.tolist() == ["0", "1"]
    soft = np.ma.masked_array(np.full((3, 3, 2), 0.5), mask=np.zeros((3, 3, 2)))
    soft.mask[0, 0] = True
    L_soft, _ = check_label_matrix(soft)
    assert L_soft[0, 0].tolist() == [0.0, 0.0] and L_soft[1, 0].tolist() == [0.5, 0.5]


def test_failed_partial_fit_keeps_the_previous_state():
    from sklearn.frozen import FrozenEstimator
    from sklearn.linear_model import SGDClassifier

    class Interrupted(SGDClassifier):
        # Updates its coefficients in place, then is interrupted.
        def partial_fit(self, X, y, classes=None, sample_weight=None):
            super().partial_fit(X, y, classes=classes, sample_weight=sample_weight)
            if getattr(self, "interrupt", False):
                raise KeyboardInterrupt
            return self

    clf = LabelModelClassifier(
        FrozenEstimator(DawidSkene().fit(L)), Interrupted(random_state=0)
    ).partial_fit(X, L)
    coef, seen = clf.estimator_.coef_.copy(), clf._n_rows_seen
    clf.estimator_.interrupt = True
    with pytest.raises(KeyboardInterrupt):
        clf.partial_fit(X[::-1], L[::-1])
    np.testing.assert_array_equal(clf.estimator_.coef_, coef)
    assert clf._n_rows_seen == seen


def test_interrupted_refit_of_the_classifiers_keeps_the_previous_fit():
    X2 = np.random.RandomState(0).normal(size=(L.shape[0], 3))
    clf = LabelModelClassifier().fit(X2, L)
    before = fitted_state(clf)

    class Interrupting(BaseEstimator):
        def fit(self, X, y):
            raise KeyboardInterrupt

        def predict(self, X):  # pragma: no cover - never fitted
            raise AssertionError

    with pytest.raises(KeyboardInterrupt):
        clf.set_params(estimator=Interrupting()).fit(X2[: len(L3)], L3)
    same_state(before, fitted_state(clf))
