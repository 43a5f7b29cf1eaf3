"""Known-answer tests of the source-aware influence functions.

Tiny problems (N = 200, d = 5, C = 3, M = 6, lambda = 1e-2) are checked
against finite differences, brute-force loops over explicit per-term
gradients and actual retraining. Retraining goes through the public
``SoftLabelLogisticRegression`` (an independent fit of the same objective).
The library damps the influence Hessian by default (``damping=1``); the
exact-influence tests pass ``damping=0`` explicitly, and the damping tests
check the damped solves against dense ``H + delta I`` solves.
"""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from skweak_e2e import MajorityVote, SourceAwareInfluence
from skweak_e2e.label_model._base import BaseLabelModel
from skweak_e2e.datasets import make_weak_supervision, planted_posterior
from skweak_e2e.inspection import InfluenceResult
from skweak_e2e.inspection._linear_loss import LogisticModel

from .._tolerance import assert_allclose_scaled

LAM = 1e-2


class FixedW(BaseLabelModel):
    """A label model with a given tensor form (for invariance tests)."""

    def __init__(self, W=None, activation="identity"):
        self.W = W
        self.activation = activation
        self.n_classes = None
        self.abstain = -1
        self.class_prior = None
        self.tie_break = "abstain"
        self.random_state = None

    def _fit(self, L, sample_weight=None):
        self.W_ = np.asarray(self.W, dtype=float)


def _data(n_train=200, n_val=100, n_sources=6, n_classes=3, seed=1, **kw):
    kw.setdefault("coverage", 0.5)
    kw.setdefault("accuracy", 0.7)
    X, L, y = make_weak_supervision(
        n_train + n_val, n_sources, n_classes, n_features=5, random_state=seed, **kw
    )
    return X[:n_train], L[:n_train], y[:n_train], X[n_train:], y[n_train:]


@pytest.fixture(scope="module")
def tiny():
    Xtr, Ltr, ytr, Xv, yv = _data()
    sai = SourceAwareInfluence(l2=LAM, tol=1e-12, damping=0.0).fit(Xtr, Ltr)
    return Xtr, Ltr, ytr, Xv, yv, sai


def _retrain_val_loss(X, T, Xv, yv, init=None):
    """Validation loss after retraining the end model on labels ``T``.

    A fresh fit of the same objective (warm-started when ``init`` is given),
    independent of the influence computation.
    """
    model = LogisticModel(X.shape[1], T.shape[1], l2=LAM)
    theta, info = model.fit(X, T, init=init, tol=1e-13, max_iter=5000)
    assert info["grad_inf"] <= 1e-12
    return -np.mean(model.log_proba(Xv, theta)[np.arange(len(yv)), yv])


def _brute_force(sai, Xv, yv, damping=0.0):
    """phi^rw[i, j, c] from explicit gradients, H and loops (training rows).

    ``damping`` solves with ``H + delta I``, ``delta = damping * tr(H) / D``.
    """
    be = sai._backend
    model, theta = be.model, be.theta
    X = be.X
    N, C = X.shape[0], sai.n_classes_
    Xt = np.hstack([X, np.ones((N, 1))])
    P = model.proba(X, theta)
    A = np.einsum("ia,ab->iab", P, np.eye(C)) - np.einsum("ia,ib->iab", P, P)
    F = Xt.shape[1]
    H = np.einsum("if,ig,iab->fagb", Xt, Xt, A).reshape(F * C, F * C) / N
    H += LAM * np.eye(F * C)
    H += damping * np.trace(H) / len(H) * np.eye(F * C)
    Pv = model.proba(Xv, theta)
    Xvt = np.hstack([Xv, np.ones((len(Xv), 1))])
    g_t = (Xvt.T @ (Pv - np.eye(C)[yv])).ravel() / len(yv)
    v = np.linalg.lstsq(H, g_t, rcond=None)[0]
    L = sai._decomposition.L
    W = sai.W_
    Z = sai._decomposition.Z
    phi = np.zeros((N, L.shape[1], C))
    for i in range(N):
        for j in range(L.shape[1]):
            for c in range(C):
                a = W[j, L[i, j] + 1, c] / Z[i]
                grad = a * np.outer(Xt[i], P[i] - np.eye(C)[c]).ravel()
                phi[i, j, c] = -v @ grad
    ordinary = np.array(
        [-v @ np.outer(Xt[i], P[i] - sai.labels_[i]).ravel() for i in range(N)]
    )
    return phi, ordinary


def test_damped_influence_matches_brute_force(tiny):
    Xtr, Ltr, _, Xv, yv, exact = tiny
    damping = 0.3
    damped = SourceAwareInfluence(l2=LAM, tol=1e-12, damping=damping).fit(Xtr, Ltr)
    # The end model is the same: only the influence solves are damped.
    np.testing.assert_array_equal(damped._backend.theta, exact._backend.theta)
    res = damped.influence(Xv, yv)
    phi_bf, ordinary_bf = _brute_force(damped, Xv, yv, damping=damping)
    idx = damped.train_index_
    scale = np.abs(phi_bf).max()
    dense = res.terms("dense")
    np.testing.assert_allclose(dense[idx], phi_bf, atol=1e-10 * scale)
    # Sum identity holds with the damped Hessian too (one H for every score).
    np.testing.assert_allclose(res.per_sample[idx], ordinary_bf, atol=1e-10 * scale)
    np.testing.assert_allclose(res.ordinary, res.per_sample, atol=1e-10 * scale)
    # CG agrees with Cholesky.
    cg = SourceAwareInfluence(l2=LAM, tol=1e-12, damping=damping, solver="cg")
    np.testing.assert_allclose(
        cg.fit(Xtr, Ltr).influence(Xv, yv).terms("dense"), dense, atol=1e-8 * scale
    )
    # Damping changes the scores (the exact fixture has damping=0).
    undamped = exact.influence(Xv, yv).terms("dense")
    assert np.abs(undamped - dense).max() > 1e-2 * scale
    # RelatIF uses the damped inverse: phi / sqrt(a^2 g^T (H + delta I)^-1 g).
    rel = SourceAwareInfluence(l2=LAM, tol=1e-12, damping=damping, relative=True)
    coo = rel.fit(Xtr, Ltr).influence(Xv, yv).terms()
    be = damped._backend
    H = be.model.hessian(be.X, be.P, np.ones(len(be.X)))
    H += damping * np.trace(H) / len(H) * np.eye(len(H))
    Hinv = np.linalg.inv(H)
    C = damped.n_classes_
    for t in range(0, coo["influence"].size, 37):
        i = np.searchsorted(idx, coo["sample"][t])
        c = coo["class"][t]
        a = coo["coefficient"][t] / damped._decomposition.Z[i]
        g = a * np.outer(np.append(be.X[i], 1.0), be.P[i] - np.eye(C)[c]).ravel()
        q = g @ Hinv @ g
        assert coo["self_influence"][t] == pytest.approx(q, rel=1e-9)
        expected = dense[coo["sample"][t], coo["source"][t], c] / np.sqrt(q)
        assert coo["influence"][t] == pytest.approx(expected, rel=1e-9)


# -------------------------------------------------------------------- identities
def test_sum_identity_and_brute_force_aggregates(tiny):
    _, Ltr, _, Xv, yv, sai = tiny
    res = sai.influence(Xv, yv)
    assert isinstance(res, InfluenceResult)
    phi_bf, ordinary_bf = _brute_force(sai, Xv, yv)
    idx = sai.train_index_
    dense = res.terms("dense")
    np.testing.assert_allclose(dense[idx], phi_bf, atol=1e-10 * np.abs(phi_bf).max())
    # Sum identity: sum_jc phi^rw_ijc = phi_i (ordinary IF), to 1e-10 relative.
    scale = np.abs(ordinary_bf).max()
    assert np.abs(dense[idx].sum(axis=(1, 2)) - ordinary_bf).max() <= 1e-10 * scale
    assert np.abs(res.per_sample[idx] - ordinary_bf).max() <= 1e-10 * scale
    assert np.abs(res.ordinary[idx] - ordinary_bf).max() <= 1e-10 * scale
    # Table 1 rows against brute-force sums of the full tensor.
    np.testing.assert_allclose(
        res.per_source, phi_bf.sum(axis=(0, 2)), atol=1e-10 * scale
    )
    np.testing.assert_allclose(
        res.per_vote.toarray()[idx], phi_bf.sum(axis=2), atol=1e-10 * scale
    )
    per_param = np.zeros_like(res.per_parameter)
    L = sai._decomposition.L
    for j in range(L.shape[1]):
        for k in range(sai.n_classes_ + 1):
            rows = L[:, j] + 1 == k
            per_param[j, k] = phi_bf[rows, j, :].sum(axis=0)
    np.testing.assert_allclose(res.per_parameter, per_param, atol=1e-10 * scale)
    assert_allclose_scaled(
        res.per_parameter.sum(axis=(1, 2)), res.per_source, atol=1e-12
    )
    # COO lists exactly the non-zero coefficients (MV: one term per vote).
    coo = res.terms()
    assert coo["influence"].size == np.count_nonzero(Ltr[idx] >= 0)
    np.testing.assert_allclose(
        coo["influence"], dense[coo["sample"], coo["source"], coo["class"]]
    )


def test_uncovered_rows_have_zero_influence():
    Xtr, Ltr, _, Xv, yv = _data()
    Ltr = Ltr.copy()
    Ltr[:7] = -1
    sai = SourceAwareInfluence(l2=LAM).fit(Xtr, Ltr)
    assert sai.n_train_ == np.count_nonzero((Ltr >= 0).any(axis=1))
    assert not np.isin(np.arange(7), sai.train_index_).any()
    res = sai.influence(Xv, yv)
    assert np.all(res.per_sample[:7] == 0) and np.all(res.ordinary[:7] == 0)
    assert res.per_vote[:7].nnz == 0


# ------------------------------------------------------ derivative / retraining
def test_rw_derivative_matches_retraining(tiny):
    Xtr, _, _, Xv, yv, sai = tiny
    res = sai.influence(Xv, yv)
    coo = res.terms()
    N, X = sai.n_train_, Xtr[sai.train_index_]
    th = sai._backend.theta
    rng = np.random.RandomState(0)
    eps = 1e-4
    for t in rng.choice(coo["influence"].size, 4, replace=False):
        i = np.searchsorted(sai.train_index_, coo["sample"][t])
        c = coo["class"][t]
        a = coo["coefficient"][t] / sai._decomposition.Z[i]
        plus, minus = sai.labels_.copy(), sai.labels_.copy()
        plus[i, c] += eps * N * a
        minus[i, c] -= eps * N * a
        fd = (
            _retrain_val_loss(X, plus, Xv, yv, th)
            - _retrain_val_loss(X, minus, Xv, yv, th)
        ) / (2 * eps)
        assert abs(fd - coo["influence"][t]) <= 1e-3 * abs(fd)


def test_wm_derivative_matches_retraining():
    Xtr, Ltr, _, Xv, yv = _data()
    sai = SourceAwareInfluence(method="wm", l2=LAM, tol=1e-12, damping=0.0)
    sai.fit(Xtr, Ltr)
    coo = sai.influence(Xv, yv).terms()
    dec, N, X = sai._decomposition, sai.n_train_, Xtr[sai.train_index_]
    th = sai._backend.theta
    moving = np.flatnonzero(coo["influence"] != 0)
    rng = np.random.RandomState(1)
    eps = 1e-4
    for t in rng.choice(moving, 4, replace=False):
        i = np.searchsorted(sai.train_index_, coo["sample"][t])
        S = dec.S[i].copy()
        S[coo["class"][t]] -= coo["coefficient"][t]
        moved = S / S.sum() if S.sum() > 0 else np.zeros_like(S)
        delta = sai.labels_[i] - moved
        plus, minus = sai.labels_.copy(), sai.labels_.copy()
        plus[i] += eps * N * delta
        minus[i] -= eps * N * delta
        fd = (
            _retrain_val_loss(X, plus, Xv, yv, th)
            - _retrain_val_loss(X, minus, Xv, yv, th)
        ) / (2 * eps)
        assert abs(fd - coo["influence"][t]) <= 1e-3 * abs(fd)


def test_leave_one_term_out_retraining(tiny):
    Xtr, _, _, Xv, yv, sai = tiny
    coo = sai.influence(Xv, yv).terms()
    N, X = sai.n_train_, Xtr[sai.train_index_]
    th = sai._backend.theta
    base = _retrain_val_loss(X, sai.labels_, Xv, yv, th)
    rng = np.random.RandomState(2)
    picks = rng.choice(coo["influence"].size, 30, replace=False)
    predicted, actual = [], []
    for t in picks:
        i = np.searchsorted(sai.train_index_, coo["sample"][t])
        T = sai.labels_.copy()
        T[i, coo["class"][t]] -= coo["coefficient"][t] / sai._decomposition.Z[i]
        predicted.append(-coo["influence"][t] / N)  # removal: eps = -1/N
        actual.append(_retrain_val_loss(X, T, Xv, yv, th) - base)
    predicted, actual = np.array(predicted), np.array(actual)
    assert np.corrcoef(predicted, actual)[0, 1] >= 0.98
    big = np.abs(predicted) > np.median(np.abs(predicted))
    assert np.all(np.sign(predicted[big]) == np.sign(actual[big]))


def test_group_removal_of_a_source(tiny):
    Xtr, _, _, Xv, yv, sai = tiny
    res = sai.influence(Xv, yv)
    N, X = sai.n_train_, Xtr[sai.train_index_]
    th = sai._backend.theta
    base = _retrain_val_loss(X, sai.labels_, Xv, yv, th)
    j = int(np.argmax(np.abs(res.per_source)))
    dec = sai._decomposition
    T = sai.labels_ - dec.coefficients(j) / dec.Z[:, None]  # RW: drop all of j's terms
    actual = _retrain_val_loss(X, T, Xv, yv, th) - base
    predicted = -res.per_source[j] / N
    assert np.sign(actual) == np.sign(predicted)
    assert 0.3 <= actual / predicted <= 3


# ----------------------------------------------------------------- invariances
@pytest.mark.parametrize(
    "method,relative", [("rw", False), ("wm", False), ("rw", True), ("wm", True)]
)
def test_zero_terms_have_zero_influence(method, relative):
    Xtr, Ltr, _, Xv, yv = _data()
    W = MajorityVote().fit(Ltr).W_ * np.array([1, 2, 0.5, 1, 3, 1.5])[:, None, None]
    W[2, 1, 2] = 0.3  # a few off-diagonal entries: more than one term per vote
    sai = SourceAwareInfluence(FixedW(W), method=method, relative=relative, l2=LAM).fit(
        Xtr, Ltr
    )
    dense = sai.influence(Xv, yv).terms("dense")[sai.train_index_]
    L = Ltr[sai.train_index_]
    coef = W[np.arange(L.shape[1])[None, :], L + 1]  # (n, m, C)
    assert np.all(dense[coef == 0] == 0)
    # Not vacuous: most existing terms score (WM terms can be exactly 0, e.g.
    # one of two votes for the same class: removing it leaves the label).
    assert np.count_nonzero(dense[coef != 0]) > 0.6 * np.count_nonzero(coef)


def test_rescaling_W_leaves_influence_unchanged(tiny):
    Xtr, Ltr, _, Xv, yv, _ = tiny
    W = MajorityVote().fit(Ltr).W_
    for method in ("rw", "wm"):
        a = SourceAwareInfluence(FixedW(W), method=method, l2=LAM).fit(Xtr, Ltr)
        b = SourceAwareInfluence(FixedW(3.7 * W), method=method, l2=LAM).fit(Xtr, Ltr)
        ra, rb = a.influence(Xv, yv), b.influence(Xv, yv)
        assert_allclose_scaled(
            ra.terms("dense"), rb.terms("dense"), rtol=1e-9, atol=1e-12
        )
        assert_allclose_scaled(
            ra.per_parameter, rb.per_parameter, rtol=1e-9, atol=1e-12
        )


def test_duplicated_source_gets_equal_influence():
    X, L, y = make_weak_supervision(
        300, 5, 3, n_features=5, duplicates={1: 1}, random_state=3
    )
    sai = SourceAwareInfluence(l2=LAM).fit(X[:200], L[:200])
    for res in (sai.influence(X[200:], y[200:]), sai.influence(X[200:201], y[200:201])):
        assert res.per_source[1] == pytest.approx(res.per_source[5], rel=1e-12)
        np.testing.assert_allclose(
            res.per_vote[:, 1].toarray(), res.per_vote[:, 5].toarray()
        )


def test_relatif_nonnegative_self_influence_and_independent_of_a():
    Xtr, Ltr, _, Xv, yv = _data()
    weights = np.array([1.0, 2.0, 0.5, 1.0, 3.0, 1.5])
    W = MajorityVote().fit(Ltr).W_ * weights[:, None, None]
    sai = SourceAwareInfluence(FixedW(W), relative=True, l2=LAM).fit(Xtr, Ltr)
    res = sai.influence(Xv, yv)
    coo = res.terms()
    assert np.all(coo["self_influence"] >= 0)
    # R-RW = -b_ic / sqrt(k_ic): every vote for class c on row i scores the same,
    # whatever the source weight a_ijc.
    key = coo["sample"] * 10 + coo["class"]
    for k in np.unique(key):
        vals = coo["influence"][key == k]
        assert_allclose_scaled(vals, vals[0], rtol=1e-10, atol=1e-12)
    assert np.mean([np.sum(key == k) > 1 for k in np.unique(key)]) > 0.2  # not vacuous
    # Ratios: RelatIF * sqrt(q) recovers plain RW.
    rw = SourceAwareInfluence(FixedW(W), l2=LAM).fit(Xtr, Ltr).influence(Xv, yv).terms()
    assert_allclose_scaled(
        coo["influence"] * np.sqrt(coo["self_influence"]),
        rw["influence"],
        rtol=1e-8,
        atol=1e-12,
    )


def test_binary_one_logit_matches_two_logits():
    # 2 logits with L2 lambda on all parameters == 1 logit with lambda / 2
    # (the 2-logit optimum is antisymmetric: theta_0 = -theta_1 = theta / 2).
    Xtr, Ltr, _, Xv, yv = _data(n_classes=2)
    for method in ("rw", "wm"):
        two = SourceAwareInfluence(
            l2=LAM, logits="multinomial", method=method, tol=1e-12, damping=0.0
        )
        one = SourceAwareInfluence(
            l2=LAM / 2, logits="reference", method=method, tol=1e-12, damping=0.0
        )
        two.fit(Xtr, Ltr)
        one.fit(Xtr, Ltr)
        np.testing.assert_allclose(
            two.end_model_.predict_proba(Xv),
            one.end_model_.predict_proba(Xv),
            atol=1e-9,
        )
        a, b = two.influence(Xv, yv), one.influence(Xv, yv)
        assert a.method == b.method == method
        scale = np.abs(a.per_sample).max()
        np.testing.assert_allclose(
            a.terms("dense"), b.terms("dense"), atol=1e-6 * scale
        )


# ------------------------------------------------------------------- use cases
def test_theorem1_dropping_harmful_terms_lowers_validation_loss():
    # 5 good sources and 1 adversarial one (wrong on 60% of its wide coverage).
    X, L, y = make_weak_supervision(
        700,
        6,
        2,
        n_features=5,
        coverage=[0.5] * 5 + [0.8],
        accuracy=[0.95, 0.93, 0.92, 0.9, 0.9, 0.4],
        random_state=1,
    )
    Xtr, Ltr, Xv, yv = X[:400], L[:400], X[400:], y[400:]
    for method in ("rw", "wm"):
        sai = SourceAwareInfluence(l2=LAM, method=method).fit(Xtr, Ltr)
        rep = sai.drop_harmful(Xv, yv, method=None, cv=None)  # in-sample: Thm. 1
        assert rep.validation_loss.min() < rep.erm_validation_loss - 1e-3
        assert rep.validation_loss[rep.candidates == 0][0] == pytest.approx(
            rep.erm_validation_loss
        )
        assert rep.fraction > 0
        assert np.mean(rep.removed["source"] == 5) >= 0.5
        assert np.all(rep.removed["influence"] > 0)
        # The returned estimator is the retrained end model.
        proba = rep.estimator.predict_proba(Xv)
        loss = -np.mean(np.log(proba[np.arange(len(yv)), yv]))
        assert loss == pytest.approx(rep.validation_loss.min(), rel=1e-6)
    sai = SourceAwareInfluence(l2=LAM).fit(Xtr, Ltr)
    res = sai.influence(Xv, yv)
    assert np.argmax(res.per_source) == 5 and res.per_source[5] > 0
    gif = sai.drop_harmful(Xv, yv, unit="source", cv=None)
    assert (
        list(gif.removed) == [5] and gif.validation_loss.min() < gif.erm_validation_loss
    )
    ifs = sai.drop_harmful(Xv, yv, unit="sample", cv=None)
    assert ifs.validation_loss.min() <= ifs.erm_validation_loss


def test_mislabel_scores_rank_wrong_votes_first():
    from sklearn.metrics import average_precision_score

    Xtr, Ltr, ytr, Xv, yv = _data(n_train=300, n_classes=2, accuracy=0.75, seed=4)
    sai = SourceAwareInfluence(l2=LAM).fit(Xtr, Ltr)
    scores = sai.mislabel_scores(Xv, yv)
    assert np.array_equal(np.isnan(scores), Ltr < 0)
    for j in range(Ltr.shape[1]):
        voted = Ltr[:, j] >= 0
        wrong = Ltr[voted, j] != ytr[voted]
        assert average_precision_score(wrong, scores[voted, j]) > wrong.mean()


def test_explain_returns_most_harmful_components(tiny):
    _, Ltr, _, Xv, yv, sai = tiny
    exp = sai.explain(Xv[0], yv[0], top_k=3)
    res = sai.influence(Xv[:1], yv[:1], reduce="sum")
    np.testing.assert_allclose(exp.proba, sai.end_model_.predict_proba(Xv[:1])[0])
    assert exp.samples.index[0] == np.argmax(res.per_sample)
    assert list(exp.sources.index) == list(np.argsort(-res.per_source)[:3])
    dense_votes = res.per_vote.toarray()
    i, j = exp.votes.sample[0], exp.votes.source[0]
    assert dense_votes[i, j] == dense_votes.max() == exp.votes.influence[0]
    assert exp.votes.vote[0] == Ltr[i, j]


def test_reduce_modes(tiny):
    _, _, _, Xv, yv, sai = tiny
    mean = sai.influence(Xv[:4], yv[:4])
    total = sai.influence(Xv[:4], yv[:4], reduce="sum")
    each = sai.influence(Xv[:4], yv[:4], reduce="none")
    assert len(each) == 4
    assert_allclose_scaled(total.per_sample, 4 * mean.per_sample, atol=1e-12)
    assert_allclose_scaled(
        sum(r.per_source for r in each), total.per_source, atol=1e-10
    )
    single = sai.influence(Xv[2:3], yv[2:3])
    assert_allclose_scaled(each[2].per_sample, single.per_sample, atol=1e-12)


def test_errors_and_dense_guard(tiny):
    Xtr, Ltr, _, Xv, yv, sai = tiny
    with pytest.raises(ValueError, match="max_bytes"):
        sai.influence(Xv, yv).terms("dense", max_bytes=100)
    with pytest.raises(ValueError, match="outside"):
        sai.influence(Xv, yv + 5)
    with pytest.raises(ValueError, match="features"):
        sai.influence(Xv[:, :3], yv)
    with pytest.raises(ValueError, match="rows"):
        SourceAwareInfluence().fit(Xtr[:10], Ltr)
    with pytest.raises(TypeError, match="end model"):
        SourceAwareInfluence((MajorityVote(), object())).fit(Xtr, Ltr)
    with pytest.raises(ValueError, match="solver"):
        SourceAwareInfluence(relative=True, solver="cg").fit(Xtr, Ltr)


# ------------------------------------------------------- end models and exp LMs
def test_sklearn_logistic_regression_penalty_translation():
    Xtr, Ltr, _, Xv, yv = _data()
    mv = MajorityVote().fit(Ltr)
    T = mv.predict_proba(Ltr)
    T[~(Ltr >= 0).any(axis=1)] = 0  # the influence objective uses covered rows only
    i, c = np.nonzero(T > 0)
    lr = LogisticRegression(C=0.5, tol=1e-10, max_iter=10000).fit(
        Xtr[i], c, sample_weight=T[i, c]
    )
    sai = SourceAwareInfluence((mv, lr), tol=1e-12).fit(Xtr, Ltr)
    # A correct translation (l2 = 1/(C N), free intercept) finds sklearn's
    # optimum already stationary.
    assert sai.stationarity_["grad_inf_given"] < 1e-6
    assert sai.stationarity_["grad_inf"] <= 1e-12
    assert isinstance(sai.end_model_, LogisticRegression)
    np.testing.assert_allclose(sai.end_model_.coef_, lr.coef_, atol=1e-5)
    res = sai.influence(Xv, yv)
    assert_allclose_scaled(res.per_sample, res.ordinary, atol=1e-12)
    # An unfitted LogisticRegression is trained and analysed the same way.
    sai2 = SourceAwareInfluence((mv, LogisticRegression(C=0.5)), tol=1e-12).fit(
        Xtr, Ltr
    )
    np.testing.assert_allclose(
        sai2.influence(Xv, yv).per_source, res.per_source, rtol=1e-8
    )
    rep = sai.drop_harmful(Xv, yv, fractions=[0, 0.1])
    assert isinstance(rep.estimator, LogisticRegression)


def test_exp_label_model_weight_moving_matches_retraining():
    X, L, y, params = make_weak_supervision(
        300,
        6,
        3,
        n_features=5,
        coverage=0.5,
        accuracy=0.7,
        return_params=True,
        random_state=5,
    )
    # Oracle DS-form tensor (exp): a planted-posterior label model.
    E = np.concatenate(
        [
            (1 - params.coverage)[:, :, None],
            params.coverage[:, :, None] * params.confusion,
        ],
        axis=2,
    )
    W = np.log(E).transpose(0, 2, 1) + np.log(params.class_prior) / 6
    lm = FixedW(W, activation="exp").fit(L[:200])
    np.testing.assert_allclose(
        lm.predict_proba(L[:200]), planted_posterior(L[:200], params)
    )
    Xtr, Ltr, Xv, yv = X[:200], L[:200], X[200:], y[200:]
    with pytest.raises(ValueError, match="identity label model"):
        SourceAwareInfluence(lm, linearize=False).fit(Xtr, Ltr)
    sai = SourceAwareInfluence(lm, method="wm", l2=LAM, tol=1e-12, damping=0.0)
    sai.fit(Xtr, Ltr)
    assert sai.activation_ == "exp" and sai.linearized_model_ is None
    coo = sai.influence(Xv, yv).terms()
    dec, N, Xt = sai._decomposition, sai.n_train_, Xtr[sai.train_index_]
    th = sai._backend.theta
    rng = np.random.RandomState(0)
    eps = 1e-4
    for t in rng.choice(coo["influence"].size, 3, replace=False):
        i = np.searchsorted(sai.train_index_, coo["sample"][t])
        S = dec.S[i].copy()
        S[coo["class"][t]] -= coo["coefficient"][t]
        moved = np.exp(S - S.max()) / np.exp(S - S.max()).sum()
        delta = sai.labels_[i] - moved
        plus, minus = sai.labels_.copy(), sai.labels_.copy()
        plus[i] += eps * N * delta
        minus[i] -= eps * N * delta
        fd = (
            _retrain_val_loss(Xt, plus, Xv, yv, th)
            - _retrain_val_loss(Xt, minus, Xv, yv, th)
        ) / (2 * eps)
        assert abs(fd - coo["influence"][t]) <= 1e-3 * abs(fd)


@pytest.mark.parametrize("name", ["DawidSkene", "Snorkel"])
def test_exp_label_model_is_linearized_for_reweighting(name):
    import warnings

    import skweak_e2e.label_model as lm_module

    Xtr, Ltr, _, Xv, yv = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter of the label models
        lm = (
            getattr(lm_module, name)(random_state=0)
            if name == "Snorkel"
            else lm_module.DawidSkene()
        )
        lm.fit(Ltr)
        sai = SourceAwareInfluence(lm, l2=LAM).fit(Xtr, Ltr)
    assert lm.activation == "exp"
    assert sai.activation_ == "identity" and sai.linearized_model_ is not None
    assert_allclose_scaled(
        sai.labels_,
        sai.linearized_model_.predict_proba(Ltr)[sai.train_index_],
        atol=1e-12,
    )
    assert sai.linearized_model_.fidelity_["argmax_agreement"] > 0.8
    res = sai.influence(Xv, yv)
    assert_allclose_scaled(res.per_sample, res.ordinary, atol=1e-12)
    # WM works on the exp model directly (no linearisation).
    wm = SourceAwareInfluence(lm, method="wm", l2=LAM).fit(Xtr, Ltr)
    assert wm.activation_ == "exp" and wm.linearized_model_ is None
    assert_allclose_scaled(
        wm.labels_, lm.predict_proba(Ltr)[wm.train_index_], atol=1e-10
    )


# --------------------------------------------------------------------- torch
@pytest.fixture
def torch_serial():
    """torch with one intra-op thread (restored after the test).

    These tiny networks gain nothing from threads, and on a busy CI machine
    torch's spinning thread pool makes each small op ~50x slower.
    """
    torch = pytest.importorskip("torch")
    n_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield torch
    torch.set_num_threads(n_threads)


def _linear_at_optimum(torch, ref):
    """A float64 ``nn.Linear(5, 3)`` holding the closed-form solution of ``ref``."""
    theta = ref._backend.theta.reshape(6, 3)
    lin = torch.nn.Linear(5, 3).double()
    with torch.no_grad():
        lin.weight.copy_(torch.as_tensor(theta[:5].T))
        lin.bias.copy_(torch.as_tensor(theta[5]))
    return lin


def test_torch_last_layer_and_full_network_match_closed_form(tiny, torch_serial):
    torch = torch_serial
    Xtr, Ltr, _, Xv, yv, _ = tiny
    ref = SourceAwareInfluence(
        l2=LAM, logits="multinomial", tol=1e-12, damping=0.0
    ).fit(Xtr, Ltr)
    r0 = ref.influence(Xv, yv)
    scale = np.abs(r0.per_sample).max()
    # A network whose body is the identity: the last layer is the whole model
    # (as a bare module and as a skorch net; the layer is polished from its
    # random initialisation to the same optimum).
    body = torch.nn.Sequential(torch.nn.Identity(), torch.nn.Linear(5, 3)).double()
    nets = [body]
    skorch = pytest.importorskip("skorch")
    nets.append(skorch.NeuralNetClassifier(body, train_split=None).initialize())
    for net in nets:
        last = SourceAwareInfluence(
            (MajorityVote(), net), l2=LAM, tol=1e-12, damping=0.0
        )
        r1 = last.fit(Xtr, Ltr).influence(Xv, yv)
        np.testing.assert_allclose(
            r1.terms("dense"), r0.terms("dense"), atol=1e-6 * scale
        )
    # Full network (GGN = Hessian for a linear softmax model) at the optimum.
    lin = _linear_at_optimum(torch, ref)
    full = SourceAwareInfluence(
        (MajorityVote(), lin), l2=LAM, network="full", cg_tol=1e-12, damping=0.0
    )
    full.fit(Xtr, Ltr)
    u_jvp = full._backend.directions(Xv, yv, "mean")[0]
    u_ref = ref._backend.directions(Xv, yv, "mean")[0]
    np.testing.assert_allclose(u_jvp, u_ref, atol=1e-8 * np.abs(u_ref).max())
    np.testing.assert_allclose(
        full.influence(Xv, yv).per_sample, r0.per_sample, atol=1e-6 * scale
    )
    with pytest.raises(ValueError, match="last_layer"):
        full.drop_harmful(Xv, yv)


def test_torch_paths_with_damping_match_closed_form(tiny, torch_serial):
    torch = torch_serial
    Xtr, Ltr, _, Xv, yv, _ = tiny
    damping = 0.3
    kw = {"l2": LAM, "tol": 1e-12, "damping": damping}
    ref = SourceAwareInfluence(logits="multinomial", **kw).fit(Xtr, Ltr)
    r0 = ref.influence(Xv, yv)
    scale = np.abs(r0.per_sample).max()
    # Last layer: the closed-form machinery, damped the same way.
    body = torch.nn.Sequential(torch.nn.Identity(), torch.nn.Linear(5, 3)).double()
    last = SourceAwareInfluence((MajorityVote(), body), **kw).fit(Xtr, Ltr)
    np.testing.assert_allclose(
        last.influence(Xv, yv).terms("dense"), r0.terms("dense"), atol=1e-6 * scale
    )
    # Full network: delta = damping * tr(G + l2 I) / D, the trace estimated by
    # Hutchinson probes; the solve is exact for that delta.
    lin = _linear_at_optimum(torch, ref)
    full = SourceAwareInfluence(
        (MajorityVote(), lin), l2=LAM, damping=damping, network="full", cg_tol=1e-12
    ).fit(Xtr, Ltr)
    be, solver = full._backend, ref._backend.solver
    assert be.hessian_scale_ == pytest.approx(solver.hessian_scale_, rel=0.3)
    delta = be.damping_ - LAM
    assert delta == pytest.approx(damping * be.hessian_scale_, rel=1e-12)
    same = SourceAwareInfluence(
        logits="multinomial", l2=LAM, tol=1e-12, damping=delta / solver.hessian_scale_
    ).fit(Xtr, Ltr)
    u_ref = same._backend.directions(Xv, yv, "mean")[0]
    u_jvp = be.directions(Xv, yv, "mean")[0]
    np.testing.assert_allclose(u_jvp, u_ref, atol=1e-8 * np.abs(u_ref).max())
    # Undamped: the GGN damping is l2 alone and no trace is estimated.
    plain = SourceAwareInfluence(
        (MajorityVote(), lin), l2=LAM, damping=0.0, network="full"
    ).fit(Xtr, Ltr)
    assert plain._backend.damping_ == LAM and plain._backend.hessian_scale_ is None


def test_skorch_net_end_model(torch_serial):
    torch = torch_serial
    skorch = pytest.importorskip("skorch")
    Xtr, Ltr, ytr, Xv, yv = _data()
    torch.manual_seed(0)
    net = skorch.NeuralNetClassifier(
        torch.nn.Sequential(
            torch.nn.Linear(5, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3)
        ),
        max_epochs=3,
        train_split=None,
        verbose=0,
    ).fit(Xtr.astype(np.float32), ytr)
    sai = SourceAwareInfluence((MajorityVote(), net), l2=LAM).fit(
        Xtr.astype(np.float32), Ltr
    )
    assert sai.stationarity_["grad_inf"] <= 1e-8 < sai.stationarity_["grad_inf_given"]
    res = sai.influence(Xv.astype(np.float32), yv)
    assert_allclose_scaled(res.per_sample, res.ordinary, atol=1e-10)
    rep = sai.drop_harmful(Xv.astype(np.float32), yv, fractions=[0, 0.2])
    assert isinstance(rep.estimator, torch.nn.Module)
    gold = sai.mislabel_scores(Xv.astype(np.float32), yv)  # last-layer features
    np.testing.assert_array_equal(np.isnan(gold), np.isnan(sai.mislabel_scores()))


def test_label_model_classifier_and_pipeline_end_models():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from skweak_e2e.two_stage import LabelModelClassifier

    Xtr, Ltr, _, Xv, yv = _data()
    lmc = LabelModelClassifier(
        MajorityVote(), LogisticRegression(C=0.5, tol=1e-10, max_iter=5000)
    )
    lmc.fit(Xtr, Ltr)
    sai = SourceAwareInfluence(lmc, tol=1e-12).fit(Xtr, Ltr)
    # Same rows, same soft labels, translated penalty: already stationary.
    assert sai.stationarity_["grad_inf_given"] < 1e-6
    pair = SourceAwareInfluence((MajorityVote(), LogisticRegression(C=0.5)), tol=1e-12)
    np.testing.assert_allclose(
        sai.influence(Xv, yv).per_source,
        pair.fit(Xtr, Ltr).influence(Xv, yv).per_source,
        rtol=1e-8,
    )
    # A pipeline: the scaler is a fixed feature map of the logistic regression.
    pipe = LabelModelClassifier(
        MajorityVote(), make_pipeline(StandardScaler(), LogisticRegression(C=0.5))
    ).fit(Xtr, Ltr)
    psai = SourceAwareInfluence(pipe, tol=1e-12).fit(Xtr, Ltr)
    res = psai.influence(Xv, yv)
    assert_allclose_scaled(res.per_sample, res.ordinary, atol=1e-12)
    rep = psai.drop_harmful(Xv, yv, fractions=[0, 0.1])
    assert rep.estimator.predict_proba(Xv).shape == (len(yv), 3)
    # The leave-one-out score refits the pipeline's last step with the gold
    # rows, mapped through the fixed head.
    gold = psai.mislabel_scores(Xv, yv)
    free = psai.mislabel_scores()
    np.testing.assert_array_equal(np.isnan(gold), np.isnan(free))
    assert np.nanmax(np.abs(gold - free)) > 1e-3


def test_soft_votes_match_hard_votes(tiny):
    Xtr, Ltr, _, Xv, yv, _ = tiny
    soft = np.zeros(Ltr.shape + (3,))
    rows, cols = np.nonzero(Ltr >= 0)
    soft[rows, cols, Ltr[rows, cols]] = 1.0
    W = MajorityVote().fit(Ltr).W_
    for method in ("rw", "wm"):
        hard = SourceAwareInfluence(FixedW(W), method=method, l2=LAM).fit(Xtr, Ltr)
        sft = SourceAwareInfluence(FixedW(W), method=method, l2=LAM).fit(Xtr, soft)
        a, b = hard.influence(Xv, yv), sft.influence(Xv, yv)
        assert_allclose_scaled(a.terms("dense"), b.terms("dense"), atol=1e-12)
        assert_allclose_scaled(a.per_parameter, b.per_parameter, atol=1e-12)
        assert_allclose_scaled(
            a.per_vote.toarray(), b.per_vote.toarray(), atol=1e-12
        )
    # A genuinely soft vote splits its term across the vote's classes.
    soft[rows[0], cols[0]] = [0.3, 0.3, 0.3]
    res = SourceAwareInfluence(FixedW(W), l2=LAM).fit(Xtr, soft).influence(Xv, yv)
    assert_allclose_scaled(res.per_sample, res.ordinary, atol=1e-12)
    assert_allclose_scaled(
        res.per_parameter.sum(axis=(1, 2)), res.per_source, atol=1e-12
    )


def test_pickle_and_parameter_validation(tiny):
    import pickle

    from sklearn.utils._param_validation import InvalidParameterError

    Xtr, Ltr, _, Xv, yv, sai = tiny
    clone_ = pickle.loads(pickle.dumps(sai))
    np.testing.assert_allclose(
        clone_.influence(Xv, yv).per_source, sai.influence(Xv, yv).per_source
    )
    for bad in (
        {"method": "xx"},
        {"l2": -1.0},
        {"damping": -0.1},
        {"damping": "big"},
        {"solver": "lu"},
        {"network": "some"},
    ):
        with pytest.raises(InvalidParameterError):
            SourceAwareInfluence(**bad).fit(Xtr, Ltr)


def test_cuda_request_without_cuda_names_the_device(tiny):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("CUDA is available")
    Xtr, Ltr, _, _, _, _ = tiny
    net = torch.nn.Sequential(torch.nn.Linear(5, 3)).double()
    sai = SourceAwareInfluence((MajorityVote(), net), l2=LAM, device="cuda")
    with pytest.raises(ValueError, match="SourceAwareInfluence got device='cuda'"):
        sai.fit(Xtr, Ltr)


@pytest.mark.gpu
def test_torch_paths_on_cuda_match_cpu(tiny):
    torch = pytest.importorskip("torch")
    Xtr, Ltr, _, Xv, yv, _ = tiny
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3)
    ).double()
    for network in ("last_layer", "full"):
        kw = {"l2": LAM, "network": network, "cg_tol": 1e-10}
        cpu = SourceAwareInfluence((MajorityVote(), net), device="cpu", **kw).fit(
            Xtr, Ltr
        )
        gpu = SourceAwareInfluence((MajorityVote(), net), device="cuda", **kw).fit(
            Xtr, Ltr
        )
        a, b = cpu.influence(Xv, yv), gpu.influence(Xv, yv)
        scale = np.abs(a.per_sample).max()
        np.testing.assert_allclose(b.per_sample, a.per_sample, atol=1e-7 * scale)
        np.testing.assert_allclose(b.per_source, a.per_source, atol=1e-7 * scale)
