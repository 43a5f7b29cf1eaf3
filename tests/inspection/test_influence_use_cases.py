"""The use cases of SourceAwareInfluence: l2 choice, sparse inputs, names,
mislabel scores. Known answers: independent refits, dense twins of sparse
inputs, explicit Jacobi kernels."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.metrics import average_precision_score

from skweak_e2e import SourceAwareInfluence
from skweak_e2e.datasets import make_weak_supervision
from skweak_e2e.inspection import SoftLabelLogisticRegression
from skweak_e2e.inspection._l2_selection import L2_GRID
from skweak_e2e.inspection._linear_loss import LogisticModel


def _data(n_train=300, n_val=150, n_classes=3, seed=0, n_features=5, **kw):
    kw.setdefault("coverage", 0.5)
    kw.setdefault("accuracy", 0.7)
    X, L, y = make_weak_supervision(
        n_train + n_val, 6, n_classes, n_features=n_features, random_state=seed, **kw
    )
    return X[:n_train], L[:n_train], y[:n_train], X[n_train:], y[n_train:]


def _sparse_data(seed=0, n=400, d=300):
    """Binary bag-of-words-like data: sparse non-negative features."""
    rng = np.random.RandomState(seed)
    y = rng.randint(2, size=n)
    X = sp.random(n, d, density=0.03, random_state=rng, format="csr")
    X = X + sp.csr_matrix(
        (np.ones(n), (np.arange(n), y * rng.randint(5, size=n))), shape=(n, d)
    )
    vote = rng.rand(n, 5) < 0.5
    right = rng.rand(n, 5) < 0.75
    L = np.where(vote, np.where(right, y[:, None], 1 - y[:, None]), -1)
    return sp.csr_matrix(X), L, y


# ------------------------------------------------------------------- l2 choice
def test_l2_auto_is_the_validation_argmin():
    Xtr, Ltr, _, Xv, yv = _data(n_train=120, n_features=20, seed=2)
    sai = SourceAwareInfluence(damping=0.0).fit(Xtr, Ltr, X_val=Xv, y_val=yv)
    losses = sai.l2_validation_loss_
    assert losses.shape == (len(L2_GRID),) and sai.l2_ in L2_GRID
    k = L2_GRID.index(sai.l2_)
    # The strongest ridge within 1% of the best validation loss.
    assert losses[k] <= 1.01 * losses.min()
    assert np.all(losses[k + 1 :] > 1.01 * losses.min())
    # Independent refits of the same objective give the same validation losses.
    T = sai.labels_
    for kk in (0, k, len(L2_GRID) - 1):
        est = SoftLabelLogisticRegression(l2=L2_GRID[kk]).fit(
            Xtr[sai.train_index_], T
        )
        loss = -np.mean(np.log(est.predict_proba(Xv)[np.arange(len(yv)), yv]))
        assert loss == pytest.approx(losses[kk], rel=1e-4)
    # The analysed model is the fit at the chosen l2, and the repair refits with it.
    assert sai.end_model_.l2 == sai.l2_
    assert sai.drop_harmful(Xv, yv, fractions=[0, 0.5]).estimator.l2 == sai.l2_
    # Not vacuous: the grid's ends differ, and a fixed l2 skips the selection.
    assert np.ptp(losses) > 1e-3
    fixed = SourceAwareInfluence(l2=0.01).fit(Xtr, Ltr, X_val=Xv, y_val=yv)
    assert fixed.l2_ == 0.01 and fixed.l2_validation_loss_ is None


def test_l2_auto_without_validation_cross_validates_the_weak_labels():
    # Few rows, many noisy features: the weak-label CV must not pick the
    # weakest ridge.
    Xtr, Ltr, _, _, _ = _data(n_train=80, n_features=60, seed=3, class_sep=0.5)
    sai = SourceAwareInfluence().fit(Xtr, Ltr)
    assert sai.l2_ > L2_GRID[0]
    k = L2_GRID.index(sai.l2_)
    cv = sai.l2_validation_loss_
    assert cv[k] <= 1.01 * cv.min() and np.all(cv[k + 1 :] > 1.01 * cv.min())
    again = SourceAwareInfluence().fit(Xtr, Ltr)  # deterministic
    np.testing.assert_array_equal(again.l2_validation_loss_, sai.l2_validation_loss_)
    with pytest.raises(ValueError, match="both"):
        SourceAwareInfluence().fit(Xtr, Ltr, X_val=Xtr)
    with pytest.raises(ValueError, match="features"):
        SourceAwareInfluence().fit(Xtr, Ltr, X_val=Xtr[:, :3], y_val=np.zeros(80))


# ------------------------------------------------------------------ sparse X
@pytest.mark.parametrize("solver", ["cholesky", "cg"])
def test_sparse_inputs_match_their_dense_twins(solver):
    X, L, y = _sparse_data()
    Xtr, Ltr, Xv, yv = X[:300], L[:300], X[300:], y[300:]
    kw = {"l2": 1e-2, "solver": solver, "tol": 1e-10}
    a = SourceAwareInfluence(**kw).fit(Xtr, Ltr)
    b = SourceAwareInfluence(**kw).fit(Xtr.toarray(), Ltr)
    assert sp.issparse(a._backend.X)  # never densified
    np.testing.assert_allclose(a._backend.theta, b._backend.theta, atol=1e-7)
    ra, rb = a.influence(Xv, yv), b.influence(Xv.toarray(), yv)
    scale = np.abs(rb.per_sample).max()
    np.testing.assert_allclose(ra.terms("dense"), rb.terms("dense"), atol=1e-6 * scale)
    ea, eb = a.explain(Xv[0], yv[0]), b.explain(Xv[0].toarray()[0], yv[0])
    np.testing.assert_array_equal(ea.sources.index, eb.sources.index)
    np.testing.assert_allclose(
        a.mislabel_scores(), b.mislabel_scores(), atol=1e-8, equal_nan=True
    )
    rep_a = a.drop_harmful(Xv, yv, fractions=[0, 0.2])
    rep_b = b.drop_harmful(Xv.toarray(), yv, fractions=[0, 0.2])
    np.testing.assert_allclose(rep_a.validation_loss, rep_b.validation_loss, rtol=1e-6)


def test_soft_label_logistic_regression_sparse_equals_dense():
    X, _, y = _sparse_data(seed=1)
    a = SoftLabelLogisticRegression(l2=1e-2, tol=1e-10).fit(X, y)
    b = SoftLabelLogisticRegression(l2=1e-2, tol=1e-10).fit(X.toarray(), y)
    np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-7)
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X.toarray()))


# -------------------------------------------------------------------- names
def test_names_flow_from_a_dataframe_to_results_explain_repair_and_plots():
    pd = pytest.importorskip("pandas")
    Xtr, Ltr, _, Xv, yv = _data()
    names = [f"lf_{c}" for c in "abcdef"]
    frame = pd.DataFrame(Ltr, columns=names)
    sai = SourceAwareInfluence(l2=1e-2, class_names=["neg", "neu", "pos"])
    sai.fit(Xtr, frame)
    assert list(sai.source_names_) == names
    res = sai.influence(Xv, yv)
    assert list(res.source_names) == names and list(res.classes) == ["neg", "neu", "pos"]
    exp = sai.explain(Xv[0], yv[0], top_k=3)
    assert list(exp.sources.name) == [names[j] for j in exp.sources.index]
    assert list(exp.votes.source_name) == [names[j] for j in exp.votes.source]
    assert list(exp.votes.vote_label) == [
        ["neg", "neu", "pos"][v] for v in exp.votes.vote
    ]
    rep = sai.drop_harmful(Xv, yv, fractions=[0, 0.3])
    if rep.fraction > 0:
        assert list(rep.removed["source_name"]) == [
            names[j] for j in rep.removed["source"]
        ]
        assert set(rep.removed["class_label"]) <= {"neg", "neu", "pos"}
    gif = sai.drop_harmful(Xv, yv, unit="source", fractions=[0, 1])
    assert list(gif.removed_names) == [names[j] for j in gif.removed]
    # The plot labels its bars with the names.
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from skweak_e2e.plotting import plot_influence

    ax = plot_influence(res, top_k=3)
    shown = {t.get_text() for t in ax.get_yticklabels()}
    plt.close(ax.figure)
    assert shown <= set(names) and len(shown) == 3
    # source_names= overrides; wrong lengths are refused.
    other = SourceAwareInfluence(l2=1e-2, source_names=list("uvwxyz")).fit(Xtr, frame)
    assert list(other.influence(Xv, yv).source_names) == list("uvwxyz")
    with pytest.raises(ValueError, match="source_names has 2"):
        SourceAwareInfluence(source_names=["a", "b"]).fit(Xtr, Ltr)
    with pytest.raises(ValueError, match="class_names has 2"):
        SourceAwareInfluence(class_names=["a", "b"]).fit(Xtr, Ltr)


def test_default_names():
    Xtr, Ltr, _, Xv, yv = _data(n_classes=2)
    res = SourceAwareInfluence(l2=1e-2).fit(Xtr, Ltr).influence(Xv, yv)
    assert list(res.source_names) == [f"source {j}" for j in range(6)]
    assert list(res.classes) == [0, 1]


# ------------------------------------------------------------ mislabel scores
@pytest.mark.parametrize("method", ["rw", "wm"])
def test_leave_one_out_score_matches_refitting_without_the_vote(method):
    Xtr, Ltr, _, _, _ = _data(n_train=150, seed=4)
    sai = SourceAwareInfluence(l2=1e-2, damping=0.0, tol=1e-12).fit(Xtr, Ltr)
    scores = sai.mislabel_scores(method=method)
    be, dec = sai._backend, sai._decomposition
    rng = np.random.RandomState(0)
    predicted, actual, base = [], [], []
    for j in rng.choice(6, 3, replace=False):
        rows, vote, delta = dec.vote_removals(j, method)
        for k in rng.choice(rows.size, 3, replace=False):
            i = rows[k]
            T = sai.labels_.copy()
            T[i] += delta[k]
            model = be.model
            theta, info = model.fit(be.X, T, n_norm=be.n_norm, init=be.theta, tol=1e-12)
            p = model.proba(be.X[i : i + 1], theta)[0, vote[k]]
            actual.append(1 - p)
            predicted.append(scores[sai.train_index_[i], j])
            base.append(1 - be.P[i, vote[k]])
    predicted, actual, base = map(np.asarray, (predicted, actual, base))
    # First order: the error is far below the effect of the removal. Votes
    # whose removal changes nothing compare two equal numbers: allow their
    # rounding (1e-12 of the probabilities' scale), not an exact zero.
    error = np.abs(predicted - actual)
    assert np.all(error <= 0.1 * np.abs(actual - base) + 1e-12 * np.abs(actual).max())
    assert np.abs(actual - base).max() > 1e-3  # the removal does move p


def test_leave_one_out_with_gold_rows_matches_refitting_on_both():
    # With a validation set, the leave-one-out model is trained on the
    # training labels plus one-hot gold rows of mass gold_weight: the score
    # is 1 - p[vote] of that model refitted without the vote.
    Xtr, Ltr, _, Xv, yv = _data(n_train=150, n_val=60, seed=4)
    sai = SourceAwareInfluence(l2=1e-2, damping=0.0, tol=1e-12).fit(Xtr, Ltr)
    scores = sai.mislabel_scores(Xv, yv, gold_weight=4.0)
    be, dec = sai._backend, sai._decomposition
    X = np.vstack([be.X, Xv])
    gold = 4.0 * np.eye(3)[yv]
    rng = np.random.RandomState(1)
    predicted, actual, base = [], [], []
    theta0, _ = be.model.fit(X, np.vstack([sai.labels_, gold]), tol=1e-12)
    for j in rng.choice(6, 3, replace=False):
        rows, vote, delta = dec.vote_removals(j, "rw")
        for k in rng.choice(rows.size, 3, replace=False):
            i = rows[k]
            T = sai.labels_.copy()
            T[i] += delta[k]
            theta, _ = be.model.fit(X, np.vstack([T, gold]), init=theta0, tol=1e-12)
            actual.append(1 - be.model.proba(X[i : i + 1], theta)[0, vote[k]])
            base.append(1 - be.model.proba(X[i : i + 1], theta0)[0, vote[k]])
            predicted.append(scores[sai.train_index_[i], j])
    predicted, actual, base = map(np.asarray, (predicted, actual, base))
    error = np.abs(predicted - actual)
    assert np.all(error <= 0.1 * np.abs(actual - base) + 1e-12 * np.abs(actual).max())
    assert np.abs(actual - base).max() > 1e-3
    # The gold rows move the scores; without them the score is gold-free.
    free = sai.mislabel_scores()
    ok = np.isfinite(free)
    assert np.abs(free[ok] - scores[ok]).max() > 1e-2
    with pytest.raises(ValueError, match="both X and y"):
        sai.mislabel_scores(Xv)
    with pytest.raises(ValueError, match="gold_weight"):
        sai.mislabel_scores(Xv, yv, gold_weight=0)


def test_leave_one_out_score_ranks_wrong_votes_first_and_nan_elsewhere():
    Xtr, Ltr, ytr, _, _ = _data(n_train=400, n_classes=2, accuracy=0.75, seed=5)
    Ltr = Ltr.copy()
    Ltr[:5] = -1
    sai = SourceAwareInfluence().fit(Xtr, Ltr)
    scores = sai.mislabel_scores()
    assert np.array_equal(np.isnan(scores), Ltr < 0)
    assert np.all((scores[Ltr >= 0] >= 0) & (scores[Ltr >= 0] <= 1))
    for j in range(6):
        voted = Ltr[:, j] >= 0
        wrong = Ltr[voted, j] != ytr[voted]
        assert average_precision_score(wrong, scores[voted, j]) > wrong.mean() + 0.1


def test_jacobi_kernels_for_the_cg_path():
    X, L, y = _sparse_data(seed=2)
    sai = SourceAwareInfluence(l2=1e-2, solver="cg").fit(X, L)
    solver = sai._backend.solver
    K = solver.diagonal_row_kernels()
    be = sai._backend
    diag = be.model.hessian_diag(be.X, be.P, be.labels.sum(axis=1)) + solver.delta_
    Xt = np.hstack([be.X.toarray(), np.ones((be.X.shape[0], 1))])
    np.testing.assert_allclose(K[:, 0, 0], (Xt**2) @ (1 / diag), rtol=1e-10)
    # The CG-path scores rank the votes as the exact ones do.
    exact = SourceAwareInfluence(l2=1e-2, solver="cholesky").fit(X, L)
    a, b = sai.mislabel_scores(), exact.mislabel_scores()
    ok = np.isfinite(b)
    assert np.corrcoef(a[ok], b[ok])[0, 1] > 0.99


def test_influence_score_is_the_per_vote_influence():
    Xtr, Ltr, _, Xv, yv = _data()
    for method, relative in (("rw", False), ("wm", False), ("rw", True)):
        sai = SourceAwareInfluence(l2=1e-2, method=method, relative=relative)
        sai.fit(Xtr, Ltr)
        dense = sai.influence(Xv, yv).per_vote.toarray()
        scores = sai.mislabel_scores(
            Xv, yv, score="influence", method=method, relative=relative
        )
        voted = Ltr >= 0
        voted[np.setdiff1d(np.arange(len(Ltr)), sai.train_index_)] = False
        np.testing.assert_allclose(scores[voted], dense[voted], rtol=1e-12)
        assert np.isnan(scores[~voted]).all()
    sai = SourceAwareInfluence(l2=1e-2, solver="cg").fit(Xtr, Ltr)
    with pytest.raises(ValueError, match="inverse"):
        sai.mislabel_scores(Xv, yv, score="influence", relative=True)
    with pytest.raises(ValueError, match="validation set"):
        sai.mislabel_scores(score="influence")
    with pytest.raises(ValueError, match="score must be"):
        sai.mislabel_scores(score="knn")
    with pytest.raises(ValueError, match="method must be"):
        sai.mislabel_scores(method="xx")
    with pytest.raises(ValueError, match="relative=True applies"):
        sai.mislabel_scores(relative=True)


# ------------------------------------- constructor parameters govern queries
def _vote_retraining_change(sai, Xv, yv, votes):
    """Validation-loss change of retraining without each vote (WM removal).

    Independent of the influence formulas: the vote is set to abstain in L,
    MajorityVote's labels are recomputed, and the end model is refitted from
    scratch (same ridge, same normalisation N).
    """
    be = sai._backend
    L = sai._decomposition.L
    base = be.loss(Xv, yv)
    out = []
    for i, j in votes:
        Lm = L.copy()
        Lm[i, j] = -1
        T = np.zeros_like(sai.labels_)
        for c in range(T.shape[1]):
            T[:, c] = (Lm == c).sum(axis=1)
        covered = T.sum(axis=1) > 0
        T[covered] /= T[covered].sum(axis=1, keepdims=True)
        theta, _ = be.model.fit(be.X, T, n_norm=be.n_norm, tol=1e-12)
        out.append(be.loss(Xv, yv, theta) - base)
    return np.asarray(out)


@pytest.mark.parametrize("given", ["constructor", "call"])
def test_wm_influence_matches_leave_one_vote_out_retraining(given):
    # Exactness kept whichever way method="wm" is given: the first-order
    # change -phi / N matches retraining without the vote (damping 0).
    Xtr, Ltr, _, Xv, yv = _data(n_train=150, seed=4)
    if given == "constructor":
        sai = SourceAwareInfluence(l2=1e-2, method="wm", damping=0.0, tol=1e-12)
        scores = sai.fit(Xtr, Ltr).mislabel_scores(Xv, yv, score="influence")
    else:
        sai = SourceAwareInfluence(l2=1e-2, damping=0.0, tol=1e-12).fit(Xtr, Ltr)
        scores = sai.mislabel_scores(Xv, yv, score="influence", method="wm")
    rows = np.searchsorted(sai.train_index_, np.arange(len(Ltr)))
    i, j = np.nonzero(np.isfinite(scores))
    pick = np.random.RandomState(0).choice(i.size, 25, replace=False)
    votes = list(zip(rows[i[pick]], j[pick]))
    actual = _vote_retraining_change(sai, Xv, yv, votes)
    predicted = -scores[i[pick], j[pick]] / sai.n_train_
    assert np.corrcoef(predicted, actual)[0, 1] >= 0.999


def test_constructor_method_and_relative_govern_every_query():
    Xtr, Ltr, _, Xv, yv = _data(seed=6)
    for method, relative in (("wm", False), ("rw", True), ("wm", True)):
        sai = SourceAwareInfluence(l2=1e-2, method=method, relative=relative)
        sai.fit(Xtr, Ltr)
        explicit = sai.mislabel_scores(
            Xv, yv, score="influence", method=method, relative=relative
        )
        np.testing.assert_array_equal(
            sai.mislabel_scores(Xv, yv, score="influence"), explicit
        )
        # The influence of the results uses the same variant.
        res = sai.influence(Xv, yv)
        assert (res.method, res.relative) == (method, relative)
        # A call-level argument overrides, only when given.
        other = "rw" if method == "wm" else "wm"
        overridden = sai.mislabel_scores(
            Xv, yv, score="influence", method=other, relative=False
        )
        ok = np.isfinite(explicit)
        assert not np.allclose(overridden[ok], explicit[ok])
        # Leave-one-out removes the vote by the inspector's method; relative
        # has no leave-one-out form and is ignored unless asked for.
        np.testing.assert_array_equal(
            sai.mislabel_scores(score="leave_one_out"),
            sai.mislabel_scores(score="leave_one_out", method=method),
        )
        # drop_harmful scores and removes terms by the inspector's method.
        a = sai.drop_harmful(Xv, yv, fractions=[0, 0.3], cv=None)
        b = sai.drop_harmful(Xv, yv, fractions=[0, 0.3], cv=None, method=method)
        np.testing.assert_array_equal(a.validation_loss, b.validation_loss)
        for key in ("sample", "source", "class"):
            np.testing.assert_array_equal(a.removed[key], b.removed[key])
        c = sai.drop_harmful(Xv, yv, fractions=[0, 0.3], cv=None, method=other)
        assert not np.array_equal(a.validation_loss, c.validation_loss)
    # "auto" (the default): RW for the scores, WM for the repair.
    sai = SourceAwareInfluence(l2=1e-2).fit(Xtr, Ltr)
    assert sai.method_ == "rw" and sai.influence(Xv, yv).method == "rw"
    np.testing.assert_array_equal(
        sai.mislabel_scores(Xv, yv, score="influence"),
        sai.mislabel_scores(Xv, yv, score="influence", method="rw"),
    )
    np.testing.assert_array_equal(
        sai.drop_harmful(Xv, yv, fractions=[0, 0.3], cv=None).validation_loss,
        sai.drop_harmful(Xv, yv, fractions=[0, 0.3], cv=None, method="wm").validation_loss,
    )
    rw = SourceAwareInfluence(l2=1e-2, method="rw").fit(Xtr, Ltr)
    np.testing.assert_array_equal(
        rw.drop_harmful(Xv, yv, fractions=[0, 0.3], cv=None).validation_loss,
        sai.drop_harmful(Xv, yv, fractions=[0, 0.3], cv=None, method="rw").validation_loss,
    )
    with pytest.raises(ValueError, match="method must be"):
        sai.drop_harmful(Xv, yv, method="xx")
    with pytest.raises(ValueError, match="relative=True applies"):
        sai.mislabel_scores(relative=True)


def test_warm_newton_refit_of_a_large_model_reaches_the_cold_optimum():
    X, L, y = _sparse_data(seed=3, n=300, d=5000)  # 5001 parameters: CG regime
    T = np.eye(2)[y] * 0.8 + 0.1
    model = LogisticModel(5000, 2, reference=True, l2=1e-3)
    cold, _ = model.fit(X, T, tol=1e-10)
    T2 = T.copy()
    T2[:20] = T2[:20, ::-1]
    warm, info = model.fit(X, T2, init=cold, tol=1e-10)
    assert info["n_iter"] == 0 and info["n_newton"] > 0  # Newton-CG, no L-BFGS
    assert info["grad_inf"] <= 1e-10
    cold2, _ = model.fit(X, T2, tol=1e-10)
    np.testing.assert_allclose(warm, cold2, atol=1e-6 * np.abs(cold2).max())


# ------------------------------------------------------ repairs held out
def test_select_removal_keeps_only_clear_held_out_gains():
    from skweak_e2e.inspection._repair import select_removal

    rng = np.random.RandomState(0)
    base = rng.uniform(0.2, 1.0, 200)
    noise = rng.normal(0, 1, 200)
    noise -= noise.mean()  # planted means: exactly the offsets below
    losses = np.vstack([base, base - 0.10 + 0.05 * noise, base - 0.3 + 0.05 * noise])
    correct = np.ones((3, 200), dtype=bool)
    correct[2, :20] = False  # the lowest loss costs 10 points: not eligible
    out = select_removal(losses, correct)
    assert out.best == 1 and out.supported
    assert out.change[1] == pytest.approx(-0.10)
    assert out.change_se[1] == pytest.approx(0.05 * noise.std(ddof=1) / np.sqrt(200))
    assert out.accuracy.tolist() == [1.0, 1.0, 0.9]
    # A gain well inside its noise is not kept.
    noisy = np.vstack([base, base - 0.01 + 2.0 * noise])
    out = select_removal(noisy, np.ones((2, 200), dtype=bool))
    assert out.best == 0 and not out.supported
    # In sample (cv=None): the lowest loss, whatever its noise or accuracy.
    assert select_removal(losses, correct, in_sample=True).best == 2


def _coverage_data(seed=0, n=1500):
    """Four good sources on the first half, one fair source alone on the
    second half (coverage worth more than its noise), one adversarial source
    voting everywhere."""
    rng = np.random.RandomState(seed)
    y = rng.randint(2, size=n)
    X = rng.normal(size=(n, 5)) + 1.2 * (2 * y[:, None] - 1) * np.array([1, .5, 0, 0, 0])
    L = np.full((n, 6), -1)
    half = np.arange(n) < n // 2

    def votes(acc, rows):
        right = rng.rand(n) < acc
        return np.where(rows, np.where(right, y, 1 - y), -1)

    for j in range(4):
        L[:, j] = votes(0.85, half & (rng.rand(n) < 0.6))
    L[:, 4] = votes(0.7, ~half)
    L[:, 5] = votes(0.3, rng.rand(n) < 0.5)
    return X, L, y


def test_source_removal_influence_matches_retraining_without_the_source():
    from skweak_e2e.inspection._repair import source_removal_influence

    X, L, y = _coverage_data()
    Xtr, Ltr, Xv, yv = X[:800], L[:800], X[800:1100], y[800:1100]
    sai = SourceAwareInfluence(l2=1e-2, damping=0.0, tol=1e-12).fit(Xtr, Ltr)
    be = sai._backend
    u = be.directions(Xv, yv, "mean")[0]
    b = (be.P * u).sum(axis=1, keepdims=True) - u
    phi = source_removal_influence(sai._decomposition, b)
    actual = []
    for j in range(6):
        T = sai._decomposition.labels_without_sources([j])
        theta, _ = be.model.fit(be.X, T, n_norm=be.n_norm, tol=1e-12)
        actual.append(be.loss(Xv, yv, theta) - be.loss(Xv, yv))
    predicted = -phi / sai.n_train_
    assert np.corrcoef(predicted, actual)[0, 1] > 0.99
    # The adversarial source is harmful; the fair source alone on half the
    # rows is not: its coverage is worth more than its noise.
    assert phi[5] > 0 and phi[4] < 0 and np.argmax(phi) == 5


def test_drop_harmful_removes_on_held_out_evidence_and_reports_it():
    X, L, y = _coverage_data(seed=1)
    Xtr, Ltr, Xv, yv, Xte, yte = X[:800], L[:800], X[800:1100], y[800:1100], X[1100:], y[1100:]
    sai = SourceAwareInfluence(l2=1e-2).fit(Xtr, Ltr)
    rep = sai.drop_harmful(Xv, yv, unit="source")
    assert rep.removed.tolist() == [5] and rep.supported
    assert rep.expected_change < -2 * rep.expected_change_se < 0
    assert rep.expected_change == pytest.approx(
        rep.validation_loss[rep.candidates == rep.fraction][0] - rep.validation_loss[0]
    )
    # The unrepaired candidate's held-out loss is the whole-set loss.
    assert rep.validation_loss[0] == pytest.approx(rep.erm_validation_loss)

    def test_loss(est):
        return -np.mean(np.log(est.predict_proba(Xte)[np.arange(len(yte)), yte]))

    assert test_loss(rep.estimator) < test_loss(sai.end_model_)
    terms = sai.drop_harmful(Xv, yv)
    assert terms.fraction > 0 and test_loss(terms.estimator) < test_loss(sai.end_model_)


def test_drop_harmful_refuses_a_validation_set_too_small_to_cross_fit():
    Xtr, Ltr, _, Xv, yv = _data(seed=6)
    sai = SourceAwareInfluence(l2=1e-2).fit(Xtr, Ltr)
    with pytest.raises(ValueError, match="9 rows: too few"):
        sai.drop_harmful(Xv[:9], yv[:9], cv=2)
    for cv in (1, 2.5, True):
        with pytest.raises(ValueError, match="cv must be"):
            sai.drop_harmful(Xv, yv, cv=cv)
    # cv=None (in-sample selection) accepts it.
    assert sai.drop_harmful(Xv[:9], yv[:9], cv=None).validation_loss.shape == (10,)


def test_drop_harmful_warns_when_a_gain_is_within_its_noise(monkeypatch):
    from skweak_e2e.inspection import _repair

    Xtr, Ltr, _, Xv, yv = _data(seed=6)
    sai = SourceAwareInfluence(l2=1e-2).fit(Xtr, Ltr)
    rep = sai.drop_harmful(Xv, yv)
    if rep.fraction == 0:
        pytest.skip("no removal looked better on these data")
    # Demanding an implausible margin turns the same gain into "not supported".
    monkeypatch.setattr(_repair, "SIGNIFICANCE", 1e6)
    with pytest.warns(UserWarning, match="removed nothing"):
        rep = sai.drop_harmful(Xv, yv)
    assert rep.fraction == 0 and not rep.supported and rep.n_removed == 0
    assert rep.expected_change == 0.0
