"""Vote overlap statistics: the sums that Snorkel's matrix completion fits.

``psi_i`` is the one-hot of row i's votes (abstains all-zero); the Gram
``sum_i w_i psi_i psi_i^T`` and the first moment ``sum_i w_i psi_i`` are
built once per fit by the cheapest of three encodings (distinct patterns,
sparse rows, dense float32 chunks), optionally with the majority vote's
sums from the same encoding.
"""

import numpy as np
import scipy.sparse as sp

from ..utils._label_matrix import vote_indicator
from ..utils._threads import serial_blas
from ._majority_vote import onehot_majority_sums
from ._vote_codes import CHUNK_ROWS, compress_rows, pattern_weights

__all__ = ["overlap_matrix", "overlap_sums"]

_SAMPLE_ROWS = 4096


def _one_hot_table(n_classes):
    """Rows of the vote one-hot (row 0 = abstain), viewed as single items.

    Gathering whole rows of ``n_classes`` float32 values through one item
    type is several times faster than a fancy-indexed (n, m, C) gather.
    """
    table = np.zeros((n_classes + 1, n_classes), dtype=np.float32)
    table[1:] = np.eye(n_classes, dtype=np.float32)
    item = {4: np.uint32, 8: np.uint64, 16: np.complex128}.get(
        4 * n_classes, np.dtype((np.void, 4 * n_classes))
    )
    return table.view(item).ravel()


def _overlaps_dense(L, n_classes, sample_weight=None, majority=False):
    """Sum of psi psi^T and of psi over the rows, by chunked float32 products.

    Every chunk product counts at most ``CHUNK_ROWS < 2**24`` ones per
    entry, so float32 is exact; the chunks are summed in float64. Weighted
    rows are multiplied in float64. With ``majority``, the majority vote's
    sums (:func:`onehot_majority_sums`) follow, from the same chunks.
    """
    n_samples, n_sources = L.shape
    d = n_sources * n_classes
    table = _one_hot_table(n_classes)
    gram = np.zeros((d, d))
    first = np.zeros(d)
    sums = [np.zeros((d, n_classes)), np.zeros(n_classes)] if majority else []
    for a in range(0, n_samples, CHUNK_ROWS):
        codes = L[a : a + CHUNK_ROWS].astype(np.intp)
        codes += 1
        psi = np.take(table, codes).view(np.float32).reshape(codes.shape[0], d)
        weight = None if sample_weight is None else sample_weight[a : a + CHUNK_ROWS]
        if weight is None:
            gram += psi.T @ psi  # numpy runs A.T @ A as a symmetric rank-k update
            first += psi.sum(axis=0, dtype=np.float64)
        else:
            weighted = psi * weight[:, None]
            gram += weighted.T @ psi
            first += weighted.sum(axis=0)
        if majority:
            for total, part in zip(sums, onehot_majority_sums(psi, n_classes, weight)):
                total += part
    return (gram, first, *sums)


def _onehot_sums(psi, n_classes, weights=None, majority=False):
    """The sums of :func:`overlap_sums` from a built one-hot ``psi`` (rows or
    distinct patterns with their ``weights``; dense, sparse or soft)."""
    weighted = psi if weights is None else sp.diags(weights) @ psi
    gram = psi.T @ weighted
    sums = (
        gram.toarray() if sp.issparse(gram) else gram,
        np.asarray(weighted.sum(axis=0)).ravel(),
    )
    if majority:
        sums += onehot_majority_sums(psi, n_classes, weights)
    return sums


def _prefer_sparse(L, n_classes):
    """Cost model: a sparse Gram wins when rows hold few votes for their width.

    Per row, the dense path costs about ``d**2`` (BLAS) and the sparse one
    about ``2500 E[v**2] + 500 m`` in the same units (v = votes in the row),
    as measured with OpenBLAS and scipy 1.17 on two cores.
    """
    n_samples, n_sources = L.shape
    rows = L
    if n_samples > _SAMPLE_ROWS:
        rng = np.random.default_rng(0)  # O(k) memory, unlike RandomState.choice
        rows = L[np.sort(rng.choice(n_samples, _SAMPLE_ROWS, replace=False))]
    votes = (rows >= 0).sum(axis=1).astype(np.float64)
    d = n_sources * n_classes
    return 2500.0 * np.mean(votes**2) + 500.0 * n_sources < d * d


def overlap_sums(L, n_classes, sample_weight=None, majority=False):
    """Sums over the rows of ``w_i psi_i psi_i^T`` and of ``w_i psi_i``.

    The statistics of :func:`overlap_matrix` before the division by the
    total weight; sums of row blocks add up to the sums of the whole
    matrix. Products of (m C)-sized blocks run on one BLAS thread: they are
    too small for threads, which stall when other jobs hold the cores.

    Parameters
    ----------
    L : ndarray of shape (n_samples, n_sources) or (n_samples, n_sources, n_classes)
        Validated hard votes (-1 = abstain) or soft votes.
    n_classes : int
    sample_weight : ndarray of shape (n_samples,), default=None
    majority : bool, default=False
        Also return the majority vote's sums (:func:`onehot_majority_sums`),
        from the same one-hot encoding.

    Returns
    -------
    gram : ndarray of shape (n_sources * n_classes, n_sources * n_classes)
    first : ndarray of shape (n_sources * n_classes,)
    vote_class, class_mass : ndarray
        With ``majority`` only.
    """
    with serial_blas():
        if L.ndim == 3:  # soft votes: the flattened probabilities
            psi = L.reshape(L.shape[0], L.shape[1] * L.shape[2])
            return _onehot_sums(psi, n_classes, sample_weight, majority)
        unique = compress_rows(L, n_classes)
        if unique is not None:  # few distinct patterns: one row each
            first, inverse, counts = unique
            weights = pattern_weights(inverse, counts, sample_weight)
            psi = vote_indicator(L[first], n_classes)
            return _onehot_sums(psi, n_classes, weights, majority)
        if _prefer_sparse(L, n_classes):
            psi = vote_indicator(L, n_classes)
            return _onehot_sums(psi, n_classes, sample_weight, majority)
        return _overlaps_dense(L, n_classes, sample_weight, majority)


def overlap_matrix(L, n_classes, sample_weight=None):
    """Uncentred overlap matrix of the votes and their first moment.

    With ``psi_i`` the vote one-hot of row i (``psi_i[j C + k] = 1`` when
    source j votes k; abstains are all-zero), returns ``O = mean_i psi_i
    psi_i^T`` and ``q = mean_i psi_i`` (means weighted by ``sample_weight``).
    For soft votes ``psi_i`` is the flattened (n_sources, n_classes)
    probability array.

    Parameters
    ----------
    L : ndarray of shape (n_samples, n_sources) or (n_samples, n_sources, n_classes)
        Validated hard votes (-1 = abstain) or soft votes.
    n_classes : int
    sample_weight : ndarray of shape (n_samples,), default=None

    Returns
    -------
    O : ndarray of shape (n_sources * n_classes, n_sources * n_classes)
    q : ndarray of shape (n_sources * n_classes,)
    """
    gram, first = overlap_sums(L, n_classes, sample_weight)
    total = L.shape[0] if sample_weight is None else float(np.sum(sample_weight))
    return gram / total, first / total
