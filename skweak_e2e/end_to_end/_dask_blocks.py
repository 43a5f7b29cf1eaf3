"""WeaSELClassifier on dask arrays: aligned row blocks, blockwise checks, lazy outputs.

Torch-free. A dask ``X`` (dense chunks or scipy.sparse chunks) and its label
matrix are cut into the same row blocks, each holding whole rows. Before
training, two reductions over the blocks replace what the in-memory fit
reads from the whole data: the distinct vote values (the classes, from the
label matrix only), then per-block counts (rows, covered rows, votes per
source) with the features and votes validated as in memory, and the first
two training rows (to check the networks). Training then computes one
prepared block at a time (``prepare_block``: validated features, encoded
votes, uncovered rows dropped), on the workers; the driver never holds the
whole ``X``. Predictions are mapped over the row blocks lazily, with the
fitted estimator shipped once as one task of the graph.
"""

import uuid
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.utils import Bunch
from sklearn.utils.validation import check_array, check_is_fitted

from ..utils._dask import align_rows, import_dask, is_dask_collection, map_sum
from ..utils._label_matrix import is_covered
from ..utils._targets import (
    check_vote_target,
    encode_votes,
    infer_classes,
    y_required_error,
)
from ..utils._validation import check_fits_in_dtype, check_label_matrix, fill_masked
from ._inputs import set_soft_classes

__all__ = [
    "BlockCounts",
    "aligned_blocks",
    "block_counts",
    "dask_classes",
    "lazy_block_map",
    "lazy_method",
    "prepare_block",
    "score_block",
    "score_blocks",
    "validate_dask_training",
]

FLOAT_DTYPES = (np.float64, np.float32)


def aligned_blocks(X, others, caller):
    """Row blocks of ``X`` and of every array in ``others``, aligned.

    ``X`` or an entry of ``others`` is a dask array; in-memory arrays (and
    None) ride along, cut into the row chunks of the first dask array
    (:func:`~skweak_e2e.utils._dask.align_rows`).

    Returns
    -------
    row_chunks : tuple of int
    X_parts : list of delayed
        One per row block.
    other_parts : list of list
        For each of ``others``, one delayed (or None) per row block.
    """
    rows, aligned = align_rows([("X", X), *others], caller)
    parts = [
        [None] * len(rows) if array is None else array.to_delayed().ravel().tolist()
        for array in aligned
    ]
    return rows, parts[0], parts[1:]


def _block_labels(y_block, _=None):
    return np.unique(np.asarray(y_block).ravel())


def dask_classes(y_parts, classes, abstain, soft):
    """``classes_`` of a dask label matrix, by the in-memory rule.

    Soft votes name their classes by the last axis (``classes`` or
    ``0..n_classes-1``). Hard votes: the class rule reads the set of
    distinct values only, so it runs on the union of the blocks' distinct
    values (a reduction over the label matrix, without the features).
    """
    if soft:
        return None
    values = map_sum(_block_labels, [(part,) for part in y_parts], combine=np.union1d)
    return infer_classes(values.reshape(-1, 1), classes=classes, abstain=abstain,
                         declare="classes=")


def _features(X_block, dtype):
    """One block of features, validated as the in-memory fit validates ``X``."""
    X = check_array(X_block, accept_sparse="csr", dtype=FLOAT_DTYPES,
                    ensure_min_samples=0, input_name="X")
    check_fits_in_dtype(X, dtype)
    if sp.issparse(X) and not X.has_canonical_format:
        X = X.copy()
        X.sum_duplicates()
    return X


def _votes(y_block, classes, n_classes, abstain):
    """One block of the label matrix as class codes (or soft votes).

    The block enters through the in-memory fit's front door
    (``check_vote_target``), so a block is checked as a whole ``y`` is.
    """
    if np.shape(y_block)[0] == 0:  # filtering leaves empty blocks: normal
        return _no_votes(np.shape(y_block), classes, n_classes)
    y = check_vote_target(y_block, abstain=abstain, owner="WeaSELClassifier",
                          block=True)
    if y.ndim == 3:
        L, _ = check_label_matrix(y, n_classes=n_classes, allow_soft=True,
                                  require_votes=False, input_name="y")
        return L
    codes = encode_votes(y, classes, abstain=abstain, input_name="y")
    L, _ = check_label_matrix(codes, n_classes=classes.size, allow_soft=False,
                              require_votes=False)
    return L


def _no_votes(shape, classes, n_classes):
    """The votes of an empty block, in the dtype of every other block's."""
    n_sources = shape[1] if len(shape) > 1 else 1
    if len(shape) == 3:
        L, _ = check_label_matrix(np.zeros((1, n_sources, shape[2])), n_classes=n_classes,
                                  allow_soft=True, require_votes=False, input_name="y")
    else:
        L, _ = check_label_matrix(np.full((1, n_sources), -1), n_classes=classes.size,
                                  allow_soft=False, require_votes=False)
    return L[:0]


def prepare_block(X_block, y_block, classes, n_classes, abstain, drop_uncovered, dtype):
    """Training rows of one block: ``(features, votes)``, uncovered rows dropped."""
    X = _features(X_block, dtype)
    L = _votes(y_block, classes, n_classes, abstain)
    if X.shape[0] != L.shape[0]:  # pragma: no cover - aligned_blocks cuts both
        raise ValueError(f"A block of X has {X.shape[0]} rows and y {L.shape[0]}.")
    if drop_uncovered:
        covered = is_covered(L)
        if not covered.all():
            X, L = X[covered], L[covered]
    return X, L


class BlockCounts:
    """What the fit needs from every block: counts that add up, two probe rows."""

    def __init__(self, n_rows, n_covered, n_used, source_votes, probe):
        self.n_rows = n_rows
        self.n_covered = n_covered
        self.n_used = n_used
        self.source_votes = source_votes
        self.probe = probe

    def __add__(self, other):
        probe = self.probe
        if probe[1].shape[0] < 2 and other.probe[1].shape[0]:
            probe = tuple(
                sp.vstack([a, b], format="csr") if sp.issparse(a) else np.concatenate([a, b])
                for a, b in zip(probe, other.probe)
            )
        return BlockCounts(
            self.n_rows + other.n_rows,
            self.n_covered + other.n_covered,
            self.n_used + other.n_used,
            self.source_votes + other.source_votes,
            probe,
        )


def _count_block(X_block, y_block, classes, n_classes, abstain, drop_uncovered, dtype):
    X = _features(X_block, dtype)
    L = _votes(y_block, classes, n_classes, abstain)
    covered = is_covered(L)
    n_rows, n_covered = L.shape[0], int(np.count_nonzero(covered))
    if drop_uncovered and n_covered < n_rows:
        X, L = X[covered], L[covered]
    if L.ndim == 3:  # a soft source is silent without vote mass
        source_votes = L.sum(axis=(0, 2))
    else:
        source_votes = np.count_nonzero(L >= 0, axis=0).astype(np.float64)
    # Copies: a view would keep the whole block alive until the pass ends.
    probe = (X[:2].copy(), L[:2].copy())
    return BlockCounts(n_rows, n_covered, L.shape[0], source_votes, probe)


def block_counts(X_parts, y_parts, classes, n_classes, abstain, drop_uncovered, dtype):
    """The :class:`BlockCounts` of all blocks (validating every one)."""
    blocks = list(zip(X_parts, y_parts))
    return map_sum(_count_block, blocks, classes, n_classes, abstain,
                   drop_uncovered, dtype, combine=_add)


def _add(a, b):
    return a + b


def _apply(model, method, X_block, L_block, out_tail, dtype):
    """``model.<method>`` on one block (an empty block gives an empty result)."""
    if np.shape(X_block)[0] == 0:
        return np.empty((0,) + out_tail, dtype=dtype)
    with warnings.catch_warnings():
        # Blocks are plain arrays: the feature names were checked on the driver.
        warnings.filterwarnings("ignore", message="X does not have valid feature names")
        if L_block is None:
            return getattr(model, method)(X_block)
        return getattr(model, method)(X_block, L_block)


def score_block(X_block, y_block, weight_block, model, agreement):
    """``(agree, mass)`` of one block for ``WeaSELClassifier.score``.

    ``agreement(model, X, y, weight)`` is the estimator's own count (passed
    in, so that this module needs none of its private methods).
    """
    if np.shape(X_block)[0] == 0:
        return np.zeros(2)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="X does not have valid feature names")
        return agreement(model, X_block, y_block, weight_block)


def lazy_block_map(model, method, X, L, out_tail, dtype):
    """``model.<method>(X[, L])`` over the row blocks, as a lazy dask array.

    The fitted ``model`` enters the graph once (one delayed object that every
    block's task depends on), so it travels to each worker once.
    """
    caller = f"{type(model).__name__}.{method}"
    dask = import_dask(caller)
    da = import_dask(caller, "dask.array")
    rows, X_parts, (L_parts,) = aligned_blocks(X, [("L", L)], caller)
    shipped = dask.delayed(model, name=f"{type(model).__name__}-{uuid.uuid4().hex}")
    task = dask.delayed(_apply, pure=True)
    blocks = [
        da.from_delayed(
            task(shipped, method, x, l_part, out_tail, dtype),
            shape=(n,) + out_tail,
            dtype=dtype,
            meta=np.empty((0,) * (1 + len(out_tail)), dtype=dtype),
        )
        for x, l_part, n in zip(X_parts, L_parts, rows)
    ]
    return da.concatenate(blocks, axis=0)


def validate_dask_training(estimator, X, y):
    """Row blocks of a dask ``X`` and ``y``; set the shape attributes.

    Whether ``X`` is sparse is read from its blocks later (the probe rows of
    :func:`block_counts`), not from the dask array's ``meta``, which says
    ndarray for blocks made by ``from_delayed`` or ``map_blocks`` unless told.

    Sets ``n_features_in_``, ``n_sources_`` and ``classes_`` (hard votes:
    from the distinct values of ``y``, one pass over its blocks).
    """
    if y is None:
        raise y_required_error(type(estimator).__name__)
    shape = getattr(y, "shape", None) or np.shape(y)
    if len(shape) not in (1, 2, 3) or len(np.shape(X)) != 2:
        raise ValueError(
            "X must be 2-D (n_samples, n_features) and y (n_samples, "
            f"n_sources) or (n_samples, n_sources, n_classes); got X of shape "
            f"{np.shape(X)} and y of shape {tuple(shape)}."
        )
    caller = f"{type(estimator).__name__}.fit"
    if not is_dask_collection(y):
        y = fill_masked(y, estimator.abstain, "y")  # masked votes are abstains
    _, X_parts, (y_parts,) = aligned_blocks(X, [("y", y)], caller)
    soft = len(shape) == 3
    estimator.n_features_in_ = int(np.shape(X)[1])
    if hasattr(estimator, "feature_names_in_"):
        del estimator.feature_names_in_
    estimator.n_sources_ = 1 if len(shape) == 1 else int(shape[1])
    if soft:
        set_soft_classes(estimator, int(shape[2]))
    else:
        estimator.classes_ = dask_classes(y_parts, estimator.classes, estimator.abstain, soft)
    return Bunch(X_parts=X_parts, y_parts=y_parts, soft=soft)


def lazy_method(estimator, method, X, L=None):
    """``method`` over the row blocks of a dask ``X`` (and ``L``), lazily.

    The widths are checked here, on the driver, rather than when the
    blocks are computed.
    """
    check_is_fitted(estimator)
    n_features = np.shape(X)[1] if len(np.shape(X)) == 2 else None
    if n_features != estimator.n_features_in_:
        raise ValueError(
            f"X has shape {np.shape(X)}, but {type(estimator).__name__} is fitted "
            f"on {estimator.n_features_in_} features."
        )
    tail = {"predict_proba": (estimator.n_classes_,), "predict": ()}.get(method)
    dtype = estimator.classes_.dtype if method == "predict" else np.float64
    if L is not None:
        if not is_dask_collection(L):
            L = fill_masked(L, estimator.abstain, "L")
        shape = np.shape(L)
        if len(shape) < 2 or shape[1] != estimator.n_sources_:
            raise ValueError(
                f"L has shape {shape}, but {type(estimator).__name__} was fitted "
                f"with {estimator.n_sources_} sources."
            )
        tail = (estimator.n_classes_,)
        if method == "accuracy_scores":
            tail = (estimator.n_sources_,) + (
                (estimator.n_classes_,) if estimator.class_conditional_ else ()
            )
            dtype = np.dtype(estimator.dtype)
    return lazy_block_map(estimator, method, X, L, tail, dtype)


def score_blocks(estimator, X, y, sample_weight, agreement):
    """``estimator.score``'s sums over the row blocks.

    Each block gives two numbers, ``agreement(estimator, X_block, y_block,
    weight_block)``; the estimator is shipped once.
    """
    check_is_fitted(estimator)
    caller = f"{type(estimator).__name__}.score"
    _, X_parts, (y_parts, w_parts) = aligned_blocks(
        X, [("y", y), ("sample_weight", sample_weight)], caller
    )
    shipped = import_dask(caller).delayed(estimator, pure=False)
    return map_sum(
        score_block, list(zip(X_parts, y_parts, w_parts)), shipped, agreement
    )
