"""Label models on dask arrays: global statistics from row blocks, lazy outputs.

A label model's fit needs a few sums over the rows of ``L``: the row and
weight totals, the covered weight, every source's vote count (silent
sources), the largest vote (the class count), then the model's own
statistics (the Gram of the vote one-hot for Snorkel, pattern counts or
per-iteration expected counts for DawidSkene). Each is computed per row
block on the workers and added up there, so ``L`` is never
gathered, and every quantity that depends on ``n`` comes from the global
counts: the fit equals the in-memory fit up to rounding.

Outputs (``predict_proba``, ``predict``, ``transform``) are mapped over the
row blocks lazily; the fitted model (a few KB) travels with the tasks.
"""

import warnings

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ..utils._dask import import_dask, is_dask_frame
from ..utils._label_matrix import is_covered
from ..utils._validation import check_label_matrix, check_sample_weight

__all__ = [
    "BlockSummary",
    "as_dask_array",
    "block_offsets",
    "map_rows",
    "renumber_block",
    "summarise_block",
    "validated_block",
]


def as_dask_array(L, input_name="L"):
    """A dask array of votes and the column names (None without a frame)."""
    if is_dask_frame(L):
        if L.ndim != 2:
            raise ValueError(
                f"{input_name} must be 2-D (n_samples, n_sources); got a dask "
                f"Series {getattr(L, 'name', '')!r}. Use series.to_frame()."
            )
        names = list(L.columns)
        return L.to_dask_array(), names
    if not hasattr(L, "chunks"):
        raise TypeError(
            f"{input_name} is a dask collection of type {type(L).__name__}; label "
            "models take a dask array or a dask DataFrame of votes."
        )
    if L.dtype.kind in "OUSVc":
        raise TypeError(f"{input_name} must hold numeric votes; got dtype {L.dtype}.")
    return L, None


def validated_block(L_block, weight, n_classes, abstain, allow_soft):
    """One row block, validated as the in-memory fit validates ``L``.

    A block without rows (filtering a dask DataFrame leaves them) is
    normal: it adds nothing to any sum.
    """
    if np.shape(L_block)[0] == 0:
        L = np.asarray(L_block)
        if L.ndim == 3 and allow_soft:
            return L.astype(np.float64), np.zeros(0), n_classes or L.shape[2]
        return L.astype(np.int8), np.zeros(0), n_classes or 2
    L, n_classes = check_label_matrix(
        L_block,
        n_classes=n_classes,
        abstain=abstain,
        allow_soft=allow_soft,
        require_votes=False,
    )
    if weight is not None:
        weight = check_sample_weight(weight, L.shape[0])
    return L, weight, n_classes


class BlockSummary:
    """Row counts, weights, coverage and vote counts of row blocks; they add up.

    Attributes
    ----------
    rows : list of int
        Rows of every block, in block order.
    weight_total, covered_weight : float
    positive_rows : int
        Rows of positive weight.
    source_votes : ndarray of shape (n_sources,)
        Votes (vote mass for soft votes) of every source on rows of positive
        weight; zero marks a silent source.
    n_classes : int
        The declared class count, or the largest block's inferred one.
    has_votes : bool
        Whether any row holds a vote (whatever its weight).
    soft : bool
    """

    def __init__(self, rows, weight_total, covered_weight, source_votes, n_classes,
                 has_votes, soft, positive_rows=None, class_votes=None):
        self.positive_rows = sum(rows) if positive_rows is None else positive_rows
        self.class_votes = class_votes
        self.rows = rows
        self.weight_total = weight_total
        self.covered_weight = covered_weight
        self.source_votes = source_votes
        self.n_classes = n_classes
        self.has_votes = has_votes
        self.soft = soft

    @property
    def n_samples(self):
        return int(sum(self.rows))

    @property
    def n_sources(self):
        return self.source_votes.shape[0]

    def __add__(self, other):
        # Blocks hold whole rows (row_blocks): their source counts agree.
        return BlockSummary(
            self.rows + other.rows,
            self.weight_total + other.weight_total,
            self.covered_weight + other.covered_weight,
            self.source_votes + other.source_votes,
            max(self.n_classes, other.n_classes),
            self.has_votes or other.has_votes,
            self.soft,
            self.positive_rows + other.positive_rows,
            _add_padded(self.class_votes, other.class_votes),
        )


def _add_padded(a, b):
    """Sum of two count vectors whose lengths (class counts) may differ."""
    if a is None or b is None:
        return None
    if len(a) < len(b):
        a, b = b, a
    out = a.copy()
    out[: len(b)] += b
    return out


def summarise_block(L_block, weight, n_classes, abstain, allow_soft):
    """The :class:`BlockSummary` of one row block."""
    L, weight, n_classes = validated_block(L_block, weight, n_classes, abstain, allow_soft)
    covered = is_covered(L)
    positive = L if weight is None else L[weight > 0]
    if L.ndim == 3:
        source_votes = positive.sum(axis=(0, 2))
        class_votes = positive.sum(axis=(0, 1))
        has_votes = bool((L > 0).any())
    else:
        source_votes = np.count_nonzero(positive >= 0, axis=0).astype(np.float64)
        votes = positive[positive >= 0].astype(np.intp)
        class_votes = np.bincount(votes, minlength=n_classes).astype(np.float64)
        has_votes = bool(L.size) and int(L.max()) >= 0
    if weight is None:
        weight_total = float(L.shape[0])
        covered_weight = float(np.count_nonzero(covered))
        positive_rows = L.shape[0]
    else:
        weight_total = float(weight.sum())
        covered_weight = float(weight @ covered)
        positive_rows = int(np.count_nonzero(weight > 0))
    return BlockSummary(
        [L.shape[0]], weight_total, covered_weight, source_votes, n_classes,
        has_votes, L.ndim == 3, positive_rows, class_votes,
    )


def renumber_block(L_block, present, n_classes, abstain):
    """A valid row block with the votes for ``present`` renumbered 0, 1, ...

    Votes for other classes (none, on rows of positive weight) and abstains
    become -1; soft votes keep the ``present`` columns.
    """
    L, _ = check_label_matrix(
        L_block, n_classes=n_classes, abstain=abstain, require_votes=False
    )
    if L.ndim == 3:
        return L[:, :, present]
    codes = np.full(n_classes + 1, -1, dtype=L.dtype)
    codes[present + 1] = np.arange(present.size)
    return codes[L.astype(np.intp) + 1]


def check_summary(summary, input_name="L"):
    """The class count of the whole matrix; refuse what the in-memory fit refuses.

    Every block applied the in-memory rule (the declared count, or
    ``n_classes_from_max`` of its largest vote), so the largest of the
    blocks' counts is the count of the whole matrix.
    """
    if not summary.has_votes:
        raise ValueError(
            f"{input_name} contains no vote at all: every source abstains on "
            "every sample."
        )
    if summary.weight_total <= 0:
        raise ValueError("sample_weight sums to zero: there is nothing to fit.")
    return summary.n_classes


def block_offsets(rows, indices):
    """Split sorted global row ``indices`` into per-block local indices."""
    bounds = np.concatenate([[0], np.cumsum(rows)])
    cut = np.searchsorted(indices, bounds)
    return [indices[a:b] - start for a, b, start in zip(cut[:-1], cut[1:], bounds[:-1])]


def _apply(block, model, method):
    with warnings.catch_warnings():
        # Blocks are plain arrays; the source names were checked on the driver.
        warnings.filterwarnings("ignore", message="X does not have valid feature names")
        return _apply_to_block(block, model, method)


def _apply_to_block(block, model, method):
    if block.shape[0] == 0:  # an empty block (a filtered DataFrame's partition)
        check_is_fitted(model)
        if method in ("predict_proba", "transform"):
            return np.empty((0, model.n_classes_))
        return np.empty(0, dtype=np.intp)
    return getattr(model, method)(block)


def map_rows(model, L, method):
    """``model.<method>`` over the row blocks of a dask ``L``, lazily."""
    import_dask(f"{type(model).__name__}.{method}", "dask.array")
    L, names = as_dask_array(L)
    n_features = getattr(model, "n_features_in_", None)
    if L.shape[1] != n_features:
        raise ValueError(
            f"L has {L.shape[1]} sources, but {type(model).__name__} is "
            f"expecting {n_features} sources as input."
        )
    fitted_names = getattr(model, "feature_names_in_", None)
    if names is not None and fitted_names is not None and list(fitted_names) != names:
        raise ValueError(
            "The source names of L should match those that were passed during fit; "
            f"got {names}, fitted with {list(fitted_names)}."
        )
    if any(len(c) > 1 for c in L.chunks[1:]):
        L = L.rechunk({axis: -1 for axis in range(1, L.ndim)})
    extra = list(range(2, L.ndim))
    if method in ("predict_proba", "transform"):
        return L.map_blocks(
            _apply,
            model=model,
            method=method,
            dtype=np.float64,
            chunks=(L.chunks[0], (model.n_classes_,)),
            drop_axis=extra,
            meta=np.empty((0, 0), dtype=np.float64),
        )
    # Random ties are drawn from each row's content (see proba_to_labels),
    # so every block predicts as the whole array would, with no stream.
    return L.map_blocks(
        _apply,
        model=model,
        method=method,
        dtype=np.intp,
        chunks=(L.chunks[0],),
        drop_axis=list(range(1, L.ndim)),
        meta=np.empty((0,), dtype=np.intp),
    )
