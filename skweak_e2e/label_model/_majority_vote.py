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

__all__ = ["MajorityVote"]


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
