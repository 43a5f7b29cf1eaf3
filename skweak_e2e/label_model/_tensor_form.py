"""The unified tensor form of label models.

Every label model of the library can be written as a tensor
``W`` of shape ``(n_sources, n_classes + 1, n_classes)`` and an activation
``sigma`` (identity or exp): with ``S[i, c] = sum_j W[j, L[i, j] + 1, c]``,

    ``proba[i, c] = sigma(S[i, c]) / sum_k sigma(S[i, k])``.

Slot 0 of the middle axis is the abstain outcome. This form is what
influence analysis decomposes (one entry of ``W`` per (sample, source, class)
term), and it is also how every label model computes ``predict_proba``.
"""

import numpy as np
from ..utils._math import softmax_columns_, softmax_rows
from ._vote_codes import VoteCodes, soft_augmented

__all__ = [
    "tensor_scores",
    "scores_to_proba",
    "apply_tensor_form",
    "expected_vote_counts",
    "exp_proba",
]

ACTIVATIONS = ("identity", "exp")


def tensor_scores(L, W):
    """Compute the scores ``S[i, c] = sum_j W[j, L[i, j] + 1, c]``.

    Soft votes use their augmented fibres ``Ã`` (abstain mass in slot 0):
    ``S[i, c] = sum_j sum_k Ã[i, j, k] W[j, k, c]``.

    Parameters
    ----------
    L : ndarray of shape (n_samples, n_sources) or (n_samples, n_sources, n_classes)
        Validated hard votes (``-1`` = abstain) or soft votes.
    W : ndarray of shape (n_sources, n_classes + 1, n_classes)
        Tensor form of a label model.

    Returns
    -------
    S : ndarray of shape (n_samples, n_classes)
        Class scores, before the activation.

    Examples
    --------
    >>> import numpy as np
    >>> W = np.zeros((2, 3, 2)); W[:, 1, 0] = W[:, 2, 1] = 1.0
    >>> tensor_scores(np.array([[0, 1], [1, -1]]), W)
    array([[1., 1.],
           [0., 1.]])
    """
    n_samples, n_sources = L.shape[:2]
    n_classes = W.shape[2]
    if L.ndim == 3:
        aug = soft_augmented(L).reshape(n_samples, n_sources * (n_classes + 1))
        return aug @ W.reshape(n_sources * (n_classes + 1), n_classes)
    return np.ascontiguousarray(VoteCodes(L, n_classes).scores_t(W).T)


def scores_to_proba(S, activation, fallback=None):
    """Normalise scores into probabilities.

    Parameters
    ----------
    S : ndarray of shape (n_samples, n_classes)
    activation : {"identity", "exp"}
    fallback : ndarray of shape (n_classes,), default=None
        Output for rows whose identity scores sum to zero (uncovered rows);
        uniform when None.

    Returns
    -------
    proba : ndarray of shape (n_samples, n_classes)

    Examples
    --------
    >>> import numpy as np
    >>> scores_to_proba(np.array([[1.0, 3.0], [0.0, 0.0]]), "identity")
    array([[0.25, 0.75],
           [0.5 , 0.5 ]])
    """
    if activation == "exp":
        return softmax_rows(S)
    if activation != "identity":
        raise ValueError(f"activation must be one of {ACTIVATIONS}; got {activation!r}.")
    n_classes = S.shape[1]
    if fallback is None:
        fallback = np.full(n_classes, 1.0 / n_classes)
    Z = S.sum(axis=1, keepdims=True)
    empty = Z[:, 0] <= 0
    proba = S / np.where(empty[:, None], 1.0, Z)
    proba[empty] = fallback
    return proba


def apply_tensor_form(L, W, activation, fallback=None):
    """Label-model probabilities from a tensor form.

    Parameters
    ----------
    L : ndarray of shape (n_samples, n_sources) or (n_samples, n_sources, n_classes)
        Validated hard votes (``-1`` = abstain) or soft votes.
    W : ndarray of shape (n_sources, n_classes + 1, n_classes)
        Tensor form of a label model (slot 0 = abstain, slot k + 1 = vote k).
    activation : {"identity", "exp"}
        ``"identity"`` normalises the scores, ``"exp"`` takes their softmax.
    fallback : ndarray of shape (n_classes,), default=None
        Output of identity models on uncovered rows.

    Returns
    -------
    proba : ndarray of shape (n_samples, n_classes)
        Label-model probabilities; each row sums to 1.

    Examples
    --------
    >>> import numpy as np
    >>> W = np.zeros((2, 3, 2)); W[:, 1, 0] = W[:, 2, 1] = 1.0
    >>> apply_tensor_form(np.array([[0, 0], [0, 1]]), W, "identity")
    array([[1. , 0. ],
           [0.5, 0.5]])
    """
    return scores_to_proba(tensor_scores(L, W), activation, fallback)


def expected_vote_counts(L, T, n_classes, sample_weight=None):
    """Class-weighted outcome counts ``N[j, k, c] = sum_i w_i T[i, c] 1[L[i, j] + 1 = k]``.

    This is the transpose of the tensor-form product: the M-step of
    Dawid-Skene and the gradient of a tensor form both reduce to it.

    Parameters
    ----------
    L : ndarray of shape (n_samples, n_sources) or (n_samples, n_sources, n_classes)
        Validated hard votes (``-1`` = abstain) or soft votes (fractional
        counts of their augmented fibres).
    T : ndarray of shape (n_samples, n_classes)
        Per-sample class weights (e.g. posteriors).
    n_classes : int
        Number of classes.
    sample_weight : ndarray of shape (n_samples,), default=None
        Per-sample weights ``w_i``; all ones when None.

    Returns
    -------
    N : ndarray of shape (n_sources, n_classes + 1, n_classes)
        ``N[j, k, c]``: outcome slot ``k`` (0 = abstain, ``k + 1`` = vote k)
        of source ``j``, weighted by class ``c``.

    Examples
    --------
    >>> import numpy as np
    >>> N = expected_vote_counts(np.array([[0], [-1]]), np.array([[1., 0.], [.5, .5]]), 2)
    >>> N[0]
    array([[0.5, 0.5],
           [1. , 0. ],
           [0. , 0. ]])
    """
    T = np.asarray(T, dtype=np.float64)
    if sample_weight is not None:
        T = T * np.asarray(sample_weight, dtype=np.float64)[:, None]
    n_samples, n_sources = L.shape[:2]
    if L.ndim == 3:
        aug = soft_augmented(L).reshape(n_samples, n_sources * (n_classes + 1))
        return (aug.T @ T).reshape(n_sources, n_classes + 1, T.shape[1])
    return VoteCodes(L, n_classes).counts_t(np.ascontiguousarray(T.T))


def exp_proba(L, W):
    """``softmax(S)`` of the tensor form (sigma = exp), without (n, C) temporaries.

    Parameters
    ----------
    L : ndarray of shape (n_samples, n_sources) or (n_samples, n_sources, n_classes)
        Validated votes.
    W : ndarray of shape (n_sources, n_classes + 1, n_classes)

    Returns
    -------
    proba : ndarray of shape (n_samples, n_classes)
    """
    if L.ndim == 3:
        return apply_tensor_form(L, W, "exp")
    # The softmax only sees score differences: class 0 is the reference.
    proba_t, _ = softmax_columns_(VoteCodes(L, W.shape[2]).relative_scores_t(W))
    return np.ascontiguousarray(proba_t.T)
