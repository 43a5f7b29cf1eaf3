"""Known-answer tests of WeaSELClassifier."""

import os
import pickle
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn import config_context
from sklearn.metrics import f1_score, roc_auc_score
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skweak_e2e import MajorityVote, WeaSELClassifier
from skweak_e2e.datasets import make_weak_supervision

torch = pytest.importorskip("torch")
pytest.importorskip("skorch")

from skweak_e2e.end_to_end import (  # noqa: E402
    MLP,
    WeaSELModule,
    best_f1_threshold,
    weasel_loss,
)
from skweak_e2e.end_to_end._losses import LOSSES  # noqa: E402
from .._tolerance import assert_allclose_scaled

# Small networks and a high learning rate keep every fit well under a second.
FAST = dict(
    hidden_layer_sizes=(16,),
    encoder_hidden=(16,),
    lr=1e-2,
    max_epochs=3,
    warmup_epochs=0,
    dtype="float64",
    random_state=0,
)


def _data(n=300, m=5, n_classes=2, seed=0, **kwargs):
    kwargs.setdefault("accuracy", 0.8)
    kwargs.setdefault("class_sep", 3.0)
    kwargs.setdefault("n_features", 6)
    return make_weak_supervision(n, m, n_classes, random_state=seed, **kwargs)


def _quiet_fit(clf, X, L, **fit_params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return clf.fit(X, L, **fit_params)


# ----------------------------------------------------------------------------
# Accuracy scores and the encoder's labels
# ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "n_classes, class_conditional, accuracy",
    [(2, "auto", "softmax"), (3, "auto", "softmax"), (3, False, "sigmoid")],
)
def test_accuracy_scores_are_positive_and_sum_to_tau2(
    n_classes, class_conditional, accuracy
):
    X, L, _ = _data(n_classes=n_classes, m=4)
    clf = _quiet_fit(
        WeaSELClassifier(
            class_conditional=class_conditional,
            accuracy=accuracy,
            accuracy_support="all",
            **FAST,
        ),
        X,
        L,
    )
    theta = clf.accuracy_scores(X, L)
    expected_cc = n_classes > 2 and class_conditional == "auto"
    assert clf.class_conditional_ is expected_cc
    assert theta.shape == ((len(X), 4, n_classes) if expected_cc else (len(X), 4))
    assert clf.tau2_ == pytest.approx(2.0 * (n_classes if expected_cc else 1))
    assert (theta > 0).all()
    if accuracy == "softmax":
        np.testing.assert_allclose(theta.sum(axis=1), clf.tau2_, rtol=1e-10)
    else:
        assert (theta < clf.tau2_).all()
        assert np.ptp(theta.sum(axis=1)) > 1e-3  # no sum constraint
    # eval mode: deterministic (dropout and batch statistics are off)
    np.testing.assert_array_equal(theta, clf.accuracy_scores(X, L))


def _toy_module(n_sources=4, n_classes=3, class_conditional=True, **kwargs):
    torch.manual_seed(0)
    d = 3
    out = n_sources * n_classes if class_conditional else n_sources
    kwargs.setdefault("accuracy_support", "all")
    encoder = MLP(n_sources * n_classes + d, out, (8,), dropout=0.0, batchnorm=True)
    module = WeaSELModule(
        encoder,
        MLP(d, n_classes, (8,), dropout=0.0),
        n_sources=n_sources,
        n_classes=n_classes,
        class_conditional=class_conditional,
        tau2=2.0,
        **kwargs,
    ).double()
    return module.eval()


@pytest.mark.parametrize("class_conditional", [False, True])
def test_abstaining_sources_do_not_change_the_encoder_labels(class_conditional):
    module = _toy_module(class_conditional=class_conditional)
    gen = torch.Generator().manual_seed(1)
    X = torch.randn(6, 3, generator=gen, dtype=torch.float64)
    L = torch.tensor([[0, -1, 2, -1], [1, 1, -1, -1], [-1, -1, -1, 2]] * 2)
    lam = module.vote_onehot(L, X.dtype)
    theta = module.accuracy_scores(X, L)
    abstain = (L < 0).double()
    if class_conditional:
        abstain = abstain.unsqueeze(-1)
    noise = torch.rand(theta.shape, generator=gen, dtype=torch.float64) * 5
    base = module.aggregate(theta, lam)
    perturbed = module.aggregate(theta + noise * abstain, lam)
    torch.testing.assert_close(perturbed, base, rtol=0, atol=0)
    # ... while a voting source's accuracy does matter,
    assert not torch.allclose(
        module.aggregate(theta + noise * (1 - abstain), lam), base
    )
    # and the softmax is not renormalised over the voters: the abstainers
    # keep part of the tau2 mass.
    torch.testing.assert_close(theta.sum(dim=1), torch.full_like(theta.sum(dim=1), 2.0))
    voters_mass = (theta * (1 - abstain)).sum(dim=1)
    assert (voters_mass[0] < 2.0 - 1e-6).all()


@pytest.mark.parametrize("accuracy", ["softmax", "sigmoid"])
@pytest.mark.parametrize("class_conditional", [False, True])
def test_voters_support_masks_the_abstaining_sources(class_conditional, accuracy):
    """accuracy_support="voters": a softmax over the voters of each row."""
    module = _toy_module(
        class_conditional=class_conditional,
        accuracy=accuracy,
        accuracy_support="voters",
    )
    reference = _toy_module(
        class_conditional=class_conditional, accuracy=accuracy
    )  # same seed, same weights, softmax over all sources
    gen = torch.Generator().manual_seed(1)
    X = torch.randn(8, 3, generator=gen, dtype=torch.float64)
    L = torch.tensor(
        [[0, -1, 2, -1], [1, 1, -1, -1], [-1, -1, -1, 2], [-1, -1, -1, -1]] * 2
    )
    theta = module.accuracy_scores(X, L)
    votes = (L >= 0).double()
    if class_conditional:
        votes = votes.unsqueeze(-1).expand(theta.shape)
    # Abstaining sources get exactly zero, and so does every source of the
    # all-abstain rows 3 and 7 (no NaN).
    assert torch.isfinite(theta).all()
    assert (theta[votes == 0] == 0).all()
    assert (theta[votes == 1] > 0).all()
    assert (theta[[3, 7]] == 0).all()
    if accuracy == "sigmoid":
        # Nothing to normalise: the voters keep their sigmoid accuracies.
        torch.testing.assert_close(theta, reference.accuracy_scores(X, L) * votes)
        return
    # The voters' accuracies sum to tau2 (per class when class-conditional).
    covered = torch.tensor([0, 1, 2, 4, 5, 6])
    torch.testing.assert_close(
        theta[covered].sum(dim=1),
        torch.full_like(theta[covered].sum(dim=1), 2.0),
    )
    # Known answer: the masked softmax is the full softmax renormalised over
    # the voters, i.e. theta_j = tau2 * p_j / sum_{voters} p.
    full = reference.accuracy_scores(X, L) / 2.0
    expected = 2.0 * full * votes / (full * votes).sum(dim=1, keepdim=True)
    torch.testing.assert_close(theta[covered], expected[covered])
    # A single voter takes the whole mass (row 2: source 3 alone).
    torch.testing.assert_close(theta[2, 3], torch.full_like(theta[2, 3], 2.0))
    # The encoder labels of an all-abstain row are uniform.
    proba = torch.softmax(module.encoder_logits(X, L), dim=1)
    torch.testing.assert_close(proba[3], torch.full((3,), 1 / 3, dtype=X.dtype))


def test_module_rejects_an_unknown_accuracy_support():
    with pytest.raises(ValueError, match="accuracy_support"):
        _toy_module(accuracy_support="voting")


def test_voters_support_has_finite_gradients_on_all_abstain_rows():
    module = _toy_module(class_conditional=True, accuracy_support="voters").train()
    X = torch.randn(4, 3, dtype=torch.float64)
    L = torch.tensor([[0, -1, 2, -1], [-1, -1, -1, -1], [1, 1, -1, 2], [-1] * 4])
    module.encoder_logits(X, L).logsumexp(dim=1).sum().backward()
    grads = [p.grad for p in module.encoder.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)


def test_voters_support_equals_all_when_every_source_votes():
    module = _toy_module(accuracy_support="voters")
    reference = _toy_module()
    X = torch.randn(5, 3, dtype=torch.float64)
    L = torch.tensor([[0, 1, 2, 0], [2, 2, 1, 0], [1, 0, 0, 0], [0] * 4, [2] * 4])
    torch.testing.assert_close(
        module.accuracy_scores(X, L), reference.accuracy_scores(X, L)
    )


@pytest.mark.parametrize("accuracy_support", ["all", "voters"])
def test_voters_support_in_the_estimator(accuracy_support):
    X, L, _ = _data(m=4, coverage=0.4)
    clf = _quiet_fit(
        WeaSELClassifier(accuracy_support=accuracy_support, **FAST), X, L
    )
    assert clf.net_.module_.accuracy_support == accuracy_support
    theta = clf.accuracy_scores(X, L)
    covered = (L >= 0).any(axis=1)
    assert (~covered).any() and (L[covered] < 0).any()
    np.testing.assert_allclose(theta[covered].sum(axis=1), clf.tau2_, rtol=1e-10)
    if accuracy_support == "voters":
        np.testing.assert_array_equal(theta[L < 0] == 0, True)
        np.testing.assert_array_equal(theta[~covered], 0.0)
    else:
        assert (theta > 0).all()
    proba = clf.predict_proba_encoder(X, L)
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba[~covered], 0.5)


def test_voters_support_keeps_uncovered_rows_finite_in_training():
    X, L, _ = _data(m=4, coverage=0.3)
    assert not (L >= 0).any(axis=1).all()
    clf = _quiet_fit(
        WeaSELClassifier(accuracy_support="voters", drop_uncovered=False, **FAST),
        X,
        L,
    )
    assert clf.n_train_used_ == len(X)
    assert np.isfinite(clf.history_[:, "train_loss"]).all()
    assert np.isfinite(clf.predict_proba(X)).all()


@pytest.mark.parametrize("accuracy_support", ["all", "voters"])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_tau1_to_zero_is_a_soft_majority_vote(n_classes, accuracy_support):
    X, L, _ = _data(n_classes=n_classes, m=6)
    clf = _quiet_fit(
        WeaSELClassifier(tau1=1e-8, accuracy_support=accuracy_support, **FAST), X, L
    )
    counts = np.stack([(L == c).sum(axis=1) for c in range(n_classes)], axis=1)
    if accuracy_support == "all":  # every source gets tau2 / m
        logits = clf.tau2_ / L.shape[1] * counts
    else:  # every voter gets tau2 / n_voters: tau2 times the vote shares
        n_voters = np.maximum(counts.sum(axis=1, keepdims=True), 1)
        logits = clf.tau2_ * counts / n_voters
    expected = np.exp(logits - logits.max(axis=1, keepdims=True))
    expected /= expected.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(clf.predict_proba_encoder(X, L), expected, atol=1e-6)
    # uncovered rows get the (uniform) prior
    uncovered = (L < 0).all(axis=1)
    assert uncovered.any()
    np.testing.assert_allclose(
        clf.predict_proba_encoder(X[uncovered], L[uncovered]), 1 / n_classes
    )


# ----------------------------------------------------------------------------
# Losses
# ----------------------------------------------------------------------------
def _param_grads(loss, params):
    grads = torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
    return [torch.zeros_like(p) if g is None else g for p, g in zip(params, grads)]


def _norm(grads):
    return float(sum(g.abs().sum() for g in grads))


@pytest.mark.parametrize("loss", ["ce", "hellinger"])
def test_stop_gradient_separates_the_networks(loss):
    module = _toy_module(n_classes=2, class_conditional=False).train()
    gen = torch.Generator().manual_seed(2)
    X = torch.randn(16, 3, generator=gen, dtype=torch.float64)
    L = torch.randint(-1, 2, (16, 4), generator=gen)
    logits_e, logits_f = module(X, L)
    enc = list(module.encoder.parameters())
    down = list(module.downstream.parameters())
    parts = weasel_loss(logits_e, logits_f, loss)
    if loss == "ce":
        assert _norm(_param_grads(parts["loss_f"], enc)) == 0.0
        assert _norm(_param_grads(parts["loss_e"], down)) == 0.0
        assert _norm(_param_grads(parts["loss_f"], down)) > 0
        assert _norm(_param_grads(parts["loss_e"], enc)) > 0
        # Each network receives exactly the gradient of the loss in which it
        # is the prediction: CE(y_f; y_e) for f, CE(y_e; y_f) for the encoder.
        total = parts["loss"]
        for own_loss, params in (("ce_asym_f", down), ("ce_asym_e", enc)):
            ref = weasel_loss(logits_e, logits_f, own_loss)["loss"]
            for g, r in zip(_param_grads(total, params), _param_grads(ref, params)):
                assert_allclose_scaled(g, r, rtol=1e-12, atol=1e-12)
    else:
        assert set(parts) == {"loss"}
        assert _norm(_param_grads(parts["loss"], enc)) > 0
        assert _norm(_param_grads(parts["loss"], down)) > 0


P_E = np.array([[0.8, 0.2], [0.5, 0.5]])
P_F = np.array([[0.6, 0.4], [0.1, 0.9]])
# -sum_c target_c log pred_c, averaged over the two samples
CE_F = (
    -((0.8 * np.log(0.6) + 0.2 * np.log(0.4)) + (0.5 * np.log(0.1) + 0.5 * np.log(0.9)))
    / 2
)
CE_E = (
    -((0.6 * np.log(0.8) + 0.4 * np.log(0.2)) + (0.1 * np.log(0.5) + 0.9 * np.log(0.5)))
    / 2
)
HELLINGER = (
    (np.sqrt(0.8) - np.sqrt(0.6)) ** 2
    + (np.sqrt(0.2) - np.sqrt(0.4)) ** 2
    + (np.sqrt(0.5) - np.sqrt(0.1)) ** 2
    + (np.sqrt(0.5) - np.sqrt(0.9)) ** 2
) / 2
# MIG, uniform prior (1/p_c = 2): M_00 = 2(.6*.8 + .4*.2) = 1.12,
# M_11 = 2(.1*.5 + .9*.5) = 1.0, M_01 = 2(.6*.5 + .4*.5) = 1.0,
# M_10 = 2(.1*.8 + .9*.2) = 0.52
MIG = -(np.log(1.12) + np.log(1.0)) / 2 - 1 + (1.0 + 0.52) / 2
EXPECTED_LOSSES = {
    "ce": CE_F + CE_E,
    "hellinger": HELLINGER,
    "l1": (0.2 + 0.2 + 0.4 + 0.4) / 4,
    "mig": MIG,
    "ce_no_stopgrad": (CE_F + CE_E) / 2,
    "ce_asym_f": CE_F,
    "ce_asym_e": CE_E,
}


@pytest.mark.parametrize("loss", LOSSES)
def test_losses_hand_computed_on_two_samples(loss):
    logits_e = torch.log(torch.tensor(P_E)) + 3.0  # logits are shift-invariant
    logits_f = torch.log(torch.tensor(P_F)) - 1.0
    value = weasel_loss(logits_e, logits_f, loss, xi=0.0)["loss"]
    assert float(value) == pytest.approx(EXPECTED_LOSSES[loss], rel=1e-12)
    if loss == "ce":
        parts = weasel_loss(logits_e, logits_f, "ce")
        assert float(parts["loss_f"]) == pytest.approx(CE_F, rel=1e-12)
        assert float(parts["loss_e"]) == pytest.approx(CE_E, rel=1e-12)


def test_mig_with_a_prior_and_a_single_sample():
    logits_e = torch.log(torch.tensor(P_E))
    logits_f = torch.log(torch.tensor(P_F))
    prior = torch.tensor([0.25, 0.75], dtype=torch.float64)
    M = (P_F / prior.numpy()) @ P_E.T
    expected = -np.log(np.diag(M)).mean() - 1 + (M.sum() - np.trace(M)) / 2
    value = weasel_loss(logits_e, logits_f, "mig", class_prior=prior, xi=0.0)["loss"]
    assert float(value) == pytest.approx(expected, rel=1e-12)
    single = weasel_loss(logits_e[:1], logits_f[:1], "mig", xi=0.0)["loss"]
    assert float(single) == pytest.approx(-np.log(1.12) - 1, rel=1e-12)


def test_estimator_knows_every_loss():
    from skweak_e2e.end_to_end import _options

    # Declared once (torch-free), used by the estimator and the loss module.
    assert _options.LOSSES is LOSSES
    constraint = WeaSELClassifier._parameter_constraints["loss"][0]
    assert set(constraint.options) == set(LOSSES)


@pytest.mark.parametrize("loss", LOSSES)
def test_every_loss_trains_to_a_finite_model(loss):
    X, L, y = _data()
    clf = _quiet_fit(WeaSELClassifier(loss=loss, **FAST), X, L)
    assert np.isfinite(clf.history_[:, "train_loss"]).all()
    assert np.isfinite(clf.predict_proba(X)).all()


def test_lf_encodings_feed_the_encoder_the_documented_columns():
    L = torch.tensor([[0, -1, 1], [1, 1, -1]])
    X = torch.arange(4, dtype=torch.float64).reshape(2, 2)
    onehot = torch.tensor([[1, 0, 0, 0, 0, 1], [0, 1, 0, 1, 0, 0]], dtype=torch.float64)
    expected = {
        "onehot": onehot,
        "signed": torch.tensor([[-1, 0, 1], [1, 1, 0]], dtype=torch.float64),
        "raw": L.double(),
    }
    for encoding, votes in expected.items():
        for uses_features in (True, False):
            module = WeaSELModule(
                torch.nn.Identity(),
                torch.nn.Identity(),
                n_sources=3,
                n_classes=2,
                lf_encoding=encoding,
                encoder_uses_features=uses_features,
            )
            lam = module.vote_onehot(L, torch.float64)
            torch.testing.assert_close(lam.reshape(2, -1), onehot)
            got = module.encoder_input(X, L, lam)
            want = torch.cat([votes, X], dim=1) if uses_features else votes
            torch.testing.assert_close(got, want)
    X, L, _ = _data()
    for encoding in ("signed", "raw"):
        clf = _quiet_fit(
            WeaSELClassifier(lf_encoding=encoding, encoder_uses_features=False, **FAST),
            X,
            L,
        )
        assert clf.net_.module_.encoder.layers[0].in_features == L.shape[1]


# ----------------------------------------------------------------------------
# Training data handling
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("class_prior", [None, [0.8, 0.2]])
def test_uncovered_rows_are_dropped_even_with_a_non_uniform_prior(class_prior):
    X, L, _ = _data(m=3, coverage=0.4)
    covered = (L >= 0).any(axis=1)
    assert 0.1 < (~covered).mean() < 0.5
    params = dict(FAST, class_prior=class_prior)
    full = _quiet_fit(WeaSELClassifier(**params), X, L)
    assert full.n_train_used_ == covered.sum()
    assert full.coverage_ == pytest.approx(covered.mean())
    # Training on all rows is training on the covered rows only.
    only = _quiet_fit(WeaSELClassifier(**params), X[covered], L[covered])
    np.testing.assert_array_equal(full.predict_proba(X), only.predict_proba(X))
    kept = _quiet_fit(WeaSELClassifier(drop_uncovered=False, **params), X, L)
    assert kept.n_train_used_ == len(X)
    assert not np.array_equal(kept.predict_proba(X), full.predict_proba(X))
    if class_prior is not None:
        # uncovered rows: the encoder returns the prior, not a uniform label
        np.testing.assert_allclose(
            full.predict_proba_encoder(X[~covered], L[~covered]),
            np.tile(class_prior, ((~covered).sum(), 1)),
            rtol=1e-12,
        )


def test_soft_votes_equal_hard_votes_when_one_hot():
    X, L, _ = _data(n_classes=3)
    soft = (L[:, :, None] == np.arange(3)).astype(float)
    hard_clf = _quiet_fit(WeaSELClassifier(**FAST), X, L)
    soft_clf = _quiet_fit(WeaSELClassifier(**FAST), X, soft)
    np.testing.assert_array_equal(hard_clf.predict_proba(X), soft_clf.predict_proba(X))
    np.testing.assert_array_equal(
        hard_clf.accuracy_scores(X, L), soft_clf.accuracy_scores(X, soft)
    )
    # genuinely soft votes are accepted too
    soft[:, 0] = [0.2, 0.3, 0.1]
    _quiet_fit(WeaSELClassifier(**FAST), X, soft)


def test_string_labels_abstain_value_and_declared_classes():
    X, L, _ = _data(m=4)
    names = np.array(["neg", "pos"])
    L_str = np.where(L < 0, "?", names[np.clip(L, 0, 1)])
    clf = _quiet_fit(WeaSELClassifier(abstain="?", **FAST), X, L_str)
    np.testing.assert_array_equal(clf.classes_, names)
    assert set(clf.predict(X)) <= set(names)
    ref = _quiet_fit(WeaSELClassifier(**FAST), X, L)
    np.testing.assert_array_equal(clf.predict_proba(X), ref.predict_proba(X))
    np.testing.assert_array_equal(
        clf.predict_proba_encoder(X, L_str), ref.predict_proba_encoder(X, L)
    )
    # a class that no source votes for
    wide = _quiet_fit(WeaSELClassifier(classes=[0, 1, 2], **FAST), X, L)
    assert wide.n_classes_ == 3 and wide.predict_proba(X).shape == (len(X), 3)


def test_score_is_gold_accuracy_or_agreement_with_the_votes():
    X, L, y = _data(m=4)
    clf = _quiet_fit(WeaSELClassifier(**FAST), X, L)
    pred = clf.predict(X)
    assert clf.score(X, y) == pytest.approx(np.mean(pred == y))
    votes = L >= 0
    agree = (L == pred[:, None]) & votes
    assert clf.score(X, L) == pytest.approx(agree.sum() / votes.sum())
    y_partial = np.where(np.arange(len(y)) % 3 == 0, -1, y)
    known = y_partial >= 0
    assert clf.score(X, y_partial) == pytest.approx(np.mean(pred[known] == y[known]))


# ----------------------------------------------------------------------------
# Validation, checkpoints and the decision threshold
# ----------------------------------------------------------------------------
def _brute_force_f1_threshold(y, scores):
    best_t, best_f1 = None, -1.0
    for t in np.sort(np.unique(scores))[::-1]:
        pred = scores >= t
        tp = np.sum(pred & (y == 1))
        precision = tp / pred.sum()
        recall = tp / np.sum(y == 1)
        f1 = 2 * precision * recall / (precision + recall + 1e-6)
        if f1 > best_f1:
            best_t, best_f1 = t, f1
    return best_t, best_f1


def test_best_f1_threshold_is_the_brute_force_argmax():
    rng = np.random.RandomState(0)
    for _ in range(20):
        y = rng.randint(0, 2, 60)
        y[:2] = [0, 1]
        scores = np.round(rng.rand(60) * 0.5 + 0.3 * y, 2)  # many ties
        t, f1 = best_f1_threshold(y, scores)
        t_ref, f1_ref = _brute_force_f1_threshold(y, scores)
        assert t == t_ref and f1 == pytest.approx(f1_ref, rel=1e-12)
        assert f1 == pytest.approx(
            f1_score(y, scores >= t), abs=1e-5
        )  # the 1e-6 guard aside, this is F1


def _split(n=600, seed=0, **kwargs):
    X, L, y = _data(n=n, seed=seed, **kwargs)
    cut = n - 150
    return X[:cut], L[:cut], X[cut:], y[cut:]


def test_tuned_threshold_and_restored_checkpoint():
    X, L, X_val, y_val = _split(accuracy=0.7, class_sep=1.5)
    # validation_weight=0: the checkpoint of the best epoch is the final model.
    tuned = dict(
        FAST, max_epochs=6, scoring="roc_auc", tune_threshold=True, validation_weight=0
    )
    clf = WeaSELClassifier(**tuned).fit(X, L, X_val=X_val, y_val=y_val)
    scores = clf.history_[:, "valid_score"]
    assert len(scores) == 6
    assert clf.best_score_ == max(scores)
    assert clf.best_epoch_ == int(np.argmax(scores)) + 1
    proba = clf.predict_proba(X_val)
    # The kept weights are those of the best epoch ...
    assert roc_auc_score(y_val, proba[:, 1]) == clf.best_score_
    # ... with the F1-optimal threshold of that epoch.
    t_ref, _ = _brute_force_f1_threshold(y_val, proba[:, 1])
    assert clf.threshold_ == t_ref
    np.testing.assert_array_equal(
        clf.predict(X_val), (proba[:, 1] >= t_ref).astype(int)
    )
    untuned = WeaSELClassifier(**dict(tuned, tune_threshold=False))
    untuned.fit(X, L, X_val=X_val, y_val=y_val)
    assert untuned.threshold_ is None
    np.testing.assert_array_equal(untuned.predict_proba(X_val), proba)
    np.testing.assert_array_equal(untuned.predict(X_val), proba.argmax(axis=1))


def test_patience_stops_when_the_validation_score_is_flat():
    X, L, X_val, y_val = _split()
    # An lr below float32 resolution leaves the weights, hence the score,
    # unchanged: no improvement after the first epoch.
    clf = WeaSELClassifier(
        **dict(FAST, dtype="float32", lr=1e-12, max_epochs=20, patience=2)
    ).fit(X, L, X_val=X_val, y_val=y_val)
    assert len(clf.history_) == 3
    assert clf.best_epoch_ == 1


def test_without_validation_data_the_last_epoch_is_kept_silently():
    X, L, _ = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        clf = WeaSELClassifier(**FAST).fit(X, L)
    assert clf.best_epoch_ == clf.n_epochs_ == 3
    assert clf.best_score_ is None and clf.threshold_ is None


# ----------------------------------------------------------------------------
# sklearn integration: determinism, pickling, model selection, pipelines
# ----------------------------------------------------------------------------
def test_same_random_state_same_model_and_global_rng_untouched():
    X, L, _ = _data()
    params = dict(FAST, dtype="float32")
    torch_state = torch.get_rng_state()
    numpy_state = np.random.get_state()[1].copy()
    first = _quiet_fit(WeaSELClassifier(**params), X, L).predict_proba(X)
    assert torch.equal(torch.get_rng_state(), torch_state)
    np.testing.assert_array_equal(np.random.get_state()[1], numpy_state)
    second = _quiet_fit(WeaSELClassifier(**params), X, L).predict_proba(X)
    np.testing.assert_array_equal(first, second)
    other = _quiet_fit(WeaSELClassifier(**dict(params, random_state=1)), X, L)
    assert not np.array_equal(first, other.predict_proba(X))


def test_pickle_round_trip_keeps_predictions_and_drops_training_data():
    X, L, X_val, y_val = _split()
    clf = WeaSELClassifier(**FAST).fit(X, L, X_val=X_val, y_val=y_val)
    blob = pickle.dumps(clf)
    loaded = pickle.loads(blob)
    np.testing.assert_array_equal(loaded.predict_proba(X_val), clf.predict_proba(X_val))
    np.testing.assert_array_equal(
        loaded.accuracy_scores(X, L), clf.accuracy_scores(X, L)
    )
    assert loaded.threshold_ == clf.threshold_
    assert len(blob) < 200_000  # weights and history, not the data
    checkpoint = dict(loaded.net_.callbacks_)["checkpoint"]
    assert checkpoint.X_val is None and checkpoint.best_state is None


@pytest.mark.gpu
def test_gpu_training_and_a_pickle_that_loads_on_cpu(tmp_path):
    X, L, X_val, y_val = _split()
    clf = WeaSELClassifier(**dict(FAST, device="cuda")).fit(
        X, L, X_val=X_val, y_val=y_val
    )
    assert clf.device_.startswith("cuda")
    assert next(clf.net_.module_.parameters()).is_cuda
    proba = clf.predict_proba(X_val)
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(clf))
    np.save(tmp_path / "X_val.npy", X_val)
    np.save(tmp_path / "proba.npy", proba)
    script = (
        "import pickle, warnings, numpy as np, torch\n"
        "assert not torch.cuda.is_available()\n"
        "warnings.simplefilter('ignore')\n"
        f"clf = pickle.loads(open({str(path)!r}, 'rb').read())\n"
        "assert not next(clf.net_.module_.parameters()).is_cuda\n"
        f"X = np.load({str(tmp_path / 'X_val.npy')!r})\n"
        f"ref = np.load({str(tmp_path / 'proba.npy')!r})\n"
        "np.testing.assert_allclose(clf.predict_proba(X), ref, atol=1e-10)\n"
    )
    root = str(Path(__file__).resolve().parents[2])
    python_path = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="", PYTHONPATH=python_path)
    result = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available")
def test_cuda_request_without_cuda_names_the_device():
    X, L, _ = _data()
    with pytest.raises(ValueError, match=r"WeaSELClassifier got device='cuda'.*no CUDA"):
        WeaSELClassifier(**dict(FAST, device="cuda", tau1=0.3)).fit(X, L)
    # "auto" is the portable spelling: CUDA only when present.
    clf = WeaSELClassifier(**dict(FAST, device="auto", tau1=0.3)).fit(X, L)
    assert clf.device_ == ("cuda:0" if torch.cuda.is_available() else "cpu")


def test_resolve_device_checks_the_cuda_index(monkeypatch):
    from skweak_e2e.utils._torch import resolve_device

    # A machine with one CUDA device, simulated: no CUDA call is made.
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    assert resolve_device("cuda") == torch.device("cuda", 0)
    assert resolve_device(None) == torch.device("cuda", 0)
    assert resolve_device(torch.device("cuda:0")) == torch.device("cuda", 0)
    with pytest.raises(ValueError, match=r"Net got device='cuda:1'.*1 CUDA device"):
        resolve_device("cuda:1", "Net")
    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match="device='bogus' is not a torch device"):
        resolve_device("bogus")


def test_grid_search_over_hyper_parameters_with_a_label_matrix():
    X, L, y = _data()
    search = GridSearchCV(
        WeaSELClassifier(**dict(FAST, tau1=0.3)),
        {"loss": ["ce", "hellinger"], "hidden_layer_sizes": [(8,), (16, 8)]},
        cv=2,
        error_score="raise",
    ).fit(X, L)
    assert search.best_params_["loss"] in ("ce", "hellinger")
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_estimator_.score(X, y) > 0.8


def test_pipeline_routes_validation_data_through_the_scaler():
    X, L, X_val, y_val = _split(accuracy=0.7, class_sep=1.0)
    X, X_val = X * 3 + 10, X_val * 3 + 10  # scaling matters
    with config_context(enable_metadata_routing=True):
        clf = WeaSELClassifier(**FAST, scoring="roc_auc", validation_weight=0)
        clf.set_fit_request(X_val=True, y_val=True)
        pipe = Pipeline(
            [("scale", StandardScaler()), ("clf", clf)], transform_input=["X_val"]
        ).fit(X, L, X_val=X_val, y_val=y_val)
    fitted = pipe.named_steps["clf"]
    scaled = pipe.named_steps["scale"].transform(X_val)
    assert fitted.best_score_ < 0.99
    assert (
        roc_auc_score(y_val, fitted.predict_proba(scaled)[:, 1]) == fitted.best_score_
    )
    assert roc_auc_score(y_val, fitted.predict_proba(X_val)[:, 1]) != fitted.best_score_


def test_custom_modules_classes_and_instances():
    class Linear(torch.nn.Module):
        def __init__(self, n_features_in, n_outputs, bias=True):
            super().__init__()
            self.linear = torch.nn.Linear(n_features_in, n_outputs, bias=bias)

        def forward(self, X):
            return self.linear(X)

    X, L, _ = _data()
    by_class = _quiet_fit(
        WeaSELClassifier(
            module=Linear, module_params={"bias": False}, encoder=Linear, **FAST
        ),
        X,
        L,
    )
    module = by_class.net_.module_
    assert module.downstream.linear.bias is None
    assert module.encoder.linear.in_features == 5 * 2 + X.shape[1]
    user_net = torch.nn.Sequential(torch.nn.Linear(X.shape[1], 2)).double()
    before = user_net[0].weight.detach().clone()
    first = _quiet_fit(WeaSELClassifier(module=user_net, **FAST), X, L)
    second = _quiet_fit(WeaSELClassifier(module=user_net, **FAST), X, L)
    torch.testing.assert_close(user_net[0].weight, before)  # not trained in place
    np.testing.assert_array_equal(first.predict_proba(X), second.predict_proba(X))


def test_encoder_learning_rate_is_a_separate_parameter_group():
    X, L, _ = _data()
    clf = _quiet_fit(WeaSELClassifier(encoder_lr=3e-3, **FAST), X, L)
    groups = clf.net_.optimizer_.param_groups
    assert sorted(g["lr"] for g in groups) == [3e-3, 1e-2]
    encoder_ids = {id(p) for p in clf.net_.module_.encoder.parameters()}
    for group in groups:
        in_encoder = {id(p) in encoder_ids for p in group["params"]}
        assert in_encoder == {group["lr"] == 3e-3}


# ----------------------------------------------------------------------------
# Bad input
# ----------------------------------------------------------------------------
def _bad_cases():
    X, L, _ = _data(n=60, m=3, n_features=4)
    soft_bad = np.full((60, 3, 2), 0.6)
    wrong_width = torch.nn.Linear(4, 3)
    return [
        (
            "X_val without y_val",
            dict(),
            dict(X=X, y=L, X_val=X),
            ValueError,
            "together",
        ),
        (
            "unknown val label",
            dict(),
            dict(X=X, y=L, X_val=X, y_val=np.full(60, 7)),
            ValueError,
            "not classes",
        ),
        (
            "all abstain",
            dict(),
            dict(X=X, y=np.full((60, 3), -1)),
            ValueError,
            "no vote",
        ),
        (
            "one covered row",
            dict(),
            dict(X=X, y=np.where(np.arange(60)[:, None] == 0, L, -1)),
            ValueError,
            "at least 2",
        ),
        (
            "NaN features",
            dict(),
            dict(X=np.where(X > 1, np.nan, X), y=L),
            ValueError,
            "NaN",
        ),
        (
            "soft sum > 1",
            dict(),
            dict(X=X, y=soft_bad),
            ValueError,
            "sum to more than 1",
        ),
        (
            "signed multiclass",
            dict(lf_encoding="signed", classes=[0, 1, 2]),
            dict(X=X, y=L),
            ValueError,
            "needs 2 classes",
        ),
        (
            "bad module output",
            dict(module=wrong_width),
            dict(X=X, y=L),
            ValueError,
            r"shape \(batch, 2\)",
        ),
        (
            "module not a Module",
            dict(module=len),
            dict(X=X, y=L),
            TypeError,
            "nn.Module",
        ),
        (
            "zero prior",
            dict(class_prior=[1.0, 0.0]),
            dict(X=X, y=L),
            ValueError,
            "positive",
        ),
        (
            "bogus device",
            dict(device="bogus"),
            dict(X=X, y=L),
            ValueError,
            "torch device",
        ),
        (
            "rows mismatch",
            dict(),
            dict(X=X[:50], y=L),
            ValueError,
            "inconsistent|different",
        ),
        (
            "params for default",
            dict(module_params={"a": 1}),
            dict(X=X, y=L),
            ValueError,
            "module_params",
        ),
        (
            "bad accuracy_support",
            dict(accuracy_support="voting"),
            dict(X=X, y=L),
            ValueError,
            "accuracy_support",
        ),
        (
            "vote below abstain",
            dict(),
            dict(X=X, y=np.where(L == 1, -2, L)),
            ValueError,
            "vote -2, below abstain=-1",
        ),
        (
            "continuous y",
            dict(),
            dict(X=X, y=np.linspace(0, 1, 60)),
            ValueError,
            "Unknown label type",
        ),
    ]


@pytest.mark.parametrize("case", _bad_cases(), ids=lambda c: c[0])
def test_bad_fit_input_gives_a_clear_error(case):
    _, params, data, error, match = case
    clf = WeaSELClassifier(**dict(FAST, max_epochs=1), **params)
    fit_args = {k: v for k, v in data.items() if k in ("X_val", "y_val")}
    with pytest.raises(error, match=match):
        _quiet_fit(clf, data["X"], data["y"], **fit_args)


def test_negative_labels_are_classes_when_declared():
    X, L, _ = _data(m=3)
    relabelled = np.select([L == 0, L == 1], [-2, 0], -1)  # classes 0, 1 -> -2, 0
    clf = _quiet_fit(WeaSELClassifier(classes=[-2, 0], **FAST), X, relabelled)
    ref = _quiet_fit(WeaSELClassifier(**FAST), X, L)
    assert clf.classes_.tolist() == [-2, 0]
    # Same class codes, same seed: the same network, other label names.
    np.testing.assert_array_equal(clf.predict_proba(X), ref.predict_proba(X))
    np.testing.assert_array_equal(clf.predict(X), np.where(ref.predict(X) == 1, 0, -2))


def test_bad_inspection_input_gives_a_clear_error():
    X, L, _ = _data(m=3)
    clf = _quiet_fit(WeaSELClassifier(**FAST), X, L)
    with pytest.raises(ValueError, match="fitted with 3"):
        clf.accuracy_scores(X, L[:, :2])
    with pytest.raises(ValueError, match="not classes"):
        clf.predict_proba_encoder(X, np.where(L == 1, 5, L))
    with pytest.raises(ValueError, match="different numbers of samples"):
        clf.predict_proba_encoder(X[:10], L)
    with pytest.raises(ValueError, match="features"):
        clf.predict(X[:, :2])


# ----------------------------------------------------------------------------
# Recovery (an analogue of the recovery experiment of Rühling Cachay et al.,
# NeurIPS 2021, appendix F.2.1)
# ----------------------------------------------------------------------------
def test_recovers_a_perfect_source_hidden_among_duplicated_coin_flips():
    """One perfect source and a fair coin duplicated k=25 times.

    Majority vote follows the coin (25 identical votes against 1), so a
    network trained on its labels learns noise; WeaSEL must learn to trust
    the perfect source and match the supervised network (same architecture,
    same training budget, same model selection) within 0.03 test AUC.
    """
    n_train, n_val, k = 2000, 200, 25
    X, L, y = make_weak_supervision(
        n_train + n_val + 2000,
        2,
        accuracy=[1.0, 0.5],
        coverage=1.0,
        duplicates={1: k - 1},
        n_features=20,
        class_sep=2.3,
        random_state=0,
    )
    L = L[:, np.random.RandomState(1).permutation(L.shape[1])]
    train, val, test = (
        slice(0, n_train),
        slice(n_train, n_train + n_val),
        slice(n_train + n_val, None),
    )
    # The paper's protocol: the gold rows select the epoch, never train.
    params = dict(lr=1e-3, max_epochs=15, validation_weight=0, random_state=2)

    def test_auc(labels):
        clf = WeaSELClassifier(**params).fit(
            X[train], labels, X_val=X[val], y_val=y[val]
        )
        return roc_auc_score(y[test], clf.predict_proba(X[test])[:, 1])

    supervised = test_auc(y[train])
    mv_labels = MajorityVote(tie_break="lowest").fit(L[train]).predict(L[train])
    majority = test_auc(mv_labels)
    weasel = test_auc(L[train])
    print(
        f"test AUC: supervised {supervised:.4f}, WeaSEL {weasel:.4f}, MV {majority:.4f}"
    )
    assert supervised > 0.93
    threshold = supervised - 0.03
    assert weasel >= threshold, (weasel, supervised)
    assert majority < threshold, (majority, supervised)
    assert majority < 0.7


# ----------------------------------------------------------------------------
# Training protocol: warm-up, epoch selection, sparse features, interrupts
# ----------------------------------------------------------------------------
def _soft_majority_vote(L, n_classes, tau2):
    """The default encoder's labels before training, in closed form.

    The zeroed output layer gives every voter the same accuracy, ``tau2``
    divided by the number of voters on the row, so the encoder's logits are
    ``tau2 * (votes for c) / (number of votes)``.
    """
    counts = np.stack([(L == c).sum(axis=1) for c in range(n_classes)], axis=1)
    n_votes = np.maximum(counts.sum(axis=1, keepdims=True), 1)
    logits = tau2 * counts / n_votes
    proba = np.exp(logits - logits.max(axis=1, keepdims=True))
    return proba / proba.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_majority_vote_encoder_init_is_a_soft_majority_vote(n_classes):
    X, L, _ = _data(n_classes=n_classes, m=6, coverage=0.5)
    # The warm-up covers the whole fit: the encoder is never trained.
    params = dict(FAST, max_epochs=2, warmup_epochs=2, encoder_init="majority_vote")
    clf = _quiet_fit(WeaSELClassifier(**params), X, L)
    covered = (L >= 0).any(axis=1)
    expected = _soft_majority_vote(L[covered], n_classes, clf.tau2_)
    np.testing.assert_allclose(
        clf.predict_proba_encoder(X[covered], L[covered]), expected, rtol=1e-9
    )


def test_random_encoder_init_is_the_dense_default_and_the_papers():
    X, L, _ = _data(m=6, coverage=0.5)
    assert WeaSELClassifier().encoder_init == "auto"
    clf = _quiet_fit(
        WeaSELClassifier(**dict(FAST, max_epochs=1, warmup_epochs=1)), X, L
    )
    assert clf.encoder_init_ == "random"
    covered = (L >= 0).any(axis=1)
    expected = _soft_majority_vote(L[covered], 2, clf.tau2_)
    got = clf.predict_proba_encoder(X[covered], L[covered])
    assert np.abs(got - expected).max() > 1e-3  # per-sample accuracies differ


def test_warmup_freezes_the_encoder_then_trains_it():
    X, L, _ = _data()
    mv = dict(FAST, encoder_init="majority_vote")
    frozen = _quiet_fit(WeaSELClassifier(**dict(mv, warmup_epochs=3)), X, L)
    head = list(frozen.net_.module_.encoder.modules())[-1]
    assert torch.count_nonzero(head.weight) == 0  # never updated
    assert all(p.requires_grad for p in frozen.net_.module_.parameters())
    joint = _quiet_fit(WeaSELClassifier(**dict(mv, warmup_epochs=1)), X, L)
    head = list(joint.net_.module_.encoder.modules())[-1]
    assert torch.count_nonzero(head.weight) > 0


def test_selection_starts_after_the_warmup():
    X, L, X_val, y_val = _split(accuracy=0.7, class_sep=1.5)
    clf = WeaSELClassifier(**dict(FAST, max_epochs=8, warmup_epochs=4)).fit(
        X, L, X_val=X_val, y_val=y_val
    )
    scores = np.asarray(clf.history_[:, "valid_score"])
    assert len(scores) == 8
    assert clf.best_epoch_ >= 4
    assert clf.best_epoch_ == 4 + int(np.argmax(scores[3:]))
    assert not any(clf.history_[:3, "valid_score_best"])


def test_predict_is_the_argmax_of_predict_proba_by_default():
    X, L, X_val, y_val = _split(accuracy=0.7, class_sep=1.0)
    clf = WeaSELClassifier(random_state=0, max_epochs=12, warmup_epochs=3).fit(
        X, L, X_val=X_val, y_val=y_val
    )
    assert clf.threshold_ is None
    proba = clf.predict_proba(X_val)
    np.testing.assert_array_equal(clf.predict(X_val), clf.classes_[proba.argmax(1)])


def test_default_scoring_selects_on_accuracy_and_breaks_ties_by_log_loss():
    from skweak_e2e.end_to_end._scoring import validation_scorer

    scorer = validation_scorer("auto", 2, np.array([0, 1]))
    y = np.array([0, 1, 1, 0])
    sharp = np.array([[0.9, 0.1], [0.2, 0.8], [0.3, 0.7], [0.6, 0.4]])
    flat = np.array([[0.55, 0.45], [0.45, 0.55], [0.45, 0.55], [0.55, 0.45]])
    wrong = np.array([[0.99, 0.01], [0.01, 0.99], [0.01, 0.99], [0.01, 0.99]])
    # Same accuracy (1.0): the better log-loss wins; 3/4 right loses to both.
    assert scorer(y, sharp) > scorer(y, flat) > scorer(y, wrong)
    assert scorer(y, flat) > 0.75 and scorer(y, sharp) <= 1.0


def test_kept_network_is_trained_not_the_initial_one():
    # Imbalanced, low-signal data where the validation AUC of an untrained
    # network can look good: the kept network must follow the votes.
    X, L, y = make_weak_supervision(
        900, 8, class_prior=[0.85, 0.15], accuracy=0.75, coverage=0.3,
        n_features=10, class_sep=1.0, random_state=3,
    )
    clf = WeaSELClassifier(random_state=0, max_epochs=15).fit(
        X[:700], L[:700], X_val=X[700:], y_val=y[700:]
    )
    covered = (L[:700] >= 0).any(axis=1)
    X_cov, L_cov, y_cov = X[:700][covered], L[:700][covered], y[:700][covered]
    # Ties count as misses (tie_break="abstain"), as in the numbers below.
    vote_accuracy = np.mean(MajorityVote(tie_break="abstain").fit(L_cov).predict(L_cov) == y_cov)
    # The paper's protocol (lr 1e-4, ROC-AUC selection, F1 threshold) keeps
    # an epoch-4 network right on 0.62 of these rows, below the votes (0.72).
    assert np.mean(clf.predict(X_cov) == y_cov) > vote_accuracy + 0.05
    paper = WeaSELClassifier(
        random_state=0, lr=1e-4, batch_size=64, max_epochs=15,
        scoring="roc_auc", tune_threshold=True,
    ).fit(X[:700], L[:700], X_val=X[700:], y_val=y[700:])
    assert np.mean(paper.predict(X_cov) == y_cov) < vote_accuracy


def test_sparse_features_give_the_dense_model():
    import scipy.sparse as sp

    X, L, X_val, y_val = _split(n=400, accuracy=0.8)
    X = np.where(np.abs(X) > 1.0, X, 0.0)  # mostly zeros, like TF-IDF
    X_val = np.where(np.abs(X_val) > 1.0, X_val, 0.0)
    # The "auto" options differ between dense and sparse X: pin them.
    params = dict(
        FAST, max_epochs=4, warmup_epochs=2, encoder_uses_features=True,
        weight_decay=1e-4, encoder_init="random",
    )
    dense = WeaSELClassifier(**params).fit(X, L, X_val=X_val, y_val=y_val)
    sparse = WeaSELClassifier(**params).fit(
        sp.csr_matrix(X), L, X_val=sp.csr_matrix(X_val), y_val=y_val
    )
    proba = dense.predict_proba(X_val)
    np.testing.assert_allclose(sparse.predict_proba(sp.csr_matrix(X_val)), proba,
                               rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(sparse.predict_proba(X_val), proba, rtol=1e-6,
                               atol=1e-9)
    np.testing.assert_allclose(
        sparse.accuracy_scores(sp.csc_matrix(X), L), dense.accuracy_scores(X, L),
        rtol=1e-6, atol=1e-9,
    )
    assert dense.best_epoch_ == sparse.best_epoch_


def test_sparse_features_reach_a_custom_module_as_dense_rows():
    import scipy.sparse as sp

    seen = []

    class Recorder(torch.nn.Module):
        def __init__(self, n_features_in, n_outputs):
            super().__init__()
            self.linear = torch.nn.Linear(n_features_in, n_outputs)

        def forward(self, X):
            seen.append(X.layout)
            return self.linear(X)

    X, L, _ = _data(n=120)
    clf = _quiet_fit(WeaSELClassifier(module=Recorder, **FAST), sp.csr_matrix(X), L)
    clf.predict_proba(sp.csr_matrix(X))
    assert set(seen) == {torch.strided}


def test_without_validation_patience_watches_the_training_loss():
    X, L, _ = _data()
    # An lr below float32 resolution, without dropout and batch norm (whose
    # batch statistics depend on the shuffle), keeps the epoch loss flat:
    # stop after `patience` epochs without improvement, keep the last one.
    flat = dict(
        FAST, dtype="float32", lr=1e-12, dropout=0.0, encoder_dropout=0.0,
        encoder_batchnorm=False, max_epochs=30, patience=3,
    )
    clf = _quiet_fit(WeaSELClassifier(**flat), X, L)
    assert clf.n_epochs_ == 4 and clf.best_epoch_ == 4


class _InterruptAfter(torch.nn.Module):
    """A downstream network that raises KeyboardInterrupt (Ctrl-C) in training."""

    def __init__(self, n_features_in, n_outputs, n_calls):
        super().__init__()
        self.linear = torch.nn.Linear(n_features_in, n_outputs)
        self.n_calls = n_calls
        self.calls = 0

    def forward(self, X):
        if self.training:
            self.calls += 1
            if self.calls > self.n_calls:
                raise KeyboardInterrupt
        return self.linear(X)


def test_ctrl_c_keeps_the_best_epoch_so_far_and_warns():
    X, L, X_val, y_val = _split()
    n_batches = int(np.ceil((L >= 0).any(axis=1).sum() / 64))
    clf = WeaSELClassifier(
        module=_InterruptAfter,
        module_params={"n_calls": 2 * n_batches + 1},  # in the third epoch
        **dict(FAST, max_epochs=10, batch_size=64),
    )
    with pytest.warns(UserWarning, match=r"interrupted after 2 of 10 epochs"):
        clf.fit(X, L, X_val=X_val, y_val=y_val)
    assert clf.n_epochs_ == 2 and clf.best_epoch_ in (1, 2)
    assert np.isfinite(clf.predict_proba(X_val)).all()


def test_ctrl_c_before_any_epoch_reraises():
    X, L, X_val, y_val = _split()
    clf = WeaSELClassifier(
        module=_InterruptAfter, module_params={"n_calls": 1}, **FAST
    )
    with pytest.raises(KeyboardInterrupt, match="interrupted after 0 epoch"):
        clf.fit(X, L, X_val=X_val, y_val=y_val)
    assert not hasattr(clf, "net_")


@pytest.mark.parametrize(
    "n_rows, expected",
    [(40, 16), (300, 18), (1023, 63), (1024, 64), (12_800, 64), (50_000, 250),
     (10**6, 512)],
)
def test_auto_batch_size(n_rows, expected):
    from skweak_e2e.end_to_end._weasel import _auto_batch_size

    assert _auto_batch_size(n_rows) == expected


def test_auto_batch_size_is_recorded():
    X, L, _ = _data(n=300)
    clf = _quiet_fit(WeaSELClassifier(**dict(FAST, batch_size="auto")), X, L)
    assert clf.batch_size_ == max(16, clf.n_train_used_ // 16)
    fixed = _quiet_fit(WeaSELClassifier(**dict(FAST, batch_size=32)), X, L)
    assert fixed.batch_size_ == 32


@pytest.mark.parametrize("sparse", [False, True])
def test_auto_options_follow_the_sparsity_of_X(sparse):
    import scipy.sparse as sp

    X, L, _ = _data(n=120)
    X_fit = sp.csr_matrix(np.maximum(X, 0.0)) if sparse else X
    clf = WeaSELClassifier(max_epochs=1, encoder_hidden=(8,), random_state=0)
    clf.fit(X_fit, L)
    expected = (
        ((16,), False, 1e-2, 1e-4) if sparse else ((50, 50, 25), True, 3e-3, 7e-7)
    )
    resolved = (
        clf.hidden_layer_sizes_, clf.encoder_uses_features_, clf.lr_,
        clf.weight_decay_,
    )
    assert resolved == expected
    widths = [layer.out_features for layer in clf.net_.module_.downstream.modules()
              if isinstance(layer, torch.nn.Linear)]
    assert widths == list(expected[0]) + [2]
    n_votes = L.shape[1] * 2
    first = next(m for m in clf.net_.module_.encoder.modules()
                 if isinstance(m, torch.nn.Linear))
    assert first.in_features == n_votes + (0 if sparse else X.shape[1])
    assert clf.net_.optimizer_.param_groups[0]["lr"] == expected[2]
    assert clf.net_.optimizer_.param_groups[0]["weight_decay"] == expected[3]


def test_explicit_values_override_the_auto_options_on_sparse_X():
    import scipy.sparse as sp

    X, L, _ = _data(n=120)
    clf = WeaSELClassifier(
        max_epochs=1, hidden_layer_sizes=(5,), encoder_uses_features=True,
        lr=1e-3, weight_decay=0.0, random_state=0,
    ).fit(sp.csr_matrix(np.maximum(X, 0.0)), L)
    assert (clf.hidden_layer_sizes_, clf.encoder_uses_features_) == ((5,), True)
    assert (clf.lr_, clf.weight_decay_) == (1e-3, 0.0)



def test_non_canonical_sparse_X_gives_the_canonical_model_and_is_left_alone():
    import scipy.sparse as sp

    X, L, _ = _data(n=150)
    X = np.where(np.abs(X) > 1.0, X, 0.0)
    canonical = sp.csr_matrix(X)
    # The same matrix with every stored value split in two halves, each row's
    # entries in reversed column order: duplicated, unsorted entries.
    coo = canonical.tocoo()
    rows, cols = np.r_[coo.row, coo.row], np.r_[coo.col, coo.col]
    order = np.lexsort((-cols, rows))
    indptr = np.r_[0, np.cumsum(np.bincount(rows, minlength=X.shape[0]))]
    vals = np.r_[coo.data, coo.data] / 2
    messy = sp.csr_matrix((vals[order], cols[order], indptr), shape=X.shape)
    assert not messy.has_canonical_format
    before = (messy.data.copy(), messy.indices.copy())
    a = WeaSELClassifier(**FAST).fit(canonical, L)
    b = WeaSELClassifier(**FAST).fit(messy, L)
    np.testing.assert_allclose(b.predict_proba(X), a.predict_proba(X), rtol=1e-9)
    np.testing.assert_array_equal(messy.data, before[0])
    np.testing.assert_array_equal(messy.indices, before[1])


def test_sparse_auto_starts_from_the_majority_vote_with_a_warm_up():
    import scipy.sparse as sp

    X, L, X_val, y_val = _split(n=300, accuracy=0.8)
    X = np.where(np.abs(X) > 1.0, X, 0.0)
    clf = WeaSELClassifier(**dict(FAST, max_epochs=4, warmup_epochs="auto")).fit(
        sp.csr_matrix(X), L, X_val=sp.csr_matrix(np.where(np.abs(X_val) > 1.0, X_val, 0.0)),
        y_val=y_val,
    )
    assert clf.encoder_init_ == "majority_vote" and clf.warmup_epochs_ == 3
    # Epoch selection starts with the last warm-up epoch.
    assert clf.best_epoch_ >= 3
    dense = WeaSELClassifier(**dict(FAST, max_epochs=2, warmup_epochs="auto")).fit(X, L)
    assert dense.encoder_init_ == "random" and dense.warmup_epochs_ == 0
