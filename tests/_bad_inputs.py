"""Shared inputs of the bad-input tests (one file per layer).

Each bad-input file holds a table: a row calls an entry point with one bad
input and names the exception and a fragment of its message (the user's
value and/or the argument), so that no entry point can regress to a silent
wrong answer, a wrap-around, an unbounded allocation or a stack trace from
deep inside numpy. ``tests/test_bad_inputs.py`` checks that the tables
together cover every public entry point.
"""

import time

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator

from skweak_e2e import (
    DawidSkene,
    LabelModelClassifier,
    LinearizedApprox,
    MajorityVote,
    Snorkel,
)
from skweak_e2e.datasets import make_weak_supervision

X, L, Y = make_weak_supervision(60, 4, n_features=3, random_state=0)
HUGE = 2_000_000_000
#: Three classes and four sources, for refits that change the shapes.
L3 = np.array([[0, 1, 2, -1], [2, 2, -1, 1], [1, 1, 0, 0], [0, 2, 2, 2]] * 5)
MODELS = {
    "MajorityVote": MajorityVote,
    "DawidSkene": DawidSkene,
    "Snorkel": lambda **kw: Snorkel(n_epochs=5, **kw),
    "LinearizedApprox": lambda **kw: LinearizedApprox(MajorityVote(), **kw),
}
# Masked votes: np.asarray reads through the mask (the hidden 7).
L_MASK = np.array([[0, 1, 7], [1, 1, 0], [0, -1, 1]])
L_MASKED = np.ma.masked_array(L_MASK, mask=L_MASK == 7)
L_FILLED = np.where(L_MASK == 7, -1, L_MASK)


def raises_quickly(call, error, match):
    """``call()`` raises ``error`` matching ``match``, up front."""
    start = time.perf_counter()
    with pytest.raises(error, match=match):
        call()
    # Refused up front, not after training or a large allocation.
    assert time.perf_counter() - start < 20


def with_vote(value, dtype=np.int64, at=(0, 0), base=L):
    out = base.astype(dtype)
    out[at] = value
    return out


def uint8_with_wrapped_abstain():
    # What np.array(L, dtype=np.uint8) (or a CSV read as unsigned) makes of -1.
    return np.where(L < 0, 255, L).astype(np.uint8)


class ZeroRowsModel(BaseEstimator):
    """A label model whose probabilities are all zero on some rows."""

    def __init__(self, n_classes=None, abstain=-1):
        self.n_classes = n_classes
        self.abstain = abstain

    def fit(self, L, y=None):
        return self

    def predict_proba(self, L):
        proba = np.full((len(L), 2), 0.5)
        proba[::7] = 0.0
        return proba


def uncovered_weight():
    return (L.max(axis=1) < 0).astype(float)


def frozen_classifier():
    from sklearn.frozen import FrozenEstimator
    from sklearn.linear_model import SGDClassifier

    return LabelModelClassifier(FrozenEstimator(DawidSkene().fit(L)), SGDClassifier())


def partial_fit_uncovered():
    return frozen_classifier().partial_fit(X, np.full_like(L, -1))


def string_votes():
    return pd.DataFrame(np.where(L < 0, "x", np.where(L == 0, "ham", "spam")))


class Boom(Exception):
    pass


def fitted_state(est):
    """Every attribute but the constructor's parameters (private ones too)."""
    params = set(est.get_params(deep=False))
    return {k: v for k, v in vars(est).items() if k not in params}


def same_state(before, after):
    assert before.keys() == after.keys()
    for key, value in before.items():
        assert after[key] is value, key
