"""Tests of WeaSELClassifier's validation_weight: gold rows join after training."""

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("skorch")

from skweak_e2e import WeaSELClassifier  # noqa: E402

from .._shifted_rules import shifted_rules  # noqa: E402
from .._tolerance import assert_allclose_scaled  # noqa: E402


def _shifted_rules(n, seed):
    return shifted_rules(n, seed, dtype=np.float32)


def _fit(validation_weight, with_val=True, seed=0):
    X, L, _ = _shifted_rules(800, 0)
    X_val, _, y_val = _shifted_rules(150, 1)
    clf = WeaSELClassifier(
        max_epochs=8, validation_weight=validation_weight, random_state=seed
    )
    if with_val:
        return clf.fit(X, L, X_val=X_val, y_val=y_val)
    return clf.fit(X, L)


def test_gold_rows_correct_a_boundary_every_rule_gets_wrong():
    X_test, L_test, y_test = _shifted_rules(2000, 2)
    alone, joined = _fit(0.0), _fit(1.0)
    # Weak labels alone teach the boundary x0 = 1 (about 0.66 accuracy).
    assert alone.score(X_test, y_test) < 0.75
    assert joined.score(X_test, y_test) > alone.score(X_test, y_test) + 0.05
    # Only the downstream network trains further: the encoder is untouched,
    # and so is the selection's record.
    assert_allclose_scaled(
        alone.predict_proba_encoder(X_test, L_test),
        joined.predict_proba_encoder(X_test, L_test),
        rtol=1e-5, atol=1e-6,
    )
    assert joined.best_epoch_ == alone.best_epoch_
    assert joined.best_score_ == pytest.approx(alone.best_score_, rel=1e-6)


def test_repeatable_and_inert_without_validation_data():
    X_test, _, _ = _shifted_rules(300, 2)
    first, second = _fit(0.5, seed=3), _fit(0.5, seed=3)
    np.testing.assert_array_equal(first.predict_proba(X_test), second.predict_proba(X_test))
    # Without gold rows there is nothing to join: the weight changes nothing.
    a, b = _fit(0.0, with_val=False), _fit(1.0, with_val=False)
    np.testing.assert_array_equal(a.predict_proba(X_test), b.predict_proba(X_test))


def test_sparse_features_join_too():
    sp = pytest.importorskip("scipy.sparse")
    X, L, _ = _shifted_rules(400, 0)
    X_val, _, y_val = _shifted_rules(80, 1)
    # Non-negative sparse features, like TF-IDF.
    to_sparse = lambda A: sp.csr_matrix(np.maximum(A, 0))  # noqa: E731
    clf = WeaSELClassifier(max_epochs=4, random_state=0).fit(
        to_sparse(X), L, X_val=to_sparse(X_val), y_val=y_val
    )
    proba = clf.predict_proba(to_sparse(X_val))
    assert proba.shape == (80, 2) and np.allclose(proba.sum(1), 1.0)


def test_negative_weight_is_refused():
    X, L, _ = _shifted_rules(50, 0)
    with pytest.raises(ValueError, match="validation_weight"):
        WeaSELClassifier(validation_weight=-1.0).fit(X, L)


def _sparse_task(n, seed):
    sp = pytest.importorskip("scipy.sparse")
    X, L, y = _shifted_rules(n, seed)
    return sp.csr_matrix(X), L, y  # the "auto" options read the type of X


def _auto_join_and_its_twin(task, n_train, n_gold, max_epochs):
    """A sparse ``"auto"`` fit, and the fit that asks for the join it chose.

    Returns both classifiers and the training data ``(X, L, fit_params)``.
    """
    X, L, _ = task(n_train, 0)
    X_val, _, y_val = task(n_gold, 1)
    fit = dict(X_val=X_val, y_val=y_val)
    auto = WeaSELClassifier(max_epochs=max_epochs, random_state=0).fit(X, L, **fit)
    twin = WeaSELClassifier(
        max_epochs=max_epochs, hidden_layer_sizes=(), random_state=0,
        validation_weight=auto.validation_weight_, validation_lr=auto.validation_lr_,
    ).fit(X, L, **fit)
    return auto, twin, (X, L, fit)


def test_auto_join_depends_on_the_type_of_X_and_on_the_gold_rows():
    joined, explicit, (X, L, fit) = _auto_join_and_its_twin(_sparse_task, 300, 60, 3)
    # Sparse X with gold rows: a linear downstream model. Every rule puts the
    # boundary in the wrong place, which the gold rows alone learn better
    # than the weak model did: they lead the join (10 times the weak rows'
    # weight, the training learning rate).
    scores = joined.join_scores_
    assert scores["gold_rows_alone"] > scores["weak_model"] + 0.1 and scores["z"] < 0
    assert joined.hidden_layer_sizes_ == () and joined.validation_weight_ == 10.0
    assert joined.validation_lr_ == joined.lr_
    X_val = fit["X_val"]
    np.testing.assert_array_equal(joined.predict_proba(X_val), explicit.predict_proba(X_val))
    # A network you set keeps the gentle join it was measured with.
    for own in [dict(hidden_layer_sizes=(16,)), dict(hidden_layer_sizes=np.array([16, 8]))]:
        clf = WeaSELClassifier(max_epochs=2, random_state=0, **own).fit(X, L, **fit)
        assert clf.hidden_layer_sizes_ == tuple(own["hidden_layer_sizes"])
        assert clf.validation_weight_ == 1.0 and clf.validation_lr_ == clf.lr_ / 10
        assert clf.join_scores_ is None  # nothing was chosen
    # Nothing joins without gold rows: the hidden layer of 16 stays.
    alone = WeaSELClassifier(max_epochs=3, random_state=0).fit(X, L)
    assert alone.hidden_layer_sizes_ == (16,) and alone.validation_weight_ == 0.0
    assert alone.join_scores_ is None
    # validation_weight=0 keeps the gold rows out, and the hidden layer too.
    kept_out = WeaSELClassifier(max_epochs=3, validation_weight=0, random_state=0)
    kept_out.fit(X, L, **fit)
    assert kept_out.hidden_layer_sizes_ == (16,) and kept_out.validation_weight_ == 0.0
    # An array of widths is a network of your own on sparse X, without gold
    # rows too.
    own = WeaSELClassifier(max_epochs=2, hidden_layer_sizes=np.array([4]), random_state=0)
    assert own.fit(X, L).hidden_layer_sizes_ == (4,)


def test_auto_join_on_dense_X_weighs_the_gold_rows_as_the_weak_rows():
    dense = _fit("auto")
    assert dense.validation_weight_ == 1.0 and dense.hidden_layer_sizes_ == (50, 50, 25)
    assert dense.validation_lr_ == dense.lr_ / 10
    X_test, _, _ = _shifted_rules(300, 2)
    np.testing.assert_array_equal(
        dense.predict_proba(X_test), _fit(1.0).predict_proba(X_test)
    )


def test_the_sparse_join_corrects_a_boundary_every_rule_gets_wrong():
    # As on dense X above: the weak labels teach the wrong boundary, the gold
    # rows (at the sparse "auto" share and learning rate) move it.
    X, L, _ = _sparse_task(800, 0)
    X_val, _, y_val = _sparse_task(150, 1)
    X_test, _, y_test = _sparse_task(2000, 2)
    fit = dict(X_val=X_val, y_val=y_val)
    joined = WeaSELClassifier(max_epochs=8, random_state=0).fit(X, L, **fit)
    linear = dict(max_epochs=8, hidden_layer_sizes=(), random_state=0)
    alone = WeaSELClassifier(validation_weight=0, **linear).fit(X, L, **fit)
    # The same linear model with the gentle join of dense X (share 1, a
    # tenth of the rate) moves the boundary much less.
    gentle = WeaSELClassifier(
        validation_weight=1.0, validation_lr=joined.lr_ / 10, **linear
    ).fit(X, L, **fit)
    assert joined.score(X_test, y_test) > gentle.score(X_test, y_test) + 0.05
    assert gentle.score(X_test, y_test) > alone.score(X_test, y_test)


def _high_dimensional_task(n, seed, n_features=100):
    """Sparse features whose class is the sign of a random direction, and
    rules that are right 85 % of the time."""
    sp = pytest.importorskip("scipy.sparse")
    direction = np.random.default_rng(0).normal(size=n_features)
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_features))
    y = (X @ direction > 0).astype(int)
    L = np.where(rng.random((n, 5)) < 0.85, y[:, None], 1 - y[:, None])
    L[rng.random((n, 5)) < 0.3] = -1
    return sp.csr_matrix(X.astype(np.float32)), L, y


def test_the_weak_rows_lead_when_the_gold_rows_alone_teach_less():
    # 1,000 weakly labelled rows teach the boundary well; 20 gold rows in 100
    # dimensions teach much less on their own: the weak rows lead the join
    # (the gold rows at 3 times their weight, a third of the rate), exactly
    # as if asked for.
    clf, explicit, (X, L, fit) = _auto_join_and_its_twin(_high_dimensional_task, 1000, 20, 5)
    scores = clf.join_scores_
    assert scores["weak_model"] > scores["gold_rows_alone"] + 0.1
    assert scores["z"] > 1.645  # significantly, on 20 rows
    assert clf.validation_weight_ == 3.0
    assert clf.validation_lr_ == pytest.approx(clf.lr_ / 3, rel=1e-12)
    X_test, _, y_test = _high_dimensional_task(1000, 2)
    np.testing.assert_array_equal(clf.predict_proba(X_test), explicit.predict_proba(X_test))
    # The choice is the right one: led by the 20 gold rows, the model is
    # worse (0.80 against 0.82 on seeds 0-2; 26 of the 1,000 rows on seed 0).
    gold_led = WeaSELClassifier(max_epochs=5, validation_weight=10.0, random_state=0)
    gold_led.fit(X, L, **fit)
    assert clf.score(X_test, y_test) > gold_led.score(X_test, y_test) + 0.005
    # validation_lr set by the user is kept whichever join leads.
    own_rate = WeaSELClassifier(max_epochs=5, validation_lr=1e-4, random_state=0)
    own_rate.fit(X, L, **fit)
    assert own_rate.validation_weight_ == 3.0 and own_rate.validation_lr_ == 1e-4


def test_gold_rows_alone_and_the_paired_z_known_answers():
    from skweak_e2e.end_to_end._gold_rows import _gold_alone_hits, paired_z

    def accuracy(X, y):
        hits = _gold_alone_hits(X, y, seed=0)
        return None if hits is None else hits.mean()

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 20))
    separable = (X[:, 0] > 0).astype(int)
    assert accuracy(X, separable) >= 0.95
    # Labels that have nothing to do with X: chance, whatever C is picked.
    noise = rng.integers(0, 2, 200)
    assert abs(accuracy(X, noise) - 0.5) < 0.12
    # Too few rows, or one class: nothing to cross-validate.
    assert accuracy(X[:3], separable[:3]) is None
    assert accuracy(X, np.zeros(200, int)) is None
    # One row per class: plain folds, and nothing is learnt.
    assert accuracy(X[:5], np.arange(5)) == 0.0
    # A class of a single row still gets its folds (stratified where it can).
    rare = separable.copy()
    rare[0] = 2
    assert 0.9 <= accuracy(X, rare) < 1.0
    # The paired z statistic: right on every row against half of 100 rows
    # gives a difference of 0.5 whose standard deviation is sqrt(25/99).
    half = np.arange(100) % 2 == 0
    assert paired_z(np.ones(100, bool), half) == pytest.approx(0.5 / np.sqrt(25 / 99 / 100))
    assert paired_z(half, half) == 0.0
    assert paired_z(half, np.ones(100, bool)) < 0
    # Every row differing the same way has no spread: the difference is as
    # significant as it gets, not 0.
    assert paired_z(np.ones(8, bool), np.zeros(8, bool)) == np.inf
    assert paired_z(np.zeros(8, bool), np.ones(8, bool)) == -np.inf
    almost = np.ones(8, bool)
    almost[0] = False
    assert 0 < paired_z(almost, np.zeros(8, bool)) < np.inf


def test_three_gold_rows_cannot_lead():
    X, L, _ = _sparse_task(300, 0)
    X_val, _, y_val = _sparse_task(3, 1)
    clf = WeaSELClassifier(max_epochs=2, random_state=0).fit(X, L, X_val=X_val, y_val=y_val)
    scores = clf.join_scores_
    assert np.isnan(scores["gold_rows_alone"]) and scores["z"] == np.inf
    assert clf.validation_weight_ == 3.0


def test_gold_sets_that_are_hard_to_fit_choose_quietly():
    import warnings

    sp = pytest.importorskip("scipy.sparse")
    X, L, _ = _sparse_task(300, 0)
    rng = np.random.default_rng(0)
    # Badly scaled gold rows with labels at random: lbfgs stops at max_iter
    # for some C (a ConvergenceWarning inside the cross-validation).
    badly_scaled = rng.normal(size=(40, 4)) * np.array([1e5, 1e-3, 1.0, 1.0])
    gold_sets = [
        (badly_scaled, rng.integers(0, 2, 40)),
        (_sparse_task(7, 1)[0].toarray(), np.array([0, 0, 0, 1, 1, 1, 1])),
        (_sparse_task(7, 1)[0].toarray(), np.zeros(7, int)),
    ]
    for X_val, y_gold in gold_sets:
        X_val = sp.csr_matrix(X_val)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            clf = WeaSELClassifier(max_epochs=2, random_state=0)
            clf.fit(X, L, X_val=X_val, y_val=y_gold)
        # The small fits of the choice are the library's business.
        assert not [w for w in caught if "sklearn" in w.filename], [
            str(w.message) for w in caught
        ]
        assert clf.validation_weight_ in (3.0, 10.0)
    # A single gold class cannot be judged: the weak rows lead.
    assert np.isnan(clf.join_scores_["gold_rows_alone"])
    assert clf.validation_weight_ == 3.0
