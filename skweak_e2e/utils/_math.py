"""Row-wise softmax and log-sum-exp: the one home of these small kernels.

Every layer normalises class scores the same way (label-model tensor forms,
the influence end models, the torch backend's logits), so they share these
functions rather than each writing ``exp(Z - logsumexp(Z))``.
"""

import numpy as np

__all__ = ["logsumexp_rows", "softmax_columns_", "softmax_rows"]


def logsumexp_rows(Z):
    """Row-wise log-sum-exp of a ``(n, C)`` array.

    Faster than :func:`scipy.special.logsumexp` for the small class counts of
    this library (no masking of infinite maxima: scores are finite here).

    Parameters
    ----------
    Z : ndarray of shape (n, C)

    Returns
    -------
    lse : ndarray of shape (n,)

    Examples
    --------
    >>> import numpy as np
    >>> logsumexp_rows(np.log([[1.0, 3.0]]))
    array([1.38629436])
    """
    top = Z.max(axis=1)
    return top + np.log(np.exp(Z - top[:, None]).sum(axis=1))


def softmax_rows(Z):
    """Row-wise softmax of a ``(n, C)`` array of scores.

    Parameters
    ----------
    Z : ndarray of shape (n, C)

    Returns
    -------
    proba : ndarray of shape (n, C)
        Each row sums to 1.

    Examples
    --------
    >>> import numpy as np
    >>> softmax_rows(np.log([[1.0, 3.0]]))
    array([[0.25, 0.75]])
    """
    return np.exp(Z - logsumexp_rows(Z)[:, None])


def softmax_columns_(St):
    """Column-wise softmax and log-sum-exp of ``St`` ``(C, n)``, in place.

    The transposed layout keeps each class a contiguous row, which is what the
    grouped vote-code engine produces; ``St`` is overwritten to save an
    ``(n, C)`` temporary on large matrices.

    Parameters
    ----------
    St : ndarray of shape (C, n), float64
        Overwritten with the probabilities.

    Returns
    -------
    proba_t : ndarray of shape (C, n)
        ``St`` itself; each column sums to 1.
    lse : ndarray of shape (n,)
        Log-sum-exp of each column of the input.

    Examples
    --------
    >>> import numpy as np
    >>> proba_t, lse = softmax_columns_(np.log([[1.0], [3.0]]))
    >>> proba_t.ravel(), lse
    (array([0.25, 0.75]), array([1.38629436]))
    """
    top = St.max(axis=0)
    St -= top
    np.exp(St, out=St)
    total = St.sum(axis=0)
    St /= total
    np.log(total, out=total)
    total += top
    return St, total
