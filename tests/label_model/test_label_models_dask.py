"""Label models on dask arrays, on a 2-worker LocalCluster of processes.

The fit reduces statistics over the row blocks without gathering ``L``,
and must equal the in-memory fit (the differences are summation-order
rounding); outputs stay lazy, with the row chunks of ``L``.
"""

import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

from skweak_e2e import DawidSkene, LinearizedApprox, MajorityVote, Snorkel
from skweak_e2e.datasets import make_weak_supervision

from .._tolerance import assert_allclose_scaled

da = pytest.importorskip("dask.array")
dd = pytest.importorskip("dask.dataframe")
pd = pytest.importorskip("pandas")

pytestmark = pytest.mark.usefixtures("dask_client")

# "equal to the in-memory fit within 1e-10", in units of the compared values.
TOL = 1e-10


def _close(actual, desired, what=""):
    assert_allclose_scaled(actual, desired, rtol=TOL, atol=TOL, err_msg=what)


def _fit_both(model, L, chunks, sample_weight=None, dask_weight=False):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        local = clone(model).fit(L, sample_weight=sample_weight)
        weight = sample_weight
        if dask_weight and weight is not None:
            weight = da.from_array(weight, chunks=chunks)
        remote = clone(model).fit(da.from_array(L, chunks=(chunks,) + L.shape[1:]),
                                  sample_weight=weight)
    return local, remote


def _assert_same_fit(local, remote):
    for name in ("W_", "class_prior_", "coverage_", "silent_sources_", "classes_",
                 "n_features_in_", "n_classes_"):
        _close(np.asarray(getattr(remote, name), float),
               np.asarray(getattr(local, name), float), name)
    for name in ("confusion_", "mu_", "mu_eps_", "source_accuracy_", "log_likelihood_"):
        if hasattr(local, name):
            _close(np.asarray(getattr(remote, name), float),
                   np.asarray(getattr(local, name), float), name)
    if hasattr(local, "n_iter_"):
        # Sums in another order may cross the tolerance one iteration apart.
        assert abs(remote.n_iter_ - local.n_iter_) <= 1


@pytest.fixture(scope="module")
def few_patterns():
    # 5 sources: at most 3**5 = 243 patterns in 9000 rows (compressed EM).
    _, L, _ = make_weak_supervision(9000, 5, 2, n_features=0, coverage=0.6,
                                    random_state=0)
    return L


@pytest.fixture(scope="module")
def many_patterns():
    # 40 sources with high coverage: nearly every row is its own pattern.
    _, L, _ = make_weak_supervision(9000, 40, 3, n_features=0, coverage=0.9,
                                    random_state=1)
    return L


MODELS = [
    MajorityVote(),
    DawidSkene(),
    DawidSkene(model_abstain=False, alpha=0.5),
    Snorkel(random_state=0),
    Snorkel(class_prior="estimate", random_state=0),
]


@pytest.mark.parametrize("model", MODELS, ids=repr)
@pytest.mark.parametrize("data", ["few_patterns", "many_patterns"])
def test_fit_on_dask_equals_in_memory_fit(model, data, request):
    L = request.getfixturevalue(data)
    local, remote = _fit_both(model, L, chunks=2000)
    _assert_same_fit(local, remote)


@pytest.mark.parametrize("model", MODELS[:4], ids=repr)
@pytest.mark.parametrize("dask_weight", [False, True])
def test_weighted_fit_on_dask_equals_in_memory_fit(model, dask_weight, few_patterns):
    weight = np.random.RandomState(0).uniform(0.0, 3.0, len(few_patterns))
    local, remote = _fit_both(model, few_patterns, 2500, weight, dask_weight)
    _assert_same_fit(local, remote)


@pytest.mark.parametrize("weighted", [False, True])
def test_snorkel_rules_start_and_penalty_on_dask(weighted):
    # One-class rules beside sources that vote for both classes: the
    # majority vote's sums (init="auto") and the rules' penalty (l2="auto")
    # come from the blocks and give the in-memory fit.
    _, L, y = make_weak_supervision(9000, 4, 2, n_features=0, coverage=0.5,
                                    random_state=2)
    rng = np.random.RandomState(3)
    fires = rng.rand(9000, 6) < 0.15
    owner = np.array([0, 0, 0, 1, 1, 1])
    right = rng.rand(9000, 6) < 0.85
    rules = np.where(fires & ((y[:, None] == owner) == right), owner, -1)
    L = np.c_[L, rules]
    weight = rng.uniform(0.5, 2.0, 9000) if weighted else None
    local, remote = _fit_both(Snorkel(random_state=0), L, 2000, weight)
    _assert_same_fit(local, remote)
    # The rules really took the majority-vote start: snorkel's start differs.
    other = Snorkel(init="precision", random_state=0).fit(L, sample_weight=weight)
    assert np.abs(other.mu_ - local.mu_).max() > 1e-3


def test_soft_votes_on_dask(few_patterns):
    soft = np.zeros(few_patterns.shape + (2,))
    rows, cols = np.nonzero(few_patterns >= 0)
    soft[rows, cols, few_patterns[rows, cols]] = 0.8
    # Soft votes never compress: every EM iteration is a map-reduce.
    for model in (MajorityVote(), DawidSkene(max_iter=15), Snorkel(random_state=0)):
        local, remote = _fit_both(model, soft, chunks=3000)
        _assert_same_fit(local, remote)


def test_soft_votes_with_an_empty_block_on_dask(few_patterns):
    # Filtering leaves empty blocks; soft (n, m, C) ones failed to reshape.
    soft = np.zeros(few_patterns.shape + (2,))
    rows, cols = np.nonzero(few_patterns >= 0)
    soft[rows, cols, few_patterns[rows, cols]] = 0.8
    blocks = ((3000, 0, len(soft) - 3000), (soft.shape[1],), (2,))
    for model in (MajorityVote(), DawidSkene(max_iter=15), Snorkel(random_state=0)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            remote = clone(model).fit(da.from_array(soft, chunks=blocks))
            local = clone(model).fit(soft)
        _assert_same_fit(local, remote)


def test_dawid_skene_finds_spread_soft_votes_on_dask(few_patterns):
    """Half the sources spread their votes (anchored fully under "auto"),
    half do not: the blocks' off-top masses add up to the in-memory ones."""
    soft = np.zeros(few_patterns.shape + (2,))
    rows, cols = np.nonzero(few_patterns >= 0)
    soft[rows, cols, few_patterns[rows, cols]] = 1.0
    soft[:, :2] = np.where(soft[:, :2] > 0, 0.7, 0.3 * (few_patterns[:, :2, None] >= 0))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        local, remote = _fit_both(DawidSkene(max_iter=15), soft, chunks=3000)
    spread = [w for w in caught if "spread over classes" in str(w.message)]
    assert len(spread) == 2  # in memory and on dask
    _assert_same_fit(local, remote)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full = DawidSkene(max_iter=15, anchor_strength=1.0).fit(soft)
    # The sources that do not spread are not anchored fully.
    assert not np.allclose(local.confusion_, full.confusion_)


def test_fit_never_gathers_L(few_patterns, monkeypatch):
    L = da.from_array(few_patterns, chunks=2000)

    def refuse(*args, **kwargs):
        raise AssertionError("L was gathered into the driver")

    monkeypatch.setattr(type(L), "__array__", refuse)
    monkeypatch.setattr(type(L), "compute", refuse)
    for model in (MajorityVote(), DawidSkene(), Snorkel(random_state=0)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(L)


@pytest.mark.parametrize("model", [MajorityVote(), DawidSkene(), Snorkel(random_state=0)],
                         ids=repr)
def test_outputs_stay_lazy_with_the_row_chunks(model, few_patterns):
    L = da.from_array(few_patterns, chunks=(2000, 2))  # split sources: rechunked
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(few_patterns)
    proba = model.predict_proba(L)
    labels = model.predict(L)
    assert isinstance(proba, da.Array) and isinstance(labels, da.Array)
    assert proba.chunks == (L.chunks[0], (2,))
    assert labels.chunks == (L.chunks[0],)
    assert proba.dtype == np.float64 and labels.dtype == np.intp
    _close(proba.compute(), model.predict_proba(few_patterns))
    np.testing.assert_array_equal(labels.compute(), model.predict(few_patterns))
    _close(model.transform(L).compute(), model.predict_proba(few_patterns))


def test_random_tie_break_follows_the_row_not_the_block():
    rng = np.random.RandomState(0)
    L = rng.randint(-1, 3, size=(6000, 4))
    model = MajorityVote(tie_break="random", random_state=7).fit(L)
    Ld = da.from_array(L, chunks=1000)
    first, second = model.predict(Ld).compute(), model.predict(Ld).compute()
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(first, model.predict(L))  # as in memory


def test_dask_dataframe_with_unknown_chunks_and_names(few_patterns):
    names = [f"lf_{j}" for j in range(few_patterns.shape[1])]
    frame = dd.from_pandas(pd.DataFrame(few_patterns, columns=names), npartitions=4)
    model = DawidSkene().fit(frame)
    local = DawidSkene().fit(pd.DataFrame(few_patterns, columns=names))
    _assert_same_fit(local, model)
    np.testing.assert_array_equal(model.feature_names_in_, names)
    proba = model.predict_proba(frame)
    _close(proba.compute(), local.predict_proba(pd.DataFrame(few_patterns, columns=names)))
    with pytest.raises(ValueError, match="source names of L should match"):
        model.predict_proba(frame.rename(columns={"lf_0": "other"}))


def test_what_is_not_supported_is_refused(few_patterns):
    L = da.from_array(few_patterns, chunks=3000)
    with pytest.raises(TypeError, match="LinearizedApprox does not fit on dask"):
        LinearizedApprox(MajorityVote()).fit(L)
    with pytest.raises(TypeError, match="sample_weight is a dask array but L is"):
        MajorityVote().fit(few_patterns, sample_weight=da.ones(len(few_patterns)))
    with pytest.raises(ValueError, match="2-D dask array"):
        MajorityVote().fit(L[:, 0])
    with pytest.raises(ValueError, match="sample_weight has 10 entries"):
        MajorityVote().fit(L, sample_weight=np.ones(10))
    with pytest.raises(ValueError, match="sample_weight has 8999 entries but L has 9000"):
        Snorkel().fit(L, sample_weight=da.ones(8999, chunks=3000))
    bag = pytest.importorskip("dask.bag").from_sequence([[0, 1]], npartitions=1)
    with pytest.raises(TypeError, match="dask array or a dask DataFrame"):
        MajorityVote().fit(bag)
    model = MajorityVote().fit(L)
    with pytest.raises(ValueError, match="L has 4 sources"):
        model.predict_proba(L[:, :4])


def test_bad_votes_in_a_block_raise_the_in_memory_error(few_patterns):
    L = few_patterns.copy()
    L[7000, 2] = 5
    with pytest.raises(ValueError, match="contains the vote 5 but n_classes=2"):
        DawidSkene(n_classes=2).fit(da.from_array(L, chunks=3000))
    silent = np.full((100, 3), -1)
    with pytest.raises(ValueError, match="no vote at all"):
        MajorityVote().fit(da.from_array(silent, chunks=30))
    floats = few_patterns.astype(float)
    floats[10, 0] = 0.5
    with pytest.raises(ValueError, match="non-integer votes"):
        Snorkel().fit(da.from_array(floats, chunks=3000))


def test_class_count_comes_from_the_largest_vote_of_all_blocks(few_patterns):
    L = few_patterns.copy()
    L[8999, 0] = 3  # only the last block votes for class 3
    # Unanchored: the anchor leaves the one vote for class 3 an entry that EM
    # drives towards the floor (see the small-blocks test below).
    local, remote = _fit_both(DawidSkene(anchor_strength=0.0), L, chunks=2000)
    assert remote.n_classes_ == local.n_classes_ == 4
    _assert_same_fit(local, remote)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_gram_and_em_blocks_run_on_one_blas_thread(monkeypatch):
    """Small products under threaded BLAS stall when the cores are shared."""
    from threadpoolctl import threadpool_info

    from skweak_e2e.label_model import _dawid_skene, _overlaps

    seen = []

    def spy(module, name):
        original = getattr(module, name)

        def wrapper(*args, **kwargs):
            seen.append(
                [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]
            )
            return original(*args, **kwargs)

        monkeypatch.setattr(module, name, wrapper)

    spy(_overlaps, "_overlaps_dense")
    spy(_dawid_skene, "em_step")
    _, L, _ = make_weak_supervision(3000, 30, 2, n_features=0, coverage=0.9,
                                    random_state=0)
    Snorkel(random_state=0).fit(L)
    DawidSkene(max_iter=3).fit(L)
    assert seen and all(threads and set(threads) == {1} for threads in seen)


def test_dawid_skene_on_small_blocks_agrees_but_at_the_alpha_floor():
    # EM drives confusion entries down to the pseudo-count floor by a decay
    # that amplifies rounding (about 1.6x per iteration): summing two blocks
    # instead of one seeds a 1e-16 difference that reaches about 1e-5 in the
    # log of such an entry. Everything else agrees to 1e-10, as documented.
    _, L_all, _ = make_weak_supervision(400, 5, 2, n_features=4, coverage=0.5,
                                        class_sep=2, random_state=0)
    ml = DawidSkene(model_abstain=True, anchor_strength=0.0)
    local, remote = _fit_both(ml, L_all[:60], chunks=30)
    assert remote.n_iter_ == local.n_iter_
    for name in ("class_prior_", "confusion_", "coverage_"):
        _close(getattr(remote, name), getattr(local, name), name)
    floor = local.W_ < np.log(1e-6)
    assert floor.any()
    _close(remote.W_[~floor], local.W_[~floor], "W_ off the floor")
    np.testing.assert_allclose(remote.W_[floor], local.W_[floor], rtol=0, atol=1e-4)
    np.testing.assert_allclose(remote.predict_proba(L_all), local.predict_proba(L_all),
                               rtol=0, atol=1e-4)


@pytest.mark.parametrize("model", [DawidSkene(), Snorkel(random_state=0)], ids=repr)
def test_classes_nobody_votes_for_are_left_out_on_dask_too(model, few_patterns):
    L = few_patterns.copy()
    L[4500, 1] = 40  # classes 2..39 get no vote
    local, remote = _fit_both(model, L, chunks=2000)
    assert remote.n_classes_ == local.n_classes_ == 41
    _assert_same_fit(local, remote)
    np.testing.assert_array_equal(remote.class_prior_[2:40], 0.0)


@pytest.mark.parametrize("model", MODELS[:4], ids=repr)
@pytest.mark.parametrize("data", ["few_patterns", "many_patterns"])
def test_blocks_without_rows_are_accepted(model, data, request):
    # Filtering a dask DataFrame leaves partitions without rows: they were
    # refused ("L is empty: shape (0, 3)" at fit, "Found array with 0
    # sample(s)" at predict).
    L = request.getfixturevalue(data)[:3000]
    frame = pd.DataFrame(L, columns=[f"lf{j}" for j in range(L.shape[1])])
    frame["row"] = np.arange(len(L))
    ddf = dd.from_pandas(frame, npartitions=3)
    kept = ddf[ddf.row >= 1000].drop(columns="row")  # the first partition empties
    Ld = kept.to_dask_array(lengths=True)
    assert 0 in Ld.chunks[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        remote = clone(model).fit(kept)
        local = clone(model).fit(L[1000:])
        _assert_same_fit(local, remote)
        proba = remote.predict_proba(Ld).compute()
    _close(proba, local.predict_proba(L[1000:]))
    assert remote.predict(Ld).compute().shape == (2000,)


def test_inputs_that_would_be_gathered_whole_are_refused(few_patterns):
    Ld = da.from_array(few_patterns[:600], chunks=(200, -1))
    model = DawidSkene().set_output(transform="pandas").fit(Ld)
    with pytest.raises(TypeError, match='set_output\\(transform="pandas"\\) would gather'):
        model.transform(Ld)
    assert model.set_output(transform="default").transform(Ld).shape == (600, 2)
    from skweak_e2e import LabelModelClassifier, SourceAwareInfluence

    # WeaSELClassifier fits on dask arrays (tests/end_to_end/test_weasel_dask.py),
    # and SourceAwareInfluence too; its own refusals are tested with it.
    with pytest.raises(TypeError, match="SourceAwareInfluence.fit would gather"):
        SourceAwareInfluence(LabelModelClassifier()).fit(np.zeros((600, 3)), Ld)
