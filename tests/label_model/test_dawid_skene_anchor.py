"""Known-answer tests of DawidSkene's anchor_strength="auto" (per source kind).

Rule-like sources (one class only, or soft votes spread over classes) are
anchored as with ``anchor_strength=1``; every other source gets 5
pseudo-votes per class at its majority-vote rates plus ``s`` times its
majority-vote counts, and the class prior ``s`` times its class counts, with
``s`` the vote share of the rule-like sources.
"""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from skweak_e2e import DawidSkene, MajorityVote
from skweak_e2e.datasets import make_weak_supervision

from .._tolerance import assert_allclose_scaled

PSEUDO_VOTES = 5.0  # per class, for sources that vote for several classes


def soft_majority_vote(L, n_classes):
    """EM's starting point: vote fractions per row, uniform where uncovered."""
    counts = np.stack([(L == c).sum(axis=1) for c in range(n_classes)], axis=1)
    total = counts.sum(axis=1, keepdims=True)
    return np.where(total > 0, counts / np.maximum(total, 1), 1.0 / n_classes)


def vote_counts(L, T, n_classes):
    """counts[j, k, c] = sum_i [L_ij = k] T_ic (votes only)."""
    onehot = np.stack([(L == k) for k in range(n_classes)], axis=2).astype(float)
    return np.einsum("ijk,ic->jkc", onehot, T)


def crowd(n_items, n_workers, labels_per_item, n_classes, seed, skill=(0.6, 0.9)):
    """Workers who vote for several classes, assigned at random to items."""
    rng = np.random.RandomState(seed)
    y = rng.randint(n_classes, size=n_items)
    acc = rng.uniform(*skill, size=n_workers)
    L = np.full((n_items, n_workers), -1)
    for _ in range(labels_per_item):
        w = rng.randint(n_workers, size=n_items)
        right = rng.rand(n_items) < acc[w]
        wrong = (y + rng.randint(1, n_classes, size=n_items)) % n_classes
        L[np.arange(n_items), w] = np.where(right, y, wrong)
    return L, y, acc


def one_class_rules(n_items=3000, seed=0):
    """Keyword-like rules: each fires for one class only, some wrongly."""
    rng = np.random.RandomState(seed)
    y = rng.randint(2, size=n_items)
    L = np.full((n_items, 8), -1)
    for j in range(8):
        target = j % 2
        fires = rng.rand(n_items) < np.where(y == target, 0.3, 0.08)
        L[fires, j] = target
    return L, y


def fit(L, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return DawidSkene(**params).fit(L)


def test_auto_is_the_default():
    assert DawidSkene().anchor_strength == "auto"


def test_one_class_rules_are_anchored_fully():
    L, _ = one_class_rules()
    auto, full = fit(L), fit(L, anchor_strength=1.0)
    assert auto.abstain_modelled_.all()
    assert_allclose_scaled(auto.confusion_, full.confusion_, atol=1e-12)
    assert_allclose_scaled(auto.class_prior_, full.class_prior_, atol=1e-12)
    assert auto.n_iter_ == full.n_iter_


def test_soft_votes_spread_over_classes_are_anchored_fully():
    _, L, _ = make_weak_supervision(
        600, 6, 3, coverage=0.6, accuracy=0.7, n_features=0, random_state=1
    )
    one_hot = np.eye(3)[np.where(L >= 0, L, 0)] * (L >= 0)[..., None]
    spread = np.where((L >= 0)[..., None], 0.6 * one_hot + 0.4 / 3, 0.0)
    with pytest.warns(UserWarning, match="spread over classes"):
        auto = fit(spread)
    with pytest.warns(UserWarning, match="spread over classes"):
        full = fit(spread, anchor_strength=1.0)
    assert_allclose_scaled(auto.confusion_, full.confusion_, atol=1e-12)
    # One-hot soft votes are hard votes: sources voting for several classes.
    assert_allclose_scaled(fit(one_hot).confusion_, fit(L).confusion_, atol=1e-10)
    assert not np.allclose(fit(L).confusion_, fit(L, anchor_strength=1.0).confusion_)


def test_auto_fit_is_the_documented_map_fixed_point():
    """At convergence the confusion and prior of the fit equal the M-step of
    its own posterior with the "auto" pseudo-counts, computed here from the
    soft majority vote by hand."""
    C = 3
    L_crowd, _, _ = crowd(1500, 12, 3, C, seed=4)
    # Two one-class rules next to the crowd: 0 < s < 1.
    rng = np.random.RandomState(5)
    rules = np.where(rng.rand(1500, 2) < 0.2, [[0, 2]], -1)
    L = np.hstack([L_crowd, rules])
    ds = fit(L, tol=1e-12, max_iter=5000)
    one_class = np.array([False] * 12 + [True] * 2)
    assert_allclose_scaled(ds.abstain_modelled_, one_class)

    N_mv = vote_counts(L, soft_majority_vote(L, C), C)
    votes = N_mv.sum(axis=(1, 2))
    s = votes[one_class].sum() / votes.sum()
    assert 0.05 < s < 0.5
    T = ds.predict_proba(L)
    N = vote_counts(L, T, C)
    multi = ~one_class
    rates = N_mv[multi] / N_mv[multi].sum(axis=1, keepdims=True)
    counts = N[multi] + PSEUDO_VOTES * rates + s * N_mv[multi]
    expected = (counts / counts.sum(axis=1, keepdims=True)).transpose(0, 2, 1)
    # Workers' abstains are left out: the vote part of confusion_ is
    # P(vote | class, voted).
    fitted = ds.confusion_[multi][:, :, 1:]
    fitted = fitted / fitted.sum(axis=2, keepdims=True)
    assert_allclose_scaled(fitted, expected, atol=1e-7)
    mass, mass_mv = T.sum(axis=0), soft_majority_vote(L, C).sum(axis=0)
    prior = (mass + s * mass_mv) / (len(L) * (1 + s))
    assert_allclose_scaled(ds.class_prior_, prior, atol=1e-7)


def test_a_worker_with_many_labels_is_fitted_by_its_labels():
    """500 labels per worker: "auto" is maximum likelihood to the weight of
    5 pseudo-votes per class (a shift of about 5 / 250 at most)."""
    L, y, _ = crowd(4000, 40, 5, 2, seed=0)
    voted = L >= 0
    realised = ((L == y[:, None]) & voted).sum(axis=0) / voted.sum(axis=0)
    auto, ml, full = fit(L), fit(L, anchor_strength=0.0), fit(L, anchor_strength=1.0)
    assert_allclose_scaled(auto.source_accuracy_, ml.source_accuracy_, atol=0.02)
    assert_allclose_scaled(auto.source_accuracy_, realised, atol=0.05)
    # The full anchor pulls every worker halfway to its majority-vote rates.
    gap_auto = np.abs(auto.source_accuracy_ - ml.source_accuracy_).max()
    gap_full = np.abs(full.source_accuracy_ - ml.source_accuracy_).max()
    assert gap_full > 3 * gap_auto


def test_a_worker_with_few_labels_is_shrunk_toward_the_majority_vote():
    """A newcomer with 2 labels, both right: maximum likelihood says it is
    perfect; "auto" gives it (n_cc + 5 r) / (n_c + 5) on each class c,
    with n the posterior counts of its two rows (n_cc near 1 and n_c near 1)
    and r its majority-vote rate (0.8 here: the soft majority vote of its
    rows is 4 to 1)."""
    L, y, _ = crowd(3000, 30, 5, 2, seed=1, skill=(0.75, 0.9))
    newcomer = np.full((len(L), 1), -1)
    rows = [np.flatnonzero(y == 0)[0], np.flatnonzero(y == 1)[0]]
    newcomer[rows, 0] = y[rows]
    L = np.hstack([L, newcomer])
    auto, ml = fit(L, tol=1e-10), fit(L, anchor_strength=0.0)

    def right_vote_rate(model):  # P(vote c | class c, voted), c = 0, 1
        vote = model.confusion_[-1][:, 1:]
        return np.diag(vote / vote.sum(axis=1, keepdims=True))

    assert right_vote_rate(ml).min() > 1 - 1e-6
    N_mv = vote_counts(L, soft_majority_vote(L, 2), 2)[-1]
    r = np.diag(N_mv / N_mv.sum(axis=0))
    assert_allclose_scaled(r, [0.8, 0.8], atol=1e-12)
    n = vote_counts(L, auto.predict_proba(L), 2)[-1]
    assert np.all(np.diag(n) > 0.9)
    expected = (np.diag(n) + PSEUDO_VOTES * r) / (n.sum(axis=0) + PSEUDO_VOTES)
    assert_allclose_scaled(right_vote_rate(auto), expected, atol=1e-6)


def test_a_crowd_beats_the_majority_vote_it_is_not_anchored_to():
    """Spammers (random answers) make the majority vote poor; the full
    anchor keeps part of that, "auto" does not (maximum likelihood's level)."""
    rng = np.random.RandomState(2)
    L, y, _ = crowd(4000, 30, 5, 2, seed=2, skill=(0.7, 0.95))
    spam = rng.rand(L.shape[1]) < 0.3
    noise = rng.randint(2, size=L.shape)
    L = np.where((L >= 0) & spam, noise, L)
    accuracy = {
        k: (fit(L, anchor_strength=k).predict_proba(L).argmax(1) == y).mean()
        for k in ("auto", 0.0, 1.0)
    }
    mv = (MajorityVote(tie_break="lowest").fit(L).predict(L) == y).mean()
    assert accuracy["auto"] >= accuracy[0.0] - 0.003
    assert accuracy["auto"] > accuracy[1.0] + 0.005 > mv + 0.01


@pytest.mark.parametrize("bad", ["full", -1.0, None])
def test_bad_anchor_strength_is_refused(bad):
    L, _ = one_class_rules(100)
    with pytest.raises(ValueError, match="anchor_strength"):
        DawidSkene(anchor_strength=bad).fit(L)
