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
from sklearn.utils.validation import check_array

from ..utils._sklearn_compat import _num_samples, _safe_indexing
from ..utils._targets import check_sample_alignment, encode_votes

__all__ = [
    "AUTO_WEIGHTS",
    "can_stack_rows",
    "check_gold_rows",
    "gold_codes",
    "gold_folds",
    "stack_rows",
    "weighted_rows",
]

# The gold rows' total weight as a fraction of the weak rows' total weight,
# tried by "auto" (0 keeps them out). Fractions, not per-row weights, so that
# the same value means the same thing for 2,000 or 200,000 weak rows.
AUTO_WEIGHTS = (0.1, 0.3, 1.0)


def _n_columns(X):
    """Number of columns of a 2-D ``X``; None when it is not 2-D (texts...)."""
    shape = getattr(X, "shape", None)
    if shape is None:
        try:
            shape = np.shape(X)
        except ValueError:  # ragged lists: the end model judges them
            return None
    return shape[1] if len(shape) == 2 else None


def check_gold_rows(X, X_val, y_val):
    """``y_val`` as a 1-D array, after checking both against ``X``, by name.

    Without this the end model and the scorer are the first to see the gold
    rows, and their messages name ``X`` and ``y`` (a label matrix passed as
    ``y_val`` would even be scored as agreement with the label model).
    """
    y_val = check_array(
        y_val, ensure_2d=False, dtype=None, ensure_min_samples=0, input_name="y_val"
    )
    if y_val.ndim == 2 and y_val.shape[1] == 1:
        y_val = y_val.ravel()
    if y_val.ndim != 1:
        raise ValueError(
            "y_val must be 1-D gold labels (n_val,), not votes; got shape "
            f"{y_val.shape}."
        )
    n_columns = _n_columns(X)
    if n_columns is not None and _n_columns(X_val) != n_columns:
        found = (
            f"has {_n_columns(X_val)} columns" if _n_columns(X_val) is not None
            else f"has shape {np.shape(X_val)}"
        )
        raise ValueError(
            f"X_val {found}, but X has {n_columns} columns; X_val must have the "
            "columns of X (in a Pipeline, name X_val in transform_input so that "
            "it goes through the same steps as X)."
        )
    check_sample_alignment(_num_samples(X_val), y_val.shape[0], "X_val", "y_val")
    return y_val


def gold_codes(y_val, classes, abstain):
    """Class codes of the gold labels; an error naming ``y_val`` if none is known."""
    codes = encode_votes(y_val, classes, abstain=abstain, input_name="y_val")
    if not (codes >= 0).any():
        raise ValueError(
            "y_val holds no gold label: it is empty or every entry equals "
            f"abstain={abstain!r}."
        )
    return codes


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
