"""Known-answer tests of MajorityVote."""

import pickle

import numpy as np
import pytest

from skweak_e2e import MajorityVote
from skweak_e2e.label_model import apply_tensor_form
from skweak_e2e.datasets import make_weak_supervision
from .._tolerance import assert_allclose_scaled

L_HAND = np.array([[0, 0, 1], [2, -1, -1], [-1, -1, -1], [0, 1, 2], [1, 1, -1]])
SOFT_HAND = np.array(
    [[2 / 3, 1 / 3, 0], [0, 0, 1], [1 / 3] * 3, [1 / 3] * 3, [0, 1, 0]]
)


def test_soft_majority_vote_hand_computed():
    proba = MajorityVote().fit(L_HAND).predict_proba(L_HAND)
    assert_allclose_scaled(proba, SOFT_HAND, atol=1e-12)


@pytest.mark.parametrize(
    "tie_break, expected",
    [("abstain", [0, 2, -1, -1, 1]), ("lowest", [0, 2, 0, 0, 1])],
)
def test_tie_break_policies(tie_break, expected):
    pred = MajorityVote(tie_break=tie_break).fit(L_HAND).predict(L_HAND)
    np.testing.assert_array_equal(pred, expected)


def test_random_tie_break_is_seeded_and_stays_in_tie_set():
    L = np.tile(L_HAND, (200, 1))
    model = MajorityVote(tie_break="random", random_state=3).fit(L)
    first, second = model.predict(L), model.predict(L)
    np.testing.assert_array_equal(first, second)
    assert np.all(first[L[:, 0] == 2] == 2)  # no tie: the winner
    row1 = np.flatnonzero((L == [0, 0, 1]).all(axis=1))
    assert np.all(first[row1] == 0)
    # A tied row's class follows the row, not its position: the same for
    # equal rows, and for any order or subset of the rows (as scikit-learn
    # expects of predict).
    tied = np.flatnonzero((L == [0, 1, 2]).all(axis=1))
    assert len(set(first[tied])) == 1
    np.testing.assert_array_equal(model.predict(L[::-1]), first[::-1])
    np.testing.assert_array_equal(model.predict(L[tied[:3]]), first[tied[:3]])
    # Across seeds, every tied class is drawn.
    drawn = {
        int(MajorityVote(tie_break="random", random_state=seed).fit(L_HAND).predict(L_HAND)[3])
        for seed in range(40)
    }
    assert drawn == {0, 1, 2}


def test_random_ties_spread_over_distinct_rows():
    """Distinct tied rows draw classes independently, about uniformly."""
    rng = np.random.RandomState(0)
    proba = rng.dirichlet(np.ones(3), size=3000)
    proba[:, 1] = proba[:, 0]  # classes 0 and 1 tie on every row...
    proba /= proba.sum(axis=1, keepdims=True)
    top = proba.argmax(axis=1)
    rows = proba[:, 0] >= proba[:, 2]  # ...where they are the maximum
    from skweak_e2e.utils._targets import proba_to_labels

    labels = proba_to_labels(proba[rows], "random", random_state=5, by_content=True)
    assert set(labels) == {0, 1}
    assert 0.45 < labels.mean() < 0.55
    assert top.shape == (3000,)


def test_argmax_method_is_uniform_over_winners():
    proba = MajorityVote(method="argmax").fit(L_HAND).predict_proba(L_HAND)
    np.testing.assert_allclose(proba[0], [1, 0, 0])
    np.testing.assert_allclose(proba[3], [1 / 3] * 3)


def test_uncovered_rows_get_the_class_prior():
    model = MajorityVote(class_prior=[0.2, 0.3, 0.5]).fit(L_HAND)
    np.testing.assert_allclose(model.predict_proba(L_HAND)[2], [0.2, 0.3, 0.5])
    assert model.coverage_ == pytest.approx(0.8)


def test_tensor_form_reproduces_predict_proba_on_covered_rows():
    _, L, _ = make_weak_supervision(500, 7, 4, coverage=0.4, n_features=0, random_state=1)
    model = MajorityVote().fit(L)
    covered = (L >= 0).any(axis=1)
    assert_allclose_scaled(
        apply_tensor_form(L[covered], model.W_, model.activation),
        model.predict_proba(L[covered]),
        atol=1e-12,
    )


def test_permuting_sources_and_relabelling_classes():
    _, L, _ = make_weak_supervision(300, 6, 3, n_features=0, random_state=2)
    base = MajorityVote(n_classes=3).fit(L).predict_proba(L)
    perm_sources = np.random.RandomState(5).permutation(6)
    np.testing.assert_allclose(
        MajorityVote(n_classes=3).fit(L[:, perm_sources]).predict_proba(L[:, perm_sources]),
        base,
    )
    relabel = np.array([2, 0, 1])  # class c becomes relabel[c]
    L_new = np.where(L >= 0, relabel[np.clip(L, 0, None)], -1)
    out = MajorityVote(n_classes=3).fit(L_new).predict_proba(L_new)
    np.testing.assert_allclose(out[:, relabel], base)


def test_soft_votes_generalise_hard_votes():
    L = L_HAND
    soft = np.zeros(L.shape + (3,))
    rows, cols = np.nonzero(L >= 0)
    soft[rows, cols, L[rows, cols]] = 1.0
    np.testing.assert_allclose(
        MajorityVote(n_classes=3).fit(soft).predict_proba(soft), SOFT_HAND
    )


def test_silent_source_warns_and_gets_no_weight():
    L = np.column_stack([L_HAND, np.full(len(L_HAND), -1)])
    with pytest.warns(UserWarning, match=r"source\(s\) \[3\] never vote"):
        model = MajorityVote().fit(L)
    L_test = L.copy()
    L_test[:, 3] = 2  # votes at transform time do not count
    np.testing.assert_allclose(model.predict_proba(L_test), SOFT_HAND)


@pytest.mark.parametrize(
    "L, match, error",
    [
        (np.array([0, 1, 1]), "2D array", ValueError),
        (np.array([[0.5, 1.0]]), "non-integer", ValueError),
        (np.array([[np.nan, 1.0]]), "NaN", ValueError),
        (np.array([[0, -2]]), "the vote -2", ValueError),
        (np.array([[-1, -1], [-1, -1]]), "no vote at all", ValueError),
        (np.array([["a", "b"]]), "numeric", ValueError),
    ],
)
def test_bad_input_errors_name_the_problem(L, match, error):
    with pytest.raises(error, match=match):
        MajorityVote().fit(L)


def test_vote_above_declared_classes_and_source_mismatch():
    with pytest.raises(ValueError, match="n_classes=2"):
        MajorityVote(n_classes=2).fit(np.array([[0, 2]]))
    model = MajorityVote().fit(L_HAND)
    with pytest.raises(ValueError, match="3 features"):
        model.predict(L_HAND[:, :2])


def test_unfitted_use_raises():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        MajorityVote().predict_proba(L_HAND)


def test_pickle_and_pandas_input():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(L_HAND, columns=["kw_a", "kw_b", "regex_c"])
    model = MajorityVote().fit(frame)
    np.testing.assert_array_equal(model.feature_names_in_, ["kw_a", "kw_b", "regex_c"])
    clone = pickle.loads(pickle.dumps(model))
    np.testing.assert_allclose(clone.predict_proba(frame), SOFT_HAND)
    assert list(model.get_feature_names_out()) == [
        "majorityvote0",
        "majorityvote1",
        "majorityvote2",
    ]


def test_score_counts_abstained_predictions_as_errors():
    model = MajorityVote().fit(L_HAND)
    y = np.array([0, 2, 1, 0, 1])
    # predictions [0, 2, -1, -1, 1]: the two ties are errors
    assert model.score(L_HAND, y) == pytest.approx(3 / 5)
    assert model.score(L_HAND, np.array([0, 2, -1, -1, 1])) == pytest.approx(1.0)
