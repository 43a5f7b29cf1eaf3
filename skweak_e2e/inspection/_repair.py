"""Strategies of ``drop_harmful``: which components to remove, and the refit.

Each strategy ranks one kind of training component by its influence on a
validation loss and turns a candidate (a fraction of the harmful components,
or a number of sources) into new training labels. :func:`cross_fit_repair`
chooses the candidate on validation rows that did not score the components:
the validation set is cut into folds, each fold is held out in turn, the
components are scored on the other folds, and every candidate's refit is
judged on the held-out fold. Scoring and selecting on the same rows (Zhang
et al., 2022, Theorem 1) guarantees a lower *validation* loss, not a lower
test loss: with a few hundred validation rows the top-ranked removals fit
the validation noise.
"""

import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.utils import Bunch

from ..utils._sklearn_compat import _safe_indexing
from ..utils._warnings import user_stacklevel

__all__ = [
    "ACCURACY_TOL",
    "DEFAULT_FRACTIONS",
    "MIN_FOLD_ROWS",
    "SIGNIFICANCE",
    "Removal",
    "SampleRemoval",
    "SourceRemoval",
    "TermRemoval",
    "cross_fit_repair",
    "harmful_order",
    "select_removal",
    "source_removal_influence",
    "validation_folds",
]

#: Default grid of harmful-term fractions tried by ``drop_harmful``.
DEFAULT_FRACTIONS = (0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0)
#: A removal is kept only when its cross-fitted loss change is below zero by
#: this many standard errors (paired over the validation rows).
SIGNIFICANCE = 1.0
#: Held-out accuracy a removal may cost (or one standard error, if larger).
ACCURACY_TOL = 0.005
#: Fewest validation rows per fold: below, the held-out losses are too few to
#: tell a removal from noise and ``drop_harmful`` refuses.
MIN_FOLD_ROWS = 5


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


def harmful_order(scores):
    """Indices of the positive scores, most harmful first."""
    harmful = np.flatnonzero(scores > 0)
    return harmful[np.argsort(-scores[harmful], kind="stable")]


def _top(order, q):
    """The ``ceil(q * len(order))`` first entries of a ranking."""
    return order[: int(np.ceil(q * order.size))]


def check_fractions(fractions):
    """Sorted unique fractions in [0, 1], always including 0 (no removal)."""
    candidates = np.asarray(
        DEFAULT_FRACTIONS if fractions is None else fractions, dtype=np.float64
    )
    if candidates.ndim != 1 or (candidates < 0).any() or (candidates > 1).any():
        raise ValueError("fractions must be a sequence of numbers in [0, 1].")
    return np.unique(np.append(candidates, 0.0))


def check_counts(counts, n_sources, n_harmful):
    """Sorted unique numbers of sources, always including 0."""
    if counts is None:
        return np.arange(n_harmful + 1)
    counts = np.asarray(counts)
    if counts.ndim != 1 or counts.dtype.kind not in "iuf" or (counts < 0).any():
        raise ValueError(
            "With unit='source', fractions must be a sequence of non-negative "
            "numbers of sources."
        )
    return np.unique(np.append(np.clip(counts.astype(np.intp), 0, n_sources), 0))


class TermRemoval:
    """Remove the top fraction of harmful (sample, source, class) terms.

    RW removes a term's label mass (no renormalisation); WM removes its
    parameter from the label and renormalises.
    """

    def __init__(self, result, decomposition, labels, train_index, method):
        self.coo = result.terms("coo")
        self.order = harmful_order(self.coo["influence"])
        self.dec, self.base = decomposition, labels
        self.train_index, self.method = train_index, method

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

    def __init__(self, result, labels, train_index):
        self.order = harmful_order(result.ordinary[train_index])
        self.base, self.train_index = labels, train_index

    def removal(self, q):
        sel = _top(self.order, q)
        T = self.base.copy()
        T[sel] = 0.0
        return Removal(T if sel.size else self.base, sel.size, sel)

    def removed(self, sel, source_names, classes):
        """The removed training rows (no source names)."""
        return self.train_index[sel], None


def source_removal_influence(decomposition, b):
    """Influence of removing each whole source, coverage loss included.

    Removing source ``j`` zeroes its parameters and renormalises the labels;
    rows it alone covered lose their label and leave training. With
    ``delta_i`` the label change of row ``i`` and ``b`` the target's logit
    directions, the first-order change of the target loss is
    ``-sum_i delta_i . b_i / N`` (the same convention as the terms: the
    returned ``phi_j = sum_i delta_i . b_i`` is positive when removing the
    source lowers the target loss). Unlike the sum of the source's term
    influences, this is the effect of the removal actually made: a source
    whose coverage is worth more than its noise scores negative.

    Parameters
    ----------
    decomposition : TermDecomposition
    b : ndarray of shape (n_train, n_classes)

    Returns
    -------
    phi : ndarray of shape (n_sources,)
    """
    phi = np.zeros(decomposition.n_sources)
    for j in range(decomposition.n_sources):
        rows, _, delta = decomposition.vote_removals(j, "wm")
        phi[j] = float(np.einsum("ic,ic->", delta, b[rows]))
    return phi


class SourceRemoval:
    """Remove whole sources (parameters zeroed, labels renormalised).

    Sources are ranked by the first-order effect of their removal
    (:func:`source_removal_influence`); candidates are numbers of sources.
    """

    def __init__(self, scores, decomposition, labels):
        self.scores = scores
        self.order = harmful_order(scores)
        self.dec, self.base = decomposition, labels

    def removal(self, k):
        sel = self.order[: int(k)]
        T = self.dec.labels_without_sources(sel) if sel.size else self.base
        return Removal(T, int(sel.size), sel)

    def removed(self, sel, source_names, classes):
        """The removed sources and their names."""
        return sel, source_names[sel]


def validation_folds(y, n_folds):
    """Fold of every validation row: classes spread evenly, fixed permutation.

    Deterministic (a fixed seed), so that repeated calls agree; each class's
    rows are dealt round-robin over the folds.
    """
    rng = np.random.RandomState(0)
    folds = np.empty(len(y), dtype=np.intp)
    offset = 0
    for c in np.unique(y):
        rows = np.flatnonzero(y == c)
        rows = rows[rng.permutation(rows.size)]
        folds[rows] = (np.arange(rows.size) + offset) % n_folds
        offset += rows.size
    return folds


def _row_scores(backend, Xf, y, theta):
    """Per-row cross-entropy and correctness of parameters ``theta``."""
    logp = backend.model.log_proba(Xf, theta)
    loss = -logp[np.arange(len(y)), y]
    return loss, logp.argmax(axis=1) == y


def cross_fit_repair(backend, make_strategy, X_val, y_val, candidates, n_folds):
    """Choose a candidate removal on validation rows that did not score it.

    Parameters
    ----------
    backend : LogisticBackend
        Answers ``directions``, ``refit`` and the per-row losses.
    make_strategy : callable
        ``make_strategy(u)`` returns a strategy scored by logit directions
        ``u`` of a validation subset.
    X_val, y_val : validated validation set.
    candidates : ndarray
        Candidate fractions (or counts of sources), including 0.
    n_folds : int or None
        Folds of the cross-fit; None scores and selects on the whole set.

    Returns
    -------
    out : Bunch
        ``best`` (selected candidate index), ``loss`` and ``accuracy`` (mean
        held-out loss and accuracy per candidate), ``change`` and
        ``change_se`` (per candidate: mean paired held-out loss change
        against no removal, and its standard error), ``supported`` (False
        when a removal looked better but not by ``SIGNIFICANCE`` standard
        errors).
    """
    n = len(y_val)
    Xf = backend.inputs(X_val)
    losses = np.empty((len(candidates), n))
    correct = np.empty((len(candidates), n), dtype=bool)
    if n_folds is None:
        splits = [(np.arange(n), np.arange(n))]
    else:
        folds = validation_folds(y_val, n_folds)
        splits = [(np.flatnonzero(folds != k), np.flatnonzero(folds == k))
                  for k in range(n_folds)]
    for score, held in splits:
        u = backend.directions(_safe_indexing(X_val, score), y_val[score], "mean")[0]
        strategy = make_strategy(u)
        X_held = Xf[held]
        for c, cand in enumerate(candidates):
            rem = strategy.removal(cand)
            theta = backend.theta if rem.n_removed == 0 else backend.refit(rem.labels)
            losses[c, held], correct[c, held] = _row_scores(
                backend, X_held, y_val[held], theta
            )
    return select_removal(losses, correct, in_sample=n_folds is None)


def select_removal(losses, correct, *, in_sample=False):
    """The candidate to keep from per-row held-out losses and correctness.

    Parameters
    ----------
    losses : ndarray of shape (n_candidates, n_val)
        Held-out cross-entropy of every validation row under every
        candidate; row 0 is no removal.
    correct : ndarray of bool, same shape
        Whether the row is classified correctly.
    in_sample : bool, default=False
        The losses are in-sample (``cv=None``): keep the lowest.

    Returns
    -------
    out : Bunch
        See :func:`cross_fit_repair`.
    """
    n = losses.shape[1]
    loss, accuracy = losses.mean(axis=1), correct.mean(axis=1)
    diff = losses - losses[0]
    change = diff.mean(axis=1)
    change_se = diff.std(axis=1, ddof=1) / np.sqrt(n) if n > 1 else np.zeros(len(loss))
    if in_sample:  # the paper's choice: the lowest validation loss
        best, supported = int(np.argmin(loss)), True
    else:
        # A removal must not cost held-out accuracy (beyond half a point or
        # one standard error, one row of a small set), and must lower the
        # held-out loss by more than its noise.
        hits = correct.astype(np.float64) - correct[0]
        hits_se = hits.std(axis=1, ddof=1) / np.sqrt(n) if n > 1 else 0.0
        margin = np.maximum(ACCURACY_TOL, hits_se) * (1 + 1e-9)
        eligible = hits.mean(axis=1) >= -margin
        best = int(np.argmin(np.where(eligible, loss, np.inf)))
        supported = best == 0 or change[best] + SIGNIFICANCE * change_se[best] < 0
        if not supported:
            best = 0
    return Bunch(
        best=best,
        loss=loss,
        accuracy=accuracy,
        change=change,
        change_se=change_se,
        supported=bool(supported),
    )


def warn_unsupported(n_val, change, change_se):
    """Tell the user that the validation set could not support a removal."""
    warnings.warn(
        f"drop_harmful removed nothing: the best removal changed the held-out "
        f"validation loss by {change:+.4f} +/- {change_se:.4f} (standard error "
        f"over {n_val} validation rows), not clearly below zero. A larger "
        "validation set may support a repair.",
        UserWarning,
        stacklevel=user_stacklevel(),
    )
