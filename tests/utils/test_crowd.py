"""Crowd labels: the long-table helper and the label models on sparse votes."""

import tracemalloc
import warnings

import numpy as np
import pytest
import pandas as pd
import scipy.sparse as sp

from skweak_e2e import DawidSkene, LinearizedApprox, MajorityVote, Snorkel
from skweak_e2e.datasets import make_crowd
from skweak_e2e.label_model import _overlaps, _snorkel
from skweak_e2e.label_model._sparse_votes import (
    drop_source_blocks,
    sparse_snorkel_loss,
)
from skweak_e2e.utils import label_matrix_from_long
from .._tolerance import assert_allclose_scaled


def _dense_crowd(n=1500, m=25, C=3, keep=0.25, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, C, n)
    L = np.where(rng.random((n, m)) < 0.7, y[:, None], rng.integers(0, C, (n, m)))
    L[rng.random((n, m)) > keep] = -1
    L[:, 3] = -1  # a silent source
    return L, y


def _to_sparse(L):
    return sp.csr_matrix(L + 1)


# ------------------------------------------------------------ the long table
def test_long_table_with_string_ids_and_labels():
    data = {
        "task": ["t2", "t1", "t1", "t2", "t3"],
        "worker": ["w9", "w1", "w9", "w1", "w1"],
        "label": ["dog", "cat", "dog", "dog", "cat"],
    }
    crowd = label_matrix_from_long(data)
    assert crowd.tasks_.tolist() == ["t1", "t2", "t3"]
    assert crowd.workers_.tolist() == ["w1", "w9"]
    assert crowd.classes_.tolist() == ["cat", "dog"]
    np.testing.assert_array_equal(crowd.L.toarray(), [[1, 2], [2, 2], [1, 0]])
    assert crowd.n_repeated_ == 0
    assert crowd.decode([1, -1, 0]).tolist() == ["dog", None, "cat"]


def test_long_table_from_pandas_with_other_names_and_declared_classes():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"item": [5, 5, 7], "annotator": [("a", 1), ("b", 2), ("a", 1)],
                       "answer": [2, 0, 2]})
    crowd = label_matrix_from_long(df, task="item", worker="annotator", label="answer",
                                   classes=[0, 1, 2])
    np.testing.assert_array_equal(crowd.L.toarray(), [[3, 1], [3, 0]])
    assert crowd.n_classes_ == 3
    with pytest.raises(ValueError, match="label 2 is not in classes"):
        label_matrix_from_long(df, task="item", worker="annotator", label="answer",
                               classes=[0, 1])
    with pytest.raises(ValueError, match="no column 'task'"):
        label_matrix_from_long(df)
    with pytest.raises(ValueError, match="'label' holds missing values"):
        label_matrix_from_long({"task": [0, 1], "worker": [0, 0], "label": [1.0, np.nan]})
    with pytest.raises(ValueError, match="'worker' holds missing values"):
        label_matrix_from_long({"task": [0, 1], "worker": ["a", None], "label": [1, 0]})


def test_long_table_from_dask():
    dd = pytest.importorskip("dask.dataframe")
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"task": [0, 0, 1, 2], "worker": [1, 0, 0, 1], "label": [1, 1, 0, 1]})
    crowd = label_matrix_from_long(dd.from_pandas(df, npartitions=2))
    np.testing.assert_array_equal(crowd.L.toarray(), [[2, 2], [1, 0], [0, 2]])


def test_repeated_labels_are_counted():
    data = np.array([[0, 0, 1], [0, 0, 1], [0, 1, 0], [1, 1, 0]])
    crowd = label_matrix_from_long(data)
    assert crowd.n_repeated_ == 1
    assert crowd.L.nnz == 4  # the repeated label is a stored entry of its own
    # Majority vote: worker 0's two labels for class 1 against one for class 0.
    proba = MajorityVote().fit(crowd.L).predict_proba(crowd.L)
    assert_allclose_scaled(proba, [[1 / 3, 2 / 3], [1.0, 0.0]], atol=1e-12)
    # Dawid-Skene: a repeated label adds its log-likelihood once more.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # two workers only
        ds = DawidSkene(model_abstain=False).fit(crowd.L)
    W = ds.W_
    # Every source abstains once by default and each label replaces one
    # abstain: W00 + W10 + 2 (W02 - W00) + (W11 - W10).
    scores = 2 * W[0, 2] + W[1, 1] - W[0, 0]
    expected = np.exp(scores - scores.max())
    assert_allclose_scaled(ds.predict_proba(crowd.L)[0], expected / expected.sum(),
                           atol=1e-12)


def test_long_table_passed_as_label_matrix_is_refused():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"task": np.arange(300) // 3, "worker": np.arange(300) % 7,
                       "label": np.arange(300) % 2})
    with pytest.raises(ValueError, match="label_matrix_from_long"):
        DawidSkene().fit(df)
    with pytest.raises(ValueError, match="label_matrix_from_long"):
        DawidSkene().fit(df.astype({"task": str}))
    with pytest.raises(ValueError, match="looks like a long table"):
        MajorityVote().fit(df.to_numpy())
    # A real 3-source label matrix is not mistaken for one.
    L = np.random.default_rng(0).integers(-1, 2, (300, 3))
    MajorityVote().fit(L)


def test_sparse_label_matrix_validation():
    with pytest.raises(ValueError, match="class index \\+ 1"):
        MajorityVote().fit(sp.csr_matrix(np.array([[-1, 1], [0, 1]])))
    with pytest.raises(ValueError, match="stores the value 3"):
        MajorityVote(n_classes=2).fit(sp.csr_matrix(np.array([[3, 1], [0, 1]])))
    with pytest.raises(ValueError, match="no vote at all"):
        MajorityVote().fit(sp.csr_matrix((3, 4), dtype=np.int8))
    coo = sp.coo_matrix((np.array([1, 2]), (np.array([0, 0]), np.array([1, 1]))),
                        shape=(2, 2))
    with pytest.raises(ValueError, match="repeated"):
        MajorityVote().fit(coo)
    model = MajorityVote().fit(sp.csr_matrix(np.array([[1, 2], [2, 0]])))
    with pytest.raises(ValueError, match="3 sources"):
        model.predict(sp.csr_matrix(np.ones((2, 3))))


# ------------------------------------------------ dense and sparse agree
@pytest.mark.parametrize("model_abstain", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
def test_dawid_skene_sparse_equals_dense(model_abstain, weighted):
    L, _ = _dense_crowd()
    w = np.random.default_rng(1).uniform(0.5, 2.0, len(L)) if weighted else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the silent source
        dense = DawidSkene(model_abstain=model_abstain).fit(L, sample_weight=w)
        sparse = DawidSkene(model_abstain=model_abstain).fit(_to_sparse(L),
                                                             sample_weight=w)
    assert dense.n_iter_ == sparse.n_iter_
    assert_allclose_scaled(sparse.confusion_, dense.confusion_, rtol=0, atol=1e-10)
    assert_allclose_scaled(sparse.W_, dense.W_, rtol=0, atol=1e-10)
    assert_allclose_scaled(sparse.log_likelihood_, dense.log_likelihood_, rtol=1e-10)
    assert_allclose_scaled(sparse.predict_proba(_to_sparse(L)), dense.predict_proba(L),
                           rtol=0, atol=1e-10)
    np.testing.assert_array_equal(sparse.silent_sources_, [3])
    assert sparse.coverage_ == dense.coverage_


@pytest.mark.parametrize("method", ["soft", "argmax"])
def test_majority_vote_sparse_equals_dense(method):
    L, _ = _dense_crowd()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        dense = MajorityVote(method=method).fit(L)
        sparse = MajorityVote(method=method).fit(_to_sparse(L))
    assert_allclose_scaled(sparse.predict_proba(_to_sparse(L)), dense.predict_proba(L),
                           rtol=0, atol=1e-12)


@pytest.mark.parametrize("factored", [False, True])
def test_snorkel_sparse_equals_dense(monkeypatch, factored):
    L, _ = _dense_crowd(n=800, m=12)
    if factored:  # the sparse-Gram objective, forced on a small problem
        monkeypatch.setattr(_snorkel, "_SPARSE_GRAM_ABOVE", 0)
    else:  # the dense statistics, forced
        monkeypatch.setattr(_snorkel, "_SPARSE_GRAM_FILL", 0.0)
        monkeypatch.setattr(_snorkel, "_DENSE_GRAM_WIDTH", 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dense = Snorkel(random_state=0, class_prior="estimate").fit(L)
        sparse = Snorkel(random_state=0, class_prior="estimate").fit(_to_sparse(L))
    assert_allclose_scaled(sparse.class_prior_, dense.class_prior_, rtol=0, atol=1e-10)
    assert_allclose_scaled(sparse.loss_history_, dense.loss_history_, rtol=1e-9)
    assert_allclose_scaled(sparse.mu_, dense.mu_, rtol=0, atol=1e-9)
    assert_allclose_scaled(sparse.predict_proba(_to_sparse(L)), dense.predict_proba(L),
                           rtol=0, atol=1e-9)


def test_snorkel_refuses_sparse_overlaps_beyond_its_budget(monkeypatch):
    L = _to_sparse(_dense_crowd(n=200, m=12)[0])
    monkeypatch.setattr(_snorkel, "_MEMORY_BUDGET", 1000)
    with pytest.raises(ValueError, match="Snorkel would need up to .* GiB"):
        Snorkel().fit(L)


def test_sparse_snorkel_loss_is_the_dense_objective():
    L, _ = _dense_crowd(n=500, m=8)
    C, m = 3, 8
    O, q = _overlaps.overlap_matrix(L, C)
    rng = np.random.default_rng(0)
    mu, mu_init = rng.random((m * C, C)), rng.random((m * C, C))
    p = np.array([0.2, 0.3, 0.5])
    loss, grad = _snorkel.snorkel_loss(mu, O, q, p, m, mu_init, 0.3)
    loss_s, grad_s = sparse_snorkel_loss(
        mu, drop_source_blocks(sp.csr_matrix(O), C), q, p, m, mu_init, 0.3
    )
    assert loss_s == pytest.approx(loss, rel=1e-12)
    assert_allclose_scaled(grad_s, grad, rtol=0, atol=1e-12)


def test_linearized_sparse_matches_dense():
    L, _ = _dense_crowd(n=600, m=10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        dense = LinearizedApprox(MajorityVote()).fit(L)
        sparse = LinearizedApprox(MajorityVote()).fit(_to_sparse(L))
    # Same objective; the solver visits rows in another order (rows, not
    # sorted patterns), so both stop within its tolerance of the same fit.
    assert sparse.fidelity_["max_total_variation"] < 1e-5
    assert_allclose_scaled(sparse.predict_proba(_to_sparse(L)), dense.predict_proba(L),
                           rtol=0, atol=1e-5)


def test_fit_predict_is_fit_then_predict():
    crowd = make_crowd(300, 30, 5, 3, random_state=0)
    L = label_matrix_from_long(crowd.data).L
    for model in (MajorityVote(tie_break="lowest"), DawidSkene(), Snorkel(random_state=0)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            np.testing.assert_array_equal(model.fit_predict(L), model.fit(L).predict(L))


# ------------------------------------------------------------- the crowd
def test_dawid_skene_recovers_planted_worker_confusions():
    crowd = make_crowd(20000, 50, 5, 3, accuracy=(0.6, 0.9), random_state=0)
    labels = label_matrix_from_long(crowd.data)
    ds = DawidSkene(model_abstain=False, anchor_strength=0.0).fit(labels.L)  # the planted model
    confusion = ds.confusion_[:, :, :]
    # Each worker labels ~2000 tasks: its confusion rows within a few points.
    assert np.abs(confusion - crowd.confusion[labels.workers_]).max() < 0.08
    assert (ds.predict(labels.L) == crowd.y[labels.tasks_]).mean() > 0.9
    # The default leaves the workers' abstains out ("auto": they vote for
    # several classes) and keeps that accuracy.
    default = DawidSkene().fit(labels.L)
    assert not default.abstain_modelled_.any()
    assert (default.predict(labels.L) == crowd.y[labels.tasks_]).mean() > 0.9


def test_sparse_fit_memory_grows_with_the_labels():
    # 20000 tasks x 10000 workers: a dense int8 L would take 200 MB.
    crowd = make_crowd(20000, 10000, 5, 2, random_state=0)
    tracemalloc.start()
    try:
        L = label_matrix_from_long(crowd.data).L
        # (LinearizedApprox's products are DawidSkene's; its L-BFGS-B over
        # 60000 weights is slow under tracemalloc.)
        for model in (MajorityVote(), DawidSkene(max_iter=5), Snorkel(n_epochs=3)):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model.fit(L).predict_proba(L)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # A dense Gram of Snorkel would be (2 10^4)^2 floats: 3.2 GB.
    assert peak < 40 * 2**20


@pytest.mark.parametrize(
    "make_model",
    [MajorityVote, DawidSkene, lambda: Snorkel(random_state=0),
     lambda: LinearizedApprox(MajorityVote())],
    ids=["MajorityVote", "DawidSkene", "Snorkel", "LinearizedApprox"],
)
def test_models_leave_a_crowd_matrix_with_repeated_labels_untouched(make_model):
    """Bug report: fit/predict rewrote the caller's matrix (repeated labels
    summed in place through shared index arrays); the next call scored 0.30."""
    df = pd.DataFrame({
        "task": ["t1", "t1", "t1", "t2", "t2", "t3", "t3", "t3"] * 5,
        "worker": ["a", "a", "b", "a", "b", "a", "b", "c"] * 5,
        "label": ["x", "x", "y", "y", "y", "x", "x", "y"] * 5,
    })
    df["task"] = df["task"] + (np.arange(len(df)) // 8).astype(str)
    crowd = label_matrix_from_long(df)
    assert crowd.n_repeated_ > 0
    before = [a.copy() for a in (crowd.L.indptr, crowd.L.indices, crowd.L.data)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = make_model().fit_predict(crowd.L)
        model = make_model().fit(crowd.L)
        model.predict_proba(crowd.L)
        again = make_model().fit_predict(crowd.L)
    for a, b in zip(before, (crowd.L.indptr, crowd.L.indices, crowd.L.data)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(first, again)
