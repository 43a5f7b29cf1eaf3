"""WeaSELClassifier on dask arrays: streamed fits and lazy outputs.

A fit on a single row block is the in-memory fit bit for bit (the same
permutation, the same batches); on several blocks the batches mix the rows
of one block at a time, and the accuracy stays within half a point.
"""

import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from skweak_e2e import WeaSELClassifier

torch = pytest.importorskip("torch")
pytest.importorskip("skorch")
dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")

from skweak_e2e.end_to_end._streaming import BlockStream  # noqa: E402

from .._tolerance import assert_allclose_scaled  # noqa: E402
from ._weasel_common import FAST, _data, _quiet_fit, _split  # noqa: E402


@pytest.fixture(autouse=True)
def _synchronous():
    # Every test but the cluster one runs on the synchronous scheduler; the
    # session's LocalCluster (tests/conftest.py) is not used unless asked for.
    with dask.config.set(scheduler="sync"):
        yield


def _blocks(array, rows):
    return da.from_array(array, chunks=(rows,) + (-1,) * (array.ndim - 1))


def _same_numbers(a, b):
    """Two computations of the same fit: equal here, and within a hundred
    float32 ulps wherever a BLAS orders its sums differently (a copied block
    need not be aligned as the original array is)."""
    assert_allclose_scaled(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)


def _same_fit(a, b):
    for name in ("classes_", "coverage_", "n_train_used_", "batch_size_", "best_epoch_",
                 "n_features_in_", "n_sources_", "silent_sources_"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    _same_numbers(a.history_[:, "train_loss"], b.history_[:, "train_loss"])


# ----------------------------------------------------------------------------
# One block: the in-memory fit, bit for bit
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_one_block_is_the_in_memory_fit(dtype):
    X, L, X_val, y_val = _split(n=400, accuracy=0.7, class_sep=1.5, coverage=0.4)
    # validation_weight=0: on dask input the gold rows select but never join.
    params = dict(FAST, dtype=dtype, max_epochs=4, validation_weight=0)
    memory = _quiet_fit(WeaSELClassifier(**params), X, L, X_val=X_val, y_val=y_val)
    streamed = _quiet_fit(
        WeaSELClassifier(**params), _blocks(X, len(X)), _blocks(L, len(L)),
        X_val=X_val, y_val=y_val,
    )
    assert memory.coverage_ < 1  # uncovered rows were dropped, by the block too
    _same_fit(memory, streamed)
    _same_numbers(memory.predict_proba(X_val), streamed.predict_proba(X_val))
    # The pickle holds the network, not the stream or its blocks.
    restored = pickle.loads(pickle.dumps(streamed))
    assert len(pickle.dumps(streamed)) < 1.05 * len(pickle.dumps(memory))
    _same_numbers(restored.predict_proba(X_val), memory.predict_proba(X_val))


def test_one_block_soft_votes_and_string_labels_are_the_in_memory_fit():
    X, L, _ = _data(n=200, n_classes=3, m=4)
    soft = np.eye(3)[L] * (L >= 0)[..., None]
    memory = _quiet_fit(WeaSELClassifier(**FAST), X, soft)
    streamed = _quiet_fit(WeaSELClassifier(**FAST), _blocks(X, 200), _blocks(soft, 200))
    _same_fit(memory, streamed)
    _same_numbers(memory.predict_proba(X), streamed.predict_proba(X))
    names = np.array(["?", "a", "b", "c"], dtype=object)[L + 1]
    memory = _quiet_fit(WeaSELClassifier(abstain="?", **FAST), X, names)
    streamed = _quiet_fit(WeaSELClassifier(abstain="?", **FAST), _blocks(X, 200), names)
    assert streamed.classes_.tolist() == ["a", "b", "c"]
    _same_numbers(memory.predict_proba(X), streamed.predict_proba(X))


@pytest.mark.parametrize("blocks", ["csr meta", "ndarray meta", "coo blocks"])
def test_one_sparse_block_is_the_in_memory_sparse_fit(blocks):
    # Whether X is sparse is read from the blocks, not from the dask meta
    # (which says ndarray for map_blocks or from_delayed unless told).
    X, L, _ = _data(n=200)
    X = np.maximum(X, 0)
    params = dict(random_state=0, max_epochs=4)
    memory = _quiet_fit(WeaSELClassifier(**params), sp.csr_matrix(X), L)
    make, meta = {"csr meta": (sp.csr_matrix, sp.csr_matrix((0, 0))),
                  "ndarray meta": (sp.csr_matrix, None),
                  "coo blocks": (sp.coo_matrix, None)}[blocks]
    X_blocks = _blocks(X, 200).map_blocks(make, **({"meta": meta} if meta is not None else {}))
    streamed = _quiet_fit(WeaSELClassifier(**params), X_blocks, L)
    assert streamed.hidden_layer_sizes_ == (16,)  # the sparse "auto" options
    assert streamed.warmup_epochs_ == 3 and streamed.encoder_init_ == "majority_vote"
    _same_fit(memory, streamed)
    _same_numbers(
        memory.predict_proba(sp.csr_matrix(X)), streamed.predict_proba(sp.csr_matrix(X))
    )


# ----------------------------------------------------------------------------
# Several blocks
# ----------------------------------------------------------------------------
def test_several_blocks_reach_the_in_memory_accuracy():
    X, L, y = _data(n=6000, m=8, accuracy=0.7, class_sep=1.5, n_features=10)
    params = dict(max_epochs=10, random_state=0, hidden_layer_sizes=(16,),
                  encoder_hidden=(16,))
    memory = _quiet_fit(WeaSELClassifier(**params), X[:4000], L[:4000])
    streamed = _quiet_fit(WeaSELClassifier(**params), _blocks(X[:4000], 400), L[:4000])
    _same = ("coverage_", "n_train_used_", "batch_size_", "silent_sources_")
    for name in _same:
        assert np.array_equal(getattr(memory, name), getattr(streamed, name))
    accuracy = memory.score(X[4000:], y[4000:])
    assert accuracy > 0.85  # a trained model, not a coin
    assert abs(streamed.score(X[4000:], y[4000:]) - accuracy) <= 0.005


def test_empty_blocks_and_in_memory_inputs_of_any_kind_beside_a_dask_one():
    # Filtering a dask array leaves empty blocks; an in-memory X (a list, a
    # COO matrix) beside a dask L is cut along L's row chunks.
    X, L, y = _data(n=600, m=6, accuracy=0.8, class_sep=1.5, n_features=5)
    params = dict(max_epochs=3, random_state=0, hidden_layer_sizes=(8,),
                  encoder_hidden=(8,))
    chunks = ((200, 0, 400), (X.shape[1],))
    holed = _quiet_fit(WeaSELClassifier(**params), da.from_array(X, chunks=chunks),
                       da.from_array(L, chunks=((200, 0, 400), (L.shape[1],))))
    whole = _quiet_fit(WeaSELClassifier(**params), _blocks(X, 200), _blocks(L, 200))
    for name in ("coverage_", "n_train_used_", "batch_size_", "silent_sources_"):
        assert np.array_equal(getattr(holed, name), getattr(whole, name)), name
    proba = holed.predict_proba(da.from_array(X, chunks=chunks))
    _same_numbers(proba.compute(), holed.predict_proba(X))
    # Another block order, the same training rows: as accurate within noise.
    assert abs(holed.score(X, y) - whole.score(X, y)) <= 0.05
    L_blocks = _blocks(L, 200)
    for given, usual in ((X.tolist(), X), (sp.coo_matrix(X), sp.csr_matrix(X))):
        want = _quiet_fit(WeaSELClassifier(**params), usual, L_blocks)
        got = _quiet_fit(WeaSELClassifier(**params), given, L_blocks)
        _same_numbers(want.predict_proba(X), got.predict_proba(X))


def test_empty_blocks_of_soft_votes():
    # An empty block of soft (n, m, C) votes: the same statistics as without it.
    X, L, _ = _data(n=400, m=5, accuracy=0.8, class_sep=1.5, n_features=5)
    soft = np.zeros(L.shape + (2,), dtype=np.float32)
    rows, cols = np.nonzero(L >= 0)
    soft[rows, cols, L[rows, cols]] = 0.9
    params = dict(max_epochs=2, random_state=0, hidden_layer_sizes=(8,),
                  encoder_hidden=(8,))
    holed = _quiet_fit(
        WeaSELClassifier(**params),
        da.from_array(X, chunks=((150, 0, 250), (X.shape[1],))),
        da.from_array(soft, chunks=((150, 0, 250), (5,), (2,))),
    )
    whole = _quiet_fit(
        WeaSELClassifier(**params),
        da.from_array(X, chunks=((150, 250), (X.shape[1],))),
        da.from_array(soft, chunks=((150, 250), (5,), (2,))),
    )
    for name in ("coverage_", "n_train_used_", "n_sources_", "silent_sources_"):
        assert np.array_equal(getattr(holed, name), getattr(whole, name)), name


def test_block_order_follows_random_state():
    X, L, _ = _data(n=300)
    X_blocks = _blocks(X, 50)
    first = _quiet_fit(WeaSELClassifier(**FAST), X_blocks, L).predict_proba(X)
    again = _quiet_fit(WeaSELClassifier(**FAST), X_blocks, L).predict_proba(X)
    other = _quiet_fit(WeaSELClassifier(**dict(FAST, random_state=1)), X_blocks, L)
    assert np.array_equal(first, again)
    assert not np.allclose(first, other.predict_proba(X))


def _index_stream(n_rows, block_rows, batch_size, seed=0, sparse=False):
    """A BlockStream whose feature is the row's index, and its iterator."""
    X = np.arange(n_rows, dtype=np.float64).reshape(-1, 1)
    L = np.zeros((n_rows, 1), dtype=np.int64)
    X_blocks = _blocks(X, block_rows)
    if sparse:  # the index plus one: a zero would not be stored
        X_blocks = (X_blocks + 1).map_blocks(sp.csr_matrix, meta=sp.csr_matrix((0, 0)))
    X_parts = X_blocks.to_delayed().ravel().tolist()
    L_parts = _blocks(L, block_rows).to_delayed().ravel().tolist()
    stream = BlockStream(
        X_parts, L_parts, (np.arange(2), 2, -1, True, "float64"), n_rows=n_rows,
        n_features=1, n_sources=1, probe=(X[:2], L[:2]), seed=seed,
    ).bind(torch.float64, torch.device("cpu"), sparse=False)  # dense batches
    return stream, stream.iterator(stream, batch_size=batch_size, shuffle=True)


@pytest.mark.parametrize("sparse", [False, True])
def test_every_epoch_visits_every_row_once_in_a_new_order(sparse):
    stream, batches = _index_stream(1000, 130, 64, sparse=sparse)
    torch.manual_seed(0)
    epochs = []
    try:
        for _ in range(3):
            rows = [batch[0]["X"][:, 0].long().numpy() - sparse for batch in batches]
            sizes = [len(r) for r in rows]
            # Full batches across block boundaries; the last takes the rest.
            assert sizes[:-1] == [64] * (len(sizes) - 1) and sizes[-1] == 1000 - 64 * 15
            epochs.append(np.concatenate(rows))
    finally:
        stream.close()
    for order in epochs:
        assert np.array_equal(np.sort(order), np.arange(1000))
    # The first batch comes from one block (130 rows) and differs per epoch.
    firsts = [order[:64] // 130 for order in epochs]
    assert all(np.unique(block).size == 1 for block in firsts)
    assert not all(np.array_equal(epochs[0], order) for order in epochs[1:])


def test_a_single_trailing_row_is_merged_and_blocks_load_one_ahead():
    stream, batches = _index_stream(129, 40, 8)
    loads = []
    load = stream._load
    stream._load = lambda index: loads.append(index) or load(index)
    torch.manual_seed(0)
    try:
        sizes, seen = [], set()
        for batch in batches:
            sizes.append(len(batch[0]["L"]))
            seen.update((batch[0]["X"][:, 0].long().numpy() // 40).tolist())
            # Loaded so far: the blocks trained from, one whose rows may all
            # wait in the carry-over (less than two batches), the next one.
            assert len(loads) <= len(seen) + 2
    finally:
        stream.close()
    assert sizes == [8] * 15 + [9]  # 129 = 15 * 8 + 9: no batch of one row
    assert sorted(loads[:4]) == [0, 1, 2, 3]


# ----------------------------------------------------------------------------
# Whole-data checks are reductions over the blocks
# ----------------------------------------------------------------------------
def test_classes_and_silent_sources_come_from_every_block():
    X, L, _ = _data(n=300, m=4)
    L = L.copy()
    L[:, 3] = -1
    L[290, 0] = 2  # a third class, in the last block only
    with pytest.warns(UserWarning, match=r"source\(s\) \[3\] never vote"):
        clf = WeaSELClassifier(**FAST).fit(_blocks(X, 100), _blocks(L, 100))
    assert clf.classes_.tolist() == [0, 1, 2] and clf.silent_sources_.tolist() == [3]


def test_bad_values_in_a_late_block_are_refused_before_training():
    X, L, _ = _data(n=300)
    X = X.copy()
    X[250, 1] = np.inf
    with pytest.raises(ValueError, match="Input X contains infinity"):
        WeaSELClassifier(**FAST).fit(_blocks(X, 100), L)
    X[250, 1] = 1e39
    with pytest.raises(ValueError, match="float32"):
        WeaSELClassifier(**dict(FAST, dtype="float32")).fit(_blocks(X, 100), L)


# ----------------------------------------------------------------------------
# Lazy outputs: every method
# ----------------------------------------------------------------------------
def test_every_method_is_lazy_on_dask_input_and_equals_the_in_memory_one():
    X, L, y = _data(n=300, n_classes=3, m=4)
    clf = _quiet_fit(WeaSELClassifier(**FAST), X, L)
    X_blocks, L_blocks = _blocks(X, 70), _blocks(L, 70)
    outputs = {
        "predict_proba": (clf.predict_proba(X_blocks), clf.predict_proba(X)),
        "predict": (clf.predict(X_blocks), clf.predict(X)),
        "predict_proba_encoder": (
            clf.predict_proba_encoder(X_blocks, L), clf.predict_proba_encoder(X, L)
        ),
        "accuracy_scores": (
            clf.accuracy_scores(X, L_blocks), clf.accuracy_scores(X, L)
        ),
    }
    for name, (lazy, memory) in outputs.items():
        assert isinstance(lazy, da.Array), name
        assert lazy.chunks[0] == (70, 70, 70, 70, 20), name
        assert lazy.dtype == memory.dtype and lazy.shape == memory.shape, name
        # Blocks of 70 rows against one pass over 300: other BLAS shapes.
        assert_allclose_scaled(lazy.compute(), memory, rtol=1e-9, atol=1e-9)
    weight = np.linspace(0.5, 2, 300)
    for target in (y, L):
        expected = clf.score(X, target, sample_weight=weight)
        got = clf.score(X_blocks, _blocks(target, 50), sample_weight=_blocks(weight, 50))
        assert got == pytest.approx(expected, rel=1e-9)


def test_the_fitted_model_enters_the_graph_once():
    X, L, _ = _data(n=300)
    clf = _quiet_fit(WeaSELClassifier(**FAST), X, L)
    graph = dict(clf.predict_proba(_blocks(X, 30)).__dask_graph__())
    shipped = [key for key in graph if str(key).startswith("WeaSELClassifier-")]
    assert len(shipped) == 1


# ----------------------------------------------------------------------------
# Schedulers
# ----------------------------------------------------------------------------
def test_threads_scheduler_gives_the_synchronous_fit():
    X, L, _ = _data(n=300)
    with dask.config.set(scheduler="sync"):
        sync = _quiet_fit(WeaSELClassifier(**FAST), _blocks(X, 60), L)
    with dask.config.set(scheduler="threads"):
        threads = _quiet_fit(WeaSELClassifier(**FAST), _blocks(X, 60), L)
        proba = threads.predict_proba(_blocks(X, 60)).compute()
    _same_numbers(proba, sync.predict_proba(X))


def test_fit_and_predict_on_a_cluster_of_processes():
    """One worker process: tasks and the shipped model are pickled, as on a
    real cluster. Most of the time is the worker importing torch to unpickle
    the model (the fit's blocks need no torch on the workers)."""
    distributed = pytest.importorskip("distributed")
    X, L, _ = _data(n=300)
    local = _quiet_fit(WeaSELClassifier(**FAST), _blocks(X, 60), L)
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=True,
        dashboard_address=":0", worker_dashboard_address=":0",
    ) as cluster, distributed.Client(cluster, set_as_default=False) as client:
        with dask.config.set(scheduler=client):
            remote, proba, accuracy = _fit_remotely(X, L)
    # The same fit; another process's products may differ in the last bits.
    _same_numbers(remote.predict_proba(X), local.predict_proba(X))
    _same_numbers(proba, local.predict_proba(X))
    assert accuracy == pytest.approx(local.score(X, L), rel=1e-5)


def _fit_remotely(X, L):
    remote = _quiet_fit(WeaSELClassifier(**FAST), _blocks(X, 60), _blocks(L, 60))
    proba = remote.predict_proba(_blocks(X, 60)).compute()
    return remote, proba, remote.score(_blocks(X, 60), L)


@pytest.mark.gpu
def test_streamed_fit_on_cuda():
    X, L, _ = _data(n=300)
    params = dict(FAST, device="cuda")
    streamed = _quiet_fit(WeaSELClassifier(**params), _blocks(X, 300), L)
    memory = _quiet_fit(WeaSELClassifier(**params), X, L)
    assert streamed.device_.startswith("cuda")
    assert next(streamed.net_.module_.parameters()).is_cuda
    np.testing.assert_allclose(
        streamed.predict_proba(X), memory.predict_proba(X), rtol=1e-6, atol=1e-9
    )
    lazy = streamed.predict_proba(_blocks(X, 100)).compute()
    assert_allclose_scaled(lazy, streamed.predict_proba(X), rtol=1e-9, atol=1e-9)


# ----------------------------------------------------------------------------
# What is refused, and the way out
# ----------------------------------------------------------------------------
def test_inputs_that_would_be_gathered_are_refused_with_the_way_out():
    X, L, X_val, y_val = _split(n=300)
    clf = WeaSELClassifier(**FAST)
    with pytest.raises(TypeError, match=r"X_val.*X_val\.compute\(\)"):
        clf.fit(_blocks(X, 50), L, X_val=_blocks(X_val, 50), y_val=y_val)
    dd = pytest.importorskip("dask.dataframe")
    frame = dd.from_array(X, chunksize=50)
    # A dask DataFrame X is taken as its array (partition lengths read once).
    from_frame = _quiet_fit(WeaSELClassifier(**FAST), frame, L)
    from_array = _quiet_fit(WeaSELClassifier(**FAST), frame.to_dask_array(lengths=True), L)
    _same_numbers(from_frame.predict_proba(X), from_array.predict_proba(X))
    unknown = frame.to_dask_array()
    with pytest.raises(ValueError, match=r"compute_chunk_sizes\(\)"):
        clf.fit(unknown, L)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        clf.fit(_blocks(X, 50), L[:-1])


def test_votes_as_a_dask_dataframe():
    # What LFApplier writes with set_output(transform="pandas"): the same
    # fit as the dask array of the same row blocks.
    dd = pytest.importorskip("dask.dataframe")
    pd = pytest.importorskip("pandas")
    X, L, _ = _data(n=300)
    frame = dd.from_pandas(pd.DataFrame(L, columns=[f"lf{j}" for j in range(L.shape[1])]),
                           npartitions=3)
    rows = tuple(int(n) for n in frame.map_partitions(len).compute())
    X_blocks = da.from_array(X, chunks=(rows, -1))
    want = _quiet_fit(WeaSELClassifier(**FAST), X_blocks, da.from_array(L, chunks=(rows, -1)))
    got = _quiet_fit(WeaSELClassifier(**FAST), X_blocks, frame)
    _same_fit(want, got)
    _same_numbers(want.predict_proba(X), got.predict_proba(X))
    # Every method that reads votes takes the frame too (fit alone did).
    L_blocks = da.from_array(L, chunks=(rows, -1))
    _same_numbers(got.predict_proba_encoder(X_blocks, frame).compute(),
                  got.predict_proba_encoder(X_blocks, L_blocks).compute())
    _same_numbers(got.accuracy_scores(X_blocks, frame).compute(),
                  got.accuracy_scores(X_blocks, L_blocks).compute())
    y = got.predict(X)
    series = dd.from_pandas(pd.Series(y), npartitions=3)
    assert got.score(X_blocks, series) == pytest.approx(got.score(X, y), abs=1e-12)


def test_predictions_need_no_chunk_sizes():
    # Blockwise predictions align with nothing: a dask DataFrame's array of
    # unknown row chunks is predicted lazily; a fit or a score needs them.
    dd = pytest.importorskip("dask.dataframe")
    X, L, y = _data(n=120)
    clf = _quiet_fit(WeaSELClassifier(**FAST), X, L)
    unknown = dd.from_array(X, chunksize=50).to_dask_array()
    assert np.isnan(unknown.chunks[0]).all()
    proba = clf.predict_proba(unknown)
    assert isinstance(proba, da.Array)
    _same_numbers(proba.compute(), clf.predict_proba(X))
    np.testing.assert_array_equal(clf.predict(unknown).compute(), clf.predict(X))
    with pytest.raises(ValueError, match=r"compute_chunk_sizes\(\)"):
        clf.score(unknown, _blocks(y, 50))


def test_lazy_outputs_check_the_widths_on_the_driver():
    X, L, _ = _data(n=120)
    clf = _quiet_fit(WeaSELClassifier(**FAST), X, L)
    with pytest.raises(ValueError, match="fitted on 6 features"):
        clf.predict_proba(_blocks(X[:, :4], 40))
    with pytest.raises(ValueError, match="fitted with 5 sources"):
        clf.accuracy_scores(_blocks(X, 40), L[:, :3])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no feature-name warning from the blocks
        clf.predict(_blocks(X, 40)).compute()


def test_gold_rows_that_cannot_join_on_dask_input_say_so():
    X, L, X_val, y_val = _split(n=300, accuracy=0.7, class_sep=1.5)
    with pytest.warns(UserWarning, match="did not join training.*validation_weight=0"):
        clf = WeaSELClassifier(**dict(FAST, max_epochs=2, validation_weight=1.0))
        clf.fit(_blocks(X, 100), _blocks(L, 100), X_val=X_val, y_val=y_val)
    assert clf.validation_weight_ == 0.0
    # 0, and "auto" (which means 0 on dask input), ask for exactly this.
    for weight in (0, "auto"):
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)
            clf = WeaSELClassifier(**dict(FAST, max_epochs=2, validation_weight=weight))
            clf.fit(_blocks(X, 100), _blocks(L, 100), X_val=X_val, y_val=y_val)
        assert clf.validation_weight_ == 0.0
