"""sample_weight in every label model's fit: frequency-weight semantics.

A weight of k counts a row k times and a weight of 0 removes it: fits on
weighted rows equal fits on the rows repeated or removed (known answers,
compared relative to the scale of the fitted tensors).
"""

import numpy as np
import pytest
from sklearn.base import BaseEstimator, clone

from skweak_e2e import DawidSkene, LinearizedApprox, MajorityVote, Snorkel
from skweak_e2e.datasets import make_weak_supervision

from .._tolerance import assert_allclose_scaled


def assert_close(actual, desired, rtol, what=""):
    assert_allclose_scaled(actual, desired, rtol=rtol, atol=rtol, err_msg=what)


def _models():
    return [
        MajorityVote(),
        DawidSkene(),
        DawidSkene(model_abstain=False),
        Snorkel(n_epochs=200, random_state=0),
        Snorkel(class_prior="estimate", n_epochs=200, random_state=0),
        LinearizedApprox(DawidSkene()),
    ]


@pytest.fixture(scope="module")
def planted():
    _, L, _ = make_weak_supervision(
        600, 6, 3, n_features=0, coverage=0.5, random_state=0
    )
    counts = np.random.RandomState(1).randint(0, 4, len(L))
    counts[L.max(axis=1) == 2] = np.maximum(counts[L.max(axis=1) == 2], 1)
    return L, counts


def _fitted_state(model):
    return {
        name: np.asarray(getattr(model, name), dtype=np.float64)
        for name in ("W_", "class_prior_")
    } | {"coverage_": np.float64(model.coverage_)}


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("model", _models(), ids=lambda m: repr(m))
def test_integer_weights_equal_repeated_rows(model, planted):
    L, counts = planted
    # Weights are relative (rescaled to average 1 over the rows they keep), so
    # DawidSkene's pseudo-count alpha, and the 5 pseudo-votes per class of
    # anchor_strength="auto", weigh 1 / mean(counts) as much against weighted
    # rows as against repeated ones; without them (a float anchor scales
    # with the data) the fits agree.
    params = model.get_params()
    model = clone(model).set_params(
        **{key: 0.0 for key in params if key.endswith("alpha")},
        **{key: 1.0 for key, value in params.items()
           if key.endswith("anchor_strength") and value == "auto"},
    )
    weighted = clone(model).fit(L, sample_weight=counts)
    repeated = clone(model).fit(np.repeat(L, counts, axis=0))
    # LinearizedApprox solves the same problem on another scale (the weighted
    # objective is mean(counts) times smaller), and L-BFGS-B stops at a
    # relative tolerance: its W_ (max 1) and outputs agree to the solver's
    # precision, not to rounding.
    rtol = 1e-6 if isinstance(model, LinearizedApprox) else 1e-7
    for name, value in _fitted_state(repeated).items():
        assert_close(_fitted_state(weighted)[name], value, rtol, what=name)
    np.testing.assert_array_equal(weighted.silent_sources_, repeated.silent_sources_)
    assert_close(weighted.predict_proba(L), repeated.predict_proba(L), rtol)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("model", _models(), ids=lambda m: repr(m))
def test_unit_weights_change_nothing(model, planted):
    L, _ = planted
    plain = clone(model).fit(L)
    ones = clone(model).fit(L, sample_weight=np.ones(len(L)))
    for name, value in _fitted_state(plain).items():
        assert_close(_fitted_state(ones)[name], value, rtol=1e-9, what=name)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("model", _models(), ids=lambda m: repr(m))
@pytest.mark.parametrize("value", [1e-10, 3.0, 1e200])
def test_constant_weights_change_nothing(model, value, planted):
    # LinearizedApprox moved by 0.037 under 1e-10 (its stopping rule is in
    # units of rows), DawidSkene's alpha weighed as much as a whole row.
    L, _ = planted
    plain = clone(model).fit(L)
    constant = clone(model).fit(L, sample_weight=np.full(len(L), value))
    for name, expected in _fitted_state(plain).items():
        assert_close(_fitted_state(constant)[name], expected, rtol=1e-9, what=name)
    assert_close(constant.predict_proba(L), plain.predict_proba(L), rtol=1e-9)


def test_a_source_voting_only_on_zero_weight_rows_is_silent():
    L = np.array([[0, 0, -1], [1, 1, -1], [0, 1, 1], [1, 0, -1]])
    weight = np.array([1.0, 1.0, 0.0, 1.0])
    with pytest.warns(UserWarning, match=r"source\(s\) \[2\] never vote"):
        model = MajorityVote().fit(L, sample_weight=weight)
    np.testing.assert_array_equal(model.silent_sources_, [2])
    assert model.coverage_ == 1.0


def test_weighted_coverage_is_the_weighted_fraction():
    L = np.array([[0, -1], [-1, -1], [1, 1], [-1, -1]])
    model = MajorityVote().fit(L, sample_weight=[3.0, 1.0, 1.0, 0.0])
    assert model.coverage_ == pytest.approx(4.0 / 5.0)


def test_weights_shift_the_learned_prior():
    """Up-weighting the rows the sources call class 1 raises its prior."""
    _, L, y = make_weak_supervision(
        3000, 8, 2, n_features=0, coverage=0.7, accuracy=0.85, random_state=3
    )
    weight = np.where(y == 1, 3.0, 1.0)
    # Maximum likelihood: the anchor would pull both towards the majority vote.
    plain = DawidSkene(anchor_strength=0.0).fit(L).class_prior_[1]
    weighted = DawidSkene(anchor_strength=0.0).fit(L, sample_weight=weight).class_prior_[1]
    share = (3.0 * (y == 1).sum()) / (3.0 * (y == 1).sum() + (y == 0).sum())
    assert abs(weighted - share) < abs(plain - share)
    assert abs(weighted - share) < 0.05


@pytest.mark.parametrize(
    "weight, message",
    [
        ([1.0, -1.0, 1.0], "non-negative; got -1 at index 1"),
        ([1.0, 1.0], "2 entries but there are 3 samples"),
        ([0.0, 0.0, 0.0], "sums to zero"),
        ([1.0, np.nan, 1.0], "NaN or inf"),
    ],
)
@pytest.mark.parametrize("model", [MajorityVote(), DawidSkene(), Snorkel()], ids=repr)
def test_bad_weights_are_refused(model, weight, message):
    L = np.array([[0, 1, 0], [1, 1, -1], [0, -1, 0]])
    with pytest.raises(ValueError, match=message):
        model.fit(L, sample_weight=weight)


class _NoWeights(BaseEstimator):
    def fit(self, L, y=None):
        self.n_classes_ = 2
        return self

    def predict_proba(self, L):
        return np.full((len(L), 2), 0.5)


def test_linearized_refuses_weights_its_base_cannot_take():
    L = np.array([[0, 1, 0], [1, 1, -1], [0, -1, 0]])
    with pytest.raises(TypeError, match="_NoWeights takes no sample_weight"):
        LinearizedApprox(_NoWeights(), n_classes=2).fit(L, sample_weight=[1, 2, 1])
