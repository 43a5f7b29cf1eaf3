"""Whole-matrix statistics and label buckets, for error analysis."""

import numpy as np

from ..utils._dask import refuse_dask
from ..utils._targets import check_gold_labels
from ..utils._validation import as_array
from ._sources import check_hard_votes

# What refuse_dask advises for a dask label matrix: these are summaries of a
# matrix one inspects, which a sample of its rows estimates well.
_ON_A_SAMPLE = "summarise a sample of its rows (e.g. L[:100_000].compute())"

__all__ = ["label_buckets", "label_matrix_summary"]


def label_matrix_summary(L, y=None, *, n_classes=None, abstain=-1):
    """Coverage, overlap and conflict of a whole label matrix.

    The matrix-level companion of
    :func:`~skweak_e2e.metrics.source_summary` (which gives the same
    quantities per source), like snorkel's ``LFAnalysis.label_coverage``,
    ``label_overlap`` and ``label_conflict``.

    Parameters
    ----------
    L : array-like of shape (n_samples, n_sources)
        Hard votes, ``abstain`` for no vote.
    y : array-like of shape (n_samples,), default=None
        Gold labels (``-1`` where unknown). Adds ``vote_accuracy``.
    n_classes : int, default=None
        Number of classes; inferred from the votes when None.
    abstain : int, default=-1
        Value of ``L`` that means "no vote".

    Returns
    -------
    summary : dict
        - ``coverage``: fraction of rows with at least one vote;
        - ``overlap``: fraction of rows with at least two votes;
        - ``conflict``: fraction of rows with votes for at least two
          different classes;
        - ``n_votes``: number of votes;
        - with ``y``: ``vote_accuracy``, the fraction of votes on rows with a
          known gold label that agree with it (NaN when there is none).

    See Also
    --------
    source_summary : The same statistics per source, and their accuracy.
    label_buckets : The rows behind a combination of labels.

    Examples
    --------
    >>> import numpy as np
    >>> from skweak_e2e.metrics import label_matrix_summary
    >>> L = np.array([[0, 0, -1], [1, 0, -1], [-1, 1, 1], [-1, -1, -1]])
    >>> summary = label_matrix_summary(L, y=[0, 1, 1, 0])
    >>> summary["coverage"], summary["overlap"], summary["conflict"]
    (0.75, 0.75, 0.25)
    >>> summary["n_votes"], round(summary["vote_accuracy"], 3)
    (6, 0.833)
    """
    refuse_dask(
        "skweak_e2e.metrics", "label_matrix_summary",
        _ON_A_SAMPLE,
        L=L, y=y,
    )
    L, n_cls = check_hard_votes(L, n_classes, abstain)
    n_samples = L.shape[0]
    if n_samples == 0:
        raise ValueError("L has no row.")
    voted = L >= 0
    n_votes = voted.sum(axis=1)
    # Distinct classes voted per row, one pass per class (no (n, m, C) array).
    n_distinct = np.zeros(n_samples, dtype=np.int64)
    for c in range(n_cls):
        n_distinct += (L == c).any(axis=1)
    summary = {
        "coverage": float((n_votes > 0).mean()),
        "overlap": float((n_votes > 1).mean()),
        "conflict": float((n_distinct > 1).mean()),
        "n_votes": int(n_votes.sum()),
    }
    if y is not None:
        y = check_gold_labels(
            y, n_samples, n_classes=None if n_classes is None else n_cls
        )
        scored = voted & (y != -1)[:, None]
        total = int(scored.sum())
        correct = int((scored & (L == y[:, None])).sum())
        summary["vote_accuracy"] = correct / total if total else float("nan")
    return summary


def _check_int64_range(arr, k):
    """Refuse labels that the int64 keys cannot hold exactly.

    A float label beyond int64 (or inf) and a uint64 label above 2**63 - 1
    would wrap around on the cast and merge with unrelated labels.
    """
    if arr.size == 0 or arr.dtype.kind == "b":
        return
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        bad = arr[~np.isfinite(arr)][0]
        raise ValueError(
            f"labels[{k}] contains {bad}; labels must be finite integers."
        )
    limit = np.iinfo(np.int64)
    low, high = arr.min(), arr.max()
    # 2**63 as a float is the first value beyond int64 (int64's max rounds up to it).
    too_big = high >= 2.0**63 if arr.dtype.kind == "f" else int(high) > limit.max
    too_small = low < -(2.0**63) if arr.dtype.kind == "f" else int(low) < limit.min
    if too_big or too_small:
        value = high if too_big else low
        raise ValueError(
            f"labels[{k}] contains the label {value.item()!r}, outside the int64 range "
            f"[{limit.min}, {limit.max}]; encode the labels as small integers "
            "first (e.g. np.unique(labels, return_inverse=True)[1])."
        )


def label_buckets(*labels):
    """Group rows by the combination of labels they get.

    snorkel's ``get_label_buckets``: with the votes of two labeling
    functions, ``buckets[(1, 0)]`` are the rows where the first votes 1 and
    the second 0; with gold labels and predictions, ``buckets[(0, 1)]`` are
    the class-0 rows predicted as 1. Use the indices to look at the records
    (``df.iloc[buckets[(1, 0)]]``).

    Parameters
    ----------
    *labels : array-like of shape (n_samples,) or (n_samples, k)
        At least one array of labels (votes, gold labels, predictions), all
        with the same number of rows; a 2-D array (such as columns of ``L``)
        counts as one array per column. ``-1`` is a value like any other.

    Returns
    -------
    buckets : dict of {tuple of int: ndarray of int}
        For every combination that occurs, the (sorted) row indices that
        have it, keyed by the tuple of labels in argument order.

    See Also
    --------
    label_matrix_summary : Coverage, overlap and conflict of ``L``.

    Examples
    --------
    >>> import numpy as np
    >>> from skweak_e2e.metrics import label_buckets
    >>> gold = np.array([0, 1, 1, 0, 1])
    >>> pred = np.array([0, 1, 0, 1, 0])
    >>> buckets = label_buckets(gold, pred)
    >>> sorted(buckets)
    [(0, 0), (0, 1), (1, 0), (1, 1)]
    >>> buckets[(1, 0)]  # class 1 rows predicted as 0
    array([2, 4])
    """
    refuse_dask(
        "skweak_e2e.metrics", "label_buckets",
        _ON_A_SAMPLE,
        **{f"labels[{i}]": v for i, v in enumerate(labels)},
    )
    if not labels:
        raise TypeError("label_buckets needs at least one array of labels.")
    columns = []
    for k, arr in enumerate(labels):
        arr = as_array(arr)
        if arr.ndim == 1:
            arr = arr[:, None]
        if arr.ndim != 2:
            raise ValueError(
                f"labels[{k}] must be 1-D or 2-D; got an array of shape {arr.shape}."
            )
        if arr.dtype.kind not in "iub" and not (
            arr.dtype.kind == "f" and np.array_equal(arr, np.round(arr))
        ):
            raise ValueError(
                f"labels[{k}] must hold integer labels; got dtype {arr.dtype}."
            )
        _check_int64_range(arr, k)
        if columns and arr.shape[0] != columns[0].shape[0]:
            raise ValueError(
                f"labels[{k}] has {arr.shape[0]} rows but labels[0] has "
                f"{columns[0].shape[0]}."
            )
        columns.append(arr.astype(np.int64))
    stacked = np.concatenate(columns, axis=1)
    keys, inverse = np.unique(stacked, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    order = np.argsort(inverse, kind="stable")
    bounds = np.cumsum(np.bincount(inverse, minlength=len(keys)))[:-1]
    groups = np.split(order, bounds)
    return {tuple(key.tolist()): rows for key, rows in zip(keys, groups)}
