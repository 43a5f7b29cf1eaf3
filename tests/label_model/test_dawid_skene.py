"""Known-answer tests of DawidSkene (EM as in doc/mathematical_details.rst)."""

import pickle
import warnings

import numpy as np
import pytest
from scipy.special import logsumexp
from sklearn.exceptions import ConvergenceWarning

from skweak_e2e import DawidSkene, MajorityVote
from skweak_e2e.datasets import make_weak_supervision, planted_posterior
from skweak_e2e.label_model import _dawid_skene, apply_tensor_form
from .._tolerance import assert_allclose_scaled

PRIOR = np.array([0.5, 0.3, 0.2])
# Plain maximum likelihood, the model of Dawid and Skene that the planted
# data follow: every abstain modelled (or none), no anchor to the majority.
ML_ABSTAIN = dict(model_abstain=True, anchor_strength=0.0)
ML_CLASSIC = dict(model_abstain=False, anchor_strength=0.0)


def planted(model_abstain, n_samples=20000, seed=0):
    """m = 8, C = 3 sources with accuracy 0.65-0.9 (uniform errors) and
    abstention 0.2-0.6, class-dependent when ``model_abstain``, else MCAR."""
    rng = np.random.RandomState(100 + seed)
    n_sources, n_classes = 8, 3
    shape = (n_sources, n_classes) if model_abstain else (n_sources,)
    coverage = 1.0 - rng.uniform(0.2, 0.6, size=shape)
    accuracy = rng.uniform(0.65, 0.9, size=n_sources)
    _, L, y, params = make_weak_supervision(
        n_samples, n_sources, n_classes, class_prior=PRIOR, coverage=coverage,
        accuracy=accuracy, n_features=0, return_params=True, random_state=seed,
    )
    return L, y, params


def outcome_probabilities(params):
    """True P(outcome | class), shape (m, C, C+1), outcome 0 = abstain."""
    cov = params.coverage
    return np.concatenate([(1 - cov)[:, :, None], cov[:, :, None] * params.confusion], 2)


def naive_log_joint(L, confusion, prior, model_abstain):
    """log P(y = c, L_i) summed source by source with explicit indexing."""
    n_samples, n_sources = L.shape
    out = np.tile(np.log(prior), (n_samples, 1))
    for i in range(n_samples):
        for j in range(n_sources):
            if model_abstain:
                out[i] += np.log(confusion[j, :, L[i, j] + 1])
            elif L[i, j] >= 0:
                out[i] += np.log(confusion[j, :, L[i, j]])
    return out


@pytest.fixture(scope="module")
def class_dependent():
    L, y, params = planted(model_abstain=True)
    return L, y, params, DawidSkene(**ML_ABSTAIN).fit(L)


def test_planted_recovery_with_abstain_model(class_dependent):
    L, y, params, ds = class_dependent
    assert ds.confusion_.shape == (8, 3, 4)
    assert np.abs(ds.confusion_ - outcome_probabilities(params)).max() <= 0.03
    assert np.abs(ds.class_prior_ - PRIOR).max() <= 0.01
    # EM's prior is the mean posterior, which tracks the sample frequencies.
    assert np.abs(ds.class_prior_ - np.bincount(y) / len(y)).max() <= 0.005
    proba, oracle = ds.predict_proba(L), planted_posterior(L, params)
    assert (proba.argmax(1) == oracle.argmax(1)).mean() >= 0.98
    assert 0.5 * np.abs(proba - oracle).sum(1).mean() <= 0.02


def test_planted_recovery_classic_mcar():
    L, _, params = planted(model_abstain=False, seed=1)
    ds = DawidSkene(**ML_CLASSIC).fit(L)
    assert ds.confusion_.shape == (8, 3, 3)
    assert np.allclose(ds.confusion_.sum(axis=2), 1.0)
    assert np.abs(ds.confusion_ - params.confusion).max() <= 0.03
    assert np.abs(ds.class_prior_ - PRIOR).max() <= 0.01
    proba, oracle = ds.predict_proba(L), planted_posterior(L, params)
    assert (proba.argmax(1) == oracle.argmax(1)).mean() >= 0.98
    assert 0.5 * np.abs(proba - oracle).sum(1).mean() <= 0.02


def test_source_accuracy_known_answers_and_planted(class_dependent):
    vote_accuracy = _dawid_skene.vote_accuracy
    # Abstain modelled: source 0 votes half the time whatever the class,
    # right 0.4 of the time: 0.4 / 0.5 = 0.8; source 1 always votes:
    # .25 * .9 + .75 * .7 = 0.75; a source that always abstains: NaN.
    confusion = np.array(
        [
            [[0.5, 0.4, 0.1], [0.5, 0.1, 0.4]],
            [[0.0, 0.9, 0.1], [0.0, 0.3, 0.7]],
            [[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]],
        ]
    )
    prior = np.array([0.25, 0.75])
    np.testing.assert_allclose(vote_accuracy(confusion, prior), [0.8, 0.75, np.nan])
    # Votes only (model_abstain=False), and a silent source named as such.
    votes_only = confusion[1:2, :, 1:].repeat(2, axis=0)
    np.testing.assert_allclose(vote_accuracy(votes_only, prior, [1]), [0.75, np.nan])
    # Fitted: the planted P(vote right | votes) of every source.
    L, _, params, ds = class_dependent
    cov, right = params.coverage, np.einsum("jcc->jc", params.confusion)
    planted_accuracy = (cov * right) @ PRIOR / (cov @ PRIOR)
    assert np.abs(ds.source_accuracy_ - planted_accuracy).max() <= 0.02
    classic = DawidSkene(**ML_CLASSIC).fit(L)
    np.testing.assert_allclose(
        classic.source_accuracy_,
        np.einsum("jcc,c->j", classic.confusion_, classic.class_prior_),
        rtol=1e-12,
    )


def test_abstain_model_beats_mcar_when_abstention_is_informative(class_dependent):
    L, _, params, ds = class_dependent
    classic = DawidSkene(**ML_CLASSIC).fit(L)
    oracle = planted_posterior(L, params)
    tv = [0.5 * np.abs(m.predict_proba(L) - oracle).sum(1).mean() for m in (ds, classic)]
    assert tv[0] < tv[1]


@pytest.mark.parametrize("model_abstain", [True, False, "auto"])
def test_predict_proba_is_bayes_rule_of_fitted_parameters(model_abstain):
    L, _, _ = planted(model_abstain is True, n_samples=300, seed=2)
    L[:5] = -1  # uncovered rows
    ds = DawidSkene(model_abstain=model_abstain).fit(L)
    # "auto" reports an abstain outcome for every source; for the sources
    # whose abstains are not modelled it does not depend on the class.
    with_abstain = model_abstain is not False
    log_joint = naive_log_joint(L, ds.confusion_, ds.class_prior_, with_abstain)
    expected = np.exp(log_joint - logsumexp(log_joint, axis=1, keepdims=True))
    proba = ds.predict_proba(L)
    assert_allclose_scaled(proba, expected, rtol=0, atol=1e-10)
    # The tensor form (sigma = exp) is the same function.
    assert_allclose_scaled(apply_tensor_form(L, ds.W_, "exp"), proba, atol=1e-10)
    if not model_abstain:  # abstains carry nothing: uncovered rows get the prior
        np.testing.assert_allclose(proba[:5], np.tile(ds.class_prior_, (5, 1)))


@pytest.mark.parametrize("alpha, alpha_prior", [(0.0, 0.0), (1e-10, 0.0), (2.0, 1.0)])
def test_log_likelihood_is_the_monotone_em_objective(alpha, alpha_prior):
    # Weak, sparse sources: EM needs many iterations.
    _, L, _ = make_weak_supervision(
        400, 4, 3, coverage=0.5, accuracy=[0.5, 0.45, 0.6, 0.4], n_features=0,
        random_state=3,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        ds = DawidSkene(alpha=alpha, alpha_prior=alpha_prior, **ML_ABSTAIN).fit(L)
    history = ds.log_likelihood_
    assert ds.n_iter_ == len(history) > 20
    assert np.all(np.diff(history) >= -1e-9 * np.abs(history[1:]))
    # Known answer: the last entry is the (penalised) log-likelihood of the
    # returned parameters.
    log_joint = naive_log_joint(L, ds.confusion_, ds.class_prior_, True)
    expected = logsumexp(log_joint, axis=1).sum()
    if alpha > 0:  # 0 * log(0) would be nan
        expected += alpha * np.log(ds.confusion_).sum()
    expected += alpha_prior * np.log(ds.class_prior_).sum()
    assert history[-1] == pytest.approx(expected, rel=1e-10)


def test_perfect_sources_give_one_hot_posteriors():
    rng = np.random.RandomState(4)
    y = rng.randint(0, 3, size=500)
    L = np.where(rng.rand(500, 5) < 0.6, y[:, None], -1)
    ds = DawidSkene().fit(L)
    proba = ds.predict_proba(L)
    covered = (L >= 0).any(axis=1)
    assert covered.sum() > 400 and (~covered).sum() > 0
    np.testing.assert_allclose(proba[covered], np.eye(3)[y[covered]], atol=1e-8)
    assert np.array_equal(ds.predict(L)[covered], y[covered])


def test_two_thousand_duplicated_sources_stay_finite():
    _, L, _ = make_weak_supervision(
        300, 5, 2, coverage=0.7, accuracy=0.8, duplicates={0: 1995}, n_features=0,
        random_state=5,
    )
    assert L.shape[1] == 2000
    ds = DawidSkene().fit(L)
    proba = ds.predict_proba(L)
    assert np.all(np.isfinite(proba)) and np.all(np.isfinite(ds.W_))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert proba.max(axis=1).min() > 0
    assert np.all(np.isfinite(ds.log_likelihood_))


def test_compressed_and_full_fits_agree(monkeypatch, class_dependent):
    L, _, _, ds = class_dependent
    monkeypatch.setattr(_dawid_skene, "_COMPRESS_BELOW", 0.0)  # never compress
    full = DawidSkene(**ML_ABSTAIN).fit(L)
    assert full.n_iter_ == ds.n_iter_
    np.testing.assert_allclose(full.log_likelihood_, ds.log_likelihood_, rtol=1e-10)
    assert_allclose_scaled(full.confusion_, ds.confusion_, atol=1e-10)
    assert_allclose_scaled(full.predict_proba(L), ds.predict_proba(L), atol=1e-10)


@pytest.mark.parametrize("model_abstain", [True, False])
def test_one_hot_soft_votes_equal_hard_votes(model_abstain):
    L, _, _ = planted(model_abstain, n_samples=500, seed=6)
    soft = np.zeros(L.shape + (3,))
    rows, cols = np.nonzero(L >= 0)
    soft[rows, cols, L[rows, cols]] = 1.0
    hard = DawidSkene(model_abstain=model_abstain).fit(L)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # one-hot votes spread no mass: no warning
        from_soft = DawidSkene(model_abstain=model_abstain).fit(soft)
    assert from_soft.n_iter_ == hard.n_iter_
    np.testing.assert_allclose(from_soft.log_likelihood_, hard.log_likelihood_, rtol=1e-10)
    assert_allclose_scaled(from_soft.class_prior_, hard.class_prior_, atol=1e-10)
    assert_allclose_scaled(from_soft.confusion_, hard.confusion_, atol=1e-10)
    assert_allclose_scaled(from_soft.predict_proba(soft), hard.predict_proba(L), atol=1e-10)


def smoothed_votes(L, n_classes, s, spread):
    """Vote k -> (1 - s) one-hot + s / C on every class (``spread``), or the
    same top-class confidence ``1 - s + s / C`` with the rest as abstain mass."""
    voted = (L >= 0)[..., None]
    one_hot = np.eye(n_classes)[np.where(L >= 0, L, 0)]
    top = 1 - s + s / n_classes
    fibre = (1 - s) * one_hot + s / n_classes if spread else top * one_hot
    return np.where(voted, fibre, 0.0)


def test_soft_votes_spread_over_classes_known_answers():
    """Bug report: full-distribution soft votes collapsed DS to ~0.35 accuracy.

    Root cause (inherent to fractional observations, see the Notes): the
    geometric mean of a spread vote penalises peaked confusion rows, so EM
    flattens them. Pinned: one-hot and top-class votes match the hard fit,
    mild smoothing keeps its accuracy, heavy smoothing collapses and warns.
    """
    _, L, y = make_weak_supervision(
        1000, 8, 3, coverage=0.6, accuracy=0.7, n_features=0, random_state=1
    )
    hard_acc = (DawidSkene().fit(L).predict(L) == y).mean()
    mv_acc = (MajorityVote(tie_break="lowest").fit(L).predict(L) == y).mean()
    assert hard_acc > 0.85 and mv_acc > 0.85

    def accuracy(A, **kwargs):
        return (DawidSkene(**kwargs).fit(A).predict(A) == y).mean()

    # Top-class confidence, rest abstain: no warning, hard-vote accuracy.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert accuracy(smoothed_votes(L, 3, 0.6, spread=False)) > hard_acc - 0.02
    # Mild smoothing (6.7% of the vote mass off the top class): it warns but
    # keeps the accuracy.
    with pytest.warns(UserWarning, match="7% of their vote mass"):
        assert accuracy(smoothed_votes(L, 3, 0.1, spread=True)) > hard_acc - 0.02
    # Heavy smoothing: the documented collapse, well below majority vote.
    spread_warning = pytest.warns(UserWarning, match="spread over classes")
    with pytest.warns(ConvergenceWarning), spread_warning:  # the drift is slow
        collapsed = accuracy(
            smoothed_votes(L, 3, 0.6, spread=True), max_iter=200, **ML_ABSTAIN
        )
    assert collapsed < 0.5 < mv_acc
    # The default anchor to the majority vote keeps EM out of that optimum.
    with pytest.warns(UserWarning, match="spread over classes"):
        anchored = accuracy(smoothed_votes(L, 3, 0.6, spread=True))
    assert anchored > mv_acc - 0.02


def test_soft_votes_move_the_posterior():
    L, _, _ = planted(True, n_samples=500, seed=7)
    soft = np.zeros(L.shape + (3,))
    rows, cols = np.nonzero(L >= 0)
    soft[rows, cols, L[rows, cols]] = 0.6  # hedged votes: 0.4 abstain mass
    ds = DawidSkene().fit(soft)
    proba = ds.predict_proba(soft)
    assert np.all(np.isfinite(proba)) and np.allclose(proba.sum(1), 1.0)
    hard = DawidSkene().fit(L).predict_proba(L)
    assert (proba.argmax(1) == hard.argmax(1)).mean() > 0.9


def test_determinism_and_pickle(class_dependent):
    L, _, _, ds = class_dependent
    again = DawidSkene(**ML_ABSTAIN).fit(L)
    np.testing.assert_array_equal(again.W_, ds.W_)
    np.testing.assert_array_equal(again.log_likelihood_, ds.log_likelihood_)
    restored = pickle.loads(pickle.dumps(ds))
    np.testing.assert_array_equal(restored.predict_proba(L), ds.predict_proba(L))


def test_silent_source_gets_no_weight(class_dependent):
    L = class_dependent[0]
    L_silent = np.insert(L[:2000], 2, -1, axis=1)
    with pytest.warns(UserWarning, match=r"source\(s\) \[2\] never vote"):
        with_silent = DawidSkene().fit(L_silent)
    without = DawidSkene().fit(L[:2000])
    assert np.all(with_silent.W_[2] == 0)
    np.testing.assert_allclose(with_silent.confusion_[2], np.eye(4)[[0, 0, 0]])
    assert np.isnan(with_silent.source_accuracy_[2])
    assert np.all(np.delete(with_silent.source_accuracy_, 2) > 0.5)
    classic = DawidSkene(model_abstain=False).fit(L_silent)  # uniform rows, still NaN
    assert np.flatnonzero(np.isnan(classic.source_accuracy_)).tolist() == [2]
    # Its votes at predict time change nothing.
    L_votes = L_silent.copy()
    L_votes[:, 2] = np.arange(2000) % 3
    assert_allclose_scaled(
        with_silent.predict_proba(L_votes), without.predict_proba(L[:2000]), atol=1e-10
    )


def test_given_class_prior_is_held_fixed(class_dependent):
    L = class_dependent[0]
    prior = [0.2, 0.2, 0.6]
    ds = DawidSkene(class_prior=prior).fit(L)
    np.testing.assert_allclose(ds.class_prior_, prior)
    # A heavier prior on class 2 moves the posteriors towards it.
    learned = class_dependent[3]
    assert ds.predict_proba(L)[:, 2].mean() > learned.predict_proba(L)[:, 2].mean()


def test_max_iter_warns(class_dependent):
    L = class_dependent[0]
    with pytest.warns(ConvergenceWarning, match="max_iter=2"):
        ds = DawidSkene(max_iter=2).fit(L)
    assert ds.n_iter_ == 2 and len(ds.log_likelihood_) == 2


def test_few_sources_warn():
    L = np.array([[0, 0], [1, 1], [0, -1], [1, 0]])
    with pytest.warns(UserWarning, match="n_sources = 2"):
        DawidSkene().fit(L)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        DawidSkene().fit(np.c_[L, L[:, 0]])


def test_docstring_example_values():
    L = np.array([[0, 0, 1], [1, 1, 1], [0, 0, -1], [1, -1, 1], [0, 1, 0]])
    ds = DawidSkene().fit(L)
    np.testing.assert_allclose(ds.confusion_.sum(axis=2), 1.0)
    np.testing.assert_allclose(ds.class_prior_.sum(), 1.0)
    assert ds.log_likelihood_.shape == (ds.n_iter_,)


@pytest.mark.parametrize(
    "n_samples, n_sources, n_classes",
    [(1, 1, 2), (7, 3, 2), (500, 13, 2), (800, 20, 3), (300, 70, 3), (60, 4, 40)],
)
def test_grouped_vote_codes_match_source_by_source_loops(n_samples, n_sources, n_classes):
    """The engine of tensor_scores / expected_vote_counts / DawidSkene."""
    from skweak_e2e.label_model import expected_vote_counts, tensor_scores
    from skweak_e2e.label_model._vote_codes import VoteCodes

    rng = np.random.RandomState(n_sources)
    L = rng.randint(-1, n_classes, size=(n_samples, n_sources))
    L[n_samples // 2 :] = L[: n_samples - n_samples // 2]  # repeated rows
    W = rng.randn(n_sources, n_classes + 1, n_classes)
    T, weight = rng.rand(n_samples, n_classes), rng.rand(n_samples)
    S = np.zeros((n_samples, n_classes))
    N = np.zeros((n_sources, n_classes + 1, n_classes))
    for j in range(n_sources):
        S += W[j][L[:, j] + 1]
        for c in range(n_classes):
            N[j, :, c] = np.bincount(L[:, j] + 1, T[:, c] * weight, n_classes + 1)
    assert_allclose_scaled(tensor_scores(L, W), S, rtol=0, atol=1e-12)
    assert_allclose_scaled(expected_vote_counts(L, T, n_classes, weight), N, atol=1e-10)
    assert_allclose_scaled(
        VoteCodes(L, n_classes).relative_scores_t(W).T, S - S[:, :1], atol=1e-12
    )
    # Unique rows through the 64-bit keys (exact or hashed).
    first, inverse, counts = VoteCodes(L, n_classes).unique()
    np.testing.assert_array_equal(L[first][inverse], L)
    assert len(np.unique(L, axis=0)) == len(first) == VoteCodes(L, n_classes).n_unique()
    np.testing.assert_array_equal(np.bincount(inverse), counts)


def narrow_rules(n_samples=4000, n_classes=5, per_class=8, seed=0):
    """Hand-written LFs as users write them: many narrow one-class rules
    (at most one rule of a class fires on a row of that class, precision
    about 0.85) and three broad one-class fallbacks of precision 0.4."""
    rng = np.random.RandomState(seed)
    y = rng.randint(n_classes, size=n_samples)
    n_rules = n_classes * per_class
    owner = np.repeat(np.arange(n_classes), per_class)
    L = np.full((n_samples, n_rules + 3), -1)
    rate = rng.uniform(0.03, 0.1, size=n_rules)
    # Row i of class k draws at most one of the rules of k.
    start = np.cumsum(rate.reshape(n_classes, per_class), axis=1)
    draw = rng.rand(n_samples)
    pick = (draw[:, None] > start[y]).sum(axis=1)
    fired = pick < per_class
    rows = np.flatnonzero(fired)
    L[rows, y[rows] * per_class + pick[rows]] = y[rows]
    # False fires on the other classes: precision about 0.85.
    false_rate = rate * 0.15 / 0.85 / (n_classes - 1)
    wrong = (rng.rand(n_samples, n_rules) < false_rate) & (owner[None] != y[:, None])
    L[:, :n_rules] = np.where(wrong & (L[:, :n_rules] < 0), owner[None], L[:, :n_rules])
    for f in range(3):
        k = f % n_classes
        fire = rng.rand(n_samples) < 0.3
        L[fire & ((y == k) | (rng.rand(n_samples) < 0.35)), n_rules + f] = k
    return L, y


def test_auto_models_the_abstains_of_one_class_sources_only():
    rng = np.random.RandomState(8)
    y = rng.randint(3, size=600)
    noisy = np.where(rng.rand(600, 3) < 0.8, y[:, None], rng.randint(3, size=(600, 3)))
    L = np.where(rng.rand(600, 3) < 0.7, noisy, -1)  # three multi-class sources
    rules = np.where((rng.rand(600, 2) < 0.4) & (y[:, None] == [0, 2]), [0, 2], -1)
    L = np.c_[L, rules]
    ds = DawidSkene().fit(L)
    np.testing.assert_array_equal(ds.abstain_modelled_, [False] * 3 + [True] * 2)
    # The sources left out have a class-independent abstain column: their
    # overall abstain rate.
    rate = (L[:, :3] < 0).mean(axis=0)
    np.testing.assert_allclose(ds.confusion_[:3, :, 0], np.tile(rate[:, None], 3))
    np.testing.assert_allclose(ds.confusion_.sum(axis=2), 1.0)
    # Their abstain slot adds only the prior share to the class scores.
    share = np.log(ds.class_prior_) / L.shape[1]
    assert_allclose_scaled(ds.W_[:3, 0], np.tile(share, (3, 1)), atol=1e-12)
    assert DawidSkene(model_abstain=True).fit(L).abstain_modelled_.all()
    assert not DawidSkene(model_abstain=False).fit(L).abstain_modelled_.any()


def test_auto_is_classic_dawid_skene_on_a_crowd():
    """Workers who vote for several classes: silence is task assignment."""
    rng = np.random.RandomState(9)
    n_items, n_workers = 800, 40
    y = rng.randint(3, size=n_items)
    skill = rng.uniform(0.55, 0.95, size=n_workers)
    L = np.full((n_items, n_workers), -1)
    for k in range(5):  # five labels an item, from random workers
        w = rng.randint(n_workers, size=n_items)
        right = rng.rand(n_items) < skill[w]
        L[np.arange(n_items), w] = np.where(right, y, rng.randint(3, size=n_items))
    auto = DawidSkene(anchor_strength=0.0).fit(L)
    classic = DawidSkene(**ML_CLASSIC).fit(L)
    assert not auto.abstain_modelled_.any()
    assert_allclose_scaled(auto.predict_proba(L), classic.predict_proba(L), atol=1e-8)
    assert_allclose_scaled(auto.class_prior_, classic.class_prior_, atol=1e-8)


def test_anchor_keeps_narrow_one_class_rules_at_the_majority_vote():
    """Bug report: on many narrow one-class LFs, DS fell to 0.40 against 0.82
    for a majority vote. Maximum likelihood drifts to an optimum that
    contradicts the single votes; the anchored default does not."""
    L, y = narrow_rules()
    covered = (L >= 0).any(axis=1)
    single = (L >= 0).sum(axis=1) == 1

    def covered_accuracy(model):
        return (model.fit(L).predict_proba(L)[covered].argmax(1) == y[covered]).mean()

    mv = covered_accuracy(MajorityVote())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unconverged; near half the single votes
        ml = DawidSkene(**ML_ABSTAIN).fit(L)
    proba = ml.predict_proba(L)
    ml_accuracy = (proba[covered].argmax(1) == y[covered]).mean()
    assert ml_accuracy < mv - 0.1  # the collapse, reproduced (0.39 against 0.71)
    against = (proba[single].argmax(1) != L[single].max(axis=1)).mean()
    assert against > 0.3  # about half the single votes are overruled
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # no single-vote warning
        ds = DawidSkene().fit(L)
    assert covered_accuracy(ds) >= mv - 0.01
    # It follows the vote on (almost) every single-vote row.
    agree = ds.predict_proba(L)[single].argmax(1) == L[single].max(axis=1)
    assert agree.mean() > 0.95


def test_a_huge_anchor_is_the_majority_vote_m_step():
    """Closed form: as anchor_strength grows, the fit tends to the first M-step
    from the majority-vote posterior (EM's starting point)."""
    L, _, _ = planted(True, n_samples=1500, seed=10)
    first = DawidSkene(max_iter=1, **ML_ABSTAIN)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        first.fit(L)
    anchored = DawidSkene(model_abstain=True, anchor_strength=1e8).fit(L)
    assert_allclose_scaled(anchored.confusion_, first.confusion_, atol=1e-6)
    assert_allclose_scaled(anchored.class_prior_, first.class_prior_, atol=1e-6)


def test_anchored_objective_is_monotone():
    _, L, _ = make_weak_supervision(
        400, 4, 3, coverage=0.5, accuracy=[0.5, 0.45, 0.6, 0.4], n_features=0,
        random_state=3,
    )
    ds = DawidSkene(anchor_strength=0.5).fit(L)
    history = ds.log_likelihood_
    assert len(history) > 3
    assert np.all(np.diff(history) >= -1e-9 * np.abs(history[1:]))


class _Contrarian(MajorityVote):
    """A stub whose fit turns every vote into another class."""

    def _predict_proba(self, L):
        return super()._predict_proba(L)[:, ::-1]


def test_a_fit_against_most_single_votes_warns():
    L = np.array([[0, -1, -1], [1, -1, -1], [-1, 0, -1], [-1, -1, 1]] * 20)
    with pytest.warns(UserWarning, match=r"other than the vote on 100% of the 80 rows"):
        _Contrarian().fit(L)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        MajorityVote().fit(L)  # follows every single vote
        _Contrarian().fit(L[:40])  # too few single-vote rows (40) to judge
