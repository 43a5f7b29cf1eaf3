"""Two-stage training beyond memory: sample_training_rows and partial_fit."""

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression, SGDClassifier

from skweak_e2e import (
    DawidSkene,
    LabelModelClassifier,
    MajorityVote,
    sample_training_rows,
)
from skweak_e2e.datasets import make_weak_supervision
from skweak_e2e.utils import is_covered
from skweak_e2e.utils._targets import expand_soft_labels


def _planted_proba(counts, n_uncovered=0, seed=0):
    """Probabilities whose most probable class has the planted ``counts``."""
    rng = np.random.RandomState(seed)
    n_classes = len(counts)
    top = np.repeat(np.arange(n_classes), counts)
    proba = rng.dirichlet(np.ones(n_classes), size=top.size)
    # Move the largest entry of every row to its planted class.
    big = proba.argmax(axis=1)
    rows = np.arange(top.size)
    proba[rows, big], proba[rows, top] = proba[rows, top], proba[rows, big].copy()
    uncovered = rng.dirichlet(np.ones(n_classes), size=n_uncovered)
    proba = np.vstack([proba, uncovered])
    covered = np.r_[np.ones(top.size, bool), np.zeros(n_uncovered, bool)]
    order = rng.permutation(proba.shape[0])
    return proba[order], covered[order]


def _strata(proba):
    return proba.argmax(axis=1)


# ------------------------------------------------------------ sampling
def test_sample_holds_covered_rows_and_weights_sum_to_strata_sizes():
    proba, covered = _planted_proba([300, 120, 80], n_uncovered=200)
    idx, w = sample_training_rows(proba, 60, covered=covered, random_state=0)
    assert idx.shape == w.shape == (60,)
    assert np.all(np.diff(idx) > 0)  # sorted, no repeats
    assert covered[idx].all()
    # Stratum by stratum, the weights add up to its size on every draw.
    sizes = np.bincount(_strata(proba[covered]), minlength=3)
    totals = np.bincount(_strata(proba[idx]), weights=w, minlength=3)
    np.testing.assert_allclose(totals, sizes, rtol=1e-12)


def test_quotas_are_proportional_with_a_floor():
    proba, _ = _planted_proba([5, 1000, 40])
    idx, w = sample_training_rows(proba, 100, min_per_class=10, random_state=0)
    # Class 0 keeps all 5 rows (weight 1), class 2 its floor of 10
    # (weight 40/10), class 1 the remaining 85.
    drawn = np.bincount(_strata(proba[idx]), minlength=3)
    np.testing.assert_array_equal(drawn, [5, 85, 10])
    np.testing.assert_allclose(
        np.unique(w), np.sort([1.0, 1000 / 85, 4.0]), rtol=1e-12
    )
    # Without a floor: shares 100 * [5, 1000, 40] / 1045 = [0.48, 95.69, 3.83],
    # rounded by largest remainders to [0, 96, 4].
    idx, _ = sample_training_rows(proba, 100, min_per_class=0, random_state=0)
    np.testing.assert_array_equal(np.bincount(_strata(proba[idx]), minlength=3), [0, 96, 4])
    # A floor larger than n_rows allows: every class gets n_rows // 3.
    idx, _ = sample_training_rows(proba, 7, min_per_class=10, random_state=0)
    assert np.bincount(_strata(proba[idx]), minlength=3).min() >= 2


def test_weighted_class_totals_are_unbiased_and_close_on_one_draw():
    proba, covered = _planted_proba([150, 40, 10], n_uncovered=50, seed=1)
    target = proba[covered].sum(axis=0)
    draws = np.array(
        [
            (w[:, None] * proba[idx]).sum(axis=0)
            for idx, w in (
                sample_training_rows(proba, 40, covered=covered, random_state=seed)
                for seed in range(400)
            )
        ]
    )
    # Unbiased: the mean over 400 draws is within 4 standard errors.
    se = draws.std(axis=0) / np.sqrt(len(draws))
    assert np.all(np.abs(draws.mean(axis=0) - target) < 4 * se)
    # Uniform within a stratum: row inclusion frequencies match n_c / N_c.
    hits = np.zeros(len(proba))
    for seed in range(400):
        idx, _ = sample_training_rows(proba, 40, covered=covered, random_state=seed)
        hits[idx] += 1
    stratum_1 = covered & (_strata(proba) == 1)
    n_c = np.bincount(
        _strata(proba[sample_training_rows(proba, 40, covered=covered)[0]]),
        minlength=3,
    )[1]
    p = n_c / stratum_1.sum()
    freq = hits[stratum_1] / 400
    assert abs(freq.mean() - p) < 1e-12  # exactly n_c draws every time
    assert np.abs(freq - p).max() < 5 * np.sqrt(p * (1 - p) / 400)
    # One large draw of a large set: every class total within 2 %.
    big, big_covered = _planted_proba([20000, 6000, 2000], n_uncovered=3000, seed=2)
    idx, w = sample_training_rows(big, 3000, covered=big_covered, random_state=0)
    np.testing.assert_allclose(
        (w[:, None] * big[idx]).sum(axis=0), big[big_covered].sum(axis=0), rtol=0.02
    )


def test_deterministic_with_random_state():
    proba, covered = _planted_proba([200, 100], n_uncovered=30)
    a = sample_training_rows(proba, 50, covered=covered, random_state=3)
    b = sample_training_rows(proba, 50, covered=covered, random_state=3)
    c = sample_training_rows(proba, 50, covered=covered, random_state=4)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])
    d = sample_training_rows(
        proba, 50, covered=covered, random_state=np.random.RandomState(3)
    )
    np.testing.assert_array_equal(a[0], d[0])


def test_scale_by_confidence_multiplies_the_top_probability():
    proba, covered = _planted_proba([200, 100], n_uncovered=30)
    idx, w = sample_training_rows(proba, 50, covered=covered, random_state=0)
    idx2, w2 = sample_training_rows(
        proba, 50, covered=covered, scale_by_confidence=True, random_state=0
    )
    np.testing.assert_array_equal(idx, idx2)
    np.testing.assert_allclose(w2, w * proba[idx].max(axis=1), rtol=1e-12)


def test_all_covered_rows_when_n_rows_is_their_count():
    proba, covered = _planted_proba([20, 7], n_uncovered=5)
    idx, w = sample_training_rows(proba, 27, covered=covered, random_state=0)
    np.testing.assert_array_equal(idx, np.flatnonzero(covered))
    np.testing.assert_array_equal(w, np.ones(27))


@pytest.mark.parametrize(
    "n_rows, error, match",
    [
        (0, ValueError, "n_rows=0"),
        (-3, ValueError, "n_rows=-3"),
        (28, ValueError, "n_rows=28 exceeds the number of covered rows, 27"),
        (2.5, TypeError, "n_rows=2.5"),
        (True, TypeError, "n_rows=True"),
    ],
)
def test_bad_n_rows(n_rows, error, match):
    proba, covered = _planted_proba([20, 7], n_uncovered=5)
    with pytest.raises(error, match=match):
        sample_training_rows(proba, n_rows, covered=covered)


def test_bad_proba_and_covered():
    proba, covered = _planted_proba([20, 7], n_uncovered=5)
    with pytest.raises(ValueError, match="boolean mask"):
        sample_training_rows(proba, 5, covered=covered.astype(int))
    with pytest.raises(ValueError, match="covered has 31 entries"):
        sample_training_rows(proba, 5, covered=covered[:-1])
    with pytest.raises(ValueError, match=r"shape \(32,\)"):
        sample_training_rows(proba[:, 0], 5)
    bad = proba.copy()
    bad[4, 1] = np.nan
    with pytest.raises(ValueError, match="row 4, class 1"):
        sample_training_rows(bad, 5)
    with pytest.raises(ValueError, match="min_per_class=-1"):
        sample_training_rows(proba, 5, min_per_class=-1)


def _weak_data(n_samples=4000, seed=0):
    return make_weak_supervision(
        n_samples, 6, coverage=0.3, n_features=4, class_sep=1.5, random_state=seed
    )


class RecordingClassifier(ClassifierMixin, BaseEstimator):
    """Remembers what fit and partial_fit received."""

    def fit(self, X, y, sample_weight=None):
        self.X_, self.y_, self.sample_weight_ = np.asarray(X), np.asarray(y), sample_weight
        self.classes_ = np.unique(y)
        return self

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        self.calls_ = getattr(self, "calls_", []) + [(np.asarray(X), y, sample_weight)]
        self.classes_ = classes
        return self

    def predict(self, X):
        return np.zeros(len(X), dtype=int)


def test_sample_weight_combines_with_the_soft_label_expansion():
    X, L, _ = _weak_data()
    lm = DawidSkene().fit(L)
    proba = lm.predict_proba(L)
    idx, w = sample_training_rows(proba, 300, covered=is_covered(L), random_state=0)
    clf = LabelModelClassifier(FrozenEstimator(lm), RecordingClassifier()).fit(
        X[idx], L[idx], sample_weight=w
    )
    index, labels, weight = expand_soft_labels(proba[idx], np.arange(idx.size))
    est = clf.estimator_
    np.testing.assert_array_equal(est.X_, X[idx][index])
    np.testing.assert_array_equal(est.y_, labels)
    np.testing.assert_allclose(est.sample_weight_, weight * w[index], rtol=1e-12)
    # The frozen label model is the one given, not refitted on the sample.
    assert clf.label_model_.estimator is lm


# ---------------------------------------------------------------- dask
def test_dask_gives_the_numpy_sample_for_any_chunks(dask_client):
    da = pytest.importorskip("dask.array")
    proba, covered = _planted_proba([900, 250, 60], n_uncovered=300, seed=3)
    expected = sample_training_rows(proba, 150, covered=covered, random_state=7)
    for p_chunks, c_chunks in [(300, 300), (137, 500), (1510, 64)]:
        got = sample_training_rows(
            da.from_array(proba, chunks=(p_chunks, 1)),
            150,
            covered=da.from_array(covered, chunks=c_chunks),
            random_state=7,
        )
        np.testing.assert_array_equal(got[0], expected[0])
        np.testing.assert_allclose(got[1], expected[1], rtol=1e-12)
    # A numpy mask with dask probabilities.
    got = sample_training_rows(
        da.from_array(proba, chunks=200), 150, covered=covered, random_state=7
    )
    np.testing.assert_array_equal(got[0], expected[0])
    with pytest.raises(ValueError, match="n_rows=5000 exceeds"):
        sample_training_rows(da.from_array(proba, chunks=200), 5000, covered=covered)


def test_dask_sample_into_label_model_classifier(dask_client):
    da = pytest.importorskip("dask.array")
    X, L, y = _weak_data()
    lm = DawidSkene().fit(L)
    Xd, Ld = da.from_array(X, chunks=(500, -1)), da.from_array(L, chunks=(500, -1))
    # The lazy predict_proba of the contract, emulated block by block.
    proba = Ld.map_blocks(lm.predict_proba, dtype=float, chunks=(Ld.chunks[0], (2,)))
    covered = (Ld >= 0).any(axis=1)
    idx, w = sample_training_rows(proba, 600, covered=covered, random_state=0)
    X_s, L_s = Xd[idx].compute(), Ld[idx].compute()
    sampled = LabelModelClassifier(FrozenEstimator(lm), LogisticRegression()).fit(
        X_s, L_s, sample_weight=w
    )
    full = LabelModelClassifier(FrozenEstimator(lm), LogisticRegression()).fit(X, L)
    # 600 of 4000 rows train nearly as well as all of them.
    assert sampled.score(X, y) > full.score(X, y) - 0.03
    np_idx, np_w = sample_training_rows(
        lm.predict_proba(L), 600, covered=is_covered(L), random_state=0
    )
    np.testing.assert_array_equal(idx, np_idx)
    np.testing.assert_allclose(w, np_w, rtol=1e-12)


# --------------------------------------------------------- partial_fit
def _blocks(n, k):
    return np.array_split(np.arange(n), k)


def test_partial_fit_equals_estimator_partial_fit_on_expanded_rows():
    X, L, _ = _weak_data(1500)
    lm = MajorityVote().fit(L)
    weights = np.random.RandomState(0).uniform(0.5, 2.0, size=len(X))
    clf = LabelModelClassifier(FrozenEstimator(lm), SGDClassifier(random_state=0))
    by_hand = SGDClassifier(random_state=0)
    for block in _blocks(len(X), 3):
        clf.partial_fit(X[block], L[block], sample_weight=weights[block])
        proba = lm.predict_proba(L[block])
        rows = np.flatnonzero(is_covered(L[block]))
        index, labels, weight = expand_soft_labels(proba, rows, weights[block])
        by_hand.partial_fit(
            X[block][index], labels, classes=[0, 1], sample_weight=weight
        )
    np.testing.assert_allclose(clf.estimator_.coef_, by_hand.coef_, rtol=1e-10)
    np.testing.assert_allclose(
        clf.estimator_.intercept_, by_hand.intercept_, rtol=1e-10
    )
    np.testing.assert_array_equal(clf.classes_, [0, 1])
    assert clf.coverage_ == pytest.approx(is_covered(L).mean(), rel=1e-12)


def test_partial_fit_over_blocks_is_close_to_fit():
    X, L, y = _weak_data(6000)
    lm = DawidSkene().fit(L)
    sgd = SGDClassifier(loss="log_loss", average=True, random_state=0)
    clf = LabelModelClassifier(FrozenEstimator(lm), sgd)
    for _ in range(3):  # epochs
        for block in _blocks(len(X), 10):
            clf.partial_fit(X[block], L[block])
    full = LabelModelClassifier(FrozenEstimator(lm), sgd).fit(X, L)
    assert full.score(X, y) > 0.7  # a problem worth learning
    assert clf.score(X, y) > full.score(X, y) - 0.02


def test_partial_fit_hard_labels_drop_uncovered_and_pass_all_classes():
    L = np.array([[0, -1], [-1, -1], [2, 2], [1, -1]])
    X = np.arange(4.0)[:, None]
    lm = MajorityVote(n_classes=4).fit(L)
    clf = LabelModelClassifier(lm, RecordingClassifier(), soft_labels=False)
    clf.partial_fit(X[:2], L[:2])
    clf.partial_fit(X[2:], L[2:])
    (X1, y1, w1), (X2, y2, w2) = clf.estimator_.calls_
    np.testing.assert_array_equal(X1.ravel(), [0.0])  # row 1 has no vote
    np.testing.assert_array_equal(y1, [0])
    np.testing.assert_array_equal(y2, [2, 1])
    assert w1 is None and w2 is None
    # Every class of the label model, even those no block has voted for yet.
    np.testing.assert_array_equal(clf.estimator_.classes_, [0, 1, 2, 3])
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2, 3])
    assert clf.coverage_ == pytest.approx(0.75)
    # A block without a covered row leaves the estimator alone.
    clf.partial_fit(X[1:2], L[1:2])
    assert len(clf.estimator_.calls_) == 2


def test_partial_fit_with_string_votes_takes_classes():
    L = np.array([["no", "-"], ["yes", "yes"], ["-", "no"]])
    lm = MajorityVote().fit(np.array([[0, -1], [1, 1], [-1, 0]]))
    clf = LabelModelClassifier(lm, SGDClassifier(random_state=0), abstain="-")
    clf.partial_fit(np.eye(3), L, classes=["yes", "no"])
    np.testing.assert_array_equal(clf.classes_, ["no", "yes"])
    assert set(clf.predict(np.eye(3))) <= {"no", "yes"}
    with pytest.raises(ValueError, match="not the classes_ of the first call"):
        clf.partial_fit(np.eye(3), L, classes=["no", "maybe"])
    with pytest.raises(ValueError, match="holds 3 class"):
        LabelModelClassifier(lm, SGDClassifier(), abstain="-").partial_fit(
            np.eye(3), L, classes=["no", "yes", "maybe"]
        )


@pytest.mark.parametrize("label_model", [None, DawidSkene(), FrozenEstimator(DawidSkene())])
def test_partial_fit_refuses_an_unfitted_label_model(label_model):
    X, L, _ = _weak_data(200)
    clf = LabelModelClassifier(label_model, SGDClassifier())
    with pytest.raises(NotFittedError, match="cannot be fitted block by block"):
        clf.partial_fit(X, L)


def test_partial_fit_needs_an_estimator_with_partial_fit():
    clf = LabelModelClassifier(MajorityVote(), LogisticRegression())
    assert not hasattr(clf, "partial_fit")
    with pytest.raises(AttributeError, match="partial_fit"):
        clf.partial_fit(np.zeros((2, 1)), np.zeros((2, 1), dtype=int))
    assert hasattr(LabelModelClassifier(MajorityVote(), SGDClassifier()), "partial_fit")


def test_partial_fit_over_dask_blocks_equals_the_numpy_loop(dask_client):
    da = pytest.importorskip("dask.array")
    X, L, _ = _weak_data(2000)
    lm = MajorityVote().fit(L)
    Xd, Ld = da.from_array(X, chunks=(500, -1)), da.from_array(L, chunks=(500, -1))
    clf = LabelModelClassifier(FrozenEstimator(lm), SGDClassifier(random_state=0))
    # The loop of the user guide: one block of X and of L at a time.
    for X_block, L_block in zip(Xd.to_delayed().ravel(), Ld.to_delayed().ravel()):
        clf.partial_fit(X_block.compute(), L_block.compute())
    ref = LabelModelClassifier(FrozenEstimator(lm), SGDClassifier(random_state=0))
    for block in _blocks(len(X), 4):
        ref.partial_fit(X[block], L[block])
    np.testing.assert_allclose(clf.estimator_.coef_, ref.estimator_.coef_, rtol=1e-10)


def test_dask_input_is_refused_where_it_would_be_gathered():
    da = pytest.importorskip("dask.array")
    X, L, y = _weak_data(400)
    Xd, Ld = da.from_array(X, chunks=100), da.from_array(L, chunks=100)
    clf = LabelModelClassifier(
        MajorityVote(), SGDClassifier(loss="log_loss", random_state=0)
    )
    with pytest.raises(TypeError, match="fit works on data in memory.*as X"):
        clf.fit(Xd, L)
    with pytest.raises(TypeError, match="sample_training_rows"):
        clf.fit(X, Ld)
    with pytest.raises(TypeError, match="partial_fit works on data in memory"):
        LabelModelClassifier(MajorityVote().fit(L), SGDClassifier()).partial_fit(Xd, L)
    clf.fit(X, L)
    for method in ("predict", "predict_proba", "decision_function"):
        with pytest.raises(TypeError, match=rf"X.map_blocks\(clf.{method}"):
            getattr(clf, method)(Xd)
    with pytest.raises(TypeError, match="score works on data in memory"):
        clf.score(Xd, y)
    # Mapped over the blocks, predict gives the in-memory predictions.
    pred = Xd.map_blocks(clf.predict, drop_axis=1, dtype=int).compute(
        scheduler="synchronous"
    )
    np.testing.assert_array_equal(pred, clf.predict(X))


def test_unknown_row_chunks_are_refused_with_the_way_out(dask_client):
    """Votes from a dask DataFrame have unknown row chunks (nan)."""
    dd = pytest.importorskip("dask.dataframe")
    pd = pytest.importorskip("pandas")
    _, L, _ = make_weak_supervision(600, 4, n_features=0, random_state=0)
    frame = dd.from_pandas(pd.DataFrame(L, columns=list("abcd")), npartitions=3)
    Ld = frame.to_dask_array()
    model = MajorityVote().fit(Ld)
    proba = model.predict_proba(Ld)
    covered = (Ld >= 0).any(axis=1)
    with pytest.raises(ValueError, match=r"proba has row chunks of unknown size.*"
                       r"L\.compute_chunk_sizes\(\)"):
        sample_training_rows(proba, 50, covered=covered, random_state=0)
    Ld.compute_chunk_sizes()
    proba = model.predict_proba(Ld)
    idx, weight = sample_training_rows(
        proba, 50, covered=(Ld >= 0).any(axis=1), random_state=0
    )
    expected = sample_training_rows(
        model.predict_proba(L), 50, covered=(L >= 0).any(axis=1), random_state=0
    )
    np.testing.assert_array_equal(idx, expected[0])
