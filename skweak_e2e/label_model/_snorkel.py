"""The Snorkel (0.10) label model: matrix completion on the vote overlaps."""

import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linear_sum_assignment
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ..utils._docstring import (
    FITTED_CLASSES_DOC,
    FITTED_COVERAGE_DOC,
    TIE_BREAK_DOC,
    Substitution,
)
from ..utils._dask import is_dask_collection, map_sum
from ..utils._hints import snorkel_hints
from ..utils._sklearn_compat import Interval, StrOptions
from ..utils._threads import serial_blas
from ..utils._warnings import user_stacklevel
from ..utils._label_matrix import unique_rows, vote_indicator
from ._base import BaseLabelModel
from ._dask import validated_block
from ._majority_vote import onehot_majority_sums
from ._overlaps import overlap_sums
from ._prior import estimate_class_prior
from ._sparse_votes import (
    add_penalty,
    drop_source_blocks,
    sparse_exp_proba,
    sparse_overlaps,
    sparse_snorkel_loss,
    vote_onehot,
)
from ._tensor_form import exp_proba
from ._vote_codes import compress_rows, pattern_weights

__all__ = ["Snorkel"]

# Training has not converged when the loss still moved by more than this
# fraction of its value in one of the last epochs. Measured on planted data:
# 100 SGD epochs leave changes of 1e-3 to 1e-2 per epoch (and accuracy on the
# table), 500 leave 1e-6, after which nothing changes in the predictions.
_CONVERGENCE_RTOL = 1e-4
_CONVERGENCE_WINDOW = 5  # last epochs inspected (Adam oscillates)
# Absolute floor of that test: a loss this small is numerically zero.
_LOSS_FLOOR = 1e-12
# l2="auto": weight of the penalty that holds the one-class rules to their
# majority-vote start (the other sources get none, as in snorkel). The
# weakest weight that held them on a new user's MR task, where correlated
# lexicon sources pulled narrow rules below chance (0.1: Snorkel 63.2 %
# against the majority vote's 63.5; 0.3: 64.9), and on Yoruba (0.1: 52.8;
# 0.3: 53.6). 0.5-10 gave the same accuracies, with a sharper posterior that
# LinearizedApprox follows less closely (YouTube mean |dp| 0.019 at 0.3,
# 0.022 at 1).
_RULE_L2 = 0.3


# ---------------------------------------------------------------- statistics
def _block_overlaps(L_block, weight, n_classes, abstain, allow_soft, with_start):
    L, weight, _ = validated_block(L_block, weight, n_classes, abstain, allow_soft)
    # with_start: the majority vote's sums too (init "auto" or "majority_vote")
    return overlap_sums(L, n_classes, weight, majority=with_start)


# ------------------------------------------------------------------ objective
def _zero_source_blocks(R, n_sources, n_classes):
    """Zero the (n_classes x n_classes) diagonal blocks of R in place."""
    blocks = R.reshape(n_sources, n_classes, n_sources, n_classes)
    idx = np.arange(n_sources)
    blocks[idx, :, idx, :] = 0.0
    return R


def snorkel_loss(mu, O, q, class_prior, n_sources, mu_init=None, l2=0.0):
    """Snorkel's matrix-completion objective and its gradient.

    ``J = ||M * (O - mu P mu^T)||_F^2 + ||mu p - q||^2 + l2 ||mu - mu_init||_F^2``
    with ``P = diag(p)`` and ``M`` the mask that is zero on the blocks of
    the same source.

    Parameters
    ----------
    mu : ndarray of shape (d, n_classes)
        ``mu[j C + k, c] = P(source j votes k | y = c)``.
    O : ndarray of shape (d, d)
        Overlap matrix.
    q : ndarray of shape (d,)
        Vote marginals (the diagonal of ``O`` for hard votes).
    class_prior : ndarray of shape (n_classes,)
    n_sources : int
    mu_init : ndarray of shape (d, n_classes), default=None
        Centre of the l2 penalty.
    l2 : float or ndarray of shape (d, 1), default=0.0
        One weight, or one per row of ``mu``.

    Returns
    -------
    loss : float
    grad : ndarray of shape (d, n_classes)
    """
    if sp.issparse(O):  # crowd-sized sources: the O(nnz) expansion
        return sparse_snorkel_loss(mu, O, q, class_prior, n_sources, mu_init, l2)
    n_classes = mu.shape[1]
    mu_p = mu * class_prior
    R = O - mu_p @ mu.T
    _zero_source_blocks(R, n_sources, n_classes)
    r = mu_p.sum(axis=1) - q
    loss = float(np.vdot(R, R) + r @ r)
    grad = -4.0 * (R @ mu_p) + 2.0 * np.outer(r, class_prior)
    return add_penalty(loss, grad, mu, mu_init, l2)


# --------------------------------------------- objective without (m C)^2 arrays
# From this many (source, class) pairs on, the objective is evaluated without
# the dense (m C) x (m C) temporaries of snorkel_loss (mu P mu^T, R): they cost
# O((m C)^2) per epoch whatever the votes, 171 s and 2.6 GB for 5000 sources.
_FACTORED_MIN_D = 2048


class MaskedOverlaps:
    """The overlap matrix with its same-source blocks zeroed, as an operator.

    ``M * O`` (``M`` zero on the blocks of one source) is all the objective
    needs of ``O``, through products ``(M * O) @ mu`` and the constant
    ``||M * O||_F^2``. It is held either explicitly (a sparse or dense
    matrix) or, when the rows have few distinct patterns for their number
    of votes, as ``Psi.T diag(w) Psi - D``: ``Psi`` the sparse one-hot of the
    patterns, ``w`` their weights (divided by the total) and ``D`` the
    same-source blocks. Either way the memory and the cost of a product
    grow with the votes present, not with ``(m C)^2``.
    """

    def __init__(self, n_sources, n_classes, explicit=None, psi=None, weights=None):
        self.n_sources, self.n_classes = n_sources, n_classes
        C = n_classes
        if explicit is not None:
            if sp.issparse(explicit):
                coo = explicit.tocoo()
                keep = coo.row // C != coo.col // C
                explicit = sp.csr_matrix(
                    (coo.data[keep], (coo.row[keep], coo.col[keep])), shape=coo.shape
                )
                self.sq_norm = float(explicit.data @ explicit.data)
            else:
                explicit = _zero_source_blocks(np.array(explicit, copy=True), n_sources, C)
                self.sq_norm = float(np.vdot(explicit, explicit))
            self.explicit = explicit
            return
        self.explicit = None
        self.psi = psi.tocsr()
        self.weights = weights
        # Same-source blocks D[j] = sum_p w_p psi_pj psi_pj^T (diagonal for
        # hard votes, which put a single one per source).
        dense_rows = psi.shape[0] * n_sources * C * C <= 2**26
        if dense_rows:
            P = self.psi.toarray().reshape(-1, n_sources, C)
            self.blocks = np.einsum("p,pjk,pjl->jkl", weights, P, P)
        else:  # hard votes only reach here (soft psi is dense and small)
            diag = np.asarray(self.psi.T @ weights).ravel().reshape(n_sources, C)
            self.blocks = diag[:, :, None] * np.eye(C)[None]
        # ||Psi.T W Psi||_F^2 = ||W^1/2 Psi Psi.T W^1/2||_F^2 (patterns x patterns).
        root = sp.diags(np.sqrt(weights)) @ self.psi
        K = (root @ root.T).tocsr()
        self.sq_norm = float(K.data @ K.data) - float(np.vdot(self.blocks, self.blocks))

    def dot(self, mu):
        """``(M * O) @ mu`` for ``mu`` of shape (m C, C')."""
        if self.explicit is not None:
            return np.asarray(self.explicit @ mu)
        out = np.asarray(self.psi.T @ (self.weights[:, None] * (self.psi @ mu)))
        C = self.n_classes
        mu3 = mu.reshape(self.n_sources, C, -1)
        out -= np.einsum("jkl,jlc->jkc", self.blocks, mu3).reshape(out.shape)
        return out


def masked_overlaps(L, n_classes, sample_weight=None, majority=False):
    """:class:`MaskedOverlaps` of ``L`` and the vote marginals ``q``.

    The cheaper of the two forms is chosen from the pattern counts, before
    anything of size ``(m C)^2`` is allocated; a fit that needs more memory
    than the budget for either is refused with the amount it would need.
    With ``majority``, the majority vote's sums (:func:`onehot_majority_sums`,
    divided by the total weight) follow.
    """
    n_samples, n_sources = L.shape[:2]
    C = n_classes
    d = n_sources * C
    if L.ndim == 3:
        psi = sp.csr_matrix(L.reshape(n_samples, d))
        weights = np.ones(n_samples) if sample_weight is None else sample_weight
    else:
        unique = compress_rows(L, C)
        if unique is None:
            patterns, weights = L, (
                np.ones(n_samples) if sample_weight is None else sample_weight
            )
        else:
            first, inverse, counts = unique
            patterns = L[first]
            weights = pattern_weights(inverse, counts, sample_weight)
        psi = vote_indicator(patterns, C)
    total = float(weights.sum())
    weights = np.asarray(weights, dtype=np.float64) / total
    q = np.asarray(psi.T @ weights).ravel()
    start = onehot_majority_sums(psi, C, weights) if majority else ()
    votes = np.diff(psi.indptr).astype(np.float64)
    # Entries of the explicit form (at most), and work of one low-rank product.
    explicit_nnz = min(float(d) * d, float(votes @ votes))
    low_rank = max(float(psi.nnz), float(psi.shape[0]) ** 2)
    need = 8.0 * d * d if explicit_nnz > d * d / 4 else 40.0 * explicit_nnz
    need_low_rank = 24.0 * psi.shape[0] ** 2 + 24.0 * psi.nnz
    if low_rank < explicit_nnz or need > _MEMORY_BUDGET:
        if need_low_rank > _MEMORY_BUDGET:
            _refuse_memory(min(need, need_low_rank), d, L)
        return (MaskedOverlaps(n_sources, C, psi=psi, weights=weights), q, *start)
    weighted = sp.diags(weights) @ psi
    gram = psi.T @ weighted
    if explicit_nnz > d * d / 4:
        gram = gram.toarray()
    return (MaskedOverlaps(n_sources, C, explicit=gram), q, *start)


def snorkel_loss_factored(mu, overlaps, q, class_prior, mu_init=None, l2=0.0):
    """:func:`snorkel_loss` from a :class:`MaskedOverlaps`, in O(votes) memory.

    With ``mu_p = mu P``: ``||M * (O - mu P mu^T)||^2 = ||M * O||^2 - 2
    <(M * O) mu, mu_p> + ||mu^T mu_p||^2 - sum_j ||mu_j^T mu_pj||^2`` and the
    gradient's ``R mu_p = (M * O) mu_p - mu_p (mu^T mu_p) + [mu_pj (mu_j^T
    mu_pj)]_j``; nothing of size ``(m C)^2`` is formed.
    """
    n_sources, C = overlaps.n_sources, mu.shape[1]
    mu_p = mu * class_prior
    G = overlaps.dot(mu)  # (M * O) mu
    B = mu.T @ mu_p
    mu3, mu_p3 = mu.reshape(n_sources, -1, C), mu_p.reshape(n_sources, -1, C)
    B_j = np.einsum("jkc,jkd->jcd", mu3, mu_p3)
    quad = float(np.vdot(B, B.T)) - float(np.einsum("jcd,jdc->", B_j, B_j))
    cross = float(np.vdot(G, mu_p))
    r = mu_p.sum(axis=1) - q
    loss = overlaps.sq_norm - 2.0 * cross + quad + float(r @ r)
    R_mu_p = G * class_prior - mu_p @ B
    R_mu_p += np.einsum("jkc,jcd->jkd", mu_p3, B_j).reshape(R_mu_p.shape)
    grad = -4.0 * R_mu_p + 2.0 * np.outer(r, class_prior)
    loss, grad = add_penalty(max(loss, 0.0), grad, mu, mu_init, l2)
    return loss, grad


def initial_mu(q, prec_init, class_prior, n_sources):
    """Snorkel 0.10's starting point (before its random scale).

    ``mu_init[j C + k, c] = 1[k = c] clip(q[j C + k] prec_j / p_c, 0, 1)``.
    """
    n_classes = len(class_prior)
    prec = np.broadcast_to(np.asarray(prec_init, dtype=np.float64), (n_sources,))
    diag = np.clip(
        q.reshape(n_sources, n_classes) * prec[:, None] / class_prior[None, :], 0.0, 1.0
    )
    mu = np.zeros((n_sources, n_classes, n_classes))
    idx = np.arange(n_classes)
    mu[:, idx, idx] = diag
    return mu.reshape(n_sources * n_classes, n_classes)


def _optimise(mu, loss_grad, n_epochs, lr, optimizer, momentum):
    """Full-batch SGD with momentum (torch semantics) or Adam."""
    history = np.empty(n_epochs + 1)
    velocity = np.zeros_like(mu)
    second = np.zeros_like(mu)
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    for epoch in range(n_epochs):
        loss, grad = loss_grad(mu)
        if not np.isfinite(loss):
            raise FloatingPointError(
                f"Snorkel's loss became {loss} at epoch {epoch}; reduce lr "
                f"(currently {lr})."
            )
        history[epoch] = loss
        if optimizer == "sgd":
            velocity *= momentum
            velocity += grad
            mu = mu - lr * velocity
        else:
            t = epoch + 1
            velocity = beta1 * velocity + (1 - beta1) * grad
            second = beta2 * second + (1 - beta2) * grad**2
            step = (velocity / (1 - beta1**t)) / (np.sqrt(second / (1 - beta2**t)) + eps)
            mu = mu - lr * step
    history[n_epochs] = loss_grad(mu)[0]
    return mu, history


def default_mu_eps(n_samples):
    """Snorkel's clamping margin ``min(0.01, 10 ** -ceil(log10(n_samples)))``.

    Examples
    --------
    >>> [default_mu_eps(n) for n in (50, 999, 1000, 10**6)]
    [0.01, 0.001, 0.001, 1e-06]
    """
    digits = 0
    while 10**digits < n_samples:  # exact integer ceil(log10(n))
        digits += 1
    return min(0.01, 10.0 ** (-digits))


def break_symmetry(mu, class_prior, n_sources):
    """Permute the columns of ``mu`` so the sources look accurate.

    Classes whose priors agree to 3 decimals are interchangeable in the
    objective. Within each such group, the column permutation maximising
    ``sum_k A[k, sigma(k)]`` with ``A[k, c] = sum_j mu[j C + k, c] p_c`` is
    applied (Hungarian algorithm): the sources are right more often than not.

    Parameters
    ----------
    mu : ndarray of shape (n_sources * n_classes, n_classes)
    class_prior : ndarray of shape (n_classes,)
    n_sources : int

    Returns
    -------
    mu : ndarray of shape (n_sources * n_classes, n_classes)
        A column-permuted copy.
    """
    n_classes = mu.shape[1]
    A = mu.reshape(n_sources, n_classes, n_classes).sum(axis=0) * class_prior
    order = np.arange(n_classes)
    rounded = np.round(class_prior, 3)
    for value in np.unique(rounded):
        group = np.flatnonzero(rounded == value)
        if len(group) < 2:
            continue
        _, cols = linear_sum_assignment(-A[np.ix_(group, group)])
        order[group] = group[cols]
    return mu[:, order]


_MEMORY_BUDGET = 4 * 2**30  # bytes for the (m C) x (m C) matrices of a fit
_DENSE_COPIES = 4  # gram, O, mu P mu^T and R at the peak of the first epoch
# A sparse L keeps its vote Gram sparse when the dense statistics would exceed
# this many bytes, or when d = n_sources n_classes is above _DENSE_GRAM_WIDTH
# and the Gram fills less than _SPARSE_GRAM_FILL of its d x d entries (an
# epoch then costs O(nnz) instead of O(d^2): on a 1e5 x 1000 binary crowd,
# whose Gram is 39% full, 3.0 s instead of 8.6 s).
_SPARSE_GRAM_ABOVE = 256 * 2**20
_SPARSE_GRAM_FILL = 0.75
_DENSE_GRAM_WIDTH = 256


def _check_memory(L, n_classes, n_sources=None):
    """Refuse a fit whose (m C)^2 statistics exceed the memory budget.

    ``L`` (in memory) also counts the distinct sources for the message; with
    a dask ``L``, pass None and ``n_sources``.
    """
    n_sources = L.shape[1] if L is not None else n_sources
    d = n_sources * n_classes
    need = _DENSE_COPIES * 8 * d * d
    if need <= _MEMORY_BUDGET:
        return
    _refuse_memory(need, d, L)


def _refuse_memory(need, d, L):
    n_sources = L.shape[1] if L is not None else None
    distinct = ""
    if L is not None:
        # Error path only: how many sources remain once duplicates are dropped.
        columns = np.ascontiguousarray(np.moveaxis(L, 1, 0))
        distinct = f", {unique_rows(columns)[0].shape[0]} of them distinct"
    raise ValueError(
        f"Snorkel would need about {need / 2**30:.1f} GiB: its overlap statistic "
        f"is a (n_sources * n_classes)^2 = {d}^2 matrix (or, with few vote "
        "patterns, a patterns x patterns one), above the budget of "
        f"{_MEMORY_BUDGET / 2**30:g} GiB. L has {n_sources} sources{distinct}: drop the "
        "duplicated ones (np.unique(L, axis=1)), or use DawidSkene or "
        "MajorityVote, whose memory grows linearly with the number of sources."
    )


# ---------------------------------------------------------------- estimator
@Substitution(
    tie_break=TIE_BREAK_DOC,
    fitted_classes=FITTED_CLASSES_DOC,
    fitted_coverage=FITTED_COVERAGE_DOC,
)
class Snorkel(BaseLabelModel):
    """Snorkel's label model (matrix completion), in numpy.

    Sources are assumed conditionally independent given the class. Their
    class-conditional vote probabilities ``mu[j C + k, c] = P(source j votes
    k | y = c)`` are fitted so that the model reproduces the observed vote
    overlaps ``O = mean_i psi_i psi_i^T`` (``psi_i``: one-hot votes of row
    i, abstains omitted) on every pair of distinct sources, and the vote
    marginals, by minimising

    ``||M * (O - mu P mu^T)||_F^2 + ||mu p - diag(O)||^2 + l2 ||mu - mu_init||_F^2``

    with ``P = diag(class_prior)`` and ``M`` zero on the blocks of the same
    source. ``O`` is built once, so each epoch costs O((n_sources
    n_classes)^2 n_classes) whatever the number of samples. Training
    follows snorkel 0.10 (``LabelModel``) step by step: full-batch SGD with
    momentum, clamping and column symmetry breaking; with
    ``init="precision"`` its starting point too.

    Parameters
    ----------
    n_epochs : int, default=100
        Number of full-batch gradient steps.
    init : {"auto", "majority_vote", "precision"}, default="auto"
        Starting point of ``mu`` (and centre of the ``l2`` penalty).
        ``"precision"``: snorkel 0.10's, ``mu[j C + k, k] = P(source j votes
        k) prec_init / p_k`` and zero off the diagonal, times one uniform
        draw of ``random_state``. ``"majority_vote"``: every source's
        vote-given-class rates under the soft majority vote (uncovered rows
        spread uniformly), the starting point of :class:`DawidSkene`'s EM.
        ``"auto"``: the majority-vote rates for the sources that vote for
        one class only (rules), snorkel's start for the others (crowd
        workers, classifiers). The default 100 epochs stop short of the
        optimum, so the start matters; see the Notes.
    lr : float, default=0.01
        Learning rate.
    l2 : float or "auto", default="auto"
        Weight of the penalty ``l2 ||mu - mu_init||_F^2``. ``"auto"``: 0.3
        on the sources that vote for one class only (rules), which stay near
        their majority-vote start (``init`` "auto" or "majority_vote"), and
        0 on the others, as in snorkel; 0 everywhere with
        ``init="precision"``. A float applies to every source. It is applied
        once (snorkel 0.10 applies ``l2`` twice: squared in the loss and
        again as weight decay), so ``l2`` here is not snorkel's ``l2``.
    optimizer : {"sgd", "adam"}, default="sgd"
        Full-batch SGD with momentum, or Adam (betas 0.9 and 0.999).
    momentum : float, default=0.9
        Momentum of SGD.
    prec_init : float or array-like of shape (n_sources,), default=0.7
        Initial guess of every source's precision P(y = k | source votes k),
        in snorkel's start (``init="precision"``, and the sources that vote
        for several classes under ``"auto"``).
    mu_eps : float, default=None
        ``mu`` is clamped to ``[mu_eps, 1 - mu_eps]`` after training; None
        uses ``min(0.01, 10 ** -ceil(log10(n_samples)))`` as snorkel. Sparse
        sources whose true ``mu`` entries are below it get clamped up; lower
        it for them.
    n_classes : int, default=None
        Number of classes; inferred as ``max(L) + 1`` when None.
    abstain : int, default=-1
        Value of ``L`` that means "no vote".
    class_prior : array-like of shape (n_classes,), "estimate" or None, default=None
        Class prior, with no zero entry; uniform when None (snorkel's
        default). ``"estimate"`` estimates it from the votes at fit, by
        :func:`~skweak_e2e.label_model.estimate_class_prior` (no gold
        label needed); on imbalanced data with independent sources this
        recovers most of the accuracy that the uniform prior loses, while
        correlated sources can bias it (see that function's notes). To use a few dev labels
        instead (snorkel's ``Y_dev``), pass
        ``estimate_class_prior(L_dev, y_dev)``.
    {tie_break}
    random_state : int, RandomState instance or None, default=None
        Seeds ``tie_break="random"`` and the random scale of snorkel's start
        (an int reproduces snorkel's ``seed`` under ``init="precision"``).

    Attributes
    ----------
    {fitted_classes}
    class_prior_ : ndarray of shape (n_classes,)
        The class prior used.
    {fitted_coverage}
    mu_ : ndarray of shape (n_sources * n_classes, n_classes)
        Fitted ``P(source j votes k | y = c)`` at row ``j * n_classes + k``.
    mu_eps_ : float
        The clamping margin used.
    source_coverage_ : ndarray of shape (n_sources,)
        Fraction of training rows where each source votes.
    source_accuracy_ : ndarray of shape (n_sources,)
        Estimated P(vote is right | source votes), clipped to ``[1e-6, 1]``
        (NaN for silent sources); see :meth:`get_weights`.
    loss_history_ : ndarray of shape (n_epochs + 1,)
        Objective before each epoch, and after the last one.
    n_iter_ : int
        Number of epochs run.
    W_ : ndarray of shape (n_sources, n_classes + 1, n_classes)
        Tensor form (``activation="exp"``): ``W_[j, k + 1, c] = log mu_[j C +
        k, c] + log(p_c) / n_active`` and ``W_[j, 0, c] = log(p_c) /
        n_active``; silent sources have zero rows.

    See Also
    --------
    DawidSkene : Fits full confusion matrices by EM.
    MajorityVote : Unweighted vote counts.

    Notes
    -----
    ``predict_proba`` is ``softmax_c(sum_j log mu_[j C + L_j, c] + log p_c)``
    over the votes only: abstaining carries no information, so a row with no
    vote gets the class prior. At least 3 sources are needed.

    Why ``init="auto"`` and ``l2="auto"``: from snorkel's start, a rule
    that rarely overlaps with others (a narrow one-class LF) gets almost no
    signal from ``O`` in 100 epochs, and the marginal term spreads its
    missing vote mass evenly over the classes, so it looks about as
    accurate as a broad, low-precision fallback and loses their conflicts;
    and where broad sources agree with each other (two lexicon counts of
    the same words), a free fit pulls the narrow rules below chance. Rules
    therefore start at their rates under the majority vote and are held
    near them. Test accuracy of the label model alone, snorkel's start
    (``init="precision"``, ``l2=0``) -> the defaults: on the six tasks of
    ``benchmarks/text_suite.py`` +6.4 (IMDB narrow rules), +4.5 (Yoruba),
    +0.5 and +0.4 (MR narrow rules, YouTube), 0 and -0.6 (IMDB lexicon, MR
    keywords); on ``benchmarks/narrow_rules.py``'s six-class rules (5
    seeds) from up to 6.8 points below the majority vote to 1.3 to 3.8
    above; on a new user's MR task 60.9 -> 64.9 (majority vote 63.5).
    Sources that vote for several classes (crowd workers, classifiers)
    keep snorkel's start and no penalty: ``"majority_vote"`` for them lost
    2 points on a sparse crowd and 8 to 13 on synthetic 80/20 and 90/10
    sets under the default uniform prior (the rates carry the imbalance
    that the prior then ignores).

    Adam takes steps of about ``lr`` whatever the gradient, so from a
    majority-vote start, which can be near the optimum, it may jitter
    around it for the remaining epochs (and the ``ConvergenceWarning``
    below says so); SGD, the default, settles.

    100 SGD steps
    (the default, as in snorkel) often stop short of the optimum, and a
    ``ConvergenceWarning`` says so. Running to the optimum is not always
    better: on the six tasks of ``benchmarks/text_suite.py``, 500 epochs (or
    adam) gained 2.4 points on YouTube and lost 2 to 7 points on the three
    tasks made of many correlated narrow rules. Choose ``n_epochs`` on a few
    gold labels.

    The overlap statistic is a dense ``(n_sources n_classes)^2`` matrix and
    training holds about four of them; a fit that would need more than
    4 GiB for them is refused with a ``ValueError`` before anything is
    allocated (about 5,800 binary sources). Duplicated sources add no
    information: drop them, or use :class:`DawidSkene`, whose memory grows
    linearly with the number of sources.

    References
    ----------
    .. [1] A. Ratner, B. Hancock, J. Dunnmon, F. Sala, S. Pandey and C. Ré,
       "Training complex models with multi-task weak supervision", AAAI 2019.

    Examples
    --------
    >>> import numpy as np
    >>> from skweak_e2e import Snorkel
    >>> from skweak_e2e.datasets import make_weak_supervision
    >>> _, L, y = make_weak_supervision(
    ...     2000, 5, n_features=0, coverage=0.6, accuracy=[.9, .8, .7, .7, .6],
    ...     random_state=0)
    >>> model = Snorkel(n_epochs=500, random_state=1).fit(L)
    >>> model.get_weights().round(1)
    array([0.9, 0.8, 0.7, 0.7, 0.6])
    >>> model.predict_proba(L[:3]).round(2)
    array([[0.12, 0.88],
           [0.  , 1.  ],
           [0.02, 0.98]])
    """

    activation = "exp"

    _parameter_constraints: dict = {
        **BaseLabelModel._parameter_constraints,
        "n_epochs": [Interval(Integral, 1, None, closed="left")],
        "init": [StrOptions({"auto", "majority_vote", "precision"})],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "l2": [Interval(Real, 0, None, closed="left"), StrOptions({"auto"})],
        "optimizer": [StrOptions({"sgd", "adam"})],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "prec_init": [Interval(Real, 0, 1, closed="both"), "array-like"],
        "mu_eps": [Interval(Real, 0, 0.5, closed="left"), None],
        "class_prior": ["array-like", StrOptions({"estimate"}), None],
    }

    @snorkel_hints
    def __init__(
        self,
        *,
        n_epochs=100,
        init="auto",
        lr=0.01,
        l2="auto",
        optimizer="sgd",
        momentum=0.9,
        prec_init=0.7,
        mu_eps=None,
        n_classes=None,
        abstain=-1,
        class_prior=None,
        tie_break="random",
        random_state=None,
    ):
        self.n_epochs = n_epochs
        self.init = init
        self.lr = lr
        self.l2 = l2
        self.optimizer = optimizer
        self.momentum = momentum
        self.prec_init = prec_init
        self.mu_eps = mu_eps
        self.n_classes = n_classes
        self.abstain = abstain
        self.class_prior = class_prior
        self.tie_break = tie_break
        self.random_state = random_state

    def _fit(self, L, sample_weight=None):
        if sp.issparse(L):
            return self._fit_sparse(L, sample_weight)
        self._check_fit(L.shape[1])
        n_eff = L.shape[0] if sample_weight is None else float(np.sum(sample_weight))
        majority = self.init != "precision"
        if L.shape[1] * self.n_classes_ >= _FACTORED_MIN_D:
            O, q, *start = masked_overlaps(L, self.n_classes_, sample_weight, majority)
        else:
            gram, first, *start = overlap_sums(L, self.n_classes_, sample_weight, majority)
            O, q = gram / n_eff, first / n_eff
        self._fit_overlaps(O, q, n_eff, tuple(start) or None)

    def _fit_blocks(self, blocks, summary):
        """One pass over the row blocks of a dask array: the summed Gram."""
        n_sources = summary.n_sources
        self._check_fit(n_sources)
        _check_memory(None, self.n_classes_, n_sources)
        with_start = self.init != "precision"
        sums = map_sum(
            _block_overlaps, blocks, self.n_classes_, self.abstain, self.accepts_soft,
            with_start,
        )
        total = summary.weight_total
        self._fit_overlaps(sums[0] / total, sums[1] / total, total, sums[2:] or None)

    def _fit_sparse(self, L, sample_weight):
        """A sparse ``L``: the Gram of the votes stays sparse when it is large.

        A small, well-filled Gram is densified and the fit is the dense one;
        otherwise the objective is evaluated from the sparse overlaps (the
        same objective, O(nnz(O)) per epoch; see ``sparse_snorkel_loss``).
        """
        n_sources = L.shape[1]
        C = self.n_classes_
        self._check_fit(n_sources)
        # The Gram holds at most sum_i v_i^2 entries (v_i votes on row i), at
        # about 24 bytes each while scipy builds it: refuse before allocating.
        votes = np.diff(L.indptr).astype(np.float64)
        need = 24.0 * float(votes @ votes)
        if need > _MEMORY_BUDGET:
            raise ValueError(
                f"Snorkel would need up to {need / 2**30:.1f} GiB for the sparse "
                f"overlaps of L (one entry per pair of votes on a row; the rows "
                f"hold up to {int(votes.max())} votes), above the budget of "
                f"{_MEMORY_BUDGET / 2**30:g} GiB. Use DawidSkene or MajorityVote, "
                "whose memory grows with the number of votes."
            )
        V = vote_onehot(L, C)  # encoded once for the overlaps and the start
        gram, first = sparse_overlaps(L, C, sample_weight, V=V)
        total = L.shape[0] if sample_weight is None else float(np.sum(sample_weight))
        d = n_sources * C
        small = _DENSE_COPIES * 8 * d * d <= _SPARSE_GRAM_ABOVE
        if small and (d <= _DENSE_GRAM_WIDTH or gram.nnz >= _SPARSE_GRAM_FILL * d * d):
            O = gram.toarray() / total
        else:
            O = drop_source_blocks(gram, C) / total
        start = None
        if self.init != "precision":
            start = onehot_majority_sums(V, C, sample_weight)
        self._fit_overlaps(O, first / total, total, start)

    def _check_fit(self, n_sources):
        if n_sources < 3:
            raise ValueError(
                f"Snorkel needs at least 3 sources; got n_features = {n_sources}."
            )
        p = self.class_prior_
        if (p <= 0).any():
            raise ValueError(
                f"Snorkel needs a class_prior with no zero entry; got {p.tolist()}."
            )

    def _starting_point(self, q, start):
        """``mu_init`` (the l2 centre) and the first iterate of training.

        ``start``: the majority vote's sums (None for ``init="precision"``).
        """
        n_sources = self.n_features_in_
        if self.init == "majority_vote":
            if np.ndim(self.prec_init) > 0 or self.prec_init != 0.7:
                # As scikit-learn for a parameter that the chosen option ignores.
                warnings.warn(
                    f"prec_init={self.prec_init!r} is not used with "
                    "init='majority_vote'; it sets snorkel's start "
                    "(init='precision', or 'auto' for sources that vote for "
                    "several classes).",
                    UserWarning,
                    stacklevel=user_stacklevel(),
                )
        else:
            prec = np.asarray(self.prec_init, dtype=np.float64)
            if prec.ndim > 0:
                prec = prec.ravel()
                if prec.shape != (n_sources,):
                    raise ValueError(
                        f"prec_init has {prec.size} entries but there are "
                        f"{n_sources} sources."
                    )
                if not np.all((prec >= 0) & (prec <= 1)):
                    raise ValueError("prec_init must lie in [0, 1].")
            snorkel_mu = initial_mu(q, prec, self.class_prior_, n_sources)
            scale = check_random_state(self.random_state).random_sample()
            if self.init == "precision":
                return snorkel_mu, snorkel_mu * scale
        vote_class, class_mass = start
        rates = vote_class / np.where(class_mass > 0, class_mass, 1.0)
        if self.init == "majority_vote":
            return rates, rates
        # "auto": the rates for sources that vote for one class only (rules),
        # snorkel's start for the others.
        rule = self._rule_rows(q)
        return np.where(rule, rates, snorkel_mu), np.where(rule, rates, snorkel_mu * scale)

    def _rule_rows(self, q):
        """Rows of ``mu`` (shape (d, 1)) of the sources that vote one class only."""
        n_sources, C = self.n_features_in_, self.n_classes_
        one_class = (q.reshape(n_sources, C) > 0).sum(axis=1) <= 1
        return np.repeat(one_class, C)[:, None]

    def _penalty_weights(self, q):
        """``l2`` as a float, or one weight per row of ``mu`` for ``"auto"``."""
        if self.l2 != "auto":
            return float(self.l2)
        if self.init == "precision":
            return 0.0
        return np.where(self._rule_rows(q), _RULE_L2, 0.0)

    def _fit_overlaps(self, O, q, n_samples, start=None):
        """Fit from the overlap matrix, the vote marginals and the row count.

        ``start``: the majority vote's sums (None for ``init="precision"``).
        """
        n_sources = self.n_features_in_
        C = self.n_classes_
        p = self.class_prior_
        mu_init, mu_first = self._starting_point(q, start)
        l2 = self._penalty_weights(q)

        if n_sources * C >= _FACTORED_MIN_D:
            if not isinstance(O, MaskedOverlaps):  # the summed Gram of dask blocks
                O = MaskedOverlaps(n_sources, C, explicit=O)

            def loss_grad(mu):
                return snorkel_loss_factored(mu, O, q, p, mu_init, l2)

        else:

            def loss_grad(mu):
                return snorkel_loss(mu, O, q, p, n_sources, mu_init, l2)

        # The epochs multiply (m C)-sized matrices: too small for threaded
        # BLAS, whose threads spin and stall when other jobs hold the cores.
        with serial_blas():
            mu, history = _optimise(
                mu_first, loss_grad, self.n_epochs, self.lr, self.optimizer,
                self.momentum,
            )
        tail = history[-(_CONVERGENCE_WINDOW + 1) :]
        change = np.abs(np.diff(tail)).max() if len(tail) > 1 else 0.0
        if change > _CONVERGENCE_RTOL * max(tail[-1], _LOSS_FLOOR):
            # A constant message (no per-fit numbers), so that the default
            # warning filter shows it once, not once per fold of a search.
            # The advice is what the text suite measured: more epochs (or
            # adam) gained 2 points on one task and lost 2 to 7 on three
            # with many correlated narrow rules, so the warning does not
            # tell the user to run longer, only how to decide.
            warnings.warn(
                f"Snorkel has not converged in n_epochs={self.n_epochs} epochs "
                f"(optimizer={self.optimizer!r}): the loss still changed by more "
                f"than {_CONVERGENCE_RTOL:g} of its value per epoch at the end. "
                "Like snorkel's default, this stops early; a longer fit follows "
                "the independence assumption more closely, which can lower "
                "accuracy on correlated sources. Compare n_epochs values on a "
                "few gold labels (e.g. LabelModelClassifierCV with "
                "param_grid={'label_model__n_epochs': [...]}) before raising it.",
                ConvergenceWarning,
                stacklevel=user_stacklevel(),
            )
        self.mu_eps_ = default_mu_eps(n_samples) if self.mu_eps is None else self.mu_eps
        mu = np.clip(mu, self.mu_eps_, 1.0 - self.mu_eps_)
        self.mu_ = break_symmetry(mu, p, n_sources)
        self.loss_history_ = history
        self.n_iter_ = self.n_epochs

        coverage = q.reshape(n_sources, C).sum(axis=1)
        correct = np.einsum("jcc,c->j", self.mu_.reshape(n_sources, C, C), p)
        with np.errstate(divide="ignore", invalid="ignore"):
            accuracy = np.clip(correct / coverage, 1e-6, 1.0)
        accuracy[self.silent_sources_] = np.nan
        self.source_coverage_ = coverage
        self.source_accuracy_ = accuracy

        active = np.setdiff1d(np.arange(n_sources), self.silent_sources_)
        W = np.zeros((n_sources, C + 1, C))
        W[:, 1:, :] = np.log(self.mu_).reshape(n_sources, C, C)
        W += np.log(p) / len(active)
        W[self.silent_sources_] = 0.0
        self.W_ = W

    def _estimate_class_prior(self, L, n_classes, sample_weight):
        # In memory L is validated (abstain = -1); a dask L is as given.
        abstain = self.abstain if is_dask_collection(L) else -1
        return estimate_class_prior(
            L, n_classes=n_classes, abstain=abstain, sample_weight=sample_weight
        )

    _fits_present_classes = True

    def _predict_proba(self, L):
        if sp.issparse(L):
            return sparse_exp_proba(L, self.W_)
        return exp_proba(L, self.W_)

    def _widen_classes(self, present, n_classes):
        # Nobody votes for an absent class: its mu_ entries are 0.
        super()._widen_classes(present, n_classes)
        m, C = self.n_features_in_, present.size
        mu = np.zeros((m, n_classes, n_classes))
        mu[:, present[:, None], present] = self.mu_.reshape(m, C, C)
        self.mu_ = mu.reshape(m * n_classes, n_classes)

    def get_weights(self):
        """Estimated accuracy of every source (snorkel's ``get_weights``).

        Returns
        -------
        accuracy : ndarray of shape (n_sources,)
            ``sum_c mu_[j C + c, c] p_c / coverage_j`` clipped to
            ``[1e-6, 1]``: the probability that a vote of source j is right.
            NaN for sources that never voted.
        """
        check_is_fitted(self)
        return self.source_accuracy_.copy()
