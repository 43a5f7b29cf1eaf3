"""Invariances and property tests over every label model of tests/_instances.py.

The invariances are exact properties of the models' definitions:

* permuting the sources (columns of ``L``) leaves the output unchanged;
* relabelling the classes by a permutation permutes the output columns;
* adding a source that never votes changes nothing (and warns, naming it);
* reordering the training rows changes nothing;
* rows where every source abstains get the class prior (models that treat
  abstaining as informative, such as Dawid-Skene with ``model_abstain=True``,
  give the posterior of the all-abstain pattern instead);
* soft one-hot votes give the same output as the hard votes they encode.

The hypothesis tests draw random label matrices (shapes, number of classes,
abstain rates) and check that the output is a valid, deterministic
probability table, and that random invalid inputs raise ``ValueError`` or
``TypeError`` and nothing else.
"""

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

from skweak_e2e.datasets import make_weak_supervision

from .._instances import label_model_instances
from .._tolerance import assert_allclose_scaled

INSTANCES = label_model_instances()
IDS = [f"{type(est).__name__}-{k}" for k, est in enumerate(INSTANCES)]

# Models for which an invariance does not hold exactly, with the reason.
# The test is then run with xfail(strict=False) and the reason documented.
NOT_EXACT = {
    # "relabel": {"ClassName": "reason"},
}

# Models whose prior defaults to uniform (Dawid-Skene learns it;
# LinearizedApprox copies its base model's output for uncovered rows).
UNIFORM_DEFAULT_PRIOR = {"MajorityVote", "Snorkel"}

# Models that need a minimum number of sources (and raise ValueError below it).
MIN_SOURCES = {"Snorkel": 3}

# Tolerance for iterative fits, whose floating-point summation order changes
# with the column or row order.
ATOL = 1e-6

HYPOTHESIS = settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def _prepare(estimator, **params):
    """A fresh clone with fixed seeds and the given parameters.

    ``n_classes`` and ``random_state`` also go to nested label models (such as
    the base model of ``LinearizedApprox``), as a user would set them.
    """
    est = clone(estimator)
    names = est.get_params()
    nested = {"n_classes", "random_state"}
    update = {}
    for name, value in names.items():
        leaf = name.rsplit("__", 1)[-1]
        if leaf == "random_state" and value is None:
            update[name] = 0
        if leaf in params and (name == leaf or leaf in nested):
            update[name] = params[leaf]
    est.set_params(**update)
    return est


def _fit(estimator, L, **params):
    est = _prepare(estimator, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit(L)


def _proba(estimator, L, L_eval=None, **params):
    est = _fit(estimator, L, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.predict_proba(L if L_eval is None else L_eval)


def _maybe_xfail(kind, estimator):
    reason = NOT_EXACT.get(kind, {}).get(type(estimator).__name__)
    if reason:
        pytest.xfail(reason)


def _models_abstain(estimator):
    """Whether abstaining is an informative outcome for this model."""
    return bool(estimator.get_params().get("model_abstain", False))


@pytest.fixture(scope="module")
def data():
    """A 3-class problem with varied sources, some duplicated rows, no silent source."""
    _, L, y = make_weak_supervision(
        n_samples=400,
        n_sources=6,
        n_classes=3,
        coverage=[0.9, 0.7, 0.6, 0.5, 0.4, 0.8],
        accuracy=[0.85, 0.75, 0.7, 0.65, 0.8, 0.6],
        class_prior=[0.5, 0.3, 0.2],
        n_features=0,
        random_state=11,
    )
    L[:5] = -1  # a few uncovered rows
    return L, y


# --------------------------------------------------------------------------- #
# Invariances
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("estimator", INSTANCES, ids=IDS)
def test_permuting_sources_leaves_output_unchanged(estimator, data):
    _maybe_xfail("sources", estimator)
    L, _ = data
    perm = np.array([3, 0, 5, 1, 4, 2])
    expected = _proba(estimator, L)
    permuted = _proba(estimator, L[:, perm])
    np.testing.assert_allclose(permuted, expected, atol=ATOL)


@pytest.mark.parametrize("estimator", INSTANCES, ids=IDS)
def test_relabelling_classes_permutes_output_columns(estimator, data):
    _maybe_xfail("relabel", estimator)
    L, _ = data
    sigma = np.array([2, 0, 1])  # class c becomes sigma[c]
    L_relabelled = np.where(L >= 0, sigma[np.clip(L, 0, None)], -1)
    prior = estimator.get_params().get("class_prior")
    params = {}
    if prior is not None:
        new_prior = np.empty(3)
        new_prior[sigma] = np.asarray(prior)
        params["class_prior"] = new_prior
    expected = _proba(estimator, L)
    relabelled = _proba(estimator, L_relabelled, **params)
    # Column sigma[c] of the relabelled output is column c of the original.
    np.testing.assert_allclose(relabelled[:, sigma], expected, atol=ATOL)


@pytest.mark.parametrize("estimator", INSTANCES, ids=IDS)
def test_silent_source_changes_nothing_and_warns(estimator, data):
    _maybe_xfail("silent", estimator)
    L, _ = data
    position = 2
    L_silent = np.insert(L, position, -1, axis=1)
    expected = _proba(estimator, L)
    est = _prepare(estimator)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(L_silent)
    # A UserWarning names the silent column (other warnings, such as an
    # inner model's ConvergenceWarning, are allowed).
    named = [
        w
        for w in caught
        if issubclass(w.category, UserWarning)
        and not issubclass(w.category, ConvergenceWarning)
        and f"[{position}]" in str(w.message)
    ]
    assert named, [str(w.message) for w in caught]
    assert list(est.silent_sources_) == [position]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = est.predict_proba(L_silent)
    np.testing.assert_allclose(got, expected, atol=ATOL)
    # Whatever the silent source says at prediction time carries no weight.
    L_noisy = L_silent.copy()
    L_noisy[:, position] = np.arange(len(L)) % 3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.testing.assert_allclose(est.predict_proba(L_noisy), expected, atol=ATOL)


@pytest.mark.parametrize("estimator", INSTANCES, ids=IDS)
def test_row_order_does_not_matter(estimator, data):
    _maybe_xfail("rows", estimator)
    L, _ = data
    order = np.random.RandomState(5).permutation(len(L))
    expected = _proba(estimator, L)
    shuffled = _proba(estimator, L[order], L_eval=L)
    np.testing.assert_allclose(shuffled, expected, atol=ATOL)


@pytest.mark.parametrize("estimator", INSTANCES, ids=IDS)
@pytest.mark.parametrize("given_prior", [False, True], ids=["learned", "given"])
def test_uncovered_rows_get_the_class_prior(estimator, data, given_prior):
    L, _ = data
    prior = np.array([0.2, 0.5, 0.3])
    est = _fit(estimator, L, **({"class_prior": prior} if given_prior else {}))
    uncovered = np.full((4, L.shape[1]), -1)
    out = est.predict_proba(uncovered)
    # Every uncovered row gets the same distribution.
    assert_allclose_scaled(out, np.broadcast_to(out[0], out.shape), atol=1e-12)
    if _models_abstain(est):
        # Abstaining is an outcome: the posterior of the all-abstain pattern,
        # prior_c * prod_j P(source j abstains | c), from the fitted parameters.
        active = np.setdiff1d(np.arange(L.shape[1]), est.silent_sources_)
        post = est.class_prior_ * np.prod(est.confusion_[active, :, 0], axis=0)
        np.testing.assert_allclose(out[0], post / post.sum(), atol=1e-9)
        return
    np.testing.assert_allclose(out[0], est.class_prior_, atol=1e-9)
    if given_prior:
        np.testing.assert_allclose(out[0], prior, atol=1e-9)
    elif type(est).__name__ in UNIFORM_DEFAULT_PRIOR:
        # Models that do not learn the prior default to the uniform one.
        np.testing.assert_allclose(out[0], 1 / 3, atol=1e-9)


@pytest.mark.parametrize("estimator", INSTANCES, ids=IDS)
def test_transform_is_predict_proba_and_rows_sum_to_one(estimator, data):
    L, _ = data
    est = _fit(estimator, L)
    proba = est.predict_proba(L)
    np.testing.assert_array_equal(est.transform(L), proba)
    assert proba.shape == (len(L), 3)
    assert_allclose_scaled(proba.sum(axis=1), 1.0, atol=1e-12)
    assert ((proba >= 0) & (proba <= 1)).all()
    # predict is the argmax of predict_proba away from ties.
    pred = est.predict(L)
    top2 = np.sort(proba, axis=1)[:, -2:]
    clear = top2[:, 1] - top2[:, 0] > 1e-4
    np.testing.assert_array_equal(pred[clear], proba[clear].argmax(axis=1))


@pytest.mark.parametrize("estimator", INSTANCES, ids=IDS)
def test_soft_one_hot_votes_equal_hard_votes(estimator, data):
    if not getattr(estimator, "accepts_soft", False):
        pytest.skip("model takes hard votes only")
    _maybe_xfail("soft", estimator)
    L, _ = data
    A = (L[:, :, None] == np.arange(3)).astype(np.float64)
    np.testing.assert_allclose(_proba(estimator, A), _proba(estimator, L), atol=ATOL)


@pytest.mark.parametrize("estimator", INSTANCES, ids=IDS)
def test_votes_carry_signal(estimator, data):
    """A sanity floor: on informative sources every model beats the majority class."""
    L, y = data
    est = _fit(estimator, L)
    acc = (est.predict_proba(L).argmax(axis=1) == y).mean()
    assert acc > 0.7, acc


# --------------------------------------------------------------------------- #
# Hypothesis: random valid label matrices
# --------------------------------------------------------------------------- #
@st.composite
def label_matrices(draw):
    n = draw(st.integers(1, 30))
    m = draw(st.integers(1, 5))
    C = draw(st.integers(2, 4))
    abstain_rate = draw(st.sampled_from([0.0, 0.3, 0.7, 0.95]))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.RandomState(seed)
    L = rng.randint(0, C, size=(n, m))
    L[rng.rand(n, m) < abstain_rate] = -1
    if (L < 0).all():
        L[rng.randint(n), rng.randint(m)] = rng.randint(C)
    return L, C


@pytest.mark.parametrize("estimator", INSTANCES, ids=IDS)
@HYPOTHESIS
@given(case=label_matrices())
def test_random_label_matrices_give_valid_deterministic_probabilities(estimator, case):
    L, C = case
    if L.shape[1] < MIN_SOURCES.get(type(estimator).__name__, 1):
        with pytest.raises(ValueError, match="sources"):
            _fit(estimator, L, n_classes=C)
        return
    est = _fit(estimator, L, n_classes=C)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        proba = est.predict_proba(L)
        # Unseen rows of the same width, including an all-abstain one.
        fresh = np.vstack([np.full((1, L.shape[1]), -1), (L + 1) % (C + 1) - 1])
        proba_fresh = est.predict_proba(fresh)
    for out, rows in ((proba, len(L)), (proba_fresh, len(fresh))):
        assert out.shape == (rows, C)
        assert np.isfinite(out).all()
        assert ((out >= 0) & (out <= 1 + 1e-12)).all()
        np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-9)
    again = _proba(estimator, L, n_classes=C)
    np.testing.assert_array_equal(again, proba)
    labels = est.predict(L)
    assert labels.shape == (len(L),) and set(np.unique(labels)) <= set(range(-1, C))


# --------------------------------------------------------------------------- #
# Hypothesis: random invalid inputs raise ValueError or TypeError only
# --------------------------------------------------------------------------- #
INVALID_KINDS = [
    "one_dim",
    "four_dim",
    "nan",
    "inf",
    "fraction",
    "below_minus_one",
    "above_n_classes",
    "strings",
    "empty_rows",
    "empty_cols",
    "all_abstain",
    "soft_sum_above_one",
    "soft_negative",
    "complex",
]


@st.composite
def invalid_inputs(draw):
    kind = draw(st.sampled_from(INVALID_KINDS))
    n = draw(st.integers(2, 8))
    m = draw(st.integers(1, 4))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.RandomState(seed)
    L = rng.randint(-1, 2, size=(n, m))
    L[0, 0] = 1
    i, j = rng.randint(n), rng.randint(m)
    if kind == "one_dim":
        return kind, L[:, 0]
    if kind == "four_dim":
        return kind, L[:, :, None, None].astype(float)
    if kind in ("nan", "inf", "fraction"):
        bad = L.astype(float)
        bad[i, j] = {"nan": np.nan, "inf": -np.inf, "fraction": 0.5}[kind]
        return kind, bad
    if kind == "below_minus_one":
        L[i, j] = -draw(st.integers(2, 1000))
        return kind, L
    if kind == "above_n_classes":
        L[i, j] = draw(st.integers(2, 50))  # models get n_classes=2
        return kind, L
    if kind == "strings":
        return kind, L.astype(str)
    if kind == "empty_rows":
        return kind, L[:0]
    if kind == "empty_cols":
        return kind, L[:, :0]
    if kind == "all_abstain":
        return kind, np.full_like(L, -1)
    if kind == "complex":
        return kind, L.astype(complex) + 1j
    A = rng.dirichlet(np.ones(3), size=(n, m))[:, :, :2]
    if kind == "soft_sum_above_one":
        A[i, j] = [0.9, 0.9]
    else:
        A[i, j, 0] = -0.2
    return kind, A


@pytest.mark.parametrize("estimator", INSTANCES, ids=IDS)
@HYPOTHESIS
@given(case=invalid_inputs())
def test_invalid_inputs_raise_value_or_type_error(estimator, case):
    _kind, bad = case
    est = _prepare(estimator, n_classes=2)
    with pytest.raises((ValueError, TypeError)), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(bad)


@pytest.mark.parametrize("estimator", INSTANCES, ids=IDS)
@HYPOTHESIS
@given(
    width=st.integers(1, 6).filter(lambda w: w != 3),
    kind=st.sampled_from(["width", "nan", "above", "below"]),
)
def test_invalid_inputs_after_fit_raise_value_or_type_error(estimator, width, kind):
    L = np.array([[0, 1, -1], [1, 1, 0], [0, -1, 1], [1, 0, 0]])
    est = _fit(estimator, L, n_classes=2)
    if kind == "width":
        bad = np.zeros((2, width), dtype=int)
    elif kind == "nan":
        bad = np.array([[0.0, np.nan, 1.0]])
    elif kind == "above":
        bad = np.array([[0, 2 + width, 1]])
    else:
        bad = np.array([[0, -1 - width, 1]])
    for method in ("predict_proba", "transform", "predict"):
        with pytest.raises((ValueError, TypeError)):
            getattr(est, method)(bad)


# --------------------------------------------------------------------------- #
# Hypothesis: weights, masks, source order and absent classes
# --------------------------------------------------------------------------- #
PROPERTIES = settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
# Models that fit on the classes that receive votes (BaseLabelModel notes).
FIT_PRESENT_CLASSES = {"DawidSkene", "Snorkel", "LinearizedApprox"}
# LinearizedApprox over DawidSkene (the last instance) takes seconds per fit
# and agrees only to its solver's precision: the fast instances cover it.
FAST, FAST_IDS = INSTANCES[:-1], IDS[:-1]


def _usable(estimator, L):
    return L.shape[1] >= MIN_SOURCES.get(type(estimator).__name__, 1)


@pytest.mark.parametrize("estimator", FAST, ids=FAST_IDS)
@PROPERTIES
@given(case=label_matrices(), value=st.sampled_from([1e-10, 1e-3, 7.0, 1e200]))
def test_constant_sample_weights_change_nothing(estimator, case, value):
    L, C = case
    if not _usable(estimator, L):
        return
    est = _prepare(estimator, n_classes=C)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = clone(est).fit(L).predict_proba(L)
        weighted = clone(est).fit(L, sample_weight=np.full(len(L), value))
        assert_allclose_scaled(weighted.predict_proba(L), plain, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("estimator", FAST, ids=FAST_IDS)
@PROPERTIES
@given(case=label_matrices(), seed=st.integers(0, 2**16))
def test_duplicating_rows_equals_weight_two(estimator, case, seed):
    L, C = case
    if not _usable(estimator, L):
        return
    twice = np.random.RandomState(seed).rand(len(L)) < 0.5
    est = _prepare(estimator, n_classes=C)
    # Pseudo-counts are in units of the average kept row (relative weights):
    # alpha, and the few pseudo-votes per class of DawidSkene's
    # anchor_strength="auto" (its float form scales with the data instead).
    est.set_params(**{k: 0.0 for k in est.get_params() if k.endswith("alpha")})
    est.set_params(**{
        k: 1.0 for k, v in est.get_params().items()
        if k.endswith("anchor_strength") and v == "auto"
    })
    weight = np.where(twice, 2.0, 1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        weighted = clone(est).fit(L, sample_weight=weight).predict_proba(L)
        repeated = clone(est).fit(np.repeat(L, weight.astype(int), axis=0)).predict_proba(L)
    # LinearizedApprox's L-BFGS-B reaches the same optimum by another path
    # (the weighted loss is scaled differently) and stops at its tolerance:
    # the two fits agree to about 1e-4, not to the bit (scipy 1.10: 4e-5).
    atol = 1e-4 if type(estimator).__name__ == "LinearizedApprox" else ATOL
    np.testing.assert_allclose(weighted, repeated, atol=atol)


@pytest.mark.parametrize("estimator", FAST, ids=FAST_IDS)
@PROPERTIES
@given(case=label_matrices(), seed=st.integers(0, 2**16))
def test_masked_votes_are_abstains(estimator, case, seed):
    L, C = case
    if not _usable(estimator, L):
        return
    rng = np.random.RandomState(seed)
    mask = rng.rand(*L.shape) < 0.3
    mask[np.unravel_index(np.argmax(L), L.shape)] = False  # keep one vote
    hidden = np.where(mask, rng.randint(0, 50, L.shape), L)  # junk under the mask
    masked = np.ma.masked_array(hidden, mask=mask)
    filled = np.where(mask, -1, L)
    np.testing.assert_array_equal(
        _proba(estimator, masked, n_classes=C), _proba(estimator, filled, n_classes=C)
    )


@pytest.mark.parametrize("estimator", FAST, ids=FAST_IDS)
@PROPERTIES
@given(case=label_matrices(), seed=st.integers(0, 2**16))
def test_permuting_sources_permutes_W(estimator, case, seed):
    L, C = case
    if not _usable(estimator, L):
        return
    perm = np.random.RandomState(seed).permutation(L.shape[1])
    plain = _fit(estimator, L, n_classes=C)
    permuted = _fit(estimator, L[:, perm], n_classes=C)
    # exp-activation entries compared as probabilities: EM amplifies the
    # rounding of the summation order in the logs of near-zero entries.
    scale = np.exp if plain.activation == "exp" else np.asarray
    np.testing.assert_allclose(scale(permuted.W_), scale(plain.W_[perm]), atol=ATOL)
    np.testing.assert_allclose(permuted.class_prior_, plain.class_prior_, atol=ATOL)


@pytest.mark.parametrize("estimator", FAST, ids=FAST_IDS)
@PROPERTIES
@given(case=label_matrices(), extra=st.integers(1, 40))
def test_absent_classes_get_no_probability_and_cost_nothing(estimator, case, extra):
    L, C = case
    if type(estimator).__name__ not in FIT_PRESENT_CLASSES or not _usable(estimator, L):
        return
    present = np.unique(L[L >= 0])
    if present.size < 2:
        return
    wide = _fit(estimator, L, n_classes=C + extra)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        proba = wide.predict_proba(L)
    assert proba.shape == (len(L), C + extra)
    absent = np.setdiff1d(np.arange(C + extra), present)
    covered = (L >= 0).any(axis=1)
    np.testing.assert_array_equal(proba[covered][:, absent], 0.0)
    # The fit on the classes present, renumbered, gives the same answer.
    codes = np.full(C + extra + 1, -1)
    codes[present + 1] = np.arange(present.size)
    narrow = _proba(estimator, codes[L + 1], n_classes=present.size)
    np.testing.assert_allclose(proba[covered][:, present], narrow[covered], atol=ATOL)
