"""Appending rows to a feature container, whatever its type, and folds of rows.

The classifiers add their gold validation rows to the weakly labelled
training rows (``validation_weight``); the features may be a sparse matrix,
an array, a list of texts or a DataFrame. Both classifiers also
cross-validate on the gold rows (:func:`gold_folds`).
"""

import numpy as np
import scipy.sparse as sp

__all__ = ["can_stack_rows", "gold_folds", "stack_rows", "weighted_rows"]


def can_stack_rows(X):
    """Whether :func:`stack_rows` knows how to append rows to ``X``."""
    return sp.issparse(X) or isinstance(X, (np.ndarray, list)) or hasattr(X, "iloc")


def stack_rows(top, bottom):
    """The rows of ``top`` followed by those of ``bottom``, in ``top``'s type.

    Sparse matrices, numpy arrays, lists (e.g. of texts) and pandas
    DataFrames; the caller checks :func:`can_stack_rows` first.

    Examples
    --------
    >>> stack_rows(np.zeros((1, 2)), [[1, 2]])
    array([[0., 0.],
           [1., 2.]])
    """
    if sp.issparse(top):
        fmt = top.format if top.format in ("csr", "csc", "coo") else "csr"
        return sp.vstack([top, sp.csr_matrix(bottom)], format=fmt)
    if sp.issparse(bottom):  # sparse gold rows under dense training rows
        bottom = bottom.toarray()
    if isinstance(top, np.ndarray):
        return np.concatenate([top, np.asarray(bottom, dtype=top.dtype)])
    if isinstance(top, list):
        return top + list(bottom)
    # pandas, imported by whoever made the frame: rows renumbered.
    pd = __import__("pandas")
    if not isinstance(bottom, pd.DataFrame):  # gold rows as an array
        bottom = pd.DataFrame(np.asarray(bottom), columns=top.columns)
    return pd.concat([top, bottom], ignore_index=True)


def weighted_rows(X_weak, labels, weight, X_gold, y_gold, fraction):
    """Weak rows plus gold rows whose total weight is ``fraction`` of theirs.

    Parameters
    ----------
    X_weak, labels, weight : indexable, ndarray, ndarray or None
        The weak training set: features, class codes (or probability
        targets) and weights (None: all 1).
    X_gold, y_gold : indexable, ndarray of int
        Gold rows and their class codes.
    fraction : float
        Total gold weight over total weak weight.

    Returns
    -------
    X_train, labels, weight
        The stacked training set.
    """
    weak = np.ones(len(labels)) if weight is None else np.asarray(weight, dtype=float)
    per_gold = fraction * weak.sum() / len(y_gold)
    labels = np.asarray(labels)
    if labels.ndim == 2:  # soft_labels="proba": probability targets
        y_gold = np.eye(labels.shape[1], dtype=labels.dtype)[y_gold]
    return (
        stack_rows(X_weak, X_gold),
        np.concatenate([labels, y_gold]),
        np.concatenate([weak, np.full(len(y_gold), per_gold)]),
    )


def gold_folds(y_gold, n_folds, random_state):
    """Train/test splits of the gold rows (stratified when every class can be).

    ``y_gold`` holds class codes; ``n_folds`` is capped at the number of
    rows. Shuffled and seeded by ``random_state``.

    Examples
    --------
    >>> y = np.array([0, 0, 1, 1])
    >>> [sorted(y[test].tolist()) for _, test in gold_folds(y, 2, random_state=0)]
    [[0, 1], [0, 1]]
    """
    from sklearn.model_selection import KFold, StratifiedKFold

    counts = np.bincount(y_gold)
    counts = counts[counts > 0]
    n_folds = min(n_folds, len(y_gold))
    if counts.min() >= n_folds:
        splitter = StratifiedKFold(n_folds, shuffle=True, random_state=random_state)
    else:
        splitter = KFold(n_folds, shuffle=True, random_state=random_state)
    return list(splitter.split(np.zeros(len(y_gold)), y_gold))
