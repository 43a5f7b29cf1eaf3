"""Gold validation rows joining the end model's training set.

A few hundred gold rows are worth more than selecting hyper-parameters: on
the text suite, adding them to the weakly labelled rows (with a weight
chosen by cross-validation on the gold rows themselves) raised the end
model's accuracy by 1 to 12 points over the weak rows alone. This module
holds the pieces :class:`~skweak_e2e.LabelModelClassifierCV` uses for that:
stacking rows of any feature container, and the weighted training set.
"""

import numpy as np
import scipy.sparse as sp
from sklearn.model_selection import KFold, StratifiedKFold

from ..utils._sklearn_compat import _safe_indexing

__all__ = ["AUTO_WEIGHTS", "can_stack_rows", "gold_folds", "stack_rows", "weighted_rows"]

# The gold rows' total weight as a fraction of the weak rows' total weight,
# tried by "auto" (0 keeps them out). Fractions, not per-row weights, so that
# the same value means the same thing for 2,000 or 200,000 weak rows.
AUTO_WEIGHTS = (0.1, 0.3, 1.0)


def can_stack_rows(X):
    """Whether :func:`stack_rows` knows how to append rows to ``X``."""
    return sp.issparse(X) or isinstance(X, (np.ndarray, list)) or hasattr(X, "iloc")


def stack_rows(top, bottom):
    """The rows of ``top`` followed by those of ``bottom``, in ``top``'s type.

    Sparse matrices, numpy arrays, lists (e.g. of texts) and pandas
    DataFrames; the caller checks :func:`can_stack_rows` first.
    """
    if sp.issparse(top):
        fmt = top.format if top.format in ("csr", "csc", "coo") else "csr"
        return sp.vstack([top, sp.csr_matrix(bottom)], format=fmt)
    if isinstance(top, np.ndarray):
        return np.concatenate([top, np.asarray(bottom, dtype=top.dtype)])
    if isinstance(top, list):
        return top + list(bottom)
    # pandas, imported by whoever made the frame: rows renumbered.
    concat = __import__("pandas").concat
    return concat([top, bottom], ignore_index=True)


def weighted_rows(X, index, labels, weight, X_gold, y_gold, fraction):
    """Weak rows plus gold rows whose total weight is ``fraction`` of theirs.

    Parameters
    ----------
    X : indexable
        All training features; ``index`` selects the weak training rows.
    index, labels, weight : ndarray
        The weak training set (row indices, class codes, weights or None).
    X_gold, y_gold : indexable, ndarray of int
        Gold rows and their class codes.
    fraction : float
        Total gold weight over total weak weight.

    Returns
    -------
    X_train, labels, weight
        The stacked training set.
    """
    weak = np.ones(index.size) if weight is None else np.asarray(weight, dtype=float)
    per_gold = fraction * weak.sum() / len(y_gold)
    labels = np.asarray(labels)
    if labels.ndim == 2:  # soft_labels="proba": probability targets
        y_gold = np.eye(labels.shape[1], dtype=labels.dtype)[y_gold]
    return (
        stack_rows(_safe_indexing(X, index), X_gold),
        np.concatenate([labels, y_gold]),
        np.concatenate([weak, np.full(len(y_gold), per_gold)]),
    )


def gold_folds(y_gold, n_folds, random_state):
    """Train/test splits of the gold rows (stratified when every class can be)."""
    counts = np.bincount(y_gold)
    counts = counts[counts > 0]
    n_folds = min(n_folds, len(y_gold))
    if counts.min() >= n_folds:
        splitter = StratifiedKFold(n_folds, shuffle=True, random_state=random_state)
    else:
        splitter = KFold(n_folds, shuffle=True, random_state=random_state)
    return list(splitter.split(np.zeros(len(y_gold)), y_gold))
