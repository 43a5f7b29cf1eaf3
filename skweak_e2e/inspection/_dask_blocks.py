"""Training rows on dask: per-block terms in the workers' memory, reduced fits.

The influence of a training term is local to its row once three global
quantities are known: the end model's parameters ``theta``, the (damped)
Hessian ``H`` and the target gradient. On a dask ``X`` and ``L`` each row
block therefore becomes one :class:`TrainingBlock` (its features, its term
decomposition, its labels), kept in the workers' memory; the objective, its
gradient and the Hessian are sums over the blocks (:class:`BlockData`), and
only these ``D``- or ``D x D``-sized sums travel to the driver. The end model
is fitted by Newton's method on the reduced statistics: one pass over the
blocks per step gives the objective, the gradient and the Hessian at once.
"""

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import assert_all_finite

from ..label_model._tensor_form import tensor_scores
from ..utils._dask import align_rows, import_dask, map_sum
from ..utils._label_matrix import is_covered
from ..utils._validation import check_label_matrix
from ._hessian_solver import HessianSolver
from ._linear_loss import LogisticModel, damped_step
from ._pipeline import check_votes_fit
from ._terms import TermDecomposition

#: Fewest training rows whose Hessian stands for all rows in the Newton steps
#: of a dask fit (the final Hessian is exact).
HESSIAN_SAMPLE_ROWS = 50_000
#: ... and at least this many per end-model parameter.
HESSIAN_ROWS_PER_PARAM = 50

__all__ = [
    "BlockCurvature",
    "BlockData",
    "RowBlock",
    "cross_validated_l2",
    "TrainingBlock",
    "aligned_blocks",
    "newton_fit",
    "training_blocks",
]


def aligned_blocks(X, L, caller):
    """``X`` and ``L`` as dask arrays with the same row chunks, whole rows each.

    An in-memory ``X`` (dense or scipy.sparse) or ``L`` beside a dask one is
    cut along the other's row chunks
    (:func:`~skweak_e2e.utils._dask.align_rows`); row chunks must be known.
    """
    _, (X, L) = align_rows([("X", X), ("L", L)], caller)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features); got shape {X.shape}.")
    if L.ndim not in (2, 3):
        raise ValueError(
            "L must be 2-D (n_samples, n_sources) or 3-D soft votes; got shape "
            f"{L.shape}."
        )
    if X.dtype.kind not in "biuf" or L.dtype.kind not in "biuf":
        raise TypeError(
            f"X and L must hold numbers; got dtypes {X.dtype} and {L.dtype}."
        )
    return X, L


class TrainingBlock:
    """One row block of the training data, validated and decomposed.

    Parameters
    ----------
    X : ndarray of shape (n_rows, d)
    L : ndarray of shape (n_rows, m) or (n_rows, m, C)
        The block's votes as given (``abstain`` = no vote).
    W : ndarray of shape (m, C + 1, C)
    activation : {"identity", "exp"}
    abstain : int
    offset : int
        Position of the block's first row in ``L``.

    Attributes
    ----------
    index : ndarray of shape (n_train,)
        Training rows of the block (covered, with label mass), block positions.
    X : ndarray of shape (n_train, d)
        Their features.
    terms : TermDecomposition or None
        Their term decomposition (None without training rows).
    labels : ndarray of shape (n_train, C)
    """

    def __init__(self, X, L, W, activation, abstain, offset):
        n_classes = W.shape[2]
        self.n_rows, self.offset = int(np.shape(L)[0]), int(offset)
        self.n_sources = W.shape[0]
        L = _validated_votes(L, n_classes, abstain, W)
        scores = tensor_scores(L, W)
        rows = is_covered(L)
        if activation == "identity":
            rows &= scores.sum(axis=1) > 0
        self.index = np.flatnonzero(rows)
        X = _stored_features(X)
        # Every row, covered or not, as the in-memory fit checks X whole.
        assert_all_finite(X, input_name="X")
        self.X = X if rows.all() else X[self.index]
        self.terms = None
        self.labels = np.zeros((0, n_classes))
        if self.index.size:
            self.terms = TermDecomposition(L[rows], W, activation, scores=scores[rows])
            self.labels = self.terms.labels


def _stored_features(X):
    """A block's features as the blocks keep them: float32 or float64.

    Sparse blocks (scipy) stay sparse and float32 blocks stay float32: the
    model only multiplies them by float64 parameters, which promotes every
    product to float64 exactly as a float64 copy would, and a float64 copy
    of each block held for the inspector's lifetime would triple the
    workers' memory of a float32 ``X``. Other dtypes become float64.
    """
    kept = (np.float32, np.float64)
    if sp.issparse(X):
        return sp.csr_matrix(X, dtype=X.dtype if X.dtype in kept else np.float64)
    X = np.asarray(X)
    return X if X.dtype in kept else X.astype(np.float64)


def _validated_votes(L, n_classes, abstain, W):
    L = np.asarray(L)
    if L.shape[0] == 0:
        shape = L.shape[:2] + ((n_classes,) if L.ndim == 3 else ())
        return np.zeros(shape, dtype=np.float64 if L.ndim == 3 else np.int8)
    L, _ = check_label_matrix(
        L, n_classes=n_classes, abstain=abstain, allow_soft=True, require_votes=False
    )
    check_votes_fit(L, W)
    return L


class RowBlock:
    """Rows that join the objective only (no terms, no output): gold rows, or
    a block's rows with the labels of a cross-validation fold."""

    terms = None

    def __init__(self, X, labels):
        self.X = _stored_features(X)
        self.labels = np.asarray(labels, dtype=np.float64)
        self.index = np.arange(self.X.shape[0])


def _fold_rows(block, folds, fold):
    """The block's training rows with the labels of the other folds only."""
    return RowBlock(block.X, block.labels * (folds != fold)[:, None])


def _held_loss(block, folds, model, theta, fold):
    """Noise-aware loss sums of the block's rows in ``fold``: (loss, mass)."""
    T = block.labels * (folds == fold)[:, None]
    if not T.any():
        return np.zeros(2)
    logp = model.log_proba(as_float64(block.X), theta)
    return np.array([-(T * logp).sum(), T.sum()])


def cross_validated_l2(data, n_classes, reference, grid, n_folds, tol, max_steps):
    """The held-out losses of ``select_l2`` without a validation set, on blocks.

    The folds are those of the in-memory choice: a fixed permutation of the
    training rows, in row order, modulo ``n_folds``; each block receives its
    slice once. For every fold, the path of fits (strongest ridge first,
    warm-started) runs on the blocks' labels of the other folds, and the
    noise-aware loss of the fold's rows is summed over the blocks.

    Returns
    -------
    losses : ndarray of shape (len(grid),)
    """
    dask = import_dask("SourceAwareInfluence")
    fold = np.random.RandomState(0).permutation(data.n_train) % n_folds
    bounds = np.concatenate([[0], np.cumsum(data.counts)])
    slices = [fold[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
    parts = dask.persist(*[dask.delayed(np.array)(f) for f in slices])
    losses = np.zeros(len(grid))
    for f in range(n_folds):
        rows = dask.persist(*[
            dask.delayed(_fold_rows, pure=False)(b, part, f)
            for b, part in zip(data.blocks, parts)
        ])
        counts = [int(np.sum(sl != f)) for sl in slices]
        sub = BlockData(rows, data.chunks, data.n_features, n_classes, counts)
        theta = None
        for k in np.argsort(grid)[::-1]:
            model = LogisticModel(data.n_features, n_classes, reference=reference,
                                  l2=grid[k])
            theta, _, _ = newton_fit(sub, model, theta, tol=tol, max_iter=max_steps,
                                     exact_hessian=False)
            loss, mass = map_sum(_held_loss, list(zip(data.blocks, parts)),
                                 model, theta, f)
            losses[k] += loss / max(mass, 1e-300) / n_folds
    return losses


def training_blocks(X, L, W, activation, abstain, caller):
    """The :class:`BlockData` of aligned dask ``X`` and ``L`` (see ``aligned_blocks``).

    Every row block becomes one :class:`TrainingBlock`, persisted on the
    workers; only the count of training rows comes back.
    """
    dask = import_dask(caller)
    chunks = tuple(int(c) for c in L.chunks[0])
    offsets = np.concatenate([[0], np.cumsum(chunks)[:-1]])
    parts = zip(X.to_delayed().ravel(), L.to_delayed().ravel(), offsets)
    make = dask.delayed(_make_block, pure=False)
    tasks = [make(x, l, W, activation, abstain, int(o)) for x, l, o in parts]
    blocks = list(dask.persist(*tasks))
    count = dask.delayed(_block_counts, pure=False)
    counts = dask.compute(*[count(b) for b in blocks])
    if sum(counts) == 0:
        raise ValueError("No training row carries label mass: every row is uncovered.")
    return BlockData(blocks, chunks, X.shape[1], W.shape[2], counts)


def _make_block(X, L, W, activation, abstain, offset):
    return TrainingBlock(X, L, W, activation, abstain, offset)


def _block_index(block):
    return block.index + block.offset


def _block_labels(block):
    return block.labels


def _block_counts(block):
    """Training rows of a block."""
    return int(block.index.size)


def block_labels(block, removed=None):
    """The block's training labels, after zeroing the sources ``removed``."""
    if removed is None or block.terms is None:
        return block.labels
    return block.terms.labels_without_sources(np.asarray(removed, dtype=np.intp))


def _block_full_labels(block, removed):
    out = np.zeros((block.n_rows, block.labels.shape[1]))
    out[block.index] = block_labels(block, removed)
    return out


#: Rows per step of a block's pass: a float64 copy of this many rows of a
#: float32 block (about 5 MB at 300 features) stays in cache between the
#: logits, the gradient and the Hessian, which all read it.
STATS_CHUNK_ROWS = 2048


def as_float64(X):
    """``X`` in float64: a float32 block (or a slice of one) is copied once."""
    return X.astype(np.float64, copy=False)


def _block_stats(block, hessian, model, theta, n_norm, removed):
    """Objective, gradient and (optionally) Hessian sums of one block.

    ``model`` carries no ridge: the penalty is added once, on the driver.
    ``hessian``: 0 (none), else the weight of the block's Hessian (above 1
    when the block stands for others). ``removed``: sources whose parameters
    are zeroed in the labels (None).

    One pass over the rows, a chunk at a time: each chunk's logits,
    probabilities, gradient and Hessian are taken while it is in cache,
    instead of one sweep of the block for the logits and another for the
    gradient. The float64 work space is allocated once per block: a dask
    worker returns every large freed array to the system (distributed sets
    ``MALLOC_TRIM_THRESHOLD_``), so one per chunk made the pass 2.3 times
    slower there (measured on 1e6 x 300 float32 rows).
    """
    X, T = block.X, block_labels(block, removed)
    D = model.n_params
    if X.shape[0] == 0:
        return 0.0, np.zeros(D), 0.0
    value, grad, H = 0.0, np.zeros(D), 0.0
    dense = not sp.issparse(X)
    rows = min(STATS_CHUNK_ROWS, X.shape[0])
    copy = np.empty((rows, X.shape[1])) if dense and X.dtype != np.float64 else None
    scratch = np.empty((rows, X.shape[1])) if dense and hessian else None
    for start in range(0, X.shape[0], STATS_CHUNK_ROWS):
        Xc = X[start : start + STATS_CHUNK_ROWS]
        if copy is not None:
            Xc = copy[: Xc.shape[0]]
            np.copyto(Xc, X[start : start + STATS_CHUNK_ROWS])
        elif not dense:
            Xc = as_float64(Xc)
        loss_sum, grad_sum, P, rho = model.data_terms(
            theta, Xc, T[start : start + STATS_CHUNK_ROWS]
        )
        value += loss_sum
        grad += grad_sum
        if hessian:
            H = H + model.hessian(Xc, P, rho, n_norm, scratch=scratch)
    return value / n_norm, grad / n_norm, H * hessian if hessian else 0.0


class BlockData:
    """The training blocks of a dask ``X`` and ``L``, kept on the workers.

    Built by :func:`training_blocks`; :meth:`with_rows` adds in-memory rows
    to the objective (the gold rows of the leave-one-out score).

    Parameters
    ----------
    blocks : list
        One persisted :class:`TrainingBlock` per row chunk.
    chunks : tuple of int
        Rows per block of ``L``.
    n_features, n_classes : int
    counts : sequence of int
        Training rows of every block (``n_train``: their sum).
    extra : list, default=()
        Blocks of in-memory rows that join the objective only.
    n_norm : float, default=None
        Normaliser of the mean loss; ``n_train`` when None.
    """

    def __init__(self, blocks, chunks, n_features, n_classes, counts, extra=(),
                 n_norm=None):
        self.blocks, self.chunks, self.extra = list(blocks), tuple(chunks), list(extra)
        self.n_samples = int(sum(self.chunks))
        self.n_features, self.n_classes = int(n_features), int(n_classes)
        self.counts = tuple(int(c) for c in counts)
        self.n_train = int(sum(self.counts))
        self.n_norm = float(self.n_train if n_norm is None else n_norm)

    def with_rows(self, X, labels):
        """The same blocks, with rows ``X`` of labels ``labels`` in the objective."""
        extra = RowBlock(X, labels)
        return BlockData(self.blocks, self.chunks, self.n_features, self.n_classes,
                         self.counts, self.extra + [extra],
                         self.n_norm + extra.X.shape[0])

    def lazy_training_rows(self):
        """Lazy ``(train_index, labels)``: training rows and labels, block by block."""
        da = import_dask("SourceAwareInfluence", "dask.array")
        delayed = import_dask("SourceAwareInfluence").delayed
        C = self.n_classes
        index = [
            da.from_delayed(delayed(_block_index)(b), shape=(np.nan,), dtype=np.intp)
            for b in self.blocks
        ]
        labels = [
            da.from_delayed(delayed(_block_labels)(b), shape=(np.nan, C), dtype=float)
            for b in self.blocks
        ]
        return da.concatenate(index), da.concatenate(labels)

    def map_sum(self, func, *args):
        """``sum(func(block, *args))`` over the blocks (and extra rows)."""
        return map_sum(func, [(b,) for b in self.blocks + self.extra], *args)

    def lazy_labels(self, removed=None):
        """Lazy (n_samples, C) training labels (zero rows off training)."""
        da = import_dask("SourceAwareInfluence", "dask.array")
        task = import_dask("SourceAwareInfluence").delayed(_block_full_labels)
        return da.concatenate([
            da.from_delayed(task(b, removed), shape=(n, self.n_classes), dtype=float)
            for b, n in zip(self.blocks, self.chunks)
        ])

    def hessian_weights(self, n_params, exact=False):
        """Weight of each block's Hessian: all 1 (exact), or a row sample.

        The sample, blocks spread evenly over the rows and holding at least
        ``max(HESSIAN_SAMPLE_ROWS, HESSIAN_ROWS_PER_PARAM * n_params)``
        training rows, is
        weighted up to stand for every row; in-memory extra rows always
        count once. A Newton step on the sample's Hessian costs one Hessian
        of the sample plus a gradient over every row.
        """
        counts = np.asarray(self.counts, dtype=float)
        weights = np.ones(len(self.blocks))
        target = max(HESSIAN_SAMPLE_ROWS, HESSIAN_ROWS_PER_PARAM * n_params)
        if not exact and counts.sum() > 2 * target:
            weights[:] = 0.0
            taken = 0.0
            stride = max(1, int(len(counts) * target / counts.sum()))
            for order in range(stride):  # every stride-th block, then the next...
                for k in range(order, len(counts), stride):
                    if taken >= target:
                        break
                    weights[k] = 1.0
                    taken += counts[k]
            weights *= counts.sum() / taken
        return tuple(weights) + (1.0,) * len(self.extra)

    def stats(self, model, theta, weights=None, removed=None):
        """``(value, grad, H)`` of the mean-loss objective of ``model`` at ``theta``.

        ``weights``: of the blocks' Hessians (:meth:`hessian_weights`; None:
        exact, all 1). ``removed``: the labels are those without these
        sources (a repair).
        """
        bare = LogisticModel(
            model.n_features,
            model.n_classes,
            fit_intercept=model.fit_intercept,
            reference=model.reference,
            l2=0.0,
        )
        if weights is None:
            weights = (1.0,) * (len(self.blocks) + len(self.extra))
        value, grad, H = map_sum(
            _block_stats,
            list(zip(self.blocks + self.extra, weights)),
            bare, theta, self.n_norm, removed,
        )
        Th = theta.reshape(model.n_rows, model.n_free)
        value = float(value) + model.penalty(theta)
        grad = grad + (model.l2_rows[:, None] * Th).ravel()
        H = np.asarray(H, dtype=float) + np.diag(np.repeat(model.l2_rows, model.n_free))
        return value, grad, H


class BlockCurvature:
    """The curvature interface :class:`HessianSolver` reads, over row blocks.

    At fixed parameters ``theta``: ``hessian`` returns the Hessian reduced
    during the fit (a copy; D x D with D at most
    ``CHOLESKY_MAX_PARAMS``, so it is always held), and ``hvp`` and
    ``hessian_diag`` read it rather than pass over the blocks again (one
    pass per conjugate-gradient iteration otherwise). The arguments ``X``,
    ``P`` and ``rho`` of the interface are ignored.
    """

    def __init__(self, model, hessian):
        self.hessian_ = hessian
        for name in ("n_params", "n_rows", "n_free", "n_features", "n_classes",
                     "fit_intercept", "null_rows", "l2_rows"):
            setattr(self, name, getattr(model, name))

    def hessian(self, X, P, rho, n_norm=None):
        return self.hessian_.copy()

    def hvp(self, X, P, rho, v, n_norm=None):
        return self.hessian_ @ v

    def hessian_diag(self, X, P, rho, n_norm=None):
        return np.diag(self.hessian_).copy()


def newton_fit(data, model, init, *, tol, max_iter, polish=True, removed=None,
               exact_hessian=True):
    """Minimise the objective on the blocks: Newton steps on reduced statistics.

    Each step costs one pass over the blocks, which returns the objective
    and the gradient over every row and the Hessian of a row sample
    (:meth:`BlockData.hessian_weights`; every row when the sample would be
    most of them) at the candidate (``removed``: on the labels without these
    sources). The step is damped by backtracking (Armijo, or a smaller
    gradient where the objective is flat in double precision), as the
    in-memory polish. Steps converge linearly on the sample's Hessian, so a
    step that does not shrink the gradient fourfold switches to the exact
    Hessian; once the gradient is within ``tol``, one more pass returns the
    exact Hessian at the solution, which the influence solves use.

    Returns
    -------
    theta : ndarray of shape (D,)
    info : dict
        ``n_iter`` (0: no L-BFGS here), ``n_newton``, ``grad_inf``,
        ``grad_inf_given`` (at ``init`` when given), ``n_passes``.
    hessian : ndarray of shape (D, D)
        The exact Hessian at ``theta`` (with ``exact_hessian=False``, that of
        the last pass, possibly of the row sample).
    """
    exact = data.hessian_weights(model.n_params, exact=True)
    weights = data.hessian_weights(model.n_params)
    theta = np.zeros(model.n_params) if init is None else np.array(init, float)
    value, grad, H = data.stats(model, theta, weights, removed)
    given = None if init is None else float(np.max(np.abs(grad)))
    n_newton, passes, H_weights = 0, 1, weights
    while polish and np.max(np.abs(grad)) > tol and n_newton < max_iter:
        g_inf = np.max(np.abs(grad))
        solver = HessianSolver(
            BlockCurvature(model, H), None, None, None,
            n_norm=data.n_norm, solver="cholesky",
        )
        step = solver.solve(grad)
        cand, result, n_passes = damped_step(
            lambda point: data.stats(model, point, weights, removed),
            theta, step, value, grad,
        )
        passes += n_passes
        if cand is None:
            break
        theta, (value, grad, H), H_weights = cand, result, weights
        n_newton += 1
        if np.max(np.abs(grad)) > 0.25 * g_inf:
            weights = exact
    if exact_hessian and H_weights != exact:
        value, grad, H = data.stats(model, theta, exact, removed)
        passes += 1
    info = {
        "grad_inf_given": given,
        "grad_inf": float(np.max(np.abs(grad))),
        "n_iter": 0,
        "n_newton": n_newton,
        "n_passes": passes,
    }
    return theta, info, H
