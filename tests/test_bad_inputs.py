"""Every public entry point answers bad input with a clear, named error.

One table per layer: each row calls an entry point with one bad input and
names the exception and a fragment of its message (the user's value and/or
the argument), so that no entry point can regress to a silent wrong answer,
a wrap-around, an unbounded allocation or a stack trace from deep inside
numpy. The label models' rows are in ``tests/label_model/``, the
classifier's in ``tests/two_stage/``; this file holds the others and
checks that the tables together cover every public entry point.
"""

import json

import numpy as np
import pandas as pd
import pytest

from skweak_e2e import (
    LFApplier,
    MajorityVote,
    SourceAwareInfluence,
    WeaSELClassifier,
)
from skweak_e2e.datasets import load_wrench, make_weak_supervision, planted_posterior
from skweak_e2e.labeling import LabelingFunction, keyword_lf, labeling_function
from skweak_e2e.metrics import source_summary

from ._bad_inputs import (
    HUGE,
    L,
    L3,
    L_FILLED,
    L_MASKED,
    X,
    Y,
    Boom,
    fitted_state,
    raises_quickly,
    same_state,
    with_vote,
)
from ._tolerance import assert_allclose_scaled
from .label_model.test_bad_label_matrices import CASES as LABEL_MODEL_CASES
from .two_stage.test_bad_votes import CASES as CLASSIFIER_CASES


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


CASES = [
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
    pytest.param(
        lambda: SourceAwareInfluence(MajorityVote()).fit(X, with_vote(HUGE)),
        ValueError,
        "vote 2000000000",
        id="SourceAwareInfluence-huge-vote",
    ),
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
        lambda: source_summary(L, np.where(Y == 1, 5, Y), n_classes=2),
        ValueError,
        r"y contains the class 5 but there are 2 classes",
        id="source_summary-gold-out-of-declared-range",
    ),
    pytest.param(
        lambda: WeaSELClassifier().fit(X, L, X_val=X[:, :2], y_val=Y),
        ValueError,
        "X_val has 2 features, but WeaSELClassifier is fitted on X with 3",
        id="WeaSELClassifier-X_val-of-the-wrong-width",
    ),
]


@pytest.mark.parametrize("call, error, match", CASES)
def test_bad_input_gets_a_named_error(call, error, match):
    raises_quickly(call, error, match)


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
    ids = [case.id for case in CASES + LABEL_MODEL_CASES + CLASSIFIER_CASES]
    ids += [f"wrench-{c.id}" for c in WRENCH_CASES]
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


def test_masked_votes_are_abstains_for_weasel_and_the_inspector():
    X3 = np.array([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]])
    sai = SourceAwareInfluence().fit(X3, L_MASKED)
    assert sai.n_classes_ == 2
    filled = SourceAwareInfluence().fit(X3, L_FILLED)
    assert_allclose_scaled(sai.labels_, filled.labels_, rtol=1e-9, atol=1e-9)
    pytest.importorskip("skorch")
    clf = WeaSELClassifier(max_epochs=1, random_state=0).fit(X3, L_MASKED)
    assert clf.classes_.tolist() == [0, 1]


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


def test_failed_refit_of_weasel_keeps_the_previous_fit():
    pytest.importorskip("skorch")
    X2 = np.random.RandomState(0).normal(size=(L.shape[0], 3))
    kw = dict(max_epochs=2, random_state=0, hidden_layer_sizes=(4,))
    clf = WeaSELClassifier(**kw).fit(X2, L)
    before = fitted_state(clf)
    proba = clf.predict_proba(X2)

    def scorer(y_true, proba):
        raise Boom

    X3_ = np.random.RandomState(1).normal(size=(L3.shape[0], 3))
    with pytest.raises(Boom):
        clf.set_params(scoring=scorer).fit(
            X3_, L3, X_val=X3_[:6], y_val=np.array([0, 1, 2, 0, 1, 2])
        )
    same_state(before, fitted_state(clf))
    assert clf.classes_.tolist() == [0, 1] and clf.n_sources_ == 4
    np.testing.assert_array_equal(clf.predict_proba(X2), proba)
    fresh = WeaSELClassifier(**kw, scoring=scorer)
    with pytest.raises(Boom):
        fresh.fit(X3_, L3, X_val=X3_[:6], y_val=np.array([0, 1, 2, 0, 1, 2]))
    assert not fitted_state(fresh)


def test_failed_refit_of_source_aware_influence_keeps_the_previous_fit(monkeypatch):
    sai = SourceAwareInfluence().fit(X, L)
    before, scores = fitted_state(sai), sai.influence(X[:20], Y[:20]).per_source
    with pytest.raises(ValueError, match="rows"):
        sai.fit(X[:10], L)  # misaligned rows: refused before any state is set
    same_state(before, fitted_state(sai))

    def boom(self):
        raise Boom()

    # Refused late, after the new label model, terms and end model are set.
    monkeypatch.setattr(SourceAwareInfluence, "_finish_fit", boom)
    with pytest.raises(Boom):
        sai.fit(X, np.where(L == 1, 0, L))
    same_state(before, fitted_state(sai))
    np.testing.assert_array_equal(sai.influence(X[:20], Y[:20]).per_source, scores)
