"""Every public entry point answers bad input with a clear, named error.

One table: each row calls an entry point with one bad input and names the
exception and a fragment of its message (the user's value and/or the
argument), so that no entry point can regress to a silent wrong answer, a
wrap-around, an unbounded allocation or a stack trace from deep inside
numpy. A hypothesis test then throws random dtypes, shapes and values at the
label models.
"""

import json
import time

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

from skweak_e2e import (
    DawidSkene,
    LabelModelClassifier,
    LFApplier,
    LinearizedApprox,
    MajorityVote,
    Snorkel,
    SourceAwareInfluence,
    WeaSELClassifier,
)
from skweak_e2e.datasets import load_wrench, make_weak_supervision, planted_posterior
from skweak_e2e.labeling import LabelingFunction, keyword_lf, labeling_function
from skweak_e2e.metrics import source_summary
from skweak_e2e.utils import check_label_matrix

from ._tolerance import assert_allclose_scaled

X, L, Y = make_weak_supervision(60, 4, n_features=3, random_state=0)
L_DS = make_weak_supervision(60, 4, n_features=0, random_state=0)[1]


def with_vote(value, dtype=np.int64, at=(0, 0), base=L):
    out = base.astype(dtype)
    out[at] = value
    return out


def uint8_with_wrapped_abstain():
    # What np.array(L, dtype=np.uint8) (or a CSV read as unsigned) makes of -1.
    return np.where(L < 0, 255, L).astype(np.uint8)


class ZeroRowsModel(BaseEstimator):
    """A label model whose probabilities are all zero on some rows."""

    def __init__(self, n_classes=None, abstain=-1):
        self.n_classes = n_classes
        self.abstain = abstain

    def fit(self, L, y=None):
        return self

    def predict_proba(self, L):
        proba = np.full((len(L), 2), 0.5)
        proba[::7] = 0.0
        return proba


def wrench_dir(tmp_path, records):
    for split in ("train", "valid", "test"):
        (tmp_path / f"{split}.json").write_text(json.dumps(records))
    return tmp_path


def rec(weak, label=0):
    return {"data": {"text": "t"}, "label": label, "weak_labels": weak}


@labeling_function()
def one(x):
    return 1


@labeling_function()
def sentinel(x):
    return 2**32


class LazyFrame:
    """Stands in for a dask DataFrame without importing dask."""

    __module__ = "dask.dataframe.core"
    columns = ["text"]
    npartitions = 2

    def __iter__(self):
        return iter(self.columns)

    def compute(self):  # pragma: no cover - never called
        raise AssertionError


class UnknownTable:
    columns = ["text"]

    def __iter__(self):
        return iter(self.columns)


def _snorkel_over_budget(L_wide, budget=2**20):
    # Snorkel's statistics grow with the votes and patterns; a budget of
    # 1 MiB stands in for a matrix too large for the machine.
    from skweak_e2e.label_model import _snorkel

    saved, _snorkel._MEMORY_BUDGET = _snorkel._MEMORY_BUDGET, budget
    try:
        return Snorkel().fit(L_wide)
    finally:
        _snorkel._MEMORY_BUDGET = saved


HUGE = 2_000_000_000
MODELS = {
    "MajorityVote": MajorityVote,
    "DawidSkene": DawidSkene,
    "Snorkel": lambda **kw: Snorkel(n_epochs=5, **kw),
    "LinearizedApprox": lambda **kw: LinearizedApprox(MajorityVote(), **kw),
}


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
    # ---------------------------------------------------------- label models
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
    # ------------------------------------------------- LabelModelClassifier
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
    # ------------------------------------------------------ WeaSELClassifier
    pytest.param(
        lambda: WeaSELClassifier().fit(X, None),
        ValueError,
        "requires y to be passed",
        id="WeaSELClassifier-no-y",
    ),
    pytest.param(
        lambda: WeaSELClassifier().fit(X, L, X_val=X),
        ValueError,
        "X_val and y_val must be given together",
        id="WeaSELClassifier-X_val-alone",
    ),
    pytest.param(
        lambda: WeaSELClassifier().fit(X, L.astype(str)),
        ValueError,
        "among them '-1', but abstain=-1 is a number",
        id="WeaSELClassifier-string-minus-one",
    ),
    # ---------------------------------------------------- SourceAwareInfluence
    pytest.param(
        lambda: SourceAwareInfluence(MajorityVote()).fit(X, with_vote(HUGE)),
        ValueError,
        "vote 2000000000",
        id="SourceAwareInfluence-huge-vote",
    ),
    # ------------------------------------------------------------ labeling
    pytest.param(
        lambda: LFApplier([sentinel]).fit_transform(["a", "b"]),
        ValueError,
        "'sentinel' returned 4294967296 on record 0",
        id="LFApplier-out-of-range-vote",
    ),
    pytest.param(
        lambda: LFApplier(
            [LabelingFunction(lambda xs: np.full(len(xs), 2**40), name="b", batch=True)]
        ).fit_transform(["a", "b"]),
        ValueError,
        "'b' returned 1099511627776 on record 0",
        id="LFApplier-batch-out-of-range-vote",
    ),
    pytest.param(
        lambda: LFApplier([one]).fit_transform(LazyFrame()),
        TypeError,
        r"lazy collection dask\.dataframe\.core\.LazyFrame.*\.compute\(\)",
        id="LFApplier-dask-frame",
    ),
    pytest.param(
        lambda: LFApplier([one]).transform(UnknownTable()),
        TypeError,
        "look like a table",
        id="LFApplier-unknown-table",
    ),
    pytest.param(
        lambda: LFApplier(one).fit_transform(["a"]),
        TypeError,
        "'lfs' parameter of LFApplier must be .* Got LabelingFunction",
        id="LFApplier-single-lf",
    ),
    pytest.param(
        lambda: LFApplier([one, one]).fit_transform(["a"]),
        ValueError,
        r"duplicated: \['one'\]",
        id="LFApplier-duplicate-names",
    ),
    pytest.param(
        lambda: LFApplier([one], abstain=0).fit_transform(["a"]),
        ValueError,
        "abstain must be negative .* got 0",
        id="LFApplier-non-negative-abstain",
    ),
    pytest.param(
        lambda: keyword_lf(["spam"], label=-1),
        ValueError,
        "label must be a class index .* got -1",
        id="keyword_lf-negative-label",
    ),
    # ------------------------------------------------------------ datasets
    pytest.param(
        lambda: make_weak_supervision(2.5, 3),
        TypeError,
        "n_samples must be an integer; got 2.5",
        id="make_weak_supervision-float-n_samples",
    ),
    pytest.param(
        lambda: make_weak_supervision(10, True),
        TypeError,
        "n_sources must be an integer; got True",
        id="make_weak_supervision-bool-n_sources",
    ),
    pytest.param(
        lambda: make_weak_supervision(10, 3, 1),
        ValueError,
        "n_classes must be at least 2; got 1",
        id="make_weak_supervision-one-class",
    ),
    pytest.param(
        lambda: make_weak_supervision(10, 3, accuracy=np.nan),
        ValueError,
        r"accuracy must lie in \[0, 1\]; got nan",
        id="make_weak_supervision-nan-accuracy",
    ),
    pytest.param(
        lambda: make_weak_supervision(10, 3, coverage=[0.5, 1.5, 0.5]),
        ValueError,
        r"coverage must lie in \[0, 1\]; got 1.5",
        id="make_weak_supervision-coverage-above-one",
    ),
    pytest.param(
        lambda: make_weak_supervision(10, 3, class_sep=np.inf),
        ValueError,
        "class_sep must be a finite number; got inf",
        id="make_weak_supervision-inf-class-sep",
    ),
    pytest.param(
        lambda: make_weak_supervision(10, 3, class_prior=[0.5, np.nan]),
        ValueError,
        "class_prior must hold finite",
        id="make_weak_supervision-nan-prior",
    ),
    pytest.param(
        lambda: planted_posterior(L, None),
        TypeError,
        "params must be the Bunch returned by make_weak_supervision",
        id="planted_posterior-no-params",
    ),
    pytest.param(
        lambda: planted_posterior(
            L[:, :3], make_weak_supervision(10, 4, return_params=True)[3]
        ),
        ValueError,
        "L has 3 sources but params describe 4",
        id="planted_posterior-wrong-sources",
    ),
    # -------------------------------------------------------------- metrics
    pytest.param(
        lambda: source_summary(with_vote(HUGE)),
        ValueError,
        "vote 2000000000",
        id="source_summary-huge-vote",
    ),
    pytest.param(
        lambda: source_summary(L, np.where(np.arange(60) == 0, 1e20, Y)),
        ValueError,
        r"y contains 1e\+20, which is not a class index",
        id="source_summary-gold-1e20",
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
        lambda: source_summary(L, np.where(Y == 1, 5, Y), n_classes=2),
        ValueError,
        r"y contains the class 5 but there are 2 classes",
        id="source_summary-gold-out-of-declared-range",
    ),
    pytest.param(
        lambda: check_label_matrix(L.astype(np.complex128)),
        TypeError,
        "numeric votes; got dtype complex128",
        id="check_label_matrix-complex",
    ),
    # Messages that named the wrong thing, or numpy's internals.
    pytest.param(
        lambda: DawidSkene().fit(L, sample_weight=_uncovered_weight()),
        ValueError,
        "sample_weight is zero on every row with a vote",
        id="DawidSkene-weight-only-on-uncovered-rows",
    ),
    pytest.param(
        lambda: LinearizedApprox(MajorityVote()).fit(L, sample_weight=_uncovered_weight()),
        ValueError,
        "sample_weight is zero on every row with a vote",
        id="LinearizedApprox-weight-only-on-uncovered-rows",
    ),
    pytest.param(
        lambda: _frozen_classifier().partial_fit(X, np.hstack([L, L[:, :2]])),
        ValueError,
        r"y has 6 sources \(columns\) but the label model DawidSkene was fitted with 4",
        id="LabelModelClassifier-partial_fit-y-of-the-wrong-width",
    ),
    pytest.param(
        lambda: _frozen_classifier().fit(X, np.hstack([L, L[:, :2]])),
        ValueError,
        r"y has 6 sources \(columns\) but the label model DawidSkene",
        id="LabelModelClassifier-fit-frozen-y-of-the-wrong-width",
    ),
    pytest.param(
        lambda: _partial_fit_uncovered().predict(X),
        NotFittedError,
        "has not trained its estimator yet: partial_fit has seen 60 row",
        id="LabelModelClassifier-predict-after-uncovered-blocks",
    ),
    pytest.param(
        lambda: _frozen_classifier().partial_fit(X, _string_votes().to_numpy()),
        ValueError,
        "pass classes=",
        id="LabelModelClassifier-partial_fit-string-votes-without-classes",
    ),
    pytest.param(
        lambda: WeaSELClassifier().fit(X, L, X_val=X[:, :2], y_val=Y),
        ValueError,
        "X_val has 2 features, but WeaSELClassifier is fitted on X with 3",
        id="WeaSELClassifier-X_val-of-the-wrong-width",
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
        lambda: MajorityVote().fit(_string_votes()),
        ValueError,
        r"L holds strings \(e.g. 'spam'\)",
        id="MajorityVote-DataFrame-of-object-strings",
    ),
    pytest.param(
        lambda: MajorityVote().fit(_string_votes().astype("string")),
        ValueError,
        r"L holds strings \(e.g. 'spam'\)",
        id="MajorityVote-DataFrame-of-python-strings",
    ),
    pytest.param(
        lambda: MajorityVote().fit(_string_votes()[0]),
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


def _uncovered_weight():
    return (L.max(axis=1) < 0).astype(float)


def _frozen_classifier():
    from sklearn.frozen import FrozenEstimator
    from sklearn.linear_model import SGDClassifier

    return LabelModelClassifier(FrozenEstimator(DawidSkene().fit(L)), SGDClassifier())


def _partial_fit_uncovered():
    return _frozen_classifier().partial_fit(X, np.full_like(L, -1))


def _string_votes():
    return pd.DataFrame(np.where(L < 0, "x", np.where(L == 0, "ham", "spam")))


@pytest.mark.parametrize("call, error, match", CASES)
def test_bad_input_gets_a_named_error(call, error, match):
    start = time.perf_counter()
    with pytest.raises(error, match=match):
        call()
    # Refused up front, not after training or a large allocation.
    assert time.perf_counter() - start < 20


WRENCH_CASES = [
    pytest.param(
        {"a": rec([0, 0.7])},
        "record 'a' has the weak label 0.7",
        id="float-vote",
    ),
    pytest.param(
        {"a": rec([0, 1]), "b": rec([[0, 1], [1, 0]])},
        r"record 'b' has the weak label \[0, 1\]",
        id="nested-lists",
    ),
    pytest.param(
        {"a": rec([0, 1]), "b": rec([0, 1], label=0.7)},
        "record 'b' has the label 0.7",
        id="float-gold",
    ),
    pytest.param(
        {"a": rec([0, 1]), "b": rec([1])},
        "record 'a' has 2 but record 'b' has 1",
        id="ragged",
    ),
    pytest.param(
        {"a": rec([0, 1]), "b": rec([0, -2])},
        "record 'b' holds the label -2, below -1",
        id="below-abstain",
    ),
    pytest.param(
        {"a": rec([0, True])},
        "record 'a' has the weak label True",
        id="bool-vote",
    ),
    pytest.param(
        {"a": rec([0, "1"])},
        "record 'a' has the weak label '1'",
        id="string-vote",
    ),
    pytest.param(
        {"a": rec([0, HUGE])},
        "vote 2000000000.*label.json",
        id="huge-vote",
    ),
]


@pytest.mark.parametrize("records, match", WRENCH_CASES)
def test_load_wrench_names_the_file_and_the_record(tmp_path, records, match):
    directory = wrench_dir(tmp_path, records)
    with pytest.raises(ValueError, match=match) as info:
        load_wrench(directory)
    if "label.json" not in match:
        assert "train.json" in str(info.value)


def test_load_wrench_missing_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        load_wrench(tmp_path / "nowhere")


def test_table_covers_every_public_entry_point():
    # At least 40 cases, and every public estimator family appears.
    ids = [case.id for case in CASES] + [f"wrench-{c.id}" for c in WRENCH_CASES]
    assert len(ids) >= 40
    for name in (
        "MajorityVote",
        "DawidSkene",
        "Snorkel",
        "LinearizedApprox",
        "LabelModelClassifier",
        "WeaSELClassifier",
        "SourceAwareInfluence",
        "LFApplier",
        "keyword_lf",
        "make_weak_supervision",
        "source_summary",
        "planted_posterior",
        "wrench",
    ):
        assert any(i.startswith(name) for i in ids), name


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


# ------------------------------------------------- no silent wrong answers
# Inputs that used to give an answer that was wrong without a word.
L_MASK = np.array([[0, 1, 7], [1, 1, 0], [0, -1, 1]])
L_MASKED = np.ma.masked_array(L_MASK, mask=L_MASK == 7)
L_FILLED = np.where(L_MASK == 7, -1, L_MASK)


@pytest.mark.parametrize("name", list(MODELS))
def test_masked_votes_are_abstains(name):
    # np.asarray reads through the mask: the hidden 7 made 8 classes.
    masked = MODELS[name](random_state=0).fit(L_MASKED)
    filled = MODELS[name](random_state=0).fit(L_FILLED)
    assert masked.n_classes_ == 2
    assert_allclose_scaled(
        masked.predict_proba(L_MASKED), filled.predict_proba(L_FILLED), rtol=1e-12
    )


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


def test_masked_votes_are_abstains_for_weasel_and_the_inspector():
    X3 = np.array([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]])
    sai = SourceAwareInfluence().fit(X3, L_MASKED)
    assert sai.n_classes_ == 2
    filled = SourceAwareInfluence().fit(X3, L_FILLED)
    assert_allclose_scaled(sai.labels_, filled.labels_, rtol=1e-9, atol=1e-9)
    pytest.importorskip("skorch")
    clf = WeaSELClassifier(max_epochs=1, random_state=0).fit(X3, L_MASKED)
    assert clf.classes_.tolist() == [0, 1]


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


def test_masked_votes_without_an_abstain_value_are_refused():
    with pytest.raises(ValueError, match="masked array with 1 masked entries, but abstain=None"):
        MajorityVote(abstain=None).fit(L_MASKED)


def test_label_buckets_refuses_labels_beyond_int64():
    from skweak_e2e.metrics import label_buckets

    with pytest.raises(ValueError, match=r"labels\[0\] contains -inf"):
        label_buckets(np.array([-np.inf, 1e19, 1.0]))
    with pytest.raises(ValueError, match=r"contains the label 1e\+19, outside the int64"):
        label_buckets(np.array([1e19, 1.0]))
    with pytest.raises(ValueError, match="9223372036854775809, outside the int64"):
        label_buckets(np.array([2**63 + 1, 1], dtype=np.uint64))
    buckets = label_buckets(np.array([2**62, 1], dtype=np.uint64))
    assert sorted(buckets) == [(1,), (2**62,)]


def test_preprocessor_returning_none_is_named():
    from skweak_e2e.labeling import preprocessor

    @preprocessor
    def forgets_return(x):
        x.n_words = len(x.text.split())

    lf = LabelingFunction(
        lambda x: -1 if x is None else 1, name="tolerant", pre=[forgets_return]
    )
    frame = pd.DataFrame({"text": ["a b", "c"]})
    with pytest.raises(Exception, match="preprocessor 'forgets_return' returned None"):
        LFApplier([lf]).fit_transform(frame)
    with pytest.raises(TypeError, match="forget `return x`"):
        lf(frame.iloc[0])


class _Boom(Exception):
    pass


def _fitted_state(est):
    return {k: v for k, v in vars(est).items() if k.endswith("_") or k.startswith("_n")}


def _same_state(before, after):
    assert before.keys() == after.keys()
    for key, value in before.items():
        assert after[key] is value, key


L3 = np.array([[0, 1, 2, -1], [2, 2, -1, 1], [1, 1, 0, 0], [0, 2, 2, 2]] * 5)


@pytest.mark.parametrize("name", list(MODELS))
def test_failed_refit_of_a_label_model_keeps_the_previous_fit(name, monkeypatch):
    est = MODELS[name]().fit(L)
    before = _fitted_state(est)
    proba = est.predict_proba(L)
    hook = "_fit_input" if name == "LinearizedApprox" else "_fit"

    def explode(*args, **kwargs):
        raise _Boom

    monkeypatch.setattr(type(est), hook, explode)
    with pytest.raises(_Boom):
        est.fit(L3)  # 3 classes and 4 sources instead of 2 and 4
    monkeypatch.undo()
    _same_state(before, _fitted_state(est))
    np.testing.assert_array_equal(est.predict_proba(L), proba)
    # A first fit that fails leaves the model unfitted.
    fresh = MODELS[name]()
    monkeypatch.setattr(type(fresh), hook, explode)
    with pytest.raises(_Boom):
        fresh.fit(L)
    assert not _fitted_state(fresh)


def test_interrupted_refit_of_the_classifiers_keeps_the_previous_fit():
    X2 = np.random.RandomState(0).normal(size=(L.shape[0], 3))
    clf = LabelModelClassifier().fit(X2, L)
    before = _fitted_state(clf)

    class Interrupting(BaseEstimator):
        def fit(self, X, y):
            raise KeyboardInterrupt

        def predict(self, X):  # pragma: no cover - never fitted
            raise AssertionError

    with pytest.raises(KeyboardInterrupt):
        clf.set_params(estimator=Interrupting()).fit(X2[: len(L3)], L3)
    _same_state(before, _fitted_state(clf))


def test_failed_refit_of_weasel_keeps_the_previous_fit():
    pytest.importorskip("skorch")
    X2 = np.random.RandomState(0).normal(size=(L.shape[0], 3))
    kw = dict(max_epochs=2, random_state=0, hidden_layer_sizes=(4,))
    clf = WeaSELClassifier(**kw).fit(X2, L)
    before = _fitted_state(clf)
    proba = clf.predict_proba(X2)

    def scorer(y_true, proba):
        raise _Boom

    X3_ = np.random.RandomState(1).normal(size=(L3.shape[0], 3))
    with pytest.raises(_Boom):
        clf.set_params(scoring=scorer).fit(
            X3_, L3, X_val=X3_[:6], y_val=np.array([0, 1, 2, 0, 1, 2])
        )
    _same_state(before, _fitted_state(clf))
    assert clf.classes_.tolist() == [0, 1] and clf.n_sources_ == 4
    np.testing.assert_array_equal(clf.predict_proba(X2), proba)
    fresh = WeaSELClassifier(**kw, scoring=scorer)
    with pytest.raises(_Boom):
        fresh.fit(X3_, L3, X_val=X3_[:6], y_val=np.array([0, 1, 2, 0, 1, 2]))
    assert not _fitted_state(fresh)


def test_failed_refit_of_source_aware_influence_keeps_the_previous_fit():
    sai = SourceAwareInfluence().fit(X, L)
    before = _fitted_state(sai)
    with pytest.raises(ValueError):
        sai.fit(X[:10], L)  # misaligned rows, refused after the label model refit
    _same_state(before, _fitted_state(sai))


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
        MajorityVote().fit(_string_votes().astype("string[pyarrow]"))
