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


def test_auto_join_depends_on_the_type_of_X_and_on_the_gold_rows():
    X, L, _ = _sparse_task(300, 0)
    X_val, _, y_val = _sparse_task(60, 1)
    fit = dict(X_val=X_val, y_val=y_val)
    joined = WeaSELClassifier(max_epochs=3, random_state=0).fit(X, L, **fit)
    # Sparse X with gold rows: a linear downstream model, gold rows at 10
    # times the weak rows' weight, joined at the training learning rate.
    assert joined.hidden_layer_sizes_ == () and joined.validation_weight_ == 10.0
    assert joined.validation_lr_ == joined.lr_
    explicit = WeaSELClassifier(
        max_epochs=3, hidden_layer_sizes=(), validation_weight=10.0,
        validation_lr=joined.lr_, random_state=0,
    ).fit(X, L, **fit)
    np.testing.assert_array_equal(joined.predict_proba(X_val), explicit.predict_proba(X_val))
    # A network you set keeps the gentle join it was measured with.
    for own in [dict(hidden_layer_sizes=(16,)), dict(hidden_layer_sizes=np.array([16, 8]))]:
        clf = WeaSELClassifier(max_epochs=2, random_state=0, **own).fit(X, L, **fit)
        assert clf.hidden_layer_sizes_ == tuple(own["hidden_layer_sizes"])
        assert clf.validation_weight_ == 1.0 and clf.validation_lr_ == clf.lr_ / 10
    # Nothing joins without gold rows: the hidden layer of 16 stays.
    alone = WeaSELClassifier(max_epochs=3, random_state=0).fit(X, L)
    assert alone.hidden_layer_sizes_ == (16,) and alone.validation_weight_ == 0.0
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
