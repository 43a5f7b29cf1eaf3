"""The joint module of WeaSEL: accuracy scores, encoder labels, losses."""

import numpy as np
import pytest

from skweak_e2e import WeaSELClassifier

torch = pytest.importorskip("torch")
pytest.importorskip("skorch")

from skweak_e2e.end_to_end import (  # noqa: E402
    MLP,
    WeaSELModule,
    weasel_loss,
)
from skweak_e2e.end_to_end._losses import LOSSES  # noqa: E402
from .._tolerance import assert_allclose_scaled  # noqa: E402
from ._weasel_common import FAST, _data, _quiet_fit  # noqa: E402


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
