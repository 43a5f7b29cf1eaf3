"""Label-matrix structure: coverage, silent sources, vote indicators, patterns.

Read-only helpers over a validated label matrix (see
:func:`~skweak_e2e.utils.check_label_matrix`): which rows have a vote,
which sources never vote, the one-hot indicator of the votes as a sparse
matrix, and the distinct vote patterns with their counts.
"""

import warnings

import numpy as np
import scipy.sparse as sp

from ._validation import as_array
from ._warnings import user_stacklevel

__all__ = [
    "is_covered",
    "silent_sources",
    "unique_rows",
    "vote_indicator",
    "warn_silent_sources",
]


def is_covered(L, *, abstain=-1):
    """Return the boolean mask of the rows where at least one source votes.

    The replacement of snorkel's ``filter_unlabeled_dataframe``:
    ``df[is_covered(L)]`` keeps the rows with a vote.

    Parameters
    ----------
    L : array-like of shape (n_samples, n_sources) or (n_samples, n_sources, n_classes)
        A hard label matrix (a numpy array, a pandas DataFrame such as
        ``LFApplier(...).set_output(transform="pandas")`` returns, or a list
        of rows) or a soft one; a soft row is covered when it has some vote
        mass.
    abstain : int, default=-1
        Value of a hard ``L`` that means "no vote".

    Returns
    -------
    covered : ndarray of shape (n_samples,), dtype=bool
        True for the covered rows.

    Examples
    --------
    >>> import numpy as np
    >>> is_covered(np.array([[0, -1], [-1, -1]]))
    array([ True, False])
    >>> is_covered([[1, -1], [-1, -1], [-1, 0]])
    array([ True, False,  True])
    """
    if not isinstance(L, np.ndarray):
        L = as_array(L)
    if L.ndim not in (2, 3):
        raise ValueError(
            "is_covered expects a label matrix (n_samples, n_sources) or soft "
            f"votes (n_samples, n_sources, n_classes); got an array of shape "
            f"{L.shape}."
        )
    if L.ndim == 3:
        # Not reshape(n, -1): an empty block (n = 0) has no such shape.
        return L.sum(axis=(1, 2)) > 0
    if L.dtype == np.int8 and L.flags.c_contiguous:
        # All-abstain rows are the rows whose bytes all have the sign bit set
        # (votes are >= -1): one AND-reduction over bytes, twice as fast as
        # building the (n, m) mask of votes.
        if abstain == -1 and L.shape[1] > 0:
            return (np.bitwise_and.reduce(L.view(np.uint8), axis=1) & 0x80) == 0
    if abstain != -1:
        return (L != abstain).any(axis=1)
    if L.shape[1] == 0:
        return np.zeros(L.shape[0], dtype=bool)
    return L.max(axis=1) >= 0


def silent_sources(L, sample_weight=None):
    """Return the indices of the sources that never vote.

    Parameters
    ----------
    L : ndarray of shape (n_samples, n_sources) or (n_samples, n_sources, n_classes)
        A validated hard (``-1`` = abstain) or soft label matrix; a soft
        source is silent when it has no vote mass.
    sample_weight : ndarray of shape (n_samples,), default=None
        Row weights; a source that votes only on rows of zero weight is
        silent (a zero weight removes the row).

    Returns
    -------
    silent : ndarray of shape (n_silent,)
        Column indices of the silent sources, in increasing order.

    Examples
    --------
    >>> import numpy as np
    >>> silent_sources(np.array([[0, -1], [1, -1]]))
    array([1])
    >>> silent_sources(np.array([[0, -1], [1, 1]]), sample_weight=np.array([1.0, 0.0]))
    array([1])
    """
    if sample_weight is not None:
        L = L[np.asarray(sample_weight) > 0]
        if L.shape[0] == 0:
            return np.arange(L.shape[1])
    if L.ndim == 3:
        return np.flatnonzero(L.sum(axis=(0, 2)) <= 0)
    return np.flatnonzero(L.max(axis=0) < 0)


def warn_silent_sources(L, owner, sample_weight=None, *, silent=None):
    """Warn, naming the columns, when some sources never vote.

    ``silent`` (the indices, when already counted elsewhere, e.g. from the
    per-block vote counts of a dask array) replaces the count over ``L``.
    """
    if silent is None:
        silent = silent_sources(L, sample_weight)
    if silent.size:
        warnings.warn(
            f"{owner}: source(s) {silent.tolist()} never vote on the training "
            "data; they get no weight.",
            UserWarning,
            stacklevel=user_stacklevel(),
        )
    return silent


def vote_indicator(L, n_classes, *, include_abstain=False, dtype=np.float64):
    """Sparse one-hot encoding of a label matrix.

    Column ``j * n_classes + c`` (or ``j * (n_classes + 1) + c + 1`` with
    ``include_abstain``; column ``j * (n_classes + 1)`` is then the abstain
    slot) holds the vote of source ``j`` for class ``c``. Every label-model
    step is one product with this matrix.

    Parameters
    ----------
    L : ndarray of shape (n_samples, n_sources) or (n_samples, n_sources, n_classes)
        A validated hard or soft label matrix.
    n_classes : int
        Number of classes.
    include_abstain : bool, default=False
        Add one abstain column per source, so that every (sample, source)
        fibre sums to one.
    dtype : dtype, default=np.float64
        Data type of the stored values.

    Returns
    -------
    indicator : scipy.sparse.csr_matrix of shape (n_samples, n_sources * K)
        With ``K = n_classes`` or ``n_classes + 1``.

    Examples
    --------
    >>> import numpy as np
    >>> vote_indicator(np.array([[1, -1]]), 2).toarray()
    array([[0., 1., 0., 0.]])
    >>> vote_indicator(np.array([[1, -1]]), 2, include_abstain=True).toarray()
    array([[0., 0., 1., 1., 0., 0.]])
    """
    n_samples, n_sources = L.shape[:2]
    width = n_classes + 1 if include_abstain else n_classes
    shape = (n_samples, n_sources * width)
    if L.ndim == 3:
        if include_abstain:
            abstain_mass = np.clip(1.0 - L.sum(axis=2, keepdims=True), 0.0, None)
            dense = np.concatenate([abstain_mass, L], axis=2)
        else:
            dense = L
        return sp.csr_matrix(dense.reshape(shape).astype(dtype, copy=False))
    offsets = (np.arange(n_sources, dtype=np.int64) * width)[None, :]
    if include_abstain:
        # Exactly one entry per (sample, source): a regular CSR structure.
        indices = (offsets + L.astype(np.int64) + 1).ravel()
        indptr = np.arange(0, n_samples * n_sources + 1, n_sources, dtype=np.int64)
    else:
        voted = L >= 0
        indices = (offsets + L.astype(np.int64))[voted]
        indptr = np.zeros(n_samples + 1, dtype=np.int64)
        np.cumsum(voted.sum(axis=1), out=indptr[1:])
    data = np.ones(indices.size, dtype=dtype)
    return sp.csr_matrix((data, indices, indptr), shape=shape)


def unique_rows(L):
    """Unique row patterns of a label matrix, with inverse map and counts.

    Label models depend on ``L`` only through its row patterns, and a handful
    of sources rarely produce more than a few hundred patterns, so fitting on
    the unique rows with count weights is much cheaper than on all rows.

    Parameters
    ----------
    L : ndarray of shape (n_samples, n_sources) or (n_samples, n_sources, n_classes)
        A hard or soft label matrix.

    Returns
    -------
    patterns : ndarray of shape (n_patterns, ...)
        The distinct rows of ``L`` (in the order of their byte strings).
    inverse : ndarray of shape (n_samples,)
        ``patterns[inverse]`` equals ``L``.
    counts : ndarray of shape (n_patterns,)
        Number of rows of ``L`` equal to each pattern.

    Examples
    --------
    >>> import numpy as np
    >>> patterns, inverse, counts = unique_rows(np.array([[0, 1], [0, 1], [1, -1]]))
    >>> counts.tolist(), inverse.tolist()
    ([2, 1], [0, 0, 1])
    """
    flat = np.ascontiguousarray(L.reshape(L.shape[0], -1))
    # Comparing rows as opaque byte strings sorts one key instead of m keys.
    rows = flat.view(np.dtype((np.void, flat.dtype.itemsize * flat.shape[1]))).ravel()
    _, first, inverse, counts = np.unique(
        rows, return_index=True, return_inverse=True, return_counts=True
    )
    return L[first], inverse.ravel(), counts
