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

from skweak_e2e import MajorityVote, SourceAwareInfluence
from skweak_e2e.datasets import make_weak_supervision, planted_posterior
from skweak_e2e.inspection import InfluenceResult

from .._tolerance import assert_allclose_scaled
from ._influence_common import (
    LAM,
    FixedW,
    _brute_force,
    _data,
    _retrain_val_loss,
)


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
