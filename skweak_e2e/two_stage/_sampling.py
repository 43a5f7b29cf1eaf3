"""A stratified, weighted sample of the covered rows, for X beyond memory.

The sample is drawn so that it does not depend on how the rows are split
into blocks: every row gets a pseudo-random key from its global index and
the seed (SplitMix64, a counter-based generator), and stratum ``c`` keeps
the ``n_c`` rows with the smallest keys, which is a uniform draw without
replacement. On a dask array this takes two passes over the blocks, each
returning little to the driver: per-block histograms of the keys by stratum
(from which the driver finds, per stratum, the key bin where the quota is
reached), then the rows below that bin and the few candidates inside it.
"""

from numbers import Integral

import numpy as np
from sklearn.utils import check_random_state

from ..utils._dask import is_dask_array, is_dask_collection, map_sum
from ._dask import UNKNOWN_CHUNKS, dask_blocks

__all__ = ["sample_training_rows"]

#: Key bins of the first pass: the driver receives (n_classes, _N_BINS)
#: counts per block and, in the second pass, about 1/_N_BINS of every
#: stratum as candidates for the last places of its quota.
_N_BINS = 4096

# SplitMix64 constants (Steele, Lea and Flood, 2014).
_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def _row_keys(seed, rows):
    """Keys in [0, 1) of the rows with global indices ``rows``."""
    z = np.uint64(seed) + (rows.astype(np.uint64) + np.uint64(1)) * _GAMMA
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) * 2.0**-53


def _block_strata(proba, covered, offset, seed):
    """Covered rows of a block: global index, stratum, top probability, key, bin."""
    proba = np.asarray(proba, dtype=np.float64)
    bad = ~np.isfinite(proba) | (proba < 0)
    if bad.any():
        i, c = np.argwhere(bad)[0]
        raise ValueError(
            f"proba holds {proba[i, c]} at row {offset + i}, class {c}; "
            "probabilities must be finite and non-negative."
        )
    local = (
        np.arange(proba.shape[0])
        if covered is None
        else np.flatnonzero(np.asarray(covered))
    )
    P = proba[local]
    stratum = P.argmax(axis=1)  # ties go to the lowest class, as np.argmax
    top = P[np.arange(local.size), stratum]
    total = P.sum(axis=1)
    if (total <= 0).any():
        i = local[np.flatnonzero(total <= 0)[0]]
        raise ValueError(
            f"proba has a row of zeros at row {offset + i}: a covered row needs "
            "some probability."
        )
    rows = local + offset
    keys = _row_keys(seed, rows)
    bins = np.minimum((keys * _N_BINS).astype(np.intp), _N_BINS - 1)
    return rows, stratum, top / total, keys, bins


def _block_histogram(proba, covered, offset, seed):
    """Counts of the block's covered rows by (stratum, key bin)."""
    _, stratum, _, _, bins = _block_strata(proba, covered, offset, seed)
    n_classes = np.shape(proba)[1]
    counts = np.bincount(stratum * _N_BINS + bins, minlength=n_classes * _N_BINS)
    return counts.reshape(n_classes, _N_BINS)


def _block_selection(proba, covered, offset, seed, boundary):
    """Rows of the block below their stratum's boundary bin, and candidates in it.

    Returns ``(rows, stratum, top, cand_rows, cand_stratum, cand_top,
    cand_keys)``; a stratum whose boundary is -1 contributes nothing.
    """
    rows, stratum, top, keys, bins = _block_strata(proba, covered, offset, seed)
    edge = boundary[stratum]
    chosen = bins < edge
    cand = bins == edge
    return (
        rows[chosen],
        stratum[chosen],
        top[chosen],
        rows[cand],
        stratum[cand],
        top[cand],
        keys[cand],
    )


def _concat(a, b):
    return tuple(np.concatenate([x, y]) for x, y in zip(a, b))


def _allocate(counts, n_rows, min_per_class):
    """Rows per stratum: proportional to ``counts``, with a floor, summing to n_rows.

    Every present class gets at least ``min(min_per_class, its count,
    n_rows // n_present)`` rows; the rest is shared in proportion to the
    counts of the classes above their floor (largest remainders, ties to the
    lowest class, round the shares to integers).
    """
    counts = counts.astype(np.int64)
    present = counts > 0
    lower = np.minimum(
        np.minimum(counts, min_per_class), n_rows // max(int(present.sum()), 1)
    )
    held = np.zeros(counts.size, dtype=bool)  # classes held at a bound
    fixed = np.zeros(counts.size)
    while True:
        free = present & ~held
        share = fixed.copy()
        share[free] = (n_rows - fixed.sum()) * counts[free] / counts[free].sum()
        low = free & (share < lower)
        high = free & (share > counts)
        if not (low.any() or high.any()):
            break
        fixed[low] = lower[low]
        fixed[high] = counts[high]
        held |= low | high
    quota = np.floor(share).astype(np.int64)
    quota = np.minimum(quota, counts)
    left = n_rows - int(quota.sum())
    if left > 0:
        room = quota < counts
        frac = np.where(room, share - quota, -np.inf)
        order = np.lexsort((np.arange(counts.size), -frac))
        quota[order[:left]] += 1
    return quota


def _check_covered(covered, n_samples):
    dtype = getattr(covered, "dtype", None)
    if dtype is None:
        covered = np.asarray(covered)
        dtype = covered.dtype
    if np.dtype(dtype) != np.bool_ or getattr(covered, "ndim", 1) != 1:
        raise ValueError(
            "covered must be a 1-D boolean mask (True for the rows with a vote, "
            "e.g. skweak_e2e.utils.is_covered(L)); got dtype "
            f"{dtype} and shape {getattr(covered, 'shape', None)}."
        )
    for name, size in (("proba", n_samples), ("covered", covered.shape[0])):
        if size != size:  # nan: a dask array whose row chunk sizes are unknown
            raise ValueError(UNKNOWN_CHUNKS.format(name=name))
    if covered.shape[0] != n_samples:
        raise ValueError(
            f"covered has {covered.shape[0]} entries but proba has {n_samples} rows."
        )
    return covered


def _check_sizes(n_rows, min_per_class):
    """``n_rows`` a positive and ``min_per_class`` a non-negative integer."""
    if isinstance(n_rows, (bool, np.bool_)) or not isinstance(n_rows, Integral):
        raise TypeError(
            f"n_rows must be a positive integer; got n_rows={n_rows!r} of type "
            f"{type(n_rows).__name__}."
        )
    if n_rows < 1:
        raise ValueError(f"n_rows must be a positive integer; got n_rows={n_rows}.")
    if (
        isinstance(min_per_class, (bool, np.bool_))
        or not isinstance(min_per_class, Integral)
        or min_per_class < 0
    ):
        raise ValueError(
            "min_per_class must be a non-negative integer; got "
            f"min_per_class={min_per_class!r}."
        )


def _check_proba(proba):
    """``proba`` as a numpy or dask array of class probabilities; whether lazy."""
    lazy = is_dask_array(proba)
    if is_dask_collection(proba) and not lazy:
        raise TypeError(
            f"proba must be a numpy or dask array; got {type(proba).__name__}."
        )
    if not lazy:
        proba = np.asarray(proba)
    if proba.ndim != 2 or proba.shape[1] < 2 or proba.dtype.kind not in "iuf":
        raise ValueError(
            "proba must be a numeric array of shape (n_samples, n_classes) with "
            f"at least 2 classes; got shape {proba.shape} and dtype {proba.dtype}."
        )
    return proba, lazy


def _boundary_bins(hist, quota):
    """Per class, the key bin where its quota is reached, and the places left.

    Every row in a bin below the boundary is taken; the places ``need``
    that the bins below leave are filled from the boundary bin itself.
    """
    n_classes = hist.shape[0]
    cumulative = hist.cumsum(axis=1)
    reached = cumulative >= quota[:, None]
    boundary = np.where(quota > 0, reached.argmax(axis=1), -1)
    below = np.where(
        boundary > 0,
        cumulative[np.arange(n_classes), np.maximum(boundary - 1, 0)],
        0,
    )
    need = np.where(quota > 0, quota - below, 0)
    return boundary, need


def _fill_boundary_bins(taken, candidates, need):
    """Add to the rows taken the ``need`` best candidates of each boundary bin."""
    rows, stratum, top = taken
    c_rows, c_stratum, c_top, c_keys = candidates
    n_classes = need.size
    # The last places of each quota go to the candidates with the smallest
    # keys (then indices) in the stratum's boundary bin.
    order = np.lexsort((c_rows, c_keys, c_stratum))
    c_rows, c_stratum, c_top = c_rows[order], c_stratum[order], c_top[order]
    first = np.searchsorted(c_stratum, np.arange(n_classes))
    rank = np.arange(c_rows.size) - first[c_stratum]
    take = rank < need[c_stratum]
    rows = np.concatenate([rows, c_rows[take]])
    stratum = np.concatenate([stratum, c_stratum[take]])
    top = np.concatenate([top, c_top[take]])
    return rows, stratum, top


def sample_training_rows(
    proba,
    n_rows,
    *,
    covered=None,
    min_per_class=10,
    scale_by_confidence=False,
    random_state=None,
):
    """Draw a stratified, weighted sample of the covered rows to train on.

    For two-stage training when the features ``X`` do not fit in memory:
    the label model's probabilities are cheap to compute over all rows, but
    the end model is trained on ``X[indices]`` only. The covered rows (at
    least one vote) are split into strata by their most probable class;
    each stratum gets a share of ``n_rows`` proportional to its size, with
    a floor of ``min_per_class`` rows so that rare classes are represented,
    and its rows are drawn uniformly without replacement. Each drawn row of
    stratum ``c`` gets the weight ``N_c / n_c`` (its size over its share:
    one over the row's inclusion probability), so that weighted sums over
    the sample, such as the training loss, estimate the same sums over all
    covered rows without bias; the weights of a stratum add up to its size
    exactly.

    Parameters
    ----------
    proba : {ndarray, dask array} of shape (n_samples, n_classes)
        Label-model probabilities, e.g. ``label_model.predict_proba(L)``. A
        dask array is never gathered: only the drawn rows come back to the
        driver. Its row chunk sizes must be known.
    n_rows : int
        Number of rows to draw, at most the number of covered rows.
    covered : {array-like, dask array} of shape (n_samples,), dtype=bool, default=None
        True for the rows with at least one vote
        (:func:`skweak_e2e.utils.is_covered` for a numpy ``L``, or
        ``(L >= 0).any(axis=1)`` for a hard dask ``L``). Uncovered rows are
        never drawn. None means that every row counts as covered.
    min_per_class : int, default=10
        Floor of every stratum's share. A class with fewer covered rows
        keeps them all; when ``n_rows`` cannot give every class its floor,
        each class gets at least ``n_rows // n_classes_present``.
    scale_by_confidence : bool, default=False
        Multiply each weight by the row's top probability (the label
        model's confidence in the most probable class). Use it to train on
        hard labels (``LabelModelClassifier(..., soft_labels=False)``), so
        that doubtful rows count less. Leave it off for soft labels: the
        soft-label expansion already weights row ``i``'s copy with label
        ``c`` by its probability ``proba[i, c]``.
    random_state : int, RandomState instance or None, default=None
        Seeds the draw. The sample depends only on the data and the seed,
        not on how a dask array is chunked, nor on the scheduler.

    Returns
    -------
    indices : ndarray of int of shape (n_rows,)
        Indices of the drawn rows, sorted (indexing a dask array by sorted
        indices reads each block once).
    sample_weight : ndarray of float64 of shape (n_rows,)
        Weight of each drawn row, to pass to ``fit(..., sample_weight=...)``.

    See Also
    --------
    LabelModelClassifier : Trains any classifier on the label model's
        labels; fit it on the sample with a frozen, fitted label model.

    Notes
    -----
    Stratum ``c`` has ``N_c`` covered rows whose most probable class is
    ``c`` and gets ``n_c`` of the ``n_rows`` draws. Every one of its rows is
    drawn with probability ``n_c / N_c``, so for any per-row quantity
    ``f``, ``sum(w_i f_i)`` over the sample has expectation ``sum(f_i)``
    over the covered rows (the Horvitz-Thompson estimator); with ``f_i =
    proba[i, k]`` this holds for every class total of the soft labels, and
    with ``f_i = 1`` it is exact on every draw, stratum by stratum.

    Examples
    --------
    >>> import numpy as np
    >>> from skweak_e2e import MajorityVote, sample_training_rows
    >>> from skweak_e2e.datasets import make_weak_supervision
    >>> from skweak_e2e.utils import is_covered
    >>> X, L, y = make_weak_supervision(2000, 5, random_state=0)
    >>> proba = MajorityVote().fit(L).predict_proba(L)
    >>> idx, w = sample_training_rows(
    ...     proba, 200, covered=is_covered(L), random_state=0)
    >>> idx.shape, bool(np.all(np.diff(idx) > 0))
    ((200,), True)
    >>> int(round(w.sum())) == int(is_covered(L).sum())  # represents every covered row
    True
    """
    _check_sizes(n_rows, min_per_class)
    proba, lazy = _check_proba(proba)
    n_samples, n_classes = proba.shape
    if covered is not None:
        covered = _check_covered(covered, n_samples)
    rng = check_random_state(random_state)
    high, low = rng.randint(0, 2**32, size=2, dtype=np.uint64)
    seed = int((high << np.uint64(32)) | low)

    if lazy:
        blocks = dask_blocks(proba, covered)
    else:
        if covered is not None:
            covered = np.asarray(covered)  # a dask mask with numpy proba: small
        blocks = [(proba, covered, 0)]

    def run(func, *args, combine=None):
        if lazy:
            return map_sum(func, blocks, *args, combine=combine)
        return func(*blocks[0], *args)

    hist = run(_block_histogram, seed)
    counts = hist.sum(axis=1)
    n_covered = int(counts.sum())
    if n_rows > n_covered:
        raise ValueError(
            f"n_rows={n_rows} exceeds the number of covered rows, {n_covered}; "
            "ask for at most that many."
        )
    quota = _allocate(counts, n_rows, min_per_class)
    boundary, need = _boundary_bins(hist, quota)
    rows, stratum, top, c_rows, c_stratum, c_top, c_keys = run(
        _block_selection, seed, boundary, combine=_concat
    )
    rows, stratum, top = _fill_boundary_bins(
        (rows, stratum, top), (c_rows, c_stratum, c_top, c_keys), need
    )
    order = np.argsort(rows, kind="stable")
    rows, stratum, top = rows[order], stratum[order], top[order]
    with np.errstate(divide="ignore", invalid="ignore"):
        inverse_inclusion = counts / quota
    weight = inverse_inclusion[stratum].astype(np.float64)
    if scale_by_confidence:
        weight = weight * top
    return rows.astype(np.intp), weight
