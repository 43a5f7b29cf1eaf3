"""Dawid-Skene: one confusion matrix per source, fitted by EM."""

import warnings
from collections import namedtuple
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from ..utils._docstring import (
    FITTED_CLASSES_DOC,
    FITTED_COVERAGE_DOC,
    TIE_BREAK_DOC,
    Substitution,
)
from ..utils._dask import map_sum, map_tree, persist_map
from ..utils._hints import snorkel_hints
from ..utils._math import softmax_columns_
from ..utils._sklearn_compat import Interval, StrOptions
from ..utils._threads import serial_blas
from ..utils._warnings import user_stacklevel
from ._base import BaseLabelModel
from ._dask import block_offsets, validated_block
from ._sparse_votes import SparseVoteData, sparse_exp_proba
from ._tensor_form import exp_proba
from ._vote_codes import (
    MAX_TABLE,
    VoteCodes,
    compress_rows,
    merge_patterns,
    pattern_sample,
    pattern_weights,
    patterns_look_few,
    soft_augmented,
)

__all__ = ["DawidSkene"]

# Compress to the unique row patterns when they are fewer than this fraction
# of the rows (the EM cost is proportional to the number of rows it runs on).
_COMPRESS_BELOW = 0.5
_LOG_FLOOR = 1e-300
# Soft votes warn when more than this fraction of their vote mass lies off
# each fibre's top class (see the Notes of DawidSkene).
_SPREAD_WARN = 0.05
# anchor_strength="auto": pseudo-votes per class that anchor a source voting
# for several classes (a crowd worker) to its majority-vote rates; chosen on
# simulated crowds (benchmarks/crowd.py, and crowds of 5 to 50 labels per
# worker), where 2 to 20 all matched or beat crowd-kit's DawidSkene (5 to 20
# best with 5 to 10 labels per worker), and on imbalanced synthetic sets,
# where 2 to 20 were within a point of each other.
_AUTO_PSEUDO_VOTES = 5.0

# EM's anchor to its starting point: which outcomes enter each source's
# likelihood (n_active, n_classes + 1, 1), and the Dirichlet pseudo-counts
# of the confusion matrices and of the class prior.
_Anchor = namedtuple("_Anchor", ["outcome_mask", "counts", "class_mass"])


def vote_accuracy(confusion, class_prior, silent_sources=()):
    """P(a vote is right | the source votes) of every source, from its confusion.

    ``confusion[j, c, o]`` = P(outcome o of source j | class c): with
    ``n_classes + 1`` outcomes, outcome 0 is abstain and ``k + 1`` a vote for
    k; with ``n_classes`` outcomes, the votes alone (P(vote k | c, voted),
    so that P(c | voted) is the prior). Silent sources, and sources that
    never vote under the model, get NaN.

    Examples
    --------
    >>> import numpy as np
    >>> confusion = np.array([[[0.5, 0.4, 0.1], [0.5, 0.1, 0.4]]])
    >>> vote_accuracy(confusion, np.array([0.5, 0.5]))  # (.2 + .2) / (.25 + .25)
    array([0.8])
    """
    n_sources, C, n_outcomes = confusion.shape
    offset = n_outcomes - C
    correct = confusion[:, np.arange(C), np.arange(C) + offset] @ class_prior
    votes = (1.0 - confusion[:, :, 0]) @ class_prior if offset else np.ones(n_sources)
    accuracy = np.full(n_sources, np.nan)
    voting = votes > 0
    accuracy[voting] = correct[voting] / votes[voting]
    accuracy[np.asarray(silent_sources, dtype=np.intp)] = np.nan
    return accuracy


def _off_top_mass(L):
    """Vote mass of soft votes (n, m, C) off each fibre's top class, and the
    total vote mass, per source (two arrays of shape (m,))."""
    vote_mass = L.sum(axis=2)
    return (vote_mass - L.max(axis=2)).sum(axis=0), vote_mass.sum(axis=0)


def _spread_fraction(off_top, mass):
    """Fraction of the vote mass off the top class, of all sources together
    (a float) and of every source (an array)."""
    total = float(mass.sum())
    overall = float(off_top.sum()) / total if total > 0 else 0.0
    return overall, off_top / np.where(mass > 0, mass, 1.0)


class _HardData:
    """Hard votes, possibly compressed to unique patterns, for EM.

    The E-step only needs the scores relative to class 0 and the M-step only
    the counts of classes 1..C-1: the class-0 counts follow from the
    (constant) outcome counts, because every row's posterior sums to one,
    and the class-0 scores enter the log-likelihood only through their sum,
    ``sum_jk outcome_counts[j, k] W[j, k, 0]``. This saves one of the C
    passes over the samples in each step (half of them for binary tasks).

    Parameters
    ----------
    L : ndarray of shape (n_samples, n_sources)
        Hard votes of the active sources.
    n_classes : int
    sample_weight : ndarray of shape (n_samples,), default=None
    max_table : int, default=None
        Passed to :class:`VoteCodes`; row blocks of one dask array pass the
        same value, so that their codes can be merged.
    sample_rows : ndarray of int, default=None
        Rows to keep a copy of (the birthday-estimate sample of a block).
    """

    def __init__(self, L, n_classes, sample_weight=None, max_table=None, sample_rows=None):
        codes = VoteCodes(L, n_classes, max_table=max_table)
        self.sample = None if sample_rows is None else L[sample_rows]
        weights = None if sample_weight is None else np.asarray(sample_weight, float)
        unique = compress_rows(L, n_classes, codes, below=_COMPRESS_BELOW)
        if unique is not None:
            first, inverse, counts = unique
            codes = codes.take(first)
            weights = pattern_weights(inverse, counts, weights)
        self._set_codes(codes, weights, distinct=unique is not None)

    @classmethod
    def from_patterns(cls, codes, weights):
        """EM data over merged patterns (``codes``: a VoteCodes)."""
        new = object.__new__(cls)
        new.sample = None
        new._set_codes(codes, weights, distinct=True)
        return new

    def _set_codes(self, codes, weights, distinct):
        self.distinct = distinct  # whether every column of codes is a new pattern
        self.codes = codes
        self.n_sources = codes.n_sources
        self.weights = weights
        mass = np.ones((1, codes.n_samples)) if weights is None else weights[None]
        self.outcome_counts = codes.counts_t(mass)[:, :, 0]  # (m, K)

    def patterns(self):
        """The distinct patterns (group codes) and their total weights."""
        if self.distinct:
            return self.codes.codes, self.weights
        first, inverse, counts = self.codes.unique()
        return self.codes.codes[:, first], pattern_weights(inverse, counts, self.weights)

    def raw_scores_t(self, W):
        return self.codes.scores_t(W)

    def scores_t(self, W):
        """Scores relative to class 0 and the weighted sum of the class-0 scores."""
        St = self.codes.relative_scores_t(W)
        return St, float((self.outcome_counts * W[:, :, 0]).sum())

    def counts_t(self, Tt):
        rest = Tt[1:] if self.weights is None else Tt[1:] * self.weights
        N_rest = self.codes.counts_t(rest)
        N = np.empty(N_rest.shape[:2] + (Tt.shape[0],))
        N[:, :, 1:] = N_rest
        # Clipped: the subtraction may leave a -1e-16 where the count is 0.
        np.clip(self.outcome_counts - N_rest.sum(axis=2), 0.0, None, out=N[:, :, 0])
        return N


class _SoftData:
    """Soft votes (n, m, C): augmented one-hot, flattened to (n, m (C+1))."""

    def __init__(self, L, n_classes, sample_weight=None):
        self.n_sources = L.shape[1]
        self.K = n_classes + 1
        self.aug = soft_augmented(L).reshape(L.shape[0], L.shape[1] * self.K)
        self.weights = None if sample_weight is None else np.asarray(sample_weight, float)

    def raw_scores_t(self, W):
        return (self.aug @ W.reshape(-1, W.shape[2])).T

    def scores_t(self, W):
        return self.raw_scores_t(W), 0.0

    def counts_t(self, Tt):
        if self.weights is not None:
            Tt = Tt * self.weights
        return (Tt @ self.aug).T.reshape(self.n_sources, self.K, Tt.shape[0])

    def off_top_mass(self):
        return _off_top_mass(self.aug.reshape(-1, self.n_sources, self.K)[:, :, 1:])


def em_step(data, W, log_prior, need_counts=True):
    """One E-step, then the expected counts that the next M-step needs.

    With ``W`` None the posterior is the soft majority vote (uniform on
    uncovered rows), EM's starting point. Returns ``(N, class_mass,
    loglik)``: the expected counts ``N[j, k', c]`` (None unless
    ``need_counts``), the expected weight of every class, and the
    log-likelihood of ``(W, log_prior)`` (None for the starting point).
    All three are sums over rows, so the results of row blocks add up.
    """
    if W is None:
        C = log_prior.shape[0]
        K = C + 1
        n_sources = data.n_sources
        W_mv = np.zeros((n_sources, K, C))
        W_mv[:, 1:, :] = np.eye(C)
        Tt = data.raw_scores_t(W_mv)
        total = Tt.sum(axis=0)
        Tt = np.where(total > 0, Tt / np.where(total > 0, total, 1.0), 1.0 / C)
        loglik = None
    else:
        St, offset = data.scores_t(W)
        St += log_prior[:, None]
        Tt, norm = softmax_columns_(St)
        weights = data.weights
        loglik = offset + float(norm.sum() if weights is None else norm @ weights)
    class_mass = Tt.sum(axis=1) if data.weights is None else Tt @ data.weights
    N = data.counts_t(Tt) if need_counts else None
    return N, class_mass, loglik


def _block_step(data, W, log_prior, need_counts):
    with serial_blas():
        N, class_mass, loglik = em_step(data, W, log_prior, need_counts)
    # Tuples add element-wise across blocks; None cannot be added.
    return (
        0.0 if N is None else N,
        class_mass,
        0.0 if loglik is None else loglik,
    )


# ------------------------------------------------------------ row blocks
def _hard_block(L_block, weight, sample_rows, active, n_classes, abstain, max_table):
    L, weight, _ = validated_block(L_block, weight, n_classes, abstain, False)
    if len(active) < L.shape[1]:
        L = L[:, active]
    return _HardData(L, n_classes, weight, max_table=max_table, sample_rows=sample_rows)


def _soft_block(L_block, weight, active, n_classes, abstain):
    L, weight, _ = validated_block(L_block, weight, n_classes, abstain, True)
    return _SoftData(L[:, active], n_classes, weight)


def _block_off_top(data):
    return data.off_top_mass()


def _block_sample(data):
    return data.sample


def _block_patterns(data):
    return data.patterns()


def _merge_tables(a, b):
    return merge_patterns([a[0], b[0]], [a[1], b[1]])


def _concatenate(a, b):
    return np.concatenate([a, b])


def dawid_skene_steps(blocks, summary, active, n_classes, abstain):
    """EM steps over the row blocks of a dask array, and the weight total.

    Every block is validated and encoded once on its worker and kept there
    (persisted). When the matrix has few distinct vote patterns -- decided
    as in memory: the same birthday estimate on the same sample of rows,
    then the exact count -- the blocks' pattern tables are merged on the
    driver and EM runs there on the patterns. Otherwise each EM iteration
    is one map-reduce of the expected counts over the persisted blocks.

    Returns
    -------
    step : callable
        ``step(W, log_prior, need_counts) -> (N, class_mass, loglik)``.
    n_eff : float
        Total weight of the rows.
    off_top : tuple of two ndarrays, or None
        For soft votes, the vote mass off each vote's top class and the
        total vote mass of every active source (see :func:`_off_top_mass`).
    """
    n_samples = summary.n_samples
    n_eff = summary.weight_total
    if summary.soft:
        parts = persist_map(_soft_block, blocks, active, n_classes, abstain)
        parts = [(part,) for part in parts]
        off_top = map_sum(_block_off_top, parts)
        return _distributed_step(parts), n_eff, off_top
    max_table = min(MAX_TABLE, max(n_samples, 1))
    rows = pattern_sample(n_samples)
    local = [None] * len(blocks) if rows is None else block_offsets(summary.rows, rows)
    parts = persist_map(
        _hard_block,
        [(L_b, w_b, idx) for (L_b, w_b), idx in zip(blocks, local)],
        active, n_classes, abstain, max_table,
    )
    parts = [(part,) for part in parts]
    few = n_samples >= 2 and (
        rows is None
        or patterns_look_few(
            map_sum(_block_sample, parts, combine=_concatenate), n_samples, n_classes,
            _COMPRESS_BELOW,
        )
    )
    if few:
        # Merged two by two on the workers: the driver receives one table.
        codes, weights = map_tree(_block_patterns, parts, combine=_merge_tables)
        if len(weights) < _COMPRESS_BELOW * n_samples:
            empty = np.zeros((0, len(active)), dtype=np.int8)
            layout = VoteCodes(empty, n_classes, max_table=max_table)
            data = _HardData.from_patterns(VoteCodes.from_codes(codes, layout), weights)

            def step(W, log_prior, need_counts):
                with serial_blas():
                    return em_step(data, W, log_prior, need_counts)

            return step, n_eff, None
    return _distributed_step(parts), n_eff, None


def _distributed_step(parts):
    def step(W, log_prior, need_counts):
        N, class_mass, loglik = map_sum(_block_step, parts, W, log_prior, need_counts)
        return (N if need_counts else None), class_mass, (None if W is None else loglik)

    return step


@Substitution(
    tie_break=TIE_BREAK_DOC,
    fitted_classes=FITTED_CLASSES_DOC,
    fitted_coverage=FITTED_COVERAGE_DOC,
)
class DawidSkene(BaseLabelModel):
    """Dawid-Skene label model: a confusion matrix per source, fitted by EM.

    The true class of a sample is drawn from the class prior; given the
    class, every source independently produces an outcome (a vote, or
    abstaining) from its own confusion matrix. EM alternates between the
    posterior of the classes (E-step) and the maximum a posteriori prior and
    confusion matrices (M-step), starting from the soft majority vote.

    Two choices make it safe on sources as people write them:

    - **Which silences are evidence** (``model_abstain``). A source that only
      ever votes for one class (a keyword rule that only says "spam") tells
      nothing by its vote, only by whether it fires, so its abstains are
      modelled as an outcome. The abstains of a source that votes for
      several classes (a crowd worker, a classifier) mostly reflect which
      items it saw, and are left out of the likelihood (missing at random,
      classic Dawid-Skene). ``"auto"`` makes this choice per source.
    - **An anchor to the majority vote** (``anchor_strength``). With many
      narrow, mutually exclusive rules the independence assumption is far
      from true, and maximum likelihood can drift to a spurious optimum that
      contradicts most single votes (on six text tasks with hand-written
      LFs, plain EM fell up to 33 points below the majority vote on
      simulated narrow rules). A Dirichlet prior centred on the
      majority-vote estimate keeps the fit in the basin of the majority
      while still learning source quality. ``"auto"`` weighs it by the kind
      of source: as heavy as the data for rules, a few pseudo-votes for
      sources that vote for several classes, such as crowd workers, whose
      own labels are the better evidence once they have many.

    Everything runs in log space and on the unique row patterns of ``L``
    when they are few; each EM iteration costs O(n_samples n_sources
    n_classes) at most.

    Parameters
    ----------
    model_abstain : "auto" or bool, default="auto"
        Whether abstaining is modelled as an informative outcome: for the
        sources that vote for a single class (``"auto"``), for every source
        (True) or for none (False: classic Dawid-Skene, where a one-class
        source carries no information). The choice made is in
        ``abstain_modelled_``.
    anchor_strength : "auto" or float, default="auto"
        Weight of the Dirichlet prior that anchors the confusion matrices and
        the class prior to their majority-vote estimate (EM's starting
        point). A float is in units of the data's own counts, for every
        source and the prior: 0 is maximum likelihood; 1 gives the anchor as
        much weight as the data. ``"auto"`` sets it per source:

        - *rule-like* sources -- those that vote for one class only, and
          soft votes that spread more than 5% of their mass over classes
          other than their top one (see the Notes) -- get weight 1, as much
          as their data;
        - every other source (a crowd worker, a classifier, a rule that
          votes for several classes) gets 5 pseudo-votes per class at its
          majority-vote rates, in units of the average row (as ``alpha``),
          plus ``s`` times its data's counts, where ``s`` is the share of
          the votes cast by rule-like sources;
        - the class prior gets ``s`` times the data's class counts.

        A matrix of one-class rules is thus fitted exactly as with 1
        (``s = 1``), and a crowd almost by maximum likelihood (``s = 0``): a
        worker with 3 labels is shrunk toward the majority vote, one with
        500 is fitted by its labels. Measured (``benchmarks/crowd.py``,
        ``benchmarks/text_suite.py``): the same test accuracy as 1 on the six
        text tasks; on simulated crowds within 0.02 point of crowd-kit's
        DawidSkene or above it, where 1 was up to 1.9 points below (20%
        spammers); on eight independent sources with imbalanced classes
        (synthetic 90/10 data) 0.93 as with 0, where 1 gave 0.83. The
        5 pseudo-votes count in units of the average row, as ``alpha``:
        rows given as pattern counts (``sample_weight``) fit differently
        from the repeated rows, the more so as the counts are large; with a
        float the two fits agree.
    alpha : float, default=1e-10
        Dirichlet pseudo-count added to every confusion count; it keeps the
        logarithms finite. Raise it for genuine Bayesian smoothing.
    alpha_prior : float, default=0.0
        Dirichlet pseudo-count added to the class counts of the prior.
    max_iter : int, default=1000
        Maximum number of EM iterations.
    tol : float, default=1e-5
        EM stops when, between two iterations, the L1 change of the prior
        and the largest L1 change of one source's confusion matrix are both
        below ``tol``.
    n_classes : int, default=None
        Number of classes; inferred as ``max(L) + 1`` when None.
    abstain : int, default=-1
        Value of ``L`` that means "no vote".
    class_prior : array-like of shape (n_classes,), default=None
        Class prior. When None it is learned by EM; when given it is held
        fixed.
    {tie_break}
    random_state : int, RandomState instance or None, default=None
        Seeds ``tie_break="random"`` (fitting is deterministic).

    Attributes
    ----------
    {fitted_classes}
    class_prior_ : ndarray of shape (n_classes,)
        Learned (or given) class prior.
    confusion_ : ndarray of shape (n_sources, n_classes, n_outcomes)
        ``confusion_[j, c, o]`` = P(outcome o of source j | class c). The
        outcomes are ``0`` = abstain and ``k + 1`` = vote for class k
        (``n_outcomes = n_classes + 1``); a source whose abstains are not
        modelled abstains at its overall rate whatever the class. With
        ``model_abstain=False`` the outcomes are the votes ``k`` alone
        (``n_outcomes = n_classes``), P(vote k | class c, the source voted).
    abstain_modelled_ : ndarray of bool, shape (n_sources,)
        Whether each source's abstains entered the likelihood (see
        ``model_abstain``); False for silent sources.
    source_accuracy_ : ndarray of shape (n_sources,)
        P(a vote of the source is right | the source votes), from
        ``confusion_`` and ``class_prior_`` (as :class:`Snorkel`'s
        ``source_accuracy_``); NaN for silent sources.
    {fitted_coverage}
    n_iter_ : int
        Number of EM iterations run.
    log_likelihood_ : ndarray of shape (`n_iter_`,)
        Log-likelihood of the training data after each M-step, plus the
        log-density of the Dirichlet pseudo-counts (``anchor_strength``,
        ``alpha``, ``alpha_prior``); non-decreasing.
    W_ : ndarray of shape (n_sources, n_classes + 1, n_classes)
        Tensor form (``activation="exp"``): ``W_[j, k', c] = log
        P(outcome k' | c) + log(class_prior_[c]) / n_active`` (the abstain
        slot holds only the prior share when ``model_abstain=False``);
        silent sources have zero rows.

    See Also
    --------
    MajorityVote : Unweighted vote counts.
    Snorkel : Learns source accuracies from agreements, without EM.

    Notes
    -----
    With fewer than three sources the model is barely identifiable and a
    warning is raised. No class realignment is done after EM: the majority
    vote initialisation puts it in the "sources better than chance" basin.

    Soft votes ``L`` of shape (n_samples, n_sources, n_classes) are
    fractional observations: with ``Ã`` the fibre with its abstain mass
    prepended, a row adds ``sum_j sum_k' Ã[j, k'] log P(k' | c)`` to the
    class scores and ``T_c Ã[j, k']`` to the expected counts. One-hot soft
    votes give exactly the hard-vote fit, and a vote that puts its
    confidence on one class and leaves the rest as abstain mass works well.
    A vote spread over several classes does not: the geometric mean
    ``prod_k' P(k' | c) ** Ã[k']`` is below the mixture
    ``sum_k' Ã[k'] P(k' | c)`` (weighted AM-GM; equality only for one-hot
    ``Ã`` or a flat row), and the gap is largest for peaked, informative
    confusion rows. EM therefore flattens the rows, the evidence of a row
    weakens, and the fit can drift to a degenerate solution where one class
    takes most of the prior -- even when started from the true labels. On
    3-class data (8 sources, coverage 0.6, accuracy 0.7), votes smoothed as
    ``(1 - s) one_hot + s / n_classes`` keep the hard-vote accuracy (0.87)
    up to ``s = 0.2`` and fall to chance (0.35) at ``s = 0.6``; binary data
    degrades from ``s = 0.15``. A warning is raised when more than 5% of the
    vote mass lies off each vote's top class. Those figures are plain
    maximum likelihood: ``anchor_strength="auto"`` anchors every source that
    spreads more than 5% of its vote mass as fully as a one-class rule,
    which keeps the fit near the hard-vote accuracy (0.86 at ``s = 0.6``).

    References
    ----------
    .. [1] A. P. Dawid and A. M. Skene, "Maximum likelihood estimation of
       observer error-rates using the EM algorithm", Journal of the Royal
       Statistical Society C, 28(1), 1979.

    Examples
    --------
    >>> import numpy as np
    >>> from skweak_e2e import DawidSkene
    >>> L = np.array([[0, 0, 1], [1, 1, 1], [0, 0, -1], [1, -1, 1], [0, 1, 0]])
    >>> ds = DawidSkene().fit(L)
    >>> ds.predict(L)
    array([0, 1, 0, 1, 0])
    >>> ds.confusion_.shape
    (3, 2, 3)
    """

    activation = "exp"

    _parameter_constraints: dict = {
        **BaseLabelModel._parameter_constraints,
        "model_abstain": ["boolean", StrOptions({"auto"})],
        "anchor_strength": [Interval(Real, 0, None, closed="left"), StrOptions({"auto"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "alpha_prior": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
    }

    @snorkel_hints
    def __init__(
        self,
        *,
        model_abstain="auto",
        anchor_strength="auto",
        alpha=1e-10,
        alpha_prior=0.0,
        max_iter=1000,
        tol=1e-5,
        n_classes=None,
        abstain=-1,
        class_prior=None,
        tie_break="random",
        random_state=None,
    ):
        self.model_abstain = model_abstain
        self.anchor_strength = anchor_strength
        self.alpha = alpha
        self.alpha_prior = alpha_prior
        self.max_iter = max_iter
        self.tol = tol
        self.n_classes = n_classes
        self.abstain = abstain
        self.class_prior = class_prior
        self.tie_break = tie_break
        self.random_state = random_state

    _fits_present_classes = True

    def _predict_proba(self, L):
        if sp.issparse(L):
            return sparse_exp_proba(L, self.W_)
        return exp_proba(L, self.W_)

    def _widen_classes(self, present, n_classes):
        # Absent classes get the rows of a silent source; nobody votes for them.
        super()._widen_classes(present, n_classes)
        fitted = self.confusion_
        if self.model_abstain:
            confusion = np.zeros((fitted.shape[0], n_classes, n_classes + 1))
            confusion[:, :, 0] = 1.0
            columns = np.r_[0, present + 1]
        else:
            confusion = np.full((fitted.shape[0], n_classes, n_classes), 1.0 / n_classes)
            columns = present
        confusion[:, present, :] = 0.0
        confusion[:, present[:, None], columns] = fitted
        self.confusion_ = confusion

    def _warn_few_sources(self, n_sources):
        if n_sources <= 2:
            warnings.warn(
                f"DawidSkene with n_sources = {n_sources}: Dawid-Skene is barely "
                "identifiable with fewer than 3 sources; consider MajorityVote.",
                UserWarning,
                stacklevel=user_stacklevel(),
            )

    def _active_sources(self, n_sources):
        return np.setdiff1d(np.arange(n_sources), self.silent_sources_)

    def _fit(self, L, sample_weight=None):
        n_samples, n_sources = L.shape[:2]
        C = self.n_classes_
        self._warn_few_sources(n_sources)
        active = self._active_sources(n_sources)
        if sp.issparse(L):
            # Crowd votes: O(votes) per EM step (see _sparse_votes).
            data = SparseVoteData(L, C, sample_weight, active)
            L_active = None
        else:
            L_active = L[:, active] if len(active) < n_sources else L
        spread = self._check_spread(_off_top_mass(L_active) if L.ndim == 3 else None)
        if L_active is not None:
            data = (_HardData if L.ndim == 2 else _SoftData)(L_active, C, sample_weight)
        n_eff = float(n_samples if sample_weight is None else np.sum(sample_weight))

        def step(W, log_prior, need_counts):
            return em_step(data, W, log_prior, need_counts)

        # The soft votes' products are (n, m (C+1)) x (m (C+1), C): too thin
        # for BLAS threads, which stall when other jobs hold the cores.
        with serial_blas():
            self._run_em(step, n_eff, active, n_sources, spread)

    def _fit_blocks(self, blocks, summary):
        """Fit on the row blocks of a dask array (see ``_dask``)."""
        n_sources = summary.n_sources
        C = self.n_classes_
        self._warn_few_sources(n_sources)
        active = self._active_sources(n_sources)
        step, n_eff, off_top = dawid_skene_steps(blocks, summary, active, C, self.abstain)
        self._run_em(step, n_eff, active, n_sources, self._check_spread(off_top))

    def _check_spread(self, off_top):
        """Warn when soft votes spread their mass over several classes.

        ``off_top``: the per-source vote mass off the top class and the total
        vote mass (None for hard votes). Returns which active sources spread
        more than 5% of their mass (None for hard votes).
        """
        if off_top is None:
            return None
        overall, per_source = _spread_fraction(*off_top)
        if overall > _SPREAD_WARN:
            warnings.warn(
                f"DawidSkene got soft votes with {overall:.0%} of their vote mass "
                "spread over classes other than each vote's top class. They "
                "are fractional observations, which flatten the fitted confusion "
                "matrices and can collapse the fit (accuracy near chance). Keep "
                "only the top-class confidence (the rest as abstain mass), use "
                "hard votes, or use MajorityVote.",
                UserWarning,
                stacklevel=user_stacklevel(),
            )
        return per_source > _SPREAD_WARN

    def _abstain_outcomes(self):
        """Whether ``confusion_`` has an abstain outcome (all but False)."""
        return self.model_abstain == "auto" or bool(self.model_abstain)

    @staticmethod
    def _one_class(N0):
        """Which active sources vote for one class only (from the counts ``N0``)."""
        return (N0[:, 1:, :].sum(axis=2) > 0).sum(axis=1) <= 1

    def _modelled_abstain(self, one_class):
        """Which active sources have abstaining modelled as an outcome.

        ``"auto"``: the sources that vote for one class only. Without their
        silence such a source carries no information (its vote is the same
        whatever the class), while the silence of a source that votes for
        several classes, such as a crowd worker, mostly reflects which items
        it was given, so it is left out of the likelihood.
        """
        if self.model_abstain == "auto":
            return one_class.copy()
        return np.full(len(one_class), bool(self.model_abstain))

    def _anchor(self, N, class_mass, modelled, rule_like):
        """The outcome mask and the anchoring pseudo-counts of EM.

        ``N`` and ``class_mass`` are the expected counts of the starting
        point (the soft majority vote): the Dirichlet pseudo-counts are
        proportional to them, which centres the prior on that fit. A float
        ``anchor_strength`` scales them all; ``"auto"`` weighs them by the
        source's kind (``rule_like``: the sources that vote for one class
        only, or spread soft votes over classes), see the class docstring.
        """
        # Outcomes in each source's likelihood: the votes, and the abstain
        # outcome where it is modelled.
        outcome_mask = np.ones((len(modelled), self.n_classes_ + 1, 1))
        outcome_mask[~modelled, 0] = 0.0
        centre = N * outcome_mask
        if self.anchor_strength != "auto":
            kappa = float(self.anchor_strength)
            return _Anchor(outcome_mask, kappa * centre, kappa * class_mass)
        # The vote share of the rule-like sources: 1 for a matrix of rules,
        # about 0 for a crowd, where the majority vote is a poor centre for
        # workers with hundreds of labels.
        votes = N[:, 1:, :].sum(axis=(1, 2))
        total = float(votes.sum())
        share = float(votes[rule_like].sum()) / total if total > 0 else 1.0
        counts = centre.copy()
        multi = ~rule_like
        if multi.any():
            # A few pseudo-votes per class at the majority-vote rates (the
            # abstain outcome, where modelled, in proportion), plus the
            # rules' share of the data's own counts.
            votes_c = centre[multi, 1:, :].sum(axis=1, keepdims=True)  # (n_multi, 1, C)
            rates = np.where(votes_c > 0, centre[multi] / np.where(votes_c > 0, votes_c, 1.0), 0.0)
            # A class the source never co-voted on: flat over its votes.
            rates[:, 1:, :] = np.where(votes_c > 0, rates[:, 1:, :], 1.0 / self.n_classes_)
            counts[multi] = _AUTO_PSEUDO_VOTES * rates + share * centre[multi]
        return _Anchor(outcome_mask, counts, share * class_mass)

    def _m_step(self, N, class_mass, n_eff, anchor, prior):
        """MAP class prior and confusion matrices from the expected counts.

        The counts are those of the last E-step plus the anchoring
        pseudo-counts, ``alpha`` and ``alpha_prior``. Returns ``(prior,
        log_prior, E, log_E)``: ``E[j, k', c]`` = P(outcome k' | c), and
        ``log_E`` its logarithm, zero on the outcomes left out of the
        likelihood. A fixed prior (``class_prior`` given) is returned as is.
        """
        if self.class_prior is None:
            C = self.n_classes_
            prior = (class_mass + anchor.class_mass + self.alpha_prior) / (
                n_eff + anchor.class_mass.sum() + C * self.alpha_prior
            )
        log_prior = np.log(np.clip(prior, _LOG_FLOOR, None))
        counts = (N + self.alpha) * anchor.outcome_mask + anchor.counts
        E = counts / counts.sum(axis=1, keepdims=True)
        log_E = np.log(np.clip(E, _LOG_FLOOR, None)) * anchor.outcome_mask
        return prior, log_prior, E, log_E

    def _log_likelihood(self, loglik, log_E, log_prior, anchor):
        """EM's objective: the data log-likelihood ``loglik`` of ``(prior, E)``
        plus the log-density of the Dirichlet pseudo-counts.

        EM maximises this sum (it is non-decreasing over iterations); the
        prior's pseudo-counts count only when the prior is learned.
        """
        loglik += self.alpha * float(log_E.sum()) + float((anchor.counts * log_E).sum())
        if self.class_prior is None:
            pseudo = anchor.class_mass + self.alpha_prior
            loglik += float(pseudo @ log_prior)
        return loglik

    def _run_em(self, step, n_eff, active, n_sources, spread=None):
        """EM from ``step(W, log_prior, need_counts) -> (N, class_mass, loglik)``.

        ``step`` is the E-step (:func:`em_step`) followed by the expected
        counts, summed over the rows (in memory, or over the row blocks of a
        dask array); :meth:`_m_step` and :meth:`_log_likelihood` are the
        M-step and the objective's bookkeeping.
        """
        C = self.n_classes_
        K = C + 1
        prior = self.class_prior_
        log_prior = np.log(np.clip(prior, _LOG_FLOOR, None))
        # Initial posterior: soft majority vote (uniform on uncovered rows).
        # Its expected counts are also the centre of the anchoring prior.
        N, class_mass, _ = step(None, log_prior, True)
        one_class = self._one_class(N)
        modelled = self._modelled_abstain(one_class)
        # Sources anchored fully under anchor_strength="auto": the one-class
        # rules, and soft votes spread over classes (both drive maximum
        # likelihood to spurious optima, see the Notes).
        rule_like = one_class if spread is None else one_class | spread
        # Each source's overall abstain rate (its abstain count does not
        # depend on the posterior).
        abstain_rate = N[:, 0, :].sum(axis=1) / max(n_eff, _LOG_FLOOR)
        anchor = self._anchor(N, class_mass, modelled, rule_like)
        E_prev = prior_prev = None
        history = []
        converged = False
        for it in range(1, self.max_iter + 1):
            prior, log_prior, E, log_E = self._m_step(N, class_mass, n_eff, anchor, prior)
            W = log_E
            if it > 1:
                # The largest change of one source's matrix: a sum over
                # sources would ask more iterations of a crowd of thousands.
                change_E = np.abs(E - E_prev).sum(axis=(1, 2)).max()
                change_prior = np.abs(prior - prior_prev).sum()
                converged = change_E < self.tol and change_prior < self.tol
            # E-step: class posteriors, the log-likelihood of (prior, E) and,
            # unless EM stops here, the counts of the next M-step.
            N, class_mass, loglik = step(W, log_prior, not converged)
            history.append(self._log_likelihood(loglik, log_E, log_prior, anchor))
            if converged:
                break
            E_prev, prior_prev = E, prior
        if not converged:
            warnings.warn(
                f"DawidSkene did not converge in max_iter={self.max_iter} "
                f"iterations (tol={self.tol}); raise max_iter.",
                ConvergenceWarning,
                stacklevel=user_stacklevel(),
            )

        self.n_iter_ = it
        self.log_likelihood_ = np.asarray(history)
        self.class_prior_ = np.asarray(prior, dtype=np.float64)
        abstain_modelled = np.zeros(n_sources, dtype=bool)
        abstain_modelled[active] = modelled
        self.abstain_modelled_ = abstain_modelled

        # Confusion matrices P(outcome | class), silent sources included.
        if not self._abstain_outcomes():
            confusion = np.full((n_sources, C, C), 1.0 / C)
            confusion[active] = E[:, 1:, :].transpose(0, 2, 1)
        else:
            confusion = np.zeros((n_sources, C, K))
            confusion[:, :, 0] = 1.0  # a silent source always abstains
            # A source whose abstains are left out abstains at its overall
            # rate whatever the class: P(o | c) = rate * [o = abstain] +
            # (1 - rate) P(vote o | c, voted).
            table = E.transpose(0, 2, 1).copy()
            rest = ~modelled
            table[rest, :, 0] = abstain_rate[rest, None]
            table[rest, :, 1:] *= 1.0 - abstain_rate[rest, None, None]
            confusion[active] = table
        self.confusion_ = confusion
        self.source_accuracy_ = vote_accuracy(
            confusion, self.class_prior_, self.silent_sources_
        )

        # Tensor form: the prior is spread over the active sources, so that
        # every row adds it exactly once and silent sources weigh nothing.
        W_full = np.zeros((n_sources, K, C))
        W_full[active] = W + log_prior / len(active)
        self.W_ = W_full
