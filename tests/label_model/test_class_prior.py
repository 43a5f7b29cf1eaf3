"""Class-prior estimation: from dev labels, and from the votes alone."""

import warnings

import numpy as np
import pytest

from skweak_e2e import Snorkel
from skweak_e2e.datasets import make_weak_supervision, planted_posterior
from skweak_e2e.label_model import estimate_class_prior

PRIOR = np.array([0.5, 0.3, 0.2])


def _planted(n_samples=1000, seed=0):
    return make_weak_supervision(
        n_samples,
        20,
        3,
        class_prior=PRIOR,
        n_features=0,
        return_params=True,
        random_state=seed,
    )[1:]


@pytest.mark.parametrize("seed", [0, 1])
def test_estimated_prior_closes_the_gap_to_bayes(seed):
    L, y, params = _planted(seed=seed)
    bayes = np.mean(planted_posterior(L, params).argmax(axis=1) == y)

    def accuracy(model):
        return np.mean(model.fit(L).predict_proba(L).argmax(axis=1) == y)

    uniform = accuracy(Snorkel(n_epochs=500, random_state=0))
    estimated = accuracy(Snorkel(n_epochs=500, class_prior="estimate", random_state=0))
    gap_uniform, gap_estimated = bayes - uniform, bayes - estimated
    assert gap_uniform > 0.03  # the uniform prior costs several points here
    assert gap_estimated < 0.25 * gap_uniform
    assert abs(gap_estimated) < 0.01
    model = Snorkel(n_epochs=500, class_prior="estimate", random_state=0).fit(L)
    np.testing.assert_allclose(model.class_prior_, PRIOR, atol=0.04)


def test_prior_from_votes_recovers_the_planted_prior():
    L, _, _ = _planted(n_samples=5000)
    np.testing.assert_allclose(estimate_class_prior(L), PRIOR, atol=0.02)
    # Balanced data stay balanced.
    _, L, _ = make_weak_supervision(5000, 20, 3, n_features=0, random_state=0)
    np.testing.assert_allclose(estimate_class_prior(L), 1 / 3, atol=0.03)


def test_prior_from_dev_labels_is_smoothed_frequency():
    L = np.zeros((6, 3), dtype=int)
    y = np.array([0, 0, 0, 1, -1, -1])  # class 2 never seen, two unknown
    np.testing.assert_allclose(
        estimate_class_prior(L, y, n_classes=3), np.array([4, 2, 1]) / 7
    )
    np.testing.assert_allclose(
        estimate_class_prior(L[:2] + 1, [2, 2]), np.array([1, 1, 3]) / 5
    )
    with pytest.raises(ValueError, match="no gold label"):
        estimate_class_prior(L, np.full(6, -1))
    with pytest.raises(ValueError, match=r"\[0, 2\]"):
        estimate_class_prior(L, [0, 1, 2, 3, 0, 0], n_classes=3)
    with pytest.raises(ValueError, match="6 and 2"):
        estimate_class_prior(L, [0, 1])


def test_snorkel_class_prior_estimate_is_validated():
    L, _, _ = _planted(n_samples=200)
    with pytest.raises(ValueError, match="class_prior"):
        Snorkel(class_prior="learn").fit(L)


def test_an_unreliable_votes_only_estimate_warns_in_its_own_name():
    """Bug report: Snorkel(class_prior="estimate") warned about a DawidSkene
    the user never created."""
    from skweak_e2e.label_model._base import BaseLabelModel

    def contradict(self, L, weight):  # the internal fit's warning, forced
        warnings.warn("DawidSkene predicts a class other than the vote on 90% ...")

    _, L, _ = make_weak_supervision(300, 5, n_features=0, random_state=0)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(BaseLabelModel, "_check_single_votes", contradict)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            estimate_class_prior(L)
    messages = [str(w.message) for w in caught]
    assert any(m.startswith("estimate_class_prior: the votes-only fit") for m in messages)
    assert not any("DawidSkene predicts" in m for m in messages)
