"""Warnings of a fit point at the user's line, not at the library's internals."""

import warnings

import numpy as np
import pytest

from skweak_e2e import DawidSkene, LinearizedApprox, MajorityVote, Snorkel


@pytest.mark.parametrize(
    "model",
    [Snorkel(n_epochs=5), DawidSkene(max_iter=2), MajorityVote(),
     LinearizedApprox(MajorityVote(), max_iter=1)],
    ids=repr,
)
def test_fit_warnings_name_the_calling_file(model):
    # Source 2 never votes (a UserWarning); few epochs or iterations leave
    # the iterative models unconverged (a ConvergenceWarning).
    L = np.array([[0, 1, -1, 0], [1, 1, -1, 0], [0, 0, -1, 1], [1, 0, -1, 1]] * 5)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(L)
    assert caught
    assert {w.filename for w in caught} == {__file__}


def _fit_warnings(fit):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit()
    return caught


def test_two_stage_warnings_name_the_calling_file():
    from sklearn.neighbors import KNeighborsClassifier

    from skweak_e2e import LabelModelClassifier, LabelModelClassifierCV
    from skweak_e2e.datasets import make_weak_supervision

    X, L, y = make_weak_supervision(200, 5, random_state=0)
    # An end model without sample weights trains on hard labels, with a warning.
    clf = LabelModelClassifier(estimator=KNeighborsClassifier())
    caught = _fit_warnings(lambda: clf.fit(X, L))
    assert caught and {w.filename for w in caught} == {__file__}
    # The chosen label model's warnings are shown after the search.
    search = LabelModelClassifierCV(
        Snorkel(n_epochs=5), param_grid={"estimator__C": [1.0]}, random_state=0
    )
    caught = _fit_warnings(lambda: search.fit(X, L, X_val=X[:50], y_val=y[:50]))
    assert caught and {w.filename for w in caught} == {__file__}
    # score against a label matrix after set_params on the label model.
    clf = LabelModelClassifier(random_state=0).fit(X, L)
    clf.set_params(label_model=MajorityVote())
    caught = _fit_warnings(lambda: clf.score(X, L))
    assert caught and {w.filename for w in caught} == {__file__}


def test_weasel_warnings_name_the_calling_file():
    from skweak_e2e import WeaSELClassifier
    from skweak_e2e.datasets import make_weak_supervision

    X, L, y = make_weak_supervision(120, 5, random_state=0)
    L[:, 2] = -1  # a source that never votes
    weasel = WeaSELClassifier(max_epochs=1, n_threads=1, random_state=0)
    caught = _fit_warnings(lambda: weasel.fit(X, L))
    assert caught and {w.filename for w in caught} == {__file__}
