"""Tests of LabelModelClassifierCV: selection on gold validation rows."""

import pickle
import warnings

import numpy as np
import pytest
import sklearn
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.metrics import f1_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from skweak_e2e import (
    DawidSkene,
    LabelModelClassifier,
    LabelModelClassifierCV,
    MajorityVote,
    Snorkel,
)
from skweak_e2e.datasets import make_weak_supervision


def _split(n=900, seed=0, **kwargs):
    X, L, y = make_weak_supervision(n, 6, 3, coverage=0.5, random_state=seed, **kwargs)
    return (X[:600], L[:600]), (X[600:750], y[600:750]), (X[750:], y[750:])


def test_selects_the_candidate_with_the_best_validation_score():
    (X, L), (X_val, y_val), _ = _split()
    grid = {"estimator__C": [1e-4, 1e-2, 1.0, 100.0]}
    clf = LabelModelClassifierCV(param_grid=grid, validation_weight=0, random_state=0)
    clf.fit(X, L, X_val=X_val, y_val=y_val)
    # Known answer: each candidate, fitted on its own, scores what the search
    # recorded, and the best of them is kept.
    expected = []
    for C in grid["estimator__C"]:
        one = LabelModelClassifier(estimator=LogisticRegression(C=C), random_state=0)
        expected.append(one.fit(X, L).score(X_val, y_val))
    np.testing.assert_allclose(clf.cv_results_["mean_test_score"], expected)
    best = int(np.argmax(expected))
    assert clf.best_params_ == {"estimator__C": grid["estimator__C"][best]}
    assert clf.best_score_ == pytest.approx(expected[best])
    assert clf.cv_results_["rank_test_score"][best] == 1
    assert clf.estimator_.C == grid["estimator__C"][best]
    # The chosen model predicts like the candidate refitted alone.
    alone = LabelModelClassifier(
        estimator=LogisticRegression(C=grid["estimator__C"][best]), random_state=0
    ).fit(X, L)
    np.testing.assert_array_equal(clf.predict(X_val), alone.predict(X_val))


def test_with_no_validation_weight_the_gold_rows_choose_and_never_train():
    (X, L), (X_val, y_val), _ = _split(seed=1)
    clf = LabelModelClassifierCV(MajorityVote(), validation_weight=0, random_state=0)
    clf.fit(X, L, X_val=X_val, y_val=y_val)
    alone = LabelModelClassifier(
        estimator=LogisticRegression(**{"C": clf.best_params_["estimator__C"]}),
        random_state=0,
    ).fit(X, L)
    np.testing.assert_allclose(clf.estimator_.coef_, alone.estimator_.coef_)


def test_auto_grid_follows_the_estimator_and_its_value():
    (X, L), (X_val, y_val), _ = _split()
    clf = LabelModelClassifierCV(MajorityVote(), LogisticRegression(C=2.0))
    clf.fit(X, L, X_val=X_val, y_val=y_val)
    np.testing.assert_allclose(
        [p["estimator__C"] for p in clf.cv_results_["params"]], 2.0 * 10.0 ** np.arange(-2, 4)
    )
    pipe = make_pipeline(StandardScaler(), SGDClassifier(loss="log_loss", random_state=0))
    clf = LabelModelClassifierCV(MajorityVote(), pipe).fit(X, L, X_val=X_val, y_val=y_val)
    keys = {k for p in clf.cv_results_["params"] for k in p}
    assert keys == {"estimator__sgdclassifier__alpha"}
    assert len(clf.cv_results_["params"]) == 6


def test_auto_grid_chooses_the_label_model_when_none_is_given():
    (X, L), (X_val, y_val), _ = _split(seed=11)
    clf = LabelModelClassifierCV(random_state=0).fit(X, L, X_val=X_val, y_val=y_val)
    models = {type(p["label_model"]).__name__ for p in clf.cv_results_["params"]}
    assert models == {"MajorityVote", "DawidSkene", "Snorkel"}
    assert len(clf.cv_results_["params"]) == 18
    assert isinstance(clf.label_model_, type(clf.best_params_["label_model"]))
    # Without gold rows there is nothing to compare label models on.
    weak = LabelModelClassifierCV(param_grid="auto", cv=2, random_state=0).fit(X, L)
    assert all("label_model" not in p for p in weak.cv_results_["params"])


def test_label_models_are_compared_on_gold_and_fitted_once(monkeypatch):
    (X, L), (X_val, y_val), _ = _split(seed=2)
    calls = []
    original = DawidSkene.fit

    def counting_fit(self, *args, **kwargs):
        calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(DawidSkene, "fit", counting_fit)
    grid = {"label_model": [MajorityVote(), DawidSkene()], "estimator__C": [0.1, 1.0, 10.0]}
    clf = LabelModelClassifierCV(param_grid=grid, random_state=0)
    clf.fit(X, L, X_val=X_val, y_val=y_val)
    assert len(calls) == 1  # one DawidSkene fit shared by three end models
    assert len(clf.cv_results_["params"]) == 6
    chosen = type(clf.best_params_["label_model"])
    assert isinstance(clf.label_model_, chosen)


def test_scoring_is_used():
    (X, L), (X_val, y_val), _ = _split(seed=3)
    clf = LabelModelClassifierCV(
        scoring="f1_macro", validation_weight=0, random_state=0
    )
    clf.fit(X, L, X_val=X_val, y_val=y_val)
    assert clf.best_score_ == pytest.approx(
        f1_score(y_val, clf.predict(X_val), average="macro")
    )


def test_without_validation_data_it_cross_validates_on_the_weak_labels():
    (X, L), _, (X_test, y_test) = _split(seed=4)
    clf = LabelModelClassifierCV(param_grid={"estimator__C": [1e-4, 1.0]}, cv=3, random_state=0)
    clf.fit(X, L)
    scores = clf.cv_results_["mean_test_score"]
    assert np.all((0 <= scores) & (scores <= 1))
    # C=1e-4 predicts nearly one class: it agrees less with the label model.
    assert clf.best_params_ == {"estimator__C": 1.0}
    with pytest.raises(ValueError, match="label models can only be compared on gold"):
        LabelModelClassifierCV(param_grid={"label_model": [MajorityVote(), DawidSkene()]}).fit(X, L)


def test_seed_reaches_the_label_model_and_makes_fits_repeatable():
    """Bug report: LabelModelClassifier(Snorkel(), lr, random_state=0) gave
    three different accuracies in three fits."""
    (X, L), (X_val, y_val), _ = _split(seed=5)
    fits = [
        LabelModelClassifier(Snorkel(n_epochs=30), random_state=0).fit(X, L) for _ in range(2)
    ]
    assert fits[0].label_model_.random_state is not None
    np.testing.assert_array_equal(fits[0].label_model_.W_, fits[1].label_model_.W_)
    # A seed the user gave the label model is kept.
    kept = LabelModelClassifier(Snorkel(n_epochs=30, random_state=7), random_state=0)
    assert kept.fit(X, L).label_model_.random_state == 7
    searches = [
        LabelModelClassifierCV(Snorkel(n_epochs=30), random_state=0).fit(
            X, L, X_val=X_val, y_val=y_val
        )
        for _ in range(2)
    ]
    np.testing.assert_array_equal(searches[0].predict_proba(X_val), searches[1].predict_proba(X_val))


def test_pipeline_with_routed_validation_data():
    (X, L), (X_val, y_val), (X_test, y_test) = _split(seed=6)
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = Pipeline(
            [("scale", StandardScaler()), ("clf", LabelModelClassifierCV(random_state=0))],
            transform_input=["X_val"],
        )
        pipe.fit(X * 100.0, L, X_val=X_val * 100.0, y_val=y_val)
        direct = LabelModelClassifierCV(random_state=0)
        scaler = StandardScaler().fit(X * 100.0)
        direct.fit(scaler.transform(X * 100.0), L, X_val=scaler.transform(X_val * 100.0), y_val=y_val)
    assert repr(pipe[-1].best_params_) == repr(direct.best_params_)
    np.testing.assert_array_equal(pipe.predict(X_test * 100.0), direct.predict(scaler.transform(X_test * 100.0)))


def test_pickle_and_no_partial_fit():
    (X, L), (X_val, y_val), _ = _split(seed=7)
    clf = LabelModelClassifierCV(random_state=0).fit(X, L, X_val=X_val, y_val=y_val)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict(X_val), clf.predict(X_val))
    assert not hasattr(clf, "partial_fit")
    assert clone(clf).get_params()["param_grid"] == "auto"


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(param_grid={"estimator__C": 1.0}), TypeError, r"param_grid\['estimator__C'\] must be a list"),
        (dict(param_grid={"estimator__C": []}), ValueError, "is empty"),
        (dict(param_grid={"bogus": [1]}), ValueError, "'bogus', which is not a parameter"),
        (dict(param_grid=[1]), TypeError, "dict or a list of dicts"),
    ],
)
def test_bad_grids_are_named(kwargs, error, match):
    (X, L), (X_val, y_val), _ = _split(seed=8)
    with pytest.raises(error, match=match):
        LabelModelClassifierCV(**kwargs).fit(X, L, X_val=X_val, y_val=y_val)


def test_validation_data_must_come_together_and_align():
    (X, L), (X_val, y_val), _ = _split(seed=9)
    with pytest.raises(ValueError, match="X_val and y_val must be given together"):
        LabelModelClassifierCV().fit(X, L, X_val=X_val)
    with pytest.raises(ValueError, match="X_val"):
        LabelModelClassifierCV().fit(X, L, X_val=X_val, y_val=y_val[:-1])


def test_an_estimator_without_a_grid_is_fitted_once():
    (X, L), (X_val, y_val), _ = _split(seed=10)

    from sklearn.naive_bayes import GaussianNB

    clf = LabelModelClassifierCV(MajorityVote(), GaussianNB())
    clf.fit(X, L, X_val=X_val, y_val=y_val)
    assert clf.cv_results_["params"] == [{}]
    assert clf.best_params_ == {}


def test_validation_data_given_to_the_plain_classifier_points_to_the_search():
    (X, L), (X_val, y_val), _ = _split(seed=12)
    with pytest.raises(TypeError, match="use LabelModelClassifierCV"):
        LabelModelClassifier().fit(X, L, X_val=X_val, y_val=y_val)


def test_a_failed_search_keeps_the_previous_fit():
    (X, L), (X_val, y_val), _ = _split(seed=13)
    clf = LabelModelClassifierCV(MajorityVote(), random_state=0)
    clf.fit(X, L, X_val=X_val, y_val=y_val)
    before = (clf.best_params_, clf.estimator_, clf.cv_results_)

    def failing(estimator, X, y):
        raise RuntimeError("scorer broke")

    clf.set_params(scoring=failing)
    with pytest.raises(RuntimeError, match="scorer broke"):
        clf.fit(X, L, X_val=X_val, y_val=y_val)
    assert (clf.best_params_, clf.estimator_, clf.cv_results_) == before
    assert not hasattr(clf, "_seed")


def test_string_votes_with_a_numeric_abstain_warn():
    """Bug report: 'NONE' votes silently became a fifth class (accuracy 0.25)."""
    (X, L), _, _ = _split(seed=14)
    names = np.array(["NONE", "a", "b", "c"], dtype=object)
    L_str = names[L + 1]
    with pytest.warns(UserWarning, match=r"abstain=-1 is a number.*\['NONE'"):
        LabelModelClassifier().fit(X, L_str)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        clf = LabelModelClassifier(abstain="NONE").fit(X, L_str)
    assert list(clf.classes_) == ["a", "b", "c"]
