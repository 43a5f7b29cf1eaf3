"""Majority vote."""

import numpy as np
import scipy.sparse as sp

from ..utils._docstring import (
    FITTED_CLASSES_DOC,
    FITTED_COVERAGE_DOC,
    TIE_BREAK_DOC,
    Substitution,
)
from ..utils._hints import snorkel_hints
from ..utils._sklearn_compat import StrOptions
from ._base import BaseLabelModel
from ._sparse_votes import sparse_tensor_scores
from ._tensor_form import scores_to_proba

__all__ = ["MajorityVote", "onehot_majority_sums"]


def onehot_majority_sums(psi, n_classes, weights=None):
    """Sums over the rows of the soft majority vote, per class and per vote.

    With ``T_i`` the soft majority vote of row i (vote fractions; uniform
    on rows with no vote) and ``psi_i`` its vote one-hot (a row of
    :func:`~skweak_e2e.utils.vote_indicator`), returns ``sum_i w_i psi_i
    T_i^T`` and ``sum_i w_i T_i``. Their ratio is every source's
    vote-given-class rate under the majority vote, the starting point of
    :class:`DawidSkene`'s EM and of :class:`Snorkel`'s rules. Sums of row
    blocks add up to those of the matrix. It reads the one-hot that the
    caller already built for the vote overlaps, so ``L`` is encoded once.

    Parameters
    ----------
    psi : ndarray or scipy.sparse matrix of shape (n_rows, n_sources * n_classes)
        One row per sample, or per distinct pattern (``weights`` then holds
        the pattern weights). A sparse ``psi`` stays sparse: the posteriors
        are formed for the covered rows only (memory grows with the votes,
        not with n_rows x n_classes), and the uncovered rows add their
        uniform share directly.
    n_classes : int
    weights : ndarray of shape (n_rows,), default=None

    Returns
    -------
    vote_class : ndarray of shape (n_sources * n_classes, n_classes)
    class_mass : ndarray of shape (n_classes,)

    Examples
    --------
    >>> import numpy as np
    >>> from skweak_e2e.utils import vote_indicator
    >>> psi = vote_indicator(np.array([[0, 0, 1], [-1, -1, -1]]), 2)
    >>> vote_class, mass = onehot_majority_sums(psi, 2)
    >>> mass.round(3)  # 2/3 + 1/2 and 1/3 + 1/2
    array([1.167, 0.833])
    >>> (vote_class[:2] / mass).round(2)  # source 0 voted 0: P(vote | class)
    array([[0.57, 0.4 ],
           [0.  , 0.  ]])
    """
    n_rows, d = psi.shape
    w = np.ones(n_rows) if weights is None else np.asarray(weights, np.float64)
    if sp.issparse(psi):
        rows = np.arange(d)
        per_class = sp.csr_matrix((np.ones(d), (rows, rows % n_classes)), shape=(d, n_classes))
        counts = (psi @ per_class).tocsr()  # (n_rows, C), the votes per class
        total = np.asarray(counts.sum(axis=1)).ravel()
        covered = total > 0
        scale = np.where(covered, w / np.where(covered, total, 1.0), 0.0)
        T = (sp.diags(scale) @ counts).tocsr()  # weighted posteriors, covered rows
        vote_class = np.asarray((psi.T @ T).todense())
        class_mass = np.asarray(T.sum(axis=0)).ravel() + w[~covered].sum() / n_classes
        return vote_class, class_mass
    # Votes per class: a product with stacked identities (exact in float32,
    # the counts being small integers; several times faster than a sum over
    # a reshaped axis).
    per_class = np.tile(np.eye(n_classes, dtype=psi.dtype), (d // n_classes, 1))
    counts = np.asarray(psi @ per_class, dtype=np.float64)
    total = counts.sum(axis=1, keepdims=True)
    T = np.where(total > 0, counts / np.where(total > 0, total, 1.0), 1.0 / n_classes)
    T *= w[:, None]
    if psi.dtype == np.float64:
        return psi.T @ T, T.sum(axis=0)
    # A float32 chunk of the dense overlaps: float64 products (every path
    # gives the same start to rounding) over slices small enough for cache.
    vote_class = np.zeros((d, n_classes))
    for a in range(0, n_rows, _SLICE_ROWS):
        vote_class += psi[a : a + _SLICE_ROWS].astype(np.float64).T @ T[a : a + _SLICE_ROWS]
    return vote_class, T.sum(axis=0)


_SLICE_ROWS = 4096


@Substitution(
    tie_break=TIE_BREAK_DOC,
    fitted_classes=FITTED_CLASSES_DOC,
    fitted_coverage=FITTED_COVERAGE_DOC,
)
class MajorityVote(BaseLabelModel):
    """Majority vote over the sources, as a transformer.

    ``predict_proba`` returns the fraction of votes each class receives
    ("soft" majority vote), or, with ``method="argmax"``, the uniform
    distribution over the classes with the most votes. Rows where every
    source abstains get ``class_prior`` (uniform by default).

    Parameters
    ----------
    method : {"soft", "argmax"}, default="soft"
        ``"soft"``: vote fractions. ``"argmax"``: uniform over the tied
        winners, as snorkel's ``MajorityLabelVoter``.
    n_classes : int, default=None
        Number of classes; inferred as ``max(L) + 1`` when None.
    abstain : int, default=-1
        Value of ``L`` that means "no vote".
    class_prior : array-like of shape (n_classes,), default=None
        Output for rows with no vote; uniform when None.
    {tie_break}
    random_state : int, RandomState instance or None, default=None
        Seeds ``tie_break="random"``.

    Attributes
    ----------
    {fitted_classes}
    class_prior_ : ndarray of shape (n_classes,)
        Output for rows with no vote.
    {fitted_coverage}
    source_weights_ : ndarray of shape (n_sources,)
        1 for active sources, 0 for silent ones.
    W_ : ndarray of shape (n_sources, n_classes + 1, n_classes)
        Tensor form (``activation="identity"``): ``W_[j, k + 1, c] = 1[k == c]``
        for active sources, zero elsewhere.

    See Also
    --------
    DawidSkene : Learns a confusion matrix per source.
    Snorkel : Learns source accuracies from agreements.

    Examples
    --------
    >>> import numpy as np
    >>> from skweak_e2e import MajorityVote
    >>> L = np.array([[0, 0, 1], [2, -1, -1], [-1, -1, -1], [1, 1, -1]])
    >>> mv = MajorityVote().fit(L)
    >>> mv.predict_proba(L).round(3)
    array([[0.667, 0.333, 0.   ],
           [0.   , 0.   , 1.   ],
           [0.333, 0.333, 0.333],
           [0.   , 1.   , 0.   ]])
    >>> mv.predict(L)  # the uncovered row is a three-way tie: a seeded draw
    array([0, 2, 2, 1])
    >>> MajorityVote(tie_break="abstain").fit(L).predict(L)
    array([ 0,  2, -1,  1])
    """

    activation = "identity"

    _parameter_constraints: dict = {
        **BaseLabelModel._parameter_constraints,
        "method": [StrOptions({"soft", "argmax"})],
    }

    @snorkel_hints
    def __init__(
        self,
        *,
        method="soft",
        n_classes=None,
        abstain=-1,
        class_prior=None,
        tie_break="random",
        random_state=None,
    ):
        self.method = method
        self.n_classes = n_classes
        self.abstain = abstain
        self.class_prior = class_prior
        self.tie_break = tie_break
        self.random_state = random_state

    def _fit(self, L, sample_weight=None):
        self._fit_weights(L.shape[1])

    def _fit_blocks(self, blocks, summary):
        # Only the silent sources, counted in the summary pass.
        self._fit_weights(summary.n_sources)

    def _fit_weights(self, n_sources):
        C = self.n_classes_
        self.source_weights_ = np.ones(n_sources)
        self.source_weights_[self.silent_sources_] = 0.0
        W = np.zeros((n_sources, C + 1, C))
        W[:, 1:, :] = np.eye(C)[None]
        self.W_ = W * self.source_weights_[:, None, None]

    def _predict_proba(self, L):
        active = self.source_weights_ > 0
        if sp.issparse(L):
            # W_ counts the votes of the active sources (repeated labels too).
            counts = sparse_tensor_scores(L, self.W_)
        else:
            if not active.all():  # avoid copying a large matrix in the common case
                L = L[:, active]
            if L.ndim == 3:
                counts = L.sum(axis=1)
            else:
                # count_nonzero per class is a single pass over a small-int array.
                counts = np.stack(
                    [np.count_nonzero(L == c, axis=1) for c in range(self.n_classes_)],
                    axis=1,
                ).astype(np.float64)
        if self.method == "argmax":
            top = counts.max(axis=1, keepdims=True)
            counts = ((counts == top) & (top > 0)).astype(np.float64)
        return scores_to_proba(counts, "identity", self.class_prior_)
