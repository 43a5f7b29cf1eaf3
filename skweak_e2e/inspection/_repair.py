"""Strategies of ``drop_harmful``: which components to remove, and the refit.

Each strategy ranks one kind of training component by its influence on the
validation loss and turns a candidate (a fraction of the harmful components,
or a number of sources) into new training labels. :func:`repair` retrains
the end model for every candidate and keeps the one with the lowest
validation loss (Zhang et al., 2022, Theorem 1).
"""

from dataclasses import dataclass

import numpy as np
from sklearn.utils import Bunch

__all__ = [
    "DEFAULT_FRACTIONS",
    "Removal",
    "SampleRemoval",
    "SourceRemoval",
    "TermRemoval",
    "repair",
]

#: Default grid of harmful-term fractions tried by ``drop_harmful``.
DEFAULT_FRACTIONS = (0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0)


@dataclass(frozen=True)
class Removal:
    """One candidate of a strategy: the labels left and what was removed.

    Attributes
    ----------
    labels : ndarray of shape (n_train, n_classes)
        Training labels after the removal.
    n_removed : int
        Number of components removed.
    selection : ndarray of int
        Positions (in the strategy's ranking space) of the removed components.
    """

    labels: np.ndarray
    n_removed: int
    selection: np.ndarray


def _harmful_order(scores):
    """Indices of the positive scores, most harmful first."""
    harmful = np.flatnonzero(scores > 0)
    return harmful[np.argsort(-scores[harmful], kind="stable")]


def _top(order, q):
    """The ``ceil(q * len(order))`` first entries of a ranking."""
    return order[: int(np.ceil(q * order.size))]


def _check_fractions(fractions):
    candidates = np.asarray(
        DEFAULT_FRACTIONS if fractions is None else fractions, dtype=np.float64
    )
    if candidates.ndim != 1 or (candidates < 0).any() or (candidates > 1).any():
        raise ValueError("fractions must be a sequence of numbers in [0, 1].")
    return np.unique(candidates)


class TermRemoval:
    """Remove the top fraction of harmful (sample, source, class) terms.

    RW removes a term's label mass (no renormalisation); WM removes its
    parameter from the label and renormalises.
    """

    def __init__(self, result, decomposition, labels, train_index, method, fractions):
        self.coo = result.terms("coo")
        self.order = _harmful_order(self.coo["influence"])
        self.dec, self.base = decomposition, labels
        self.train_index, self.method = train_index, method
        self.candidates = _check_fractions(fractions)

    def removal(self, q):
        sel = _top(self.order, q)
        if sel.size == 0:
            return Removal(self.base, 0, sel)
        rows = np.searchsorted(self.train_index, self.coo["sample"][sel])
        T = self.dec.labels_without_terms(
            rows, self.coo["source"][sel], self.coo["class"][sel], self.method
        )
        return Removal(T, sel.size, sel)

    def removed(self, sel, source_names, classes):
        """The removed terms (with names) and their source names."""
        keys = ("sample", "source", "class", "influence")
        out = {key: self.coo[key][sel] for key in keys}
        out["source_name"] = source_names[out["source"]]
        out["class_label"] = classes[out["class"]]
        return out, out["source_name"]


class SampleRemoval:
    """Remove the top fraction of harmful training rows (ordinary influence)."""

    def __init__(self, result, labels, train_index, fractions):
        self.order = _harmful_order(result.ordinary[train_index])
        self.base, self.train_index = labels, train_index
        self.candidates = _check_fractions(fractions)

    def removal(self, q):
        sel = _top(self.order, q)
        T = self.base.copy()
        T[sel] = 0.0
        return Removal(T if sel.size else self.base, sel.size, sel)

    def removed(self, sel, source_names, classes):
        """The removed training rows (no source names)."""
        return self.train_index[sel], None


class SourceRemoval:
    """Remove whole sources by group influence (parameters zeroed, renormalised).

    Candidates are numbers of sources: every count from 0 to the number of
    harmful sources, or the given counts.
    """

    def __init__(self, result, decomposition, labels, counts):
        self.order = _harmful_order(result.per_source)
        self.dec, self.base = decomposition, labels
        if counts is None:
            self.candidates = np.arange(self.order.size + 1)
        else:
            counts = np.asarray(counts, dtype=np.intp)
            self.candidates = np.unique(np.clip(counts, 0, self.order.size))

    def removal(self, k):
        sel = self.order[: int(k)]
        T = self.dec.labels_without_sources(sel) if k else self.base
        return Removal(T, int(k), sel)

    def removed(self, sel, source_names, classes):
        """The removed sources and their names."""
        return sel, source_names[sel]


def repair(backend, strategy, X_val, y_val):
    """Refit on every candidate of ``strategy``; keep the best validation loss.

    Ties go to the smaller removal (candidates are sorted, ``argmin`` takes
    the first), so the selected loss is never above plain training's.

    Returns
    -------
    repair : Bunch
        ``theta`` (selected parameters), ``best`` (its candidate index),
        ``validation_loss``, ``n_removed``, ``removal`` (the selected
        :class:`Removal`) and ``erm_validation_loss``.
    """
    losses, n_removed, thetas, removals = [], [], [], []
    for cand in strategy.candidates:
        rem = strategy.removal(cand)
        theta = backend.theta if rem.n_removed == 0 else backend.refit(rem.labels)
        losses.append(backend.loss(X_val, y_val, theta))
        n_removed.append(rem.n_removed)
        thetas.append(theta)
        removals.append(rem)
    losses = np.asarray(losses)
    best = int(np.argmin(losses))
    return Bunch(
        theta=thetas[best],
        best=best,
        validation_loss=losses,
        n_removed=np.asarray(n_removed),
        removal=removals[best],
        erm_validation_loss=float(backend.loss(X_val, y_val, backend.theta)),
    )
