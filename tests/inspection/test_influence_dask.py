"""SourceAwareInfluence on dask arrays: the same answers as in memory, lazily.

Every fit here converges tightly (``tol=1e-12``) on both sides, so that the
dask fit (Newton steps on reduced statistics) and the in-memory fit (L-BFGS,
then Newton) reach the same optimum to far below the 1e-8 the comparisons
allow; at the default ``tol`` both stop within ``tol`` of it.
"""

import pickle

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from sklearn.pipeline import make_pipeline

from skweak_e2e import (
    DawidSkene,
    LabelModelClassifier,
    MajorityVote,
    SourceAwareInfluence,
)
from skweak_e2e.datasets import make_weak_supervision

from .._tolerance import assert_allclose_scaled

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")

RTOL = 1e-8


@pytest.fixture(autouse=True)
def synchronous():
    with dask.config.set(scheduler="synchronous"):
        yield


def _problem(n_classes=2, soft=False, seed=0):
    X, L, y = make_weak_supervision(
        900, 7, n_features=4, n_classes=n_classes, n_adversarial=1, random_state=seed
    )
    if soft:  # soft votes: each vote split 0.8 / 0.2 with the next class
        S = np.zeros(L.shape + (n_classes,))
        i, j = np.nonzero(L >= 0)
        S[i, j, L[i, j]] = 0.8
        S[i, j, (L[i, j] + 1) % n_classes] = 0.2
        L = S
    return X[:700], L[:700], X[700:], y[700:]


def _lazy(A, chunks=(180, 250, 270)):
    """A dask array with uneven row chunks (one block per chunk)."""
    return da.from_array(A, chunks=(chunks,) + tuple(-1 for _ in A.shape[1:]))


def _close(expected, actual):
    assert_allclose_scaled(np.asarray(actual), np.asarray(expected), rtol=RTOL, atol=RTOL)


CASES = {
    "rw": (None, {}, {}),
    "relatif": (None, {"relative": True}, {}),
    "wm-multiclass": (None, {"method": "wm"}, {"n_classes": 3}),
    "dawid-skene-wm": (DawidSkene(), {"method": "wm"}, {}),
    "logistic-regression": ((MajorityVote(), LogisticRegression(C=0.5)), {}, {}),
    "soft-votes": (None, {}, {"soft": True}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_dask_fit_and_queries_equal_in_memory(case):
    model, params, data = CASES[case]
    X, L, Xv, yv = _problem(**data)
    params = {"l2": 1e-2, "tol": 1e-12, **params}
    mem = SourceAwareInfluence(model, **params).fit(X, L)
    lazy = SourceAwareInfluence(model, **params).fit(_lazy(X), _lazy(L))
    assert lazy.n_train_ == mem.n_train_ and lazy.n_samples_ == mem.n_samples_
    np.testing.assert_array_equal(lazy.train_index_.compute(), mem.train_index_)
    _close(mem.labels_, lazy.labels_.compute())
    _close(mem.end_model_.predict_proba(Xv), lazy.end_model_.predict_proba(Xv))
    expected, got = mem.influence(Xv, yv), lazy.influence(Xv, yv)
    # Small summaries in memory, per-row arrays lazy.
    assert isinstance(got.per_source, np.ndarray)
    assert isinstance(got.per_sample, da.Array) and isinstance(got.per_vote, da.Array)
    _close(expected.per_source, got.per_source)
    _close(expected.per_parameter, got.per_parameter)
    per_sample, ordinary, per_vote = dask.compute(got.per_sample, got.ordinary, got.per_vote)
    _close(expected.per_sample, per_sample)
    _close(expected.ordinary, ordinary)
    _close(expected.per_vote.toarray(), per_vote)
    coo, want = dask.compute(got.terms("coo"))[0], expected.terms("coo")
    # Terms are listed block by block (soft votes: source-major in each).
    order = [np.lexsort((t["class"], t["source"], t["sample"])) for t in (want, coo)]
    for key, value in want.items():
        _close(value[order[0]], coo[key][order[1]])
    _close(expected.terms("dense"), got.terms("dense").compute())
    assert got.n_train == expected.n_train and got.method == expected.method
    for score, args in [("leave_one_out", ()), ("leave_one_out", (Xv, yv)),
                        ("influence", (Xv, yv))]:
        want = mem.mislabel_scores(*args, score=score)
        have = lazy.mislabel_scores(*args, score=score).compute()
        np.testing.assert_array_equal(np.isnan(want), np.isnan(have))
        _close(np.nan_to_num(want), np.nan_to_num(have))


def test_dask_targets_and_mixed_inputs():
    X, L, Xv, yv = _problem()
    mem = SourceAwareInfluence(l2=1e-2, tol=1e-12).fit(X, L)
    # In-memory features beside a dask L are cut along its row chunks.
    lazy = SourceAwareInfluence(l2=1e-2, tol=1e-12).fit(X, _lazy(L))
    Xt, yt = da.from_array(Xv, chunks=(70, -1)), da.from_array(yv, chunks=70)
    for reduce in ("mean", "sum"):
        want = mem.influence(Xv, yv, reduce=reduce)
        _close(want.per_source, lazy.influence(Xt, yt, reduce=reduce).per_source)
        _close(want.per_source, lazy.influence(Xv, yv, reduce=reduce).per_source)
    each = lazy.influence(Xv[:2], yv[:2], reduce="none")
    for one, want in zip(each, mem.influence(Xv[:2], yv[:2], reduce="none")):
        _close(want.per_sample, one.per_sample.compute())
    scores = lazy.mislabel_scores(Xt, yt, score="influence").compute()
    _close(np.nan_to_num(mem.mislabel_scores(Xv, yv, score="influence")),
           np.nan_to_num(scores))
    # A dask DataFrame of votes names the sources (row counts read once).
    dd, pd = pytest.importorskip("dask.dataframe"), pytest.importorskip("pandas")
    frame = pd.DataFrame(L, columns=[f"lf{j}" for j in range(L.shape[1])])
    named = SourceAwareInfluence(l2=1e-2, tol=1e-12).fit(
        _lazy(X), dd.from_pandas(frame, npartitions=3))
    assert named.source_names_.tolist() == list(frame.columns)
    _close(mem.influence(Xv, yv).per_source, named.influence(Xv, yv).per_source)


@pytest.mark.parametrize("soft", [False, True])
def test_explain_merges_the_blocks_top_components(soft):
    X, L, Xv, yv = _problem(soft=soft)
    mem = SourceAwareInfluence(l2=1e-2, tol=1e-12).fit(X, L)
    lazy = SourceAwareInfluence(l2=1e-2, tol=1e-12).fit(_lazy(X), _lazy(L))
    for point in range(3):
        want = mem.explain(Xv[point], yv[point], top_k=7)
        got = lazy.explain(Xv[point], yv[point], top_k=7)
        for part in ("samples", "sources", "votes"):
            for key, value in want[part].items():
                if np.asarray(value).dtype.kind == "f":
                    _close(value, got[part][key])
                else:
                    np.testing.assert_array_equal(value, got[part][key])
        _close(want.proba, got.proba)


@pytest.mark.parametrize("gold", [True, False])
def test_l2_auto_chooses_as_in_memory(gold):
    # With a gold validation set, or by cross-validation on the training
    # labels (the folds of the in-memory choice, sliced over the blocks).
    X, L, Xv, yv = _problem()
    val = {"X_val": Xv, "y_val": yv} if gold else {}
    mem = SourceAwareInfluence(tol=1e-12).fit(X, L, **val)
    lazy = SourceAwareInfluence(tol=1e-12).fit(_lazy(X), _lazy(L), **val)
    assert lazy.l2_ == mem.l2_
    # Fits along the path stop at a gradient of 1e-6 on both sides.
    assert_allclose_scaled(lazy.l2_validation_loss_, mem.l2_validation_loss_, rtol=1e-5)
    _close(mem.influence(Xv, yv).per_source, lazy.influence(Xv, yv).per_source)


@pytest.mark.parametrize("where", ["dask blocks", "in memory beside a dask L"])
def test_sparse_blocks_stay_sparse(where):
    sparse = pytest.importorskip("scipy.sparse")
    X, L, Xv, yv = _problem()
    X = sparse.csr_matrix(np.where(X > 0.3, X, 0.0))  # a sparse feature matrix
    if where == "dask blocks":
        X_in = _lazy(X.toarray()).map_blocks(sparse.csr_matrix,
                                             meta=sparse.csr_matrix((0, 0)))
    else:  # cut along the row chunks of L, as a dense X would be
        X_in = X
    mem = SourceAwareInfluence(l2=1e-2, tol=1e-12).fit(X, L)
    lazy = SourceAwareInfluence(l2=1e-2, tol=1e-12).fit(X_in, _lazy(L))
    held = dask.compute(*lazy._backend.data.blocks)
    assert all(sparse.issparse(block.X) for block in held)
    want, got = mem.influence(Xv, yv), lazy.influence(Xv, yv)
    _close(want.per_source, got.per_source)
    _close(want.per_sample, got.per_sample.compute())
    _close(np.nan_to_num(mem.mislabel_scores(Xv, yv)),
           np.nan_to_num(lazy.mislabel_scores(Xv, yv).compute()))
    gold = sparse.csr_matrix(Xv)  # sparse gold rows join the refit as they are
    _close(np.nan_to_num(mem.mislabel_scores(gold, yv)),
           np.nan_to_num(lazy.mislabel_scores(gold, yv).compute()))
    # A dask target of sparse blocks is summed block by block.
    targets = _lazy(Xv, chunks=(100, 100)).map_blocks(
        sparse.csr_matrix, meta=sparse.csr_matrix((0, 0)))
    _close(want.per_source,
           lazy.influence(targets, da.from_array(yv, chunks=100)).per_source)


@pytest.mark.parametrize("row", [10, "uncovered"])
def test_non_finite_features_are_refused_by_name(row):
    X, L, _, _ = _problem()
    X = X.copy()
    if row == "uncovered":  # the in-memory fit checks every row, so do the blocks
        row = int(np.flatnonzero((L < 0).all(axis=1))[0]) if (L < 0).all(axis=1).any() else 0
        L = L.copy()
        L[row] = -1
    X[row, 0] = np.nan
    with pytest.raises(ValueError, match="contains NaN"):
        SourceAwareInfluence(l2=1e-2).fit(X, L)
    with pytest.raises(ValueError, match="Input X contains NaN"):
        SourceAwareInfluence(l2=1e-2).fit(_lazy(X), _lazy(L))


def test_gold_rows_refit_even_without_polish():
    # polish=False keeps the given end model's parameters, but gold rows
    # move the optimum: they are refitted with, in memory and on dask alike.
    X, L, Xv, yv = _problem()
    end = (MajorityVote(), LogisticRegression(C=0.5).fit(X, MajorityVote().fit(L).predict(L)))
    params = dict(l2=1e-2, tol=1e-12, polish=False)
    mem = SourceAwareInfluence(end, **params).fit(X, L)
    lazy = SourceAwareInfluence(end, **params).fit(_lazy(X), _lazy(L))
    _close(np.nan_to_num(mem.mislabel_scores(Xv, yv)),
           np.nan_to_num(lazy.mislabel_scores(Xv, yv).compute()))


def test_in_memory_targets_beside_dask_ones_are_refused_by_name():
    X, L, Xv, yv = _problem()
    lazy = SourceAwareInfluence(l2=1e-2).fit(_lazy(X), _lazy(L))
    with pytest.raises(TypeError, match="X is in memory but y is a dask array"):
        lazy.influence(Xv, da.from_array(yv, chunks=100))


def test_uncovered_block_and_stationarity():
    X, L, Xv, yv = _problem()
    L = L.copy()
    L[:180] = -1  # the first block has no training row
    mem = SourceAwareInfluence(l2=1e-2, tol=1e-12).fit(X, L)
    lazy = SourceAwareInfluence(l2=1e-2, tol=1e-12).fit(_lazy(X), _lazy(L))
    assert lazy.stationarity_["grad_inf"] <= 1e-12
    assert lazy.stationarity_["n_passes"] == lazy.stationarity_["n_newton"] + 1
    got = lazy.influence(Xv, yv)
    assert not got.per_sample[:180].compute().any()
    _close(mem.influence(Xv, yv).per_sample, got.per_sample.compute())
    # Picklable (local schedulers: the blocks travel with it).
    again = pickle.loads(pickle.dumps(lazy)).influence(Xv, yv)
    _close(got.per_sample.compute(), again.per_sample.compute())


def test_source_repair_refits_on_reduced_statistics():
    X, L, y = make_weak_supervision(1300, 8, n_features=5, n_adversarial=2,
                                    random_state=0)
    params = {"l2": 1e-2, "tol": 1e-12}
    mem = SourceAwareInfluence(**params).fit(X[:900], L[:900])
    lazy = SourceAwareInfluence(**params).fit(_lazy(X[:900], (300, 300, 300)),
                                              _lazy(L[:900], (300, 300, 300)))
    want = mem.drop_harmful(X[900:], y[900:], unit="source")
    got = lazy.drop_harmful(X[900:], y[900:], unit="source")
    # The two planted adversarial sources are found and removed, as in memory.
    assert got.n_removed == want.n_removed == 2 and got.supported
    np.testing.assert_array_equal(np.sort(got.removed), np.sort(want.removed))
    _close(want.validation_loss, got.validation_loss)
    _close(want.expected_change, got.expected_change)
    _close(want.labels, got.labels.compute())
    _close(want.estimator.predict_proba(X[900:]), got.estimator.predict_proba(X[900:]))


def test_newton_steps_on_a_row_sample_of_the_hessian(monkeypatch):
    from skweak_e2e.inspection import _dask_blocks

    # Sample Hessians of about 100 rows (two of the seven blocks) for the
    # steps; the exact Hessian at the solution.
    monkeypatch.setattr(_dask_blocks, "HESSIAN_SAMPLE_ROWS", 100)
    monkeypatch.setattr(_dask_blocks, "HESSIAN_ROWS_PER_PARAM", 1)
    X, L, Xv, yv = _problem(n_classes=3)
    chunks = (100,) * 7
    mem = SourceAwareInfluence(l2=1e-2, tol=1e-12).fit(X, L)
    lazy = SourceAwareInfluence(l2=1e-2, tol=1e-12).fit(_lazy(X, chunks), _lazy(L, chunks))
    data = lazy._backend.data
    weights = np.array(data.hessian_weights(15))
    # One block of the seven, weighted up to stand for every training row.
    assert (weights > 0).sum() == 1
    assert weights @ np.array(data.counts) == pytest.approx(data.n_train, rel=1e-12)
    info = lazy.stationarity_
    assert info["grad_inf"] <= 1e-12
    # One pass per step, and one for the exact Hessian unless a slow step
    # had switched to it already.
    assert info["n_newton"] + 1 <= info["n_passes"] <= info["n_newton"] + 2
    want, got = mem.influence(Xv, yv), lazy.influence(Xv, yv)
    _close(want.per_source, got.per_source)
    _close(want.per_sample, got.per_sample.compute())


def _refused(call, *words):
    with pytest.raises((TypeError, ValueError)) as info:
        call()
    for word in words:
        assert word in str(info.value), str(info.value)


def test_what_cannot_run_on_reduced_statistics_is_refused_with_the_way_out():
    X, L, Xv, yv = _problem()
    Xd, Ld = _lazy(X), _lazy(L)
    _refused(lambda: SourceAwareInfluence().fit(Xd, Ld, X_val=da.from_array(Xv),
                                                 y_val=yv), "l2='auto'", "X_val.compute()")
    pipe = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, np.arange(700) % 2)
    _refused(lambda: SourceAwareInfluence((MajorityVote(), pipe)).fit(Xd, Ld),
             "closed form", "X[idx].compute()")
    _refused(lambda: SourceAwareInfluence(LabelModelClassifier()).fit(Xd, Ld),
             "LabelModelClassifier", "fit it first")
    _refused(lambda: SourceAwareInfluence(DawidSkene(), l2=1e-2).fit(Xd, Ld),
             "LinearizedApprox", "method='wm'")
    _refused(lambda: SourceAwareInfluence(l2=1e-2).fit(da.from_array(
        np.zeros((700, 4100)), chunks=(350, -1)), Ld), "4096", "X[idx].compute()")
    lazy = SourceAwareInfluence(l2=1e-2).fit(Xd, Ld)
    _refused(lambda: lazy.drop_harmful(Xv, yv), "unit='source'", "in-memory sample")
    _refused(lambda: lazy.drop_harmful(da.from_array(Xv), yv, unit="source"),
             "folds", "X.compute()")
    Xt, yt = da.from_array(Xv, chunks=100), da.from_array(yv, chunks=100)
    _refused(lambda: lazy.mislabel_scores(Xt, yt), "gold rows", "X.compute()")
    _refused(lambda: lazy.influence(Xt, yt, reduce="none"), "X.compute()", "'mean'")


def test_an_in_memory_inspector_refuses_dask_targets():
    X, L, Xv, yv = _problem()
    mem = SourceAwareInfluence(l2=1e-2).fit(X, L)
    Xt, yt = da.from_array(Xv, chunks=100), da.from_array(yv, chunks=100)
    for call, name in [
        (lambda: mem.influence(Xt, yt), "influence"),
        (lambda: mem.mislabel_scores(Xt, yt, score="influence"), "mislabel_scores"),
        (lambda: mem.mislabel_scores(Xt, yt), "mislabel_scores"),
        (lambda: mem.drop_harmful(Xt, yt), "drop_harmful"),
        (lambda: mem.explain(Xt[0], 0), "explain"),
    ]:
        _refused(call, f"SourceAwareInfluence.{name} would gather", "compute()")


def test_local_cluster_of_processes():
    distributed = pytest.importorskip("distributed")
    X, L, Xv, yv = _problem()
    mem = SourceAwareInfluence(l2=1e-2, tol=1e-12).fit(X, L)
    with distributed.LocalCluster(
        processes=True, n_workers=1, threads_per_worker=1, dashboard_address=":0"
    ) as cluster, distributed.Client(cluster):
        with dask.config.set(scheduler=None):
            lazy = SourceAwareInfluence(l2=1e-2, tol=1e-12).fit(_lazy(X), _lazy(L))
            got = lazy.influence(Xv, yv)
            per_sample = got.per_sample.compute()
    want = mem.influence(Xv, yv)
    _close(want.per_source, got.per_source)
    _close(want.per_sample, per_sample)


def test_float32_blocks_stay_float32_and_answer_as_float64():
    # A float64 copy of every block, held for the inspector's lifetime,
    # would triple the workers' memory of a float32 X; every product with
    # the float64 parameters is float64 anyway, so the answers are those of
    # the same values in float64.
    X, L, Xv, yv = _problem()
    X32 = X.astype(np.float32)
    lazy = SourceAwareInfluence(l2=1e-2, tol=1e-12).fit(_lazy(X32), _lazy(L))
    held = dask.compute(*lazy._backend.data.blocks)
    assert {block.X.dtype for block in held} == {np.dtype(np.float32)}
    mem = SourceAwareInfluence(l2=1e-2, tol=1e-12).fit(X32.astype(np.float64), L)
    want, got = mem.influence(Xv, yv), lazy.influence(Xv, yv)
    _close(want.per_source, got.per_source)
    _close(want.per_sample, got.per_sample.compute())
    _close(np.nan_to_num(mem.mislabel_scores()),
           np.nan_to_num(lazy.mislabel_scores().compute()))
