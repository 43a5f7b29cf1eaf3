"""Label models answer bad label matrices with a clear, named error.

The label-model rows of the bad-input tables (see ``tests/_bad_inputs.py``),
random label matrices from hypothesis, masked votes, failed refits and
classes nobody votes for.
"""

import time

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from skweak_e2e import DawidSkene, LinearizedApprox, MajorityVote, Snorkel
from skweak_e2e.datasets import make_weak_supervision
from skweak_e2e.utils import check_label_matrix

from .._bad_inputs import (
    HUGE,
    L,
    L3,
    L_FILLED,
    L_MASKED,
    MODELS,
    Y,
    Boom,
    ZeroRowsModel,
    fitted_state,
    raises_quickly,
    same_state,
    string_votes,
    uncovered_weight,
    uint8_with_wrapped_abstain,
    with_vote,
)
from .._tolerance import assert_allclose_scaled


def _snorkel_over_budget(L_wide, budget=2**20):
    # Snorkel's statistics grow with the votes and patterns; a budget of
    # 1 MiB stands in for a matrix too large for the machine.
    from skweak_e2e.label_model import _snorkel

    saved, _snorkel._MEMORY_BUDGET = _snorkel._MEMORY_BUDGET, budget
    try:
        return Snorkel().fit(L_wide)
    finally:
        _snorkel._MEMORY_BUDGET = saved


def _label_model_cases():
    cases = []
    for name, make in MODELS.items():
        cases += [
            pytest.param(
                lambda make=make: make().fit(with_vote(HUGE)),
                ValueError,
                "vote 2000000000.*declare them with n_classes=",
                id=f"{name}-huge-vote",
            ),
            pytest.param(
                lambda make=make: make().fit(uint8_with_wrapped_abstain()),
                ValueError,
                "unsigned dtype uint8 and contains 255",
                id=f"{name}-uint8-wrapped-abstain",
            ),
            pytest.param(
                lambda make=make: make().fit(with_vote(1e20, np.float64)),
                ValueError,
                r"vote 1e\+20",
                id=f"{name}-float-1e20",
            ),
            pytest.param(
                lambda make=make: make().fit(L.astype(str)),
                ValueError,
                "L holds strings",
                id=f"{name}-strings",
            ),
        ]
    return cases


CASES = _label_model_cases() + [
    pytest.param(
        lambda: MajorityVote().fit(sp.csr_matrix(L)),
        ValueError,
        "stores class index \\+ 1",
        id="MajorityVote-sparse-minus-one-coded",
    ),
    pytest.param(
        lambda: DawidSkene().fit(
            pd.DataFrame(np.where(L < 0, "none", L.astype(str))).astype("category")
        ),
        ValueError,
        "column 0 is categorical with non-numeric categories",
        id="DawidSkene-categorical-strings",
    ),
    pytest.param(
        lambda: MajorityVote().fit(with_vote(np.nan, np.float64)),
        ValueError,
        "NaN",
        id="MajorityVote-nan",
    ),
    pytest.param(
        lambda: DawidSkene().fit(with_vote(0.5, np.float64)),
        ValueError,
        "non-integer",
        id="DawidSkene-non-integer",
    ),
    pytest.param(
        lambda: Snorkel().fit(with_vote(-2)),
        ValueError,
        "the vote -2",
        id="Snorkel-below-abstain",
    ),
    pytest.param(
        lambda: MajorityVote().fit(np.full((5, 3), -1)),
        ValueError,
        "no vote at all",
        id="MajorityVote-all-abstain",
    ),
    pytest.param(
        lambda: MajorityVote(n_classes=2).fit(with_vote(5)),
        ValueError,
        "vote 5 but n_classes=2",
        id="MajorityVote-vote-above-declared",
    ),
    pytest.param(
        lambda: MajorityVote(n_classes=3).fit(uint8_with_wrapped_abstain()),
        ValueError,
        "contains 255, the value -1",
        id="MajorityVote-uint8-wrapped-declared",
    ),
    pytest.param(
        lambda: DawidSkene(n_classes=10**6).fit(L),
        ValueError,
        "n_classes=1000000 and 4 sources needs a tensor form",
        id="DawidSkene-declared-huge-n_classes",
    ),
    pytest.param(
        lambda: _snorkel_over_budget(np.repeat(L[:20], 1500, axis=1)),
        ValueError,
        "Snorkel would need about .* GiB.* 4 of them distinct",
        id="Snorkel-memory-budget",
    ),
    pytest.param(
        lambda: Snorkel().fit(L[:, :2]),
        ValueError,
        "at least 3 sources",
        id="Snorkel-two-sources",
    ),
    pytest.param(
        lambda: LinearizedApprox(ZeroRowsModel()).fit(L),
        ValueError,
        "base_model.predict_proba returned a row of zeros .* sample 0",
        id="LinearizedApprox-all-zero-base-rows",
    ),
    pytest.param(
        lambda: MajorityVote(class_prior=[np.nan, 1.0]).fit(L),
        ValueError,
        r"class_prior must hold finite .*\[nan, 1.0\]",
        id="MajorityVote-nan-class-prior",
    ),
    pytest.param(
        lambda: MajorityVote().fit(L).score(L, Y, sample_weight=np.ones(3)),
        ValueError,
        "sample_weight has 3 entries but there are 60 samples",
        id="MajorityVote-score-sample-weight-length",
    ),
    pytest.param(
        lambda: DawidSkene().fit(L).score(L, Y, sample_weight=-np.ones(60)),
        ValueError,
        "sample_weight must be non-negative; got -1 at index 0",
        id="DawidSkene-score-negative-sample-weight",
    ),
    pytest.param(
        lambda: MajorityVote().fit(L).predict_proba(L[:, :3]),
        ValueError,
        "3 features, but MajorityVote is expecting 4",
        id="MajorityVote-predict-wrong-sources",
    ),
    pytest.param(
        lambda: MajorityVote().fit(L).score(L, Y.astype(str)),
        ValueError,
        "y must hold integer class indices .* got dtype <U",
        id="MajorityVote-score-string-gold",
    ),
    pytest.param(
        lambda: DawidSkene().fit(L).score(L, L),
        ValueError,
        r"y must be 1-D gold labels \(n_samples,\); got shape \(60, 4\)",
        id="DawidSkene-score-2d-gold",
    ),
    pytest.param(
        lambda: MajorityVote().fit(L).score(L, np.where(Y == 1, 2.0**40, Y)),
        ValueError,
        r"y contains 1099511627776, which is not a class index",
        id="MajorityVote-score-huge-gold",
    ),
    pytest.param(
        lambda: check_label_matrix(L.astype(np.complex128)),
        TypeError,
        "numeric votes; got dtype complex128",
        id="check_label_matrix-complex",
    ),
    pytest.param(
        lambda: DawidSkene().fit(L, sample_weight=uncovered_weight()),
        ValueError,
        "sample_weight is zero on every row with a vote",
        id="DawidSkene-weight-only-on-uncovered-rows",
    ),
    pytest.param(
        lambda: LinearizedApprox(MajorityVote()).fit(L, sample_weight=uncovered_weight()),
        ValueError,
        "sample_weight is zero on every row with a vote",
        id="LinearizedApprox-weight-only-on-uncovered-rows",
    ),
    pytest.param(
        lambda: LinearizedApprox(MajorityVote(abstain=-7), abstain=-9).fit(
            np.where(L < 0, -9, L)
        ),
        ValueError,
        "abstain=-9 but its base model MajorityVote has abstain=-7",
        id="LinearizedApprox-two-abstain-values",
    ),
    pytest.param(
        lambda: MajorityVote().fit(string_votes()),
        ValueError,
        r"L holds strings \(e.g. 'spam'\)",
        id="MajorityVote-DataFrame-of-object-strings",
    ),
    pytest.param(
        lambda: MajorityVote().fit(string_votes().astype("string")),
        ValueError,
        r"L holds strings \(e.g. 'spam'\)",
        id="MajorityVote-DataFrame-of-python-strings",
    ),
    pytest.param(
        lambda: MajorityVote().fit(string_votes()[0]),
        ValueError,
        r"L holds strings",
        id="MajorityVote-Series-of-strings",
    ),
    pytest.param(
        lambda: MajorityVote().fit(np.array([[0, 1], [1, [0, 1]]], dtype=object)),
        ValueError,
        "L is ragged or holds sequences in its cells",
        id="MajorityVote-object-array-with-a-list",
    ),
    pytest.param(
        lambda: DawidSkene().fit([[0, 1, 1], [0, 1]]),
        ValueError,
        "L is ragged or holds sequences in its cells",
        id="DawidSkene-ragged-rows",
    ),
]


@pytest.mark.parametrize("call, error, match", CASES)
def test_bad_label_matrix_gets_a_named_error(call, error, match):
    raises_quickly(call, error, match)


# ----------------------------------------------------------------- hypothesis
_DTYPES = st.sampled_from(
    [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32,
     np.float32, np.float64]
)


@st.composite
def label_matrices(draw):
    dtype = draw(_DTYPES)
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=6))
    if np.dtype(dtype).kind == "f":
        # The special values are cast to the dtype first: hypothesis refuses
        # an element (1e20) that float32 does not represent exactly.
        special = [-1.0, 0.0, 1.0, 2.0, 0.5, np.nan, np.inf, 1e20, -1e20]
        elements = st.one_of(
            st.sampled_from([float(dtype(v)) for v in special]),
            st.floats(width=np.dtype(dtype).itemsize * 8, allow_subnormal=False),
        )
    else:
        info = np.iinfo(dtype)
        elements = st.one_of(
            st.sampled_from([v for v in (-1, 0, 1, 2) if info.min <= v <= info.max]),
            st.integers(int(info.min), int(info.max)),
        )
    return draw(hnp.arrays(dtype, shape, elements=elements))


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(L_random=label_matrices(), model=st.sampled_from([MajorityVote, DawidSkene]))
def test_random_label_matrices_fit_or_get_a_named_error(L_random, model):
    """Valid votes or a ValueError/TypeError, quickly: never a silent blow-up."""
    start = time.perf_counter()
    try:
        est = model().fit(L_random)
    except (ValueError, TypeError) as exc:
        assert str(exc)  # a message, not a bare exception
    else:
        # It fitted: the input really was a label matrix.
        votes = L_random
        if votes.dtype.kind == "f":
            votes = votes[np.isfinite(votes)]
        assert L_random.ndim in (2, 3)
        if L_random.ndim == 2:
            assert votes.min() >= -1 and votes.max() < est.n_classes_ <= 1000
        proba = est.predict_proba(L_random)
        assert np.isfinite(proba).all()
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-9)
    assert time.perf_counter() - start < 20


# ------------------------------------------------- no silent wrong answers
# Inputs that used to give an answer that was wrong without a word.
@pytest.mark.parametrize("name", list(MODELS))
def test_masked_votes_are_abstains(name):
    # np.asarray reads through the mask: the hidden 7 made 8 classes.
    masked = MODELS[name](random_state=0).fit(L_MASKED)
    filled = MODELS[name](random_state=0).fit(L_FILLED)
    assert masked.n_classes_ == 2
    assert_allclose_scaled(
        masked.predict_proba(L_MASKED), filled.predict_proba(L_FILLED), rtol=1e-12
    )


def test_masked_votes_without_an_abstain_value_are_refused():
    with pytest.raises(ValueError, match="masked array with 1 masked entries, but abstain=None"):
        MajorityVote(abstain=None).fit(L_MASKED)


@pytest.mark.parametrize("name", list(MODELS))
def test_failed_refit_of_a_label_model_keeps_the_previous_fit(name, monkeypatch):
    est = MODELS[name]().fit(L)
    before = fitted_state(est)
    proba = est.predict_proba(L)
    hook = "_fit_input" if name == "LinearizedApprox" else "_fit"

    def explode(*args, **kwargs):
        raise Boom

    monkeypatch.setattr(type(est), hook, explode)
    with pytest.raises(Boom):
        est.fit(L3)  # 3 classes and 4 sources instead of 2 and 4
    monkeypatch.undo()
    same_state(before, fitted_state(est))
    np.testing.assert_array_equal(est.predict_proba(L), proba)
    # A first fit that fails leaves the model unfitted.
    fresh = MODELS[name]()
    monkeypatch.setattr(type(fresh), hook, explode)
    with pytest.raises(Boom):
        fresh.fit(L)
    assert not fitted_state(fresh)


L_STRAY = make_weak_supervision(120, 4, n_features=0, random_state=0)[1]
L_STRAY[5, 1] = 999
STRAY_MODELS = {
    "DawidSkene": lambda: DawidSkene(),
    "DawidSkene-missing-at-random": lambda: DawidSkene(model_abstain=False),
    "Snorkel": lambda: Snorkel(random_state=0),
    "LinearizedApprox": lambda: LinearizedApprox(MajorityVote()),
    "LinearizedApprox-shift": lambda: LinearizedApprox(DawidSkene(), init="shift"),
}


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("name", list(STRAY_MODELS))
def test_classes_nobody_votes_for_cost_nothing(name):
    # One stray vote of 999 made 1000 classes: DawidSkene ran 148 s, Snorkel
    # 243 s, LinearizedApprox allocated 1.34 GiB. The fit runs on the three
    # classes that get votes and equals the fit with them renumbered 0, 1, 2.
    start = time.perf_counter()
    model = STRAY_MODELS[name]().fit(L_STRAY)
    proba = model.predict_proba(L_STRAY)
    assert time.perf_counter() - start < 10
    assert model.n_classes_ == 1000 and proba.shape == (120, 1000)
    assert model.W_.shape == (4, 1001, 1000)
    np.testing.assert_array_equal(proba[:, 2:999], 0.0)
    assert model.class_prior_[2:999].max() == 0.0
    renumbered = STRAY_MODELS[name]().fit(np.where(L_STRAY == 999, 2, L_STRAY))
    expected = renumbered.predict_proba(np.where(L_STRAY == 999, 2, L_STRAY))
    assert_allclose_scaled(proba[:, [0, 1, 999]], expected, rtol=1e-9, atol=1e-9)
    # A vote for an absent class at predict time counts as an abstain.
    L_new = L_STRAY[:3].copy()
    L_absent = L_new.copy()
    L_new[:, 0], L_absent[:, 0] = -1, 500
    assert_allclose_scaled(
        model.predict_proba(L_absent), model.predict_proba(L_new), rtol=1e-9, atol=1e-9
    )


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_absent_classes_widen_the_model_attributes():
    ds = DawidSkene().fit(L_STRAY)
    assert ds.confusion_.shape == (4, 1000, 1001)
    np.testing.assert_allclose(ds.confusion_.sum(axis=2), 1.0)
    np.testing.assert_array_equal(ds.confusion_[:, 500, 0], 1.0)  # always abstains
    snorkel = Snorkel(random_state=0).fit(L_STRAY)
    assert snorkel.mu_.shape == (4000, 1000)
    assert np.isfinite(snorkel.get_weights()).all()


def test_linearized_approx_passes_abstain_to_its_base_model():
    L9 = np.where(L < 0, -9, L)
    moved = LinearizedApprox(MajorityVote(), abstain=-9).fit(L9)
    plain = LinearizedApprox(MajorityVote()).fit(L)
    assert moved.base_model_.abstain == -9
    assert_allclose_scaled(moved.predict_proba(L9), plain.predict_proba(L), rtol=1e-12)


def test_pyarrow_string_votes_get_the_string_message():
    pytest.importorskip("pyarrow")
    with pytest.raises(ValueError, match=r"L holds strings \(e.g. 'spam'\)"):
        MajorityVote().fit(string_votes().astype("string[pyarrow]"))
