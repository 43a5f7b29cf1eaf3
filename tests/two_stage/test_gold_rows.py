"""Tests of the gold validation rows joining LabelModelClassifierCV's training."""

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier

from skweak_e2e import LabelModelClassifierCV, MajorityVote
from skweak_e2e.utils._rows import stack_rows

from .._shifted_rules import shifted_rules as _shifted_rules


class _Recording(LogisticRegression):
    """A logistic regression that keeps what its last fit was given."""

    def fit(self, X, y, sample_weight=None):
        self.fit_X_, self.fit_y_, self.fit_weight_ = X, np.asarray(y), sample_weight
        return super().fit(X, y, sample_weight=sample_weight)


def test_the_gold_rows_join_with_the_requested_share_of_the_weight():
    X, L, _ = _shifted_rules(600, 0)
    X_val, _, y_val = _shifted_rules(100, 1)
    clf = LabelModelClassifierCV(
        MajorityVote(), _Recording(), param_grid={"estimator__C": [1.0]},
        validation_weight=0.5, soft_labels=False, random_state=0,
    ).fit(X, L, X_val=X_val, y_val=y_val)
    est = clf.estimator_
    n_weak = est.fit_X_.shape[0] - len(y_val)
    covered = int((L != -1).any(axis=1).sum())
    assert n_weak == covered
    # Known answer: the gold rows come last with their labels, one equal
    # weight each, and half the weak rows' total weight between them.
    np.testing.assert_array_equal(est.fit_X_[n_weak:], X_val)
    np.testing.assert_array_equal(est.fit_y_[n_weak:], y_val)
    gold_w = est.fit_weight_[n_weak:]
    np.testing.assert_allclose(gold_w, gold_w[0])
    np.testing.assert_allclose(gold_w.sum(), 0.5 * est.fit_weight_[:n_weak].sum())
    assert clf.validation_weight_ == 0.5
    # And the model is the plain weighted fit of that training set.
    alone = LogisticRegression().fit(est.fit_X_, est.fit_y_, sample_weight=est.fit_weight_)
    np.testing.assert_allclose(est.coef_, alone.coef_, rtol=1e-6)


def test_the_join_keeps_the_target_settings_the_grid_chose():
    # soft_labels in the grid: the weak rows the gold rows join are those
    # the chosen candidate trained on (hard labels, one row per covered
    # sample), and "auto" searches the end model's own settings only.
    X, L, _ = _shifted_rules(600, 0)
    X_val, _, y_val = _shifted_rules(100, 1)
    grid = {"soft_labels": [False], "estimator__C": [0.1, 1.0]}
    fixed = LabelModelClassifierCV(
        MajorityVote(), _Recording(), param_grid=grid, validation_weight=0.5,
        random_state=0,
    ).fit(X, L, X_val=X_val, y_val=y_val)
    n_weak = fixed.estimator_.fit_X_.shape[0] - len(y_val)
    assert n_weak == int((L != -1).any(axis=1).sum())
    assert fixed.estimator_.fit_weight_[:n_weak].tolist() == [1.0] * n_weak
    auto = LabelModelClassifierCV(
        MajorityVote(), _Recording(), param_grid=grid, random_state=0,
    ).fit(X, L, X_val=X_val, y_val=y_val)
    assert auto.best_params_["soft_labels"] is False
    assert auto.best_params_["estimator__C"] in (0.1, 1.0)
    assert auto.validation_weight_ in (0.1, 0.3, 1.0)
    # The same weak rows under "auto": hard labels, one per covered sample
    # (soft labels would give two weighted rows per sample).
    n_weak = auto.estimator_.fit_X_.shape[0] - len(y_val)
    assert n_weak == int((L != -1).any(axis=1).sum())
    assert auto.estimator_.fit_weight_[:n_weak].tolist() == [1.0] * n_weak


def test_auto_lets_gold_rows_correct_a_boundary_every_rule_gets_wrong():
    X, L, _ = _shifted_rules(1500, 0)
    X_val, _, y_val = _shifted_rules(150, 1)
    X_test, _, y_test = _shifted_rules(2000, 2)
    weak = LabelModelClassifierCV(MajorityVote(), validation_weight=0, random_state=0)
    joined = LabelModelClassifierCV(MajorityVote(), random_state=0)
    weak.fit(X, L, X_val=X_val, y_val=y_val)
    joined.fit(X, L, X_val=X_val, y_val=y_val)
    assert joined.validation_weight_ in (0.1, 0.3, 1.0)
    assert set(joined.validation_weight_scores_) == {0.1, 0.3, 1.0}
    assert joined.validation_weight_scores_[joined.validation_weight_] == max(
        joined.validation_weight_scores_.values()
    )
    # Weak labels alone put the boundary at x0 = 1 (about 0.66 accuracy).
    assert weak.score(X_test, y_test) < 0.75
    assert joined.score(X_test, y_test) > weak.score(X_test, y_test) + 0.05


def test_auto_keeps_the_gold_rows_out_where_they_cannot_join():
    X, L, _ = _shifted_rules(300, 0)
    X_val, _, y_val = _shifted_rules(60, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # hard labels for KNN
        knn = LabelModelClassifierCV(
            MajorityVote(), KNeighborsClassifier(), random_state=0
        ).fit(X, L, X_val=X_val, y_val=y_val)
        assert knn.validation_weight_ == 0.0
        with pytest.raises(ValueError, match=r"validation_weight=0\.3 .*KNeighbors"):
            LabelModelClassifierCV(
                MajorityVote(), KNeighborsClassifier(), validation_weight=0.3
            ).fit(X, L, X_val=X_val, y_val=y_val)
    # Fewer than two gold rows per fold: nothing to cross-validate on.
    few = LabelModelClassifierCV(MajorityVote(), random_state=0).fit(
        X, L, X_val=X_val[:9], y_val=y_val[:9]
    )
    assert few.validation_weight_ == 0.0 and few.validation_weight_scores_ == {}


def test_string_classes_and_repeatability():
    X, L, _ = _shifted_rules(400, 0)
    X_val, _, y_val = _shifted_rules(80, 1)
    names = np.array(["neg", "pos"])
    L_str = np.where(L == -1, "-", names[np.clip(L, 0, 1)])
    fits = [
        LabelModelClassifierCV(MajorityVote(), abstain="-", random_state=3).fit(
            X, L_str, X_val=X_val, y_val=names[y_val]
        )
        for _ in range(2)
    ]
    assert fits[0].validation_weight_ > 0
    assert set(fits[0].predict(X_val)) <= {"neg", "pos"}
    np.testing.assert_array_equal(fits[0].estimator_.coef_, fits[1].estimator_.coef_)


@pytest.mark.parametrize(
    "top",
    [np.arange(6.0).reshape(3, 2), sp.csr_matrix(np.eye(3, 2)), [[0, 1], [2, 3], [4, 5]],
     pd.DataFrame({"a": [1, 2, 3], "b": [4, 5, 6]}, index=[7, 8, 9])],
    ids=["ndarray", "csr", "list", "DataFrame"],
)
def test_stack_rows_keeps_the_container(top):
    bottom = top[:2] if not hasattr(top, "iloc") else top.iloc[:2]
    stacked = stack_rows(top, bottom)
    assert type(stacked) is type(top)
    dense = np.asarray(stacked.toarray() if sp.issparse(stacked) else stacked)
    first = np.asarray(top.toarray() if sp.issparse(top) else top)
    np.testing.assert_array_equal(dense, np.concatenate([first, first[:2]]))


def test_probability_targets_get_one_hot_gold_rows():
    from .test_two_stage import ProbaTargetClassifier

    X, L, _ = _shifted_rules(200, 0)
    X_val, _, y_val = _shifted_rules(40, 1)
    clf = LabelModelClassifierCV(
        MajorityVote(), ProbaTargetClassifier(), soft_labels="proba",
        validation_weight=1.0, random_state=0,
    ).fit(X, L, X_val=X_val, y_val=y_val)
    est = clf.estimator_
    n_weak = len(est.y_) - len(y_val)
    # The gold rows' targets are their one-hot labels, weighted like the
    # weak rows together.
    np.testing.assert_array_equal(est.y_[n_weak:], np.eye(2)[y_val])
    np.testing.assert_allclose(
        est.sample_weight_[n_weak:].sum(), est.sample_weight_[:n_weak].sum()
    )


def test_a_join_that_fails_keeps_the_previous_fit():
    X, L, _ = _shifted_rules(300, 0)
    X_val, _, y_val = _shifted_rules(60, 1)
    clf = LabelModelClassifierCV(
        MajorityVote(), validation_weight=0.3, random_state=0
    ).fit(X, L, X_val=X_val, y_val=y_val)
    before = (clf.predict_proba(X_val), dict(clf.best_params_), clf.estimator_)
    # The search succeeds, then joining fails (KNN takes no sample weights):
    # every fitted attribute must be the previous fit's.
    clf.set_params(estimator=KNeighborsClassifier())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        with pytest.raises(ValueError, match="validation_weight=0.3"):
            clf.fit(X, L, X_val=X_val, y_val=y_val)
    np.testing.assert_array_equal(clf.predict_proba(X_val), before[0])
    assert clf.best_params_ == before[1] and clf.estimator_ is before[2]
    assert clf.validation_weight_ == 0.3
