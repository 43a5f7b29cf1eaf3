"""Label models on sparse label matrices: every step costs O(votes).

Internal to :mod:`skweak_e2e.label_model`. A sparse label matrix (see
:mod:`skweak_e2e.utils._crowd`) stores ``k + 1`` for a vote for class ``k``;
the implicit zero is abstain. With ``V`` the vote one-hot matrix of shape
(n_samples, n_sources n_classes) (column ``j C + k`` counts the votes of
source ``j`` for class ``k``), the tensor-form scores are

    ``S[i, c] = sum_j W[j, 0, c] + sum_(votes (i, j, k)) (W[j, k + 1, c] - W[j, 0, c])``

that is ``S = b + V D`` with ``b = sum_j W[j, 0, :]`` (every source abstains
once by default) and ``D[j C + k] = W[j, k + 1] - W[j, 0]`` (a vote replaces
one abstain). The expected outcome counts are the transpose: ``V^T T`` for
the votes, and for the abstain outcome the class mass minus the votes.
Nothing of size n_samples x n_sources is ever built. A cell labelled
several times (a repeated label) is several observations: it adds its
``D`` row once per label.
"""

import numpy as np
import scipy.sparse as sp

from ..utils._math import softmax_rows
from ..utils._crowd import sparse_is_covered

__all__ = [
    "SparseVoteData",
    "ImplicitAbstainOnehot",
    "sparse_exp_proba",
    "sparse_overlaps",
    "sparse_snorkel_loss",
    "sparse_tensor_scores",
    "vote_onehot",
]


def vote_onehot(L, n_classes, active=None):
    """Vote one-hot ``V`` (n_samples, n_sources C) of a validated sparse ``L``.

    With ``active`` (sorted source indices) only those sources are kept,
    renumbered ``0..len(active)-1``. Repeated labels add up (counts).
    """
    n_samples, n_sources = L.shape
    cols = L.indices.astype(np.int64)
    codes = L.data.astype(np.int64) - 1
    # A copy: sum_duplicates below rewrites V's row pointers in place, and
    # they must not be L's (the caller's matrix would lose its repeats).
    indptr = L.indptr.copy()
    if active is not None and len(active) < n_sources:
        position = np.full(n_sources, -1, dtype=np.int64)
        position[active] = np.arange(len(active))
        cols = position[cols]
        keep = cols >= 0
        rows = np.repeat(np.arange(n_samples), np.diff(indptr))[keep]
        cols, codes = cols[keep], codes[keep]
        indptr = np.zeros(n_samples + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=n_samples), out=indptr[1:])
        n_sources = len(active)
    V = sp.csr_matrix(
        (np.ones(len(cols)), cols * n_classes + codes, indptr),
        shape=(n_samples, n_sources * n_classes),
    )
    V.sum_duplicates()
    return V


def _score_tables(W):
    """``b`` (C,) and ``D`` (m C, C) of a tensor form (see the module docstring)."""
    base = W[:, 0, :].sum(axis=0)
    D = (W[:, 1:, :] - W[:, :1, :]).reshape(-1, W.shape[2])
    return base, D


def sparse_tensor_scores(L, W, V=None):
    """``S[i, c] = sum_j W[j, L[i, j] + 1, c]`` of a sparse ``L``, as (n, C)."""
    if V is None:
        V = vote_onehot(L, W.shape[2])
    base, D = _score_tables(W)
    S = np.asarray(V @ D)
    S += base
    return S


def sparse_exp_proba(L, W):
    """Softmax of the tensor-form scores of a sparse ``L``."""
    return softmax_rows(sparse_tensor_scores(L, W))


class SparseVoteData:
    """Sparse votes for Dawid-Skene's EM (the interface of ``_HardData``).

    Parameters
    ----------
    L : scipy.sparse.csr_matrix of shape (n_samples, n_sources)
        Validated sparse votes (stored value = class + 1).
    n_classes : int
    sample_weight : ndarray of shape (n_samples,), default=None
    active : ndarray of int, default=None
        The sources EM runs on (silent ones left out).
    """

    def __init__(self, L, n_classes, sample_weight=None, active=None):
        self.V = vote_onehot(L, n_classes, active)
        self.C = n_classes
        self.n_sources = self.V.shape[1] // n_classes
        self.weights = None if sample_weight is None else np.asarray(sample_weight, float)
        w = np.ones(L.shape[0]) if self.weights is None else self.weights
        votes = np.asarray(w @ self.V).reshape(self.n_sources, n_classes)
        self.outcome_counts = np.empty((self.n_sources, n_classes + 1))
        self.outcome_counts[:, 1:] = votes
        # Repeated labels can outnumber the rows of a source: no negative count.
        self.outcome_counts[:, 0] = np.clip(w.sum() - votes.sum(axis=1), 0.0, None)

    def raw_scores_t(self, W):
        base, D = _score_tables(W)
        # EM works on (C, n): each class a contiguous row.
        St = np.ascontiguousarray(np.asarray(self.V @ D).T)
        St += base[:, None]
        return St

    def scores_t(self, W):
        """Full scores (C, n); their sum needs no offset (0.0)."""
        return self.raw_scores_t(W), 0.0

    def counts_t(self, Tt):
        C = self.C
        Tw = Tt if self.weights is None else Tt * self.weights
        class_mass = Tw.sum(axis=1)
        # (C, n) @ (n, m C) streams Tw and scatters into a small output: about
        # twice as fast as V^T @ Tw^T, which gathers rows of Tw at random.
        N_votes = np.asarray(Tw @ self.V).T.reshape(self.n_sources, C, C)
        N = np.empty((self.n_sources, C + 1, C))
        N[:, 1:, :] = N_votes
        # The abstain outcome is the implicit zero: class mass minus the votes
        # (clipped: rounding, and repeated labels, may leave it below zero).
        np.clip(class_mass[None, :] - N_votes.sum(axis=1), 0.0, None, out=N[:, 0, :])
        return N


# ------------------------------------------------------------------ Snorkel
def sparse_overlaps(L, n_classes, sample_weight=None, V=None):
    """Sparse ``sum_i w_i psi_i psi_i^T`` and ``sum_i w_i psi_i`` of a sparse ``L``.

    ``psi_i`` is row i of the vote one-hot (``V``, built from ``L`` when
    None); the Gram matrix has one entry per pair of (source, class)
    outcomes that co-occur on some row, so its size grows with the votes,
    not with n_sources^2.
    """
    if V is None:
        V = vote_onehot(L, n_classes)
    Vw = V if sample_weight is None else sp.diags(sample_weight) @ V
    gram = (V.T @ Vw).tocsr()
    first = np.asarray(Vw.sum(axis=0)).ravel()
    return gram, first


def drop_source_blocks(O, n_classes):
    """A copy of the sparse ``O`` without the (C x C) blocks of one source."""
    O = O.tocoo()
    keep = (O.row // n_classes) != (O.col // n_classes)
    return sp.csr_matrix((O.data[keep], (O.row[keep], O.col[keep])), shape=O.shape)


def sparse_snorkel_loss(mu, O_masked, q, class_prior, n_sources, mu_init=None, l2=0.0,
                        O_norm2=None):
    """Snorkel's objective and gradient with a sparse, masked overlap matrix.

    The same ``J = ||M * (O - A)||_F^2 + ||mu p - q||^2 (+ l2 term)`` as the
    dense ``snorkel_loss`` with ``A = mu P mu^T``, expanded so that nothing
    of size d x d is formed:
    ``||M * (O - A)||^2 = ||M O||^2 - 2 <M O, A> + ||A||^2 - sum_j ||A_jj||^2``,
    with ``||A||^2 = sum((mu_p^T mu_p) * (mu^T mu))`` and the diagonal blocks
    ``A_jj = mu_p,j mu_j^T``; the gradient
    ``-4 (M O mu_p - mu_p (mu^T mu_p) + [mu_p,j (mu_j^T mu_p,j)]_j) + 2 r p^T``.
    Costs O(nnz(O) C + d C^2) per call.

    ``O_masked`` is ``O`` with its same-source blocks dropped
    (:func:`drop_source_blocks`); ``O_norm2`` its squared Frobenius norm.
    """
    C = mu.shape[1]
    mu_p = mu * class_prior
    Om_mu_p = np.asarray(O_masked @ mu_p)
    if O_norm2 is None:
        O_norm2 = float(np.dot(O_masked.data, O_masked.data))
    mu3 = mu.reshape(n_sources, C, C)
    mu_p3 = mu_p.reshape(n_sources, C, C)
    G = mu.T @ mu_p  # (C, C): mu^T mu_p
    full = float(np.sum((mu_p.T @ mu_p) * (mu.T @ mu)))
    blocks_G = np.einsum("jkc,jkd->jcd", mu3, mu_p3)  # mu_j^T mu_p,j
    blocks = float(np.einsum(
        "jcd,jcd->", np.einsum("jkc,jkd->jcd", mu_p3, mu_p3),
        np.einsum("jkc,jkd->jcd", mu3, mu3),
    ))
    cross = float(np.vdot(mu, Om_mu_p))
    r = mu_p.sum(axis=1) - q
    loss = O_norm2 - 2.0 * cross + full - blocks + float(r @ r)
    RM = Om_mu_p - mu_p @ G + np.einsum("jkc,jcd->jkd", mu_p3, blocks_G).reshape(-1, C)
    grad = -4.0 * RM + 2.0 * np.outer(r, class_prior)
    return add_penalty(loss, grad, mu, mu_init, l2)


def add_penalty(loss, grad, mu, mu_init, l2):
    """Add Snorkel's ``l2 ||mu - mu_init||^2`` (and its gradient) in place.

    ``l2``: a float, or one weight per row of ``mu`` (shape (d, 1)), so
    that some sources are held to their start and others are not.
    """
    if np.any(l2 > 0):
        diff = mu - mu_init
        loss += float(np.sum(l2 * diff * diff))
        grad += 2.0 * l2 * diff
    return loss, grad


# --------------------------------------------------------- LinearizedApprox
class ImplicitAbstainOnehot:
    """The augmented one-hot ``A`` (abstain slot included) of a sparse ``L``.

    ``A`` has shape (n_samples, n_sources (C + 1)) and is dense in its
    abstain columns; it is never built. ``A @ W`` and ``A.T @ G`` are
    computed from the vote one-hot (see the module docstring).
    """

    def __init__(self, L, n_classes):
        self.V = vote_onehot(L, n_classes)
        self.C = n_classes
        self.n_sources = L.shape[1]
        self.shape = (L.shape[0], self.n_sources * (n_classes + 1))

    def __matmul__(self, W):
        return sparse_tensor_scores(None, W.reshape(self.n_sources, self.C + 1, -1),
                                    V=self.V)

    @property
    def T(self):
        return _Transposed(self)


class _Transposed:
    def __init__(self, A):
        self.A = A

    def __matmul__(self, G):
        A = self.A
        C = A.C
        G = np.asarray(G)
        votes = np.asarray(np.ascontiguousarray(G.T) @ A.V).T.reshape(
            A.n_sources, C, G.shape[1]
        )
        out = np.empty((A.n_sources, C + 1, G.shape[1]))
        out[:, 1:] = votes
        out[:, 0] = G.sum(axis=0)[None, :] - votes.sum(axis=1)
        return out.reshape(-1, G.shape[1])


def sparse_rows(L, rows):
    """Rows of a sparse ``L`` (repeated entries kept, unlike column indexing)."""
    return L[rows]


__all__ += ["drop_source_blocks", "sparse_is_covered", "sparse_rows"]
