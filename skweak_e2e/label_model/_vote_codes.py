"""Grouped vote codes: the engine behind the tensor form on hard votes.

Internal to :mod:`skweak_e2e.label_model` (imported under plain names by
``_tensor_form``, ``_dawid_skene`` and ``_snorkel``). The outcome of source
``j`` on sample ``i`` is ``o_ij = L_ij + 1`` in ``{0..C}``. A group of ``g``
consecutive sources is encoded as one integer, its base-``(C+1)`` code
``sum_t o_it (C+1)^(g-1-t)``, with ``g`` chosen so that ``(C+1)^g`` stays
small (4096 by default). Then

* a score ``sum_j W[j, o_ij, c]`` is one lookup per group in a table of the
  ``(C+1)^g`` group outcomes (built by broadcasting ``W`` over the group), and
* the outcome counts of every source of a group are the marginals of one
  weighted bincount over the group codes,

so one pass over the ``n`` samples handles ``g`` sources at once.
"""

import numpy as np

from ..utils._label_matrix import unique_rows

__all__ = [
    "CHUNK_ROWS",
    "VoteCodes",
    "compress_rows",
    "merge_patterns",
    "pattern_sample",
    "pattern_weights",
    "patterns_look_few",
    "soft_augmented",
]

MAX_TABLE = 4096
CHUNK_ROWS = 65536
ENCODE_ROWS = 4096
SAMPLE_ROWS = 4096


class VoteCodes:
    """Hard label matrix re-encoded as base-(C+1) codes of groups of sources.

    Parameters
    ----------
    L : ndarray of shape (n_samples, n_sources)
        Validated hard votes, -1 = abstain.
    n_classes : int
    max_table : int, default=None
        Largest number of joint outcomes of one group; ``min(4096, n_samples)``
        (and at least ``n_classes + 1``) when None.
    """

    def __init__(self, L, n_classes, max_table=None):
        n_samples, n_sources = L.shape
        K = n_classes + 1
        if max_table is None:
            max_table = min(MAX_TABLE, max(n_samples, 1))
        size = 1
        while size < n_sources and K ** (size + 1) <= max_table:
            size += 1
        self.n_samples = n_samples
        self.n_sources = n_sources
        self.n_classes = n_classes
        self.bounds = [(s, min(s + size, n_sources)) for s in range(0, n_sources, size)]
        self.codes = self._encode(L, K)

    def _encode(self, L, K):
        n_samples = L.shape[0]
        largest = K ** max(e - s for s, e in self.bounds)
        # uint16 codes take a quarter of the memory of intp ones, for a few
        # percent more time in np.take / np.bincount.
        dtype = np.uint16 if largest <= 2**16 else np.intp
        codes = np.empty((len(self.bounds), n_samples), dtype=dtype)
        # Horner's rule on blocks of rows transposed to (n_sources, rows), so
        # that every operation runs on contiguous memory that stays in cache.
        for a in range(0, n_samples, ENCODE_ROWS):
            block = L[a : a + ENCODE_ROWS].T.astype(dtype)
            block += 1  # -1 (abstain) -> 0; wraps around in uint16, as intended
            for b, (s, e) in enumerate(self.bounds):
                out = codes[b, a : a + block.shape[1]]
                out[...] = block[s]
                for j in range(s + 1, e):
                    out *= K
                    out += block[j]
        return codes

    @classmethod
    def from_codes(cls, codes, like):
        """Codes built elsewhere, with the group layout of ``like``."""
        new = object.__new__(cls)
        new.__dict__.update(like.__dict__)
        new.codes = np.ascontiguousarray(codes)
        new.n_samples = new.codes.shape[1]
        return new

    def take(self, rows):
        """The codes of a subset of the samples (e.g. the unique patterns)."""
        return VoteCodes.from_codes(self.codes[:, rows], self)

    def row_keys(self):
        """A float64 key per row: equal rows have equal keys.

        The key is the exact mixed-radix number of the row when it fits in
        a float64 mantissa (then different rows have different keys), and a
        random projection of the group codes otherwise (different rows then
        collide only by a rounding accident). Returns the keys and whether
        they are exact.
        """
        K = self.n_classes + 1
        exact = self.n_sources * np.log2(K) < 52
        if exact:
            sizes = np.array([float(K) ** (e - s) for s, e in self.bounds])
            weights = np.append(np.cumprod(sizes[::-1])[-2::-1], 1.0)
        else:
            weights = np.random.RandomState(0).uniform(1.0, 2.0, len(self.bounds))
        keys = np.zeros(self.n_samples)
        for code, weight in zip(self.codes, weights):
            keys += code * weight
        return keys, exact

    def n_unique(self):
        """Number of distinct row keys (at most the number of distinct rows)."""
        keys, _ = self.row_keys()
        keys.sort()
        return 1 + int(np.count_nonzero(keys[1:] != keys[:-1]))

    def unique(self):
        """Unique row patterns: ``(first, inverse, counts)`` as ``np.unique``."""
        keys, exact = self.row_keys()
        _, first, inverse, counts = np.unique(
            keys, return_index=True, return_inverse=True, return_counts=True
        )
        inverse = inverse.ravel()
        if not exact and not np.array_equal(self.codes[:, first][:, inverse], self.codes):
            # A rounding collision merged two rows: compare the rows themselves.
            rows = np.ascontiguousarray(self.codes.T)  # pragma: no cover
            rows = rows.view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1])))
            _, first, inverse, counts = np.unique(
                rows.ravel(), return_index=True, return_inverse=True, return_counts=True
            )
            inverse = inverse.ravel()
        return first, inverse, counts

    def group_tables(self, W):
        """Per group, the table ``(n_classes, K**g)`` of summed ``W`` entries."""
        C = W.shape[2]
        for s, e in self.bounds:
            table = W[s]
            for j in range(s + 1, e):
                table = (table[:, None, :] + W[j][None, :, :]).reshape(-1, C)
            yield np.ascontiguousarray(table.T)

    def scores_t(self, W):
        """Transposed scores ``S.T``, shape (n_classes, n_samples)."""
        W = np.asarray(W, dtype=np.float64)
        C = W.shape[2]
        S = np.zeros((C, self.n_samples))
        for code, table in zip(self.codes, self.group_tables(W)):
            for c in range(C):
                if table.shape[1] == 1:
                    S[c] += table[c, 0]
                else:
                    S[c] += np.take(table[c], code)
        return S

    def relative_scores_t(self, W):
        """Transposed scores relative to class 0: ``(S - S[:, :1]).T``.

        Row 0 is all zeros and is not looked up, so a softmax over the
        classes costs ``C - 1`` lookups per group instead of ``C``.
        """
        W = np.asarray(W, dtype=np.float64)
        S = np.zeros((W.shape[2], self.n_samples))
        S[1:] = self.scores_t(W[:, :, 1:] - W[:, :, :1])
        return S

    def counts_t(self, Tt):
        """``N[j, k, c] = sum_i Tt[c, i] 1[L[i, j] + 1 = k]`` from ``Tt`` (C', n)."""
        K = self.n_classes + 1
        Cp = Tt.shape[0]
        N = np.empty((self.n_sources, K, Cp))
        for code, (s, e) in zip(self.codes, self.bounds):
            g = e - s
            size = K**g
            H = np.empty((size, Cp))
            for c in range(Cp):
                H[:, c] = np.bincount(code, weights=Tt[c], minlength=size)
            H = H.reshape((K,) * g + (Cp,))
            for t in range(g):
                N[s + t] = H.sum(axis=tuple(a for a in range(g) if a != t))
        return N


def pattern_sample(n_samples):
    """The fixed sample of rows behind the birthday estimate (None: take all).

    A fixed seed keeps fitting deterministic, and lets a fit over row blocks
    (dask) draw exactly the rows that the in-memory fit draws.
    """
    if n_samples <= SAMPLE_ROWS:
        return None
    # Generator.choice draws k of n without replacement in O(k) memory;
    # RandomState.choice permutes all n rows (80 MB and a second at 1e7).
    rng = np.random.default_rng(0)
    return np.sort(rng.choice(n_samples, SAMPLE_ROWS, replace=False))


def patterns_look_few(L_sample, n_samples, n_classes, below=0.5):
    """Birthday estimate: may ``L`` have fewer than ``below * n_samples`` patterns?

    ``L_sample`` holds the rows :func:`pattern_sample` picked. With ``k``
    sample rows and ``P`` equal pairs among them, about ``k (k - 1) / 2 / P``
    patterns are equally likely; no equal pair at all means "many".
    """
    keys, _ = VoteCodes(L_sample, n_classes).row_keys()
    _, counts = np.unique(keys, return_counts=True)
    pairs = float((counts * (counts - 1.0)).sum() / 2.0)
    k = L_sample.shape[0]
    all_pairs = k * (k - 1) / 2.0
    return pairs > 0 and all_pairs / pairs < below * n_samples


def compress_rows(L, n_classes, codes=None, below=0.5):
    """Unique row patterns of a hard ``L``, when there are few enough.

    Returns ``(first, inverse, counts)`` (as :func:`numpy.unique`) when ``L``
    has fewer than ``below * n_samples`` distinct rows, None otherwise.
    Most large matrices with many sources have nearly all rows distinct, so
    a random sample of rows is checked first: when its rows are distinct
    enough (a birthday estimate of the number of patterns reaches
    ``below * n_samples``), the exact count over all rows is skipped.

    Parameters
    ----------
    L : ndarray of shape (n_samples, n_sources)
    n_classes : int
    codes : VoteCodes, default=None
        The codes of ``L`` when already built.
    below : float, default=0.5
    """
    n_samples = L.shape[0]
    if n_samples < 2:
        return None
    rows = pattern_sample(n_samples)
    if rows is not None and not patterns_look_few(L[rows], n_samples, n_classes, below):
        return None
    if codes is None:
        codes = VoteCodes(L, n_classes)
    if codes.n_unique() >= below * n_samples:
        return None
    return codes.unique()


def merge_patterns(codes, weights):
    """Merge pattern tables: equal code columns are one pattern, weights add.

    Parameters
    ----------
    codes : list of ndarray of shape (n_groups, n_patterns_b)
        Group codes (``VoteCodes.codes``) of the patterns of every block,
        built with the same group bounds.
    weights : list of ndarray of shape (n_patterns_b,)

    Returns
    -------
    codes : ndarray of shape (n_groups, n_patterns)
    weights : ndarray of shape (n_patterns,)
    """
    patterns, inverse, counts = unique_rows(np.concatenate(codes, axis=1).T)
    total = pattern_weights(inverse, counts, np.concatenate(weights))
    return np.ascontiguousarray(patterns.T), total


def pattern_weights(inverse, counts, sample_weight=None):
    """Total weight of every pattern: its count, or the sum of its rows' weights.

    Parameters
    ----------
    inverse : ndarray of shape (n_samples,)
        Pattern of every row (as :func:`numpy.unique`'s ``inverse``).
    counts : ndarray of shape (n_patterns,)
        Rows per pattern.
    sample_weight : ndarray of shape (n_samples,), default=None

    Returns
    -------
    weights : ndarray of float64 of shape (n_patterns,)
    """
    if sample_weight is None:
        return counts.astype(np.float64)
    return np.bincount(inverse, weights=sample_weight, minlength=len(counts))


def soft_augmented(L):
    """(n, m, C) soft votes -> (n, m, C+1) with the abstain mass in slot 0."""
    abstain = np.clip(1.0 - L.sum(axis=2, keepdims=True), 0.0, None)
    return np.concatenate([abstain, L], axis=2)
