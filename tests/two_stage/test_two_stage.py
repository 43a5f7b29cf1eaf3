"""Tests of LabelModelClassifier and the gold-label scorers."""

import pickle
import warnings

import numpy as np
import pytest
import sklearn
from scipy.optimize import minimize
from scipy.special import log_softmax
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, log_loss
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.metadata_routing import get_routing_for_object

from skweak_e2e import DawidSkene, LabelModelClassifier, LinearizedApprox, MajorityVote
from skweak_e2e.utils._targets import proba_to_labels
from skweak_e2e.datasets import make_weak_supervision
from skweak_e2e.metrics import gold_accuracy_scorer, make_gold_scorer

L_HAND = np.array([[0, 0, 1], [2, -1, -1], [-1, -1, -1], [0, 1, 2], [1, 1, -1]])
X_HAND = np.arange(5, dtype=float)[:, None]


class RecordingClassifier(ClassifierMixin, BaseEstimator):
    """Remembers what fit received; predicts the first class."""

    def fit(self, X, y, sample_weight=None, extra=None):
        self.X_, self.y_ = np.asarray(X), np.asarray(y)
        self.sample_weight_, self.extra_ = sample_weight, extra
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])


def _data(n_classes=3, n_samples=400, seed=0):
    X, L, y = make_weak_supervision(
        n_samples,
        6,
        n_classes,
        coverage=0.35,
        n_features=4,
        class_sep=2.0,
        random_state=seed,
    )
    return X, L, y


def test_soft_labels_are_expanded_into_weighted_rows():
    clf = LabelModelClassifier(estimator=RecordingClassifier()).fit(
        X_HAND, L_HAND, extra=np.arange(5) * 10
    )
    est = clf.estimator_
    # Soft MV: [2/3, 1/3, 0], [0, 0, 1], uncovered (dropped), [1/3]*3, [0, 1, 0].
    np.testing.assert_array_equal(est.X_.ravel(), [0, 0, 1, 3, 3, 3, 4])
    np.testing.assert_array_equal(est.y_, [0, 1, 2, 0, 1, 2, 1])
    np.testing.assert_allclose(
        est.sample_weight_, [2 / 3, 1 / 3, 1, 1 / 3, 1 / 3, 1 / 3, 1]
    )
    np.testing.assert_array_equal(est.extra_, [0, 0, 10, 30, 30, 30, 40])
    assert clf.coverage_ == pytest.approx(0.8)
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])


class ProbaTargetClassifier(ClassifierMixin, BaseEstimator):
    """Takes probability targets as y; predicts their mean's argmax."""

    def fit(self, X, y, sample_weight=None, extra=None):
        self.X_, self.y_ = np.asarray(X), np.asarray(y)
        self.sample_weight_, self.extra_ = sample_weight, extra
        self.classes_ = np.arange(self.y_.shape[1])
        return self

    def predict_proba(self, X):
        return np.tile(self.y_.mean(axis=0), (len(X), 1))

    def predict(self, X):
        return np.argmax(self.predict_proba(X), axis=1)


def test_proba_targets_reach_the_estimator_one_row_per_sample():
    clf = LabelModelClassifier(estimator=ProbaTargetClassifier(), soft_labels="proba")
    clf.fit(X_HAND, L_HAND, extra=np.arange(5) * 10)
    est = clf.estimator_
    # Soft MV of the covered rows 0, 1, 3, 4 (row 2 has no vote).
    np.testing.assert_array_equal(est.X_.ravel(), [0, 1, 3, 4])
    np.testing.assert_allclose(
        est.y_, [[2 / 3, 1 / 3, 0], [0, 0, 1], [1 / 3, 1 / 3, 1 / 3], [0, 1, 0]]
    )
    assert est.sample_weight_ is None
    np.testing.assert_array_equal(est.extra_, [0, 10, 30, 40])
    np.testing.assert_allclose(clf.predict_proba(X_HAND[:1]), [est.y_.mean(axis=0)])
    # Sample weights follow their rows; a zero weight drops its row.
    sw = np.array([1.0, 2.0, 3.0, 0.0, 5.0])
    est = clf.fit(X_HAND, L_HAND, sample_weight=sw).estimator_
    np.testing.assert_array_equal(est.X_.ravel(), [0, 1, 4])
    np.testing.assert_allclose(est.sample_weight_, [1.0, 2.0, 5.0])
    with pytest.raises(ValueError, match="soft_labels"):
        LabelModelClassifier(soft_labels="expand").fit(X_HAND, L_HAND)


def test_sample_weight_multiplies_the_expansion_weights():
    sw = np.array([1.0, 2.0, 3.0, 0.0, 5.0])
    clf = LabelModelClassifier(estimator=RecordingClassifier())
    est = clf.fit(X_HAND, L_HAND, sample_weight=sw).estimator_
    # Row 3 has weight 0: its three expanded rows are dropped.
    np.testing.assert_array_equal(est.X_.ravel(), [0, 0, 1, 4])
    np.testing.assert_allclose(est.sample_weight_, [2 / 3, 1 / 3, 2, 5])


def test_hard_labels_and_uncovered_rows():
    clf = LabelModelClassifier(
        estimator=RecordingClassifier(), soft_labels=False, tie_break="lowest"
    )
    est = clf.fit(X_HAND, L_HAND).estimator_
    np.testing.assert_array_equal(est.X_.ravel(), [0, 1, 3, 4])
    np.testing.assert_array_equal(est.y_, [0, 2, 0, 1])  # tie -> lowest class
    assert est.sample_weight_ is None
    # tie_break="abstain" leaves the three-way tie (row 3) out of training.
    est = clf.set_params(tie_break="abstain").fit(X_HAND, L_HAND).estimator_
    np.testing.assert_array_equal(est.X_.ravel(), [0, 1, 4])
    np.testing.assert_array_equal(est.y_, [0, 2, 1])
    clf.set_params(drop_uncovered=False, soft_labels=True)
    est = clf.fit(X_HAND, L_HAND).estimator_
    # The uncovered row 2 is trained on the uniform prior.
    np.testing.assert_array_equal(est.X_.ravel(), [0, 0, 1, 2, 2, 2, 3, 3, 3, 4])
    np.testing.assert_allclose(est.sample_weight_[3:6], 1 / 3)


def test_uncovered_rows_never_reach_the_estimator():
    X, L, _ = _data()
    uncovered = (L < 0).all(axis=1)
    assert uncovered.any()
    X = X.copy()
    X[uncovered] = np.nan  # LogisticRegression would reject these rows
    LabelModelClassifier().fit(X, L)
    with pytest.raises(ValueError, match="NaN"):
        LabelModelClassifier(drop_uncovered=False).fit(X, L)


def _soft_lr_objective(theta, X, Y, C_reg, n_classes):
    """Soft-label logistic loss of sklearn's LogisticRegression, written out."""
    d = X.shape[1]
    if n_classes == 2:  # one logit: p(class 1) = sigmoid(x.w + b)
        w, b = theta[:d], theta[d]
        z = X @ w + b
        logp = np.column_stack([-np.logaddexp(0, z), -np.logaddexp(0, -z)])
        p1 = 1 / (1 + np.exp(-z))
        loss = -(Y * logp).sum()
        resid = p1 * Y.sum(axis=1) - Y[:, 1]
        grad = np.concatenate([C_reg * X.T @ resid + w, [C_reg * resid.sum()]])
        return C_reg * loss + 0.5 * w @ w, grad
    W = theta[: d * n_classes].reshape(d, n_classes)
    b = theta[d * n_classes :]
    logp = log_softmax(X @ W + b, axis=1)
    loss = -(Y * logp).sum()
    resid = np.exp(logp) * Y.sum(axis=1, keepdims=True) - Y
    grad_W = C_reg * X.T @ resid + W
    return C_reg * loss + 0.5 * (W**2).sum(), np.concatenate(
        [grad_W.ravel(), C_reg * resid.sum(axis=0)]
    )


@pytest.mark.parametrize("n_classes", [2, 3])
def test_expansion_solves_the_soft_label_objective(n_classes):
    X, L, _ = _data(n_classes)
    C_reg = 0.5
    lr = LogisticRegression(C=C_reg, tol=1e-12, max_iter=10000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = LabelModelClassifier(DawidSkene(), lr).fit(X, L)
    covered = (L >= 0).any(axis=1)
    Y = clf.label_model_.predict_proba(L)[covered]
    assert (Y > 1e-3).all(axis=1).mean() > 0.5  # genuinely soft targets
    Xc = X[covered]
    n_out = 1 if n_classes == 2 else n_classes
    theta0 = np.zeros(Xc.shape[1] * n_out + n_out)
    res = minimize(
        _soft_lr_objective,
        theta0,
        args=(Xc, Y, C_reg, n_classes),
        jac=True,
        method="L-BFGS-B",
        options={"gtol": 1e-11, "ftol": 1e-15, "maxiter": 20000},
    )
    d = Xc.shape[1]
    coef = res.x[: d * n_out].reshape(d, n_out).T
    np.testing.assert_allclose(clf.estimator_.coef_, coef, atol=2e-5)
    if n_classes == 2:
        z = X @ coef[0] + res.x[-1]
        proba = np.column_stack([1 / (1 + np.exp(z)), 1 / (1 + np.exp(-z))])
    else:
        proba = np.exp(log_softmax(X @ coef.T + res.x[-n_out:], axis=1))
    np.testing.assert_allclose(clf.predict_proba(X), proba, atol=1e-6)


def test_hard_labels_equal_a_plain_fit_on_argmax():
    X, L, _ = _data()
    covered = (L >= 0).any(axis=1)
    hard = LabelModelClassifier(soft_labels=False, tie_break="lowest").fit(X, L)
    labels = proba_to_labels(
        MajorityVote().fit(L).predict_proba(L[covered]), tie_break="lowest"
    )
    ref = LogisticRegression().fit(X[covered], labels)
    np.testing.assert_allclose(hard.estimator_.coef_, ref.coef_)
    soft = LabelModelClassifier().fit(X, L)
    assert np.abs(soft.estimator_.coef_ - hard.estimator_.coef_).max() > 1e-3


def test_one_dimensional_y_is_ordinary_supervision():
    X, _, y = _data()
    clf = LabelModelClassifier().fit(X, y)
    ref = LogisticRegression().fit(X, y)
    np.testing.assert_allclose(clf.estimator_.coef_, ref.coef_, rtol=1e-6)
    np.testing.assert_array_equal(clf.predict(X), ref.predict(X))
    assert clf.coverage_ == 1.0
    # -1 entries of a 1-D y are unlabelled rows, left out.
    y_partial = np.where(np.arange(len(y)) % 2 == 0, y, -1)
    clf = LabelModelClassifier().fit(X, y_partial)
    ref = LogisticRegression().fit(X[::2], y[::2])
    np.testing.assert_allclose(clf.estimator_.coef_, ref.coef_, rtol=1e-6)


def test_estimator_without_sample_weight_gets_hard_labels():
    X, L, _ = _data()
    covered = (L >= 0).any(axis=1)
    with pytest.warns(UserWarning, match="takes no sample weights"):
        clf = LabelModelClassifier(
            estimator=KNeighborsClassifier(), tie_break="lowest"
        ).fit(X, L)
    labels = proba_to_labels(
        MajorityVote().fit(L).predict_proba(L[covered]), tie_break="lowest"
    )
    ref = KNeighborsClassifier().fit(X[covered], labels)
    np.testing.assert_array_equal(clf.predict(X), ref.predict(X))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        LabelModelClassifier(estimator=KNeighborsClassifier(), soft_labels=False).fit(
            X, L
        )
    with pytest.raises(ValueError, match="takes no sample_weight"):
        LabelModelClassifier(estimator=KNeighborsClassifier(), soft_labels=False).fit(
            X, L, sample_weight=np.ones(len(X))
        )


def test_pipeline_with_scaler():
    X, L, _ = _data()
    X = X * 100 + 5
    pipe = Pipeline([("scale", StandardScaler()), ("clf", LabelModelClassifier())]).fit(
        X, L
    )
    Xs = StandardScaler().fit_transform(X)
    ref = LabelModelClassifier().fit(Xs, L)
    np.testing.assert_allclose(pipe.predict_proba(X), ref.predict_proba(Xs))
    assert pipe.score(X, L) == pytest.approx(ref.score(Xs, L))


def test_text_pipeline_estimator_gets_soft_labels():
    texts = [
        "cheap pills buy",
        "buy now cheap",
        "hello friend",
        "see you friend",
        "great video",
        "nice song",
        "buy cheap song",
        "hello video",
    ]
    L = np.array([[1, -1], [1, 1], [0, -1], [-1, 0], [0, 0], [-1, -1], [1, 0], [0, -1]])
    est = make_pipeline(CountVectorizer(), LogisticRegression())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no hard-label fallback warning
        clf = LabelModelClassifier(estimator=est).fit(texts, L)
    # Row 6 (one vote each way) is expanded into two half-weight rows.
    keep = [0, 1, 2, 3, 4, 6, 6, 7]
    ref = make_pipeline(CountVectorizer(), LogisticRegression()).fit(
        [texts[i] for i in keep],
        [1, 1, 0, 0, 0, 0, 1, 0],
        logisticregression__sample_weight=[1, 1, 1, 1, 1, 0.5, 0.5, 1],
    )
    np.testing.assert_allclose(clf.predict_proba(texts), ref.predict_proba(texts))
    # With metadata routing the weights go to the steps that request them.
    with sklearn.config_context(enable_metadata_routing=True):
        requested = make_pipeline(
            CountVectorizer(), LogisticRegression().set_fit_request(sample_weight=True)
        )
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            routed = LabelModelClassifier(estimator=requested).fit(texts, L)
        np.testing.assert_allclose(
            routed.predict_proba(texts), clf.predict_proba(texts)
        )
        # A pipeline that has not said anything about sample weights trains
        # on soft labels too (the final step is asked for them, on a clone).
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            unset = LabelModelClassifier(estimator=est).fit(texts, L)
        np.testing.assert_allclose(
            unset.predict_proba(texts), clf.predict_proba(texts)
        )
        assert get_routing_for_object(est[-1]).fit.requests == {
            "sample_weight": None
        }
        # A pipeline that declined them gets hard labels, with a warning
        # that names the fix.
        declined = make_pipeline(
            CountVectorizer(), LogisticRegression().set_fit_request(sample_weight=False)
        )
        with pytest.warns(UserWarning, match=r"set_fit_request\(sample_weight=True\)"):
            LabelModelClassifier(estimator=declined).fit(texts, L)


def _manual_gold_cv(estimator, X, L, y_gold, n_splits=3):
    scores = []
    for train, test in KFold(n_splits).split(X):
        fitted = sklearn.clone(estimator).fit(X[train], L[train])
        known = y_gold[test] != -1
        scores.append(
            accuracy_score(y_gold[test][known], fitted.predict(X[test][known]))
        )
    return np.mean(scores)


def test_grid_search_with_the_gold_scorer():
    X, L, y = _data(n_classes=3, n_samples=300)
    y_gold = np.where(np.arange(len(y)) % 4 == 0, y, -1)
    grid = {"label_model__method": ["soft", "argmax"], "estimator__C": [0.01, 1.0]}
    base = LabelModelClassifier(MajorityVote(), LogisticRegression())
    with sklearn.config_context(enable_metadata_routing=True):
        search = GridSearchCV(base, grid, scoring=gold_accuracy_scorer, cv=3)
        search.fit(X, L, y_gold=y_gold)
    assert not sklearn.get_config()["enable_metadata_routing"]
    for params, score in zip(
        search.cv_results_["params"], search.cv_results_["mean_test_score"]
    ):
        expected = _manual_gold_cv(
            sklearn.clone(base).set_params(**params), X, L, y_gold
        )
        assert score == pytest.approx(expected, abs=1e-12)
    assert (
        search.best_estimator_.label_model_.method
        == search.best_params_["label_model__method"]
    )


def test_grid_search_over_label_models():
    X, L, y = _data(n_classes=2, n_samples=300)
    with (
        sklearn.config_context(enable_metadata_routing=True),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore", ConvergenceWarning)
        search = GridSearchCV(
            LabelModelClassifier(),
            {"label_model": [MajorityVote(), DawidSkene()]},
            scoring=make_gold_scorer("f1_macro"),
            cv=3,
        ).fit(X, L, y_gold=y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    # Default scoring (no routing needed): agreement with the label model.
    search = GridSearchCV(
        LabelModelClassifier(), {"soft_labels": [True, False]}, cv=3
    ).fit(X, L)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


def test_routed_fit_params_follow_their_rows():
    rec = RecordingClassifier()
    with sklearn.config_context(enable_metadata_routing=True):
        rec.set_fit_request(extra=True, sample_weight=False)
        clf = LabelModelClassifier(estimator=rec).fit(
            X_HAND, L_HAND, extra=np.arange(5) * 10
        )
        np.testing.assert_array_equal(clf.estimator_.extra_, [0, 0, 10, 30, 30, 30, 40])
        with pytest.raises(TypeError, match="not routed to any object"):
            LabelModelClassifier(estimator=rec).fit(X_HAND, L_HAND, other=1)


def test_score_gold_and_agreement():
    X, L, y = _data()
    clf = LabelModelClassifier().fit(X, L)
    pred = clf.predict(X)
    y_partial = np.where(np.arange(len(y)) % 3 == 0, -1, y)
    known = y_partial != -1
    assert clf.score(X, y_partial) == pytest.approx(np.mean(pred[known] == y[known]))
    # Label matrix: agreement with the untied label-model argmax on covered rows.
    proba = MajorityVote().fit(L).predict_proba(L)
    top = proba.max(axis=1, keepdims=True)
    untied = (proba >= top - 1e-5).sum(axis=1) == 1
    rows = (L >= 0).any(axis=1) & untied
    target = proba.argmax(axis=1)
    assert clf.score(X, L) == pytest.approx(np.mean(pred[rows] == target[rows]))


def test_string_labels_and_string_abstain():
    X, L, _ = _data(n_classes=2)
    names = np.array(["ham", "spam"], dtype=object)
    L_str = np.where(L < 0, "none", names[np.clip(L, 0, 1)]).astype(object)
    clf = LabelModelClassifier(abstain="none").fit(X, L_str)
    ref = LabelModelClassifier().fit(X, L)
    np.testing.assert_array_equal(clf.classes_, ["ham", "spam"])
    np.testing.assert_array_equal(clf.predict(X), names[ref.predict(X)])
    np.testing.assert_allclose(clf.predict_proba(X), ref.predict_proba(X))
    assert clf.score(X, L_str) == pytest.approx(ref.score(X, L))
    with pytest.raises(ValueError, match="are not classes"):
        clf.score(X, np.where(L_str == "ham", "eggs", L_str))


def test_declared_classes_without_votes():
    X, L, _ = _data(n_classes=2)
    clf = LabelModelClassifier(MajorityVote(n_classes=3)).fit(X, L)
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 3) and np.all(proba[:, 2] == 0)
    np.testing.assert_allclose(proba.sum(axis=1), 1)


def test_soft_label_matrix():
    X, L, _ = _data()
    soft = np.eye(4)[L + 1][:, :, 1:]
    a = LabelModelClassifier().fit(X, soft)
    b = LabelModelClassifier().fit(X, L)
    np.testing.assert_allclose(a.estimator_.coef_, b.estimator_.coef_)
    assert a.score(X, soft) == pytest.approx(b.score(X, L))


def test_label_model_abstain_is_aligned():
    X, L, _ = _data()
    clf = LabelModelClassifier(MajorityVote(abstain=9)).fit(X, L)
    assert clf.label_model_.abstain == -1
    ref = LabelModelClassifier(MajorityVote()).fit(X, L)
    np.testing.assert_allclose(clf.estimator_.coef_, ref.estimator_.coef_)
    nested = LabelModelClassifier(
        LinearizedApprox(MajorityVote(abstain=9), abstain=9)
    ).fit(X, L)
    assert nested.label_model_.base_model_.abstain == -1
    # LinearizedApprox reproduces MV, so the end model is the same.
    np.testing.assert_allclose(nested.estimator_.coef_, ref.estimator_.coef_, rtol=1e-5)


def test_input_errors():
    X, L, _ = _data()
    with pytest.raises(ValueError, match="requires y to be passed"):
        LabelModelClassifier().fit(X, None)
    with pytest.raises(ValueError, match="different numbers of samples"):
        LabelModelClassifier().fit(X[:-1], L)
    with pytest.raises(ValueError, match="no vote"):
        LabelModelClassifier().fit(X, np.full_like(L, -1))
    with pytest.raises(ValueError, match="non-integer vote -0.5"):
        LabelModelClassifier().fit(X, L + 0.5)
    # A vote below abstain=-1 is a bug, not a new class.
    with pytest.raises(ValueError, match="vote -2, below abstain=-1"):
        LabelModelClassifier().fit(X, np.where(L == 1, -2, L))
    with pytest.raises(ValueError, match="vote -3, below abstain=-1"):
        LabelModelClassifier().fit(X, np.where(L == 1, -3.0, L))


def test_negative_labels_with_another_abstain_value():
    X, L, _ = _data(n_classes=2)
    signed = np.select([L == 1, L == 0], [1, -2], 0)  # 0 = abstain, classes -2, 1
    clf = LabelModelClassifier(abstain=0).fit(X, signed)
    assert clf.classes_.tolist() == [-2, 1]
    ref = LabelModelClassifier().fit(X, L)
    np.testing.assert_array_equal(clf.predict(X), np.where(ref.predict(X) == 1, 1, -2))


def test_pickle_and_determinism():
    X, L, _ = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = LabelModelClassifier(DawidSkene()).fit(X, L)
        b = LabelModelClassifier(DawidSkene()).fit(X, L)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    restored = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(restored.predict_proba(X), a.predict_proba(X))
    np.testing.assert_array_equal(restored.decision_function(X), a.decision_function(X))
    assert restored.n_features_in_ == X.shape[1]


def test_gold_scorer_direct_calls():
    X, L, y = _data()
    clf = LabelModelClassifier().fit(X, L)
    y_gold = np.where(np.arange(len(y)) % 2 == 0, y, -1)
    known = y_gold != -1
    pred = clf.predict(X)
    expected = accuracy_score(y[known], pred[known])
    assert gold_accuracy_scorer(clf, X, L, y_gold=y_gold) == pytest.approx(expected)
    # 1-D y without y_gold: y is the gold.
    assert gold_accuracy_scorer(clf, X, y_gold) == pytest.approx(expected)
    with pytest.raises(ValueError, match="needs gold labels"):
        gold_accuracy_scorer(clf, X, L)
    f1 = make_gold_scorer(f1_score, average="macro")
    assert f1(clf, X, L, y_gold=y_gold) == pytest.approx(
        f1_score(y[known], pred[known], average="macro")
    )
    nll = make_gold_scorer(
        log_loss,
        response_method="predict_proba",
        greater_is_better=False,
        labels=[0, 1, 2],
    )
    assert nll(clf, X, L, y_gold=y_gold) == pytest.approx(
        -log_loss(y[known], clf.predict_proba(X)[known], labels=[0, 1, 2])
    )
    weights = np.linspace(0, 1, len(y))
    assert gold_accuracy_scorer(
        clf, X, L, y_gold=y_gold, sample_weight=weights
    ) == pytest.approx(
        accuracy_score(y[known], pred[known], sample_weight=weights[known])
    )
    assert "f1_score" in repr(f1) and "average='macro'" in repr(f1)
    restored = pickle.loads(pickle.dumps(f1))
    assert restored(clf, X, L, y_gold=y_gold) == f1(clf, X, L, y_gold=y_gold)
    with pytest.raises(ValueError, match="no gold label"):
        gold_accuracy_scorer(clf, X, L, y_gold=np.full(len(y), -1))
    with pytest.raises(ValueError, match="scorer name already fixes"):
        make_gold_scorer("accuracy", greater_is_better=False)
