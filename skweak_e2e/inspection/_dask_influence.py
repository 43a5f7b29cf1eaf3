"""Source-aware influence on dask arrays: reduced fit and solves, lazy results.

The closed-form end models (the soft-label logistic regression, or a
scikit-learn ``LogisticRegression`` read as one) are fitted on the training
blocks of :mod:`._dask_blocks` by Newton steps on reduced statistics; the
Hessian of the last step is factorised on the driver. A target's gradient
is a sum over its rows (over its blocks, for a dask target), and its
``V = H^-1 g`` (``D`` numbers) is sent to every block. Each block then
computes its terms' influences exactly as the in-memory inspector does
(:class:`ResultBuilder` on the block's rows), so that:

* per-source and per-parameter aggregates (small) are summed over the
  blocks and returned in memory;
* per-sample, per-vote and per-term arrays stay lazy dask arrays, one block
  per row block of ``L``, computed when asked.
"""

import numpy as np

from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.utils import Bunch

from ..label_model._dask import as_dask_array
from ..utils._math import logsumexp_rows
from ..utils._dask import (
    import_dask,
    is_dask_collection,
    is_dask_frame,
    map_sum,
    row_blocks,
)
from ._backends import (
    BackendOptions,
    closed_form_reference,
    leave_out_proba,
    self_influence,
    sklearn_factory,
    sklearn_linear_model,
    sklearn_theta,
    soft_logistic_factory,
    target_gradients,
)
from ._dask_blocks import (
    BlockCurvature,
    aligned_blocks,
    as_float64,
    cross_validated_l2,
    newton_fit,
    training_blocks,
)
from ._l2_selection import FLAT_RTOL, L2_GRID, N_FOLDS, SELECTION_TOL
from ._linear_loss import soft_cross_entropy
from ._repair import Removal, harmful_order, source_removal_influence
from ._hessian_solver import (
    CHOLESKY_MAX_PARAMS,
    HessianSolver,
    jacobi_row_kernels,
    row_kernels,
)
from ._linear_loss import LogisticModel
from ._pipeline import (
    check_target,
    leave_one_out_scores,
    linearize_if_needed,
    split_model,
)
from ._torch_influence import is_torch_model
from ._result import ResultBuilder, Top, check_variant

__all__ = [
    "DaskInfluenceResult",
    "DaskLogisticBackend",
    "DaskResultBuilder",
    "prepare_dask",
    "refusal",
]

#: Newton steps of a fit on reduced statistics (each is one pass over X).
NEWTON_MAX_STEPS = 100


class Direction:
    """A target's ``V = H^-1 grad`` (what every block needs), shape (D,)."""

    def __init__(self, V):
        self.V = V


def dask_backend(end_model, data, n_classes, options, reference):
    """The :class:`DaskLogisticBackend` of a closed-form end model.

    ``end_model`` None: the soft-label logistic regression (``reference``:
    class 0 at logit 0); a ``LogisticRegression``: its objective, from its
    coefficients when fitted (else from zero: no scikit-learn fit runs here).
    """
    d = data.n_features
    if end_model is None:
        model = LogisticModel(d, n_classes, reference=reference, l2=options.l2)
        return DaskLogisticBackend(
            model, data, None, soft_logistic_factory(model, options, reference), options
        )
    model = sklearn_linear_model(end_model, d, data.n_train, n_classes)
    return DaskLogisticBackend(
        model,
        data,
        _sklearn_init(end_model, model, n_classes),
        sklearn_factory(end_model, model),
        options,
    )


class DaskLogisticBackend:
    """A closed-form end model fitted on the training blocks of a dask ``X``.

    Parameters
    ----------
    model : LogisticModel
    data : BlockData
    init : ndarray of shape (D,) or None
        Given parameters (polished when ``options.polish``), or None to fit.
    make_estimator : callable or None
        Maps parameters to the user-facing end model.
    options : BackendOptions
    """

    can_refit = True
    raw_inputs = False

    def __init__(self, model, data, init, make_estimator, options, polish=None):
        if model.n_params > CHOLESKY_MAX_PARAMS:
            raise ValueError(
                f"The end model has {model.n_params} parameters; on dask arrays the "
                f"Hessian is reduced explicitly, up to {CHOLESKY_MAX_PARAMS}. Reduce "
                "the features (e.g. a projection), or inspect an in-memory sample "
                "of the rows (X[idx].compute(), L[idx].compute())."
            )
        self.model, self.data, self.options = model, data, options
        self.n_norm = data.n_norm
        self._fit_options = {"tol": options.tol,
                             "max_iter": min(options.max_iter, NEWTON_MAX_STEPS)}
        if polish is None:
            polish = options.polish or init is None
        self.theta, info, H = newton_fit(data, model, init, polish=polish,
                                         **self._fit_options)
        self._inverse = None  # H^-1, computed on first use
        self.stationarity = info
        cg_tol, cg_it = options.cg(False)
        self.solver = HessianSolver(
            BlockCurvature(model, H), None, None, None,
            n_norm=self.n_norm, solver=options.hessian_solver(), cg_tol=cg_tol,
            cg_max_iter=cg_it, damping=float(options.damping),
        )
        self.make_estimator = make_estimator
        self.end_model = None if make_estimator is None else make_estimator(self.theta)

    def with_gold_rows(self, X_gold, y_gold, weight):
        """A backend refitted with labelled in-memory rows of mass ``weight``.

        As :meth:`LogisticBackend.with_gold_rows`: the rows join the
        objective (and its normaliser) with one-hot labels, the model is
        refitted from the current parameters; the training blocks keep their
        rows, so the leave-one-out scores address them as before.
        """
        gold = float(weight) * np.eye(self.model.n_classes)[y_gold]
        data = self.data.with_rows(X_gold, gold)  # checked: float64 or CSR
        # Refitted whatever ``polish`` says, as in memory: the gold rows
        # move the optimum.
        return DaskLogisticBackend(self.model, data, self.theta, None, self.options,
                                   polish=True)

    @property
    def has_inverse(self):
        return self.solver.solver == "cholesky"

    @property
    def n_features(self):
        return self.model.n_features

    def inputs(self, X):
        return X

    def proba(self, X):
        return self.model.proba(X, self.theta)

    def loss(self, X, y, theta=None):
        """Mean cross-entropy of hard labels ``y`` (in-memory ``X``)."""
        theta = self.theta if theta is None else theta
        return soft_cross_entropy(self.model.log_proba(X, theta), y)

    def refit(self, removed):
        """Parameters refitted on the labels without the sources ``removed``."""
        # The parameters only: no exact Hessian pass at the end.
        theta, _, _ = newton_fit(self.data, self.model, self.theta,
                                 removed=tuple(removed), exact_hessian=False,
                                 **self._fit_options)
        return theta

    def target_gradients(self, X_t, y_t, reduce):
        """Gradients of the target loss, summed over the blocks of a dask target."""
        if not is_dask_collection(X_t):
            return target_gradients(self.model, self.theta, X_t, y_t, reduce)
        blocks = row_blocks(X_t, y_t, caller="SourceAwareInfluence",
                            input_name="X", aligned_name="y")
        G, n_t = map_sum(_target_block, blocks, self.model, self.theta)
        return (G / n_t if reduce == "mean" else G).reshape(-1, 1)

    def directions(self, X_t, y_t, reduce):
        """One :class:`Direction` per target (one for ``"mean"`` and ``"sum"``)."""
        V = self.solver.solve(self.target_gradients(X_t, y_t, reduce))
        return [Direction(V[:, k]) for k in range(V.shape[1])]

    def context(self, kernels=None):
        """What a block needs besides its rows (small; sent to every block)."""
        return _RowContext(self.model, self.theta, self.n_norm, kernels)

    def kernel_source(self, exact):
        """``("exact", H^-1)`` or ``("jacobi", diag(H))`` for the row kernels."""
        if exact:
            if self._inverse is None:  # O(D^3): once, not once per query
                self._inverse = self.solver.inverse()
            return ("exact", self._inverse)
        return ("jacobi", self.solver.damped_diagonal())


def _sklearn_init(lr, model, n_classes):
    if not hasattr(lr, "coef_"):
        return None
    classes = np.asarray(lr.classes_)
    if not np.array_equal(classes, np.arange(n_classes)):
        raise ValueError(
            f"The LogisticRegression end model has classes {classes.tolist()}; "
            f"expected 0..{n_classes - 1} (the label model's classes)."
        )
    return sklearn_theta(lr, model)


def _target_block(X, y, model, theta):
    X, y = check_target(X, y, model.n_features, model.n_classes)  # dense or CSR
    return target_gradients(model, theta, X, y, "sum").ravel(), len(y)


class _RowContext:
    """The end model at its optimum and the kernel source, for every block."""

    def __init__(self, model, theta, n_norm, kernels):
        self.model, self.theta, self.n_norm = model, theta, n_norm
        self.kernels = kernels

    def rows(self, block):
        # A float32 block is copied to float64 once per task, not once for
        # every product that reads it.
        return _BlockRows(self, as_float64(block.X))


class _BlockRows:
    """The backend interface :class:`ResultBuilder` reads, on one block's rows."""

    def __init__(self, ctx, X):
        self.ctx, self.X = ctx, X
        # The logits once: the probabilities, and the leave-one-out's logits.
        self._logits = ctx.model.logits(X, ctx.theta)
        self.P = np.exp(self._logits - logsumexp_rows(self._logits)[:, None])
        self.has_inverse = ctx.kernels is not None and ctx.kernels[0] == "exact"
        self._kernels = {}  # computed on first use (RelatIF, leave-one-out)

    def row_kernels(self):
        if not self._kernels:
            kind, source = self.ctx.kernels
            make = row_kernels if kind == "exact" else jacobi_row_kernels
            self._kernels[kind] = make(self.ctx.model, source, self.X)
        return next(iter(self._kernels.values()))

    def self_influence(self, G):
        return self_influence(self.ctx.model, self.row_kernels(), G)

    def leave_out_proba(self, rows, delta):
        ctx = self.ctx
        return leave_out_proba(ctx.model, self._logits, self.P,
                               self.row_kernels(), ctx.n_norm, rows, delta)


def _block_result(block, ctx, V, method, relative, names, classes):
    if block.terms is None:
        return None
    model, rows = ctx.model, ctx.rows(block)
    U = model.pad(model.apply(rows.X, V.reshape(model.n_rows, model.n_free)))
    builder = ResultBuilder(block.terms, rows, block.index,
                            block.n_rows, names, classes)
    return builder.result(U, method, relative)


def _field(result, name, block):
    """A per-row field of a block's result (zeros for a block without terms)."""
    if result is None:
        shape = (block.n_rows, block.n_sources) if name == "per_vote" else block.n_rows
        return np.zeros(shape)
    value = getattr(result, name)
    return value.toarray() if name == "per_vote" else value


def _summary(result, block, n_classes):
    if result is None:
        m = block.n_sources
        return np.zeros(m), np.zeros((m, n_classes + 1, n_classes))
    return result.per_source, result.per_parameter


def _block_terms(result, block, fmt, key, dtype, n_classes):
    if fmt == "dense":
        if result is None:
            return np.zeros((block.n_rows, block.n_sources, n_classes), dtype=dtype)
        return result.terms("dense", dtype=dtype, max_bytes=np.inf)
    if result is None:
        return np.zeros(0, dtype=np.intp if key in ("sample", "source", "class") else float)
    value = result.terms("coo")[key]
    return value + block.offset if key == "sample" else value


def _block_vote_scores(result, block, names, classes):
    if result is None:
        return np.full((block.n_rows, block.n_sources), np.nan)
    builder = ResultBuilder(block.terms, None, block.index, block.n_rows, names, classes)
    return builder.vote_scores(result)


def _block_leave_one_out(block, ctx, method):
    if block.terms is None:
        return np.full((block.n_rows, block.n_sources), np.nan)
    return leave_one_out_scores(ctx.rows(block), block.terms, block.index,
                                block.n_rows, method)


class DaskResultBuilder:
    """:class:`ResultBuilder` over the training blocks: lazy per-row results.

    Parameters
    ----------
    data : BlockData
    backend : DaskLogisticBackend
    activation : {"identity", "exp"}
    n_classes : int
    source_names, classes : ndarray
    """

    def __init__(self, data, backend, activation, n_classes, source_names, classes):
        self.data, self.backend = data, backend
        self.activation, self.n_classes = activation, n_classes
        self.source_names, self.classes = source_names, classes

    @property
    def _dask(self):  # modules are not kept: the inspector stays picklable
        return import_dask("SourceAwareInfluence")

    @property
    def _da(self):
        return import_dask("SourceAwareInfluence", "dask.array")

    def check_variant(self, method, relative):
        return check_variant(method, relative, self.activation, self.backend.has_inverse)

    def _context(self, exact):
        kernels = self.backend.kernel_source(exact) if exact is not None else None
        return self._dask.delayed(self.backend.context(kernels), pure=False)

    def _lazy(self, parts, shape_of, dtype=float):
        """One dask array from per-block delayed arrays, in row order."""
        da = self._da
        blocks = [
            da.from_delayed(part, shape=shape_of(n), dtype=dtype)
            for part, n in zip(parts, self.data.chunks)
        ]
        return da.concatenate(blocks) if len(blocks) > 1 else blocks[0]

    def result(self, direction, method, relative):
        """The :class:`DaskInfluenceResult` of a target's direction."""
        delayed = self._dask.delayed
        ctx = self._context(True if relative else None)
        task = delayed(_block_result, pure=False)
        results = [
            task(b, ctx, direction.V, method, relative, self.source_names, self.classes)
            for b in self.data.blocks
        ]
        summaries = self._dask.compute(*[
            delayed(_summary)(r, b, self.n_classes)
            for r, b in zip(results, self.data.blocks)
        ])
        per_source = sum(s[0] for s in summaries)
        per_parameter = sum(s[1] for s in summaries)
        field = delayed(_field, pure=False)
        m = len(self.source_names)
        return DaskInfluenceResult(
            per_sample=self._lazy(
                [field(r, "per_sample", b) for r, b in zip(results, self.data.blocks)],
                lambda n: (n,)),
            per_source=per_source,
            per_vote=self._lazy(
                [field(r, "per_vote", b) for r, b in zip(results, self.data.blocks)],
                lambda n: (n, m)),
            per_parameter=per_parameter,
            ordinary=self._lazy(
                [field(r, "ordinary", b) for r, b in zip(results, self.data.blocks)],
                lambda n: (n,)),
            method=method,
            relative=relative,
            n_train=self.data.n_train,
            builder=self,
            results=results,
        )

    def terms(self, results, fmt, dtype, relative):
        """Lazy per-term arrays of per-block results (see ``terms``)."""
        da, delayed = self._da, self._dask.delayed
        pick = delayed(_block_terms, pure=False)
        blocks = self.data.blocks
        if fmt == "dense":
            m, C = len(self.source_names), self.n_classes
            parts = [pick(r, b, "dense", None, dtype, C) for r, b in zip(results, blocks)]
            return self._lazy(parts, lambda n: (n, m, C), dtype)
        keys = ["sample", "source", "class", "influence", "coefficient"]
        if relative:
            keys.append("self_influence")
        out = {}
        for key in keys:
            kind = np.intp if key in ("sample", "source", "class") else np.float64
            parts = [pick(r, b, "coo", key, dtype, None) for r, b in zip(results, blocks)]
            out[key] = da.concatenate(
                [da.from_delayed(p, shape=(np.nan,), dtype=kind) for p in parts]
            )
        return out

    def top_components(self, result, k):
        """:meth:`ResultBuilder.top_components`: ``k`` candidates per block, merged."""
        task = self._dask.delayed(_block_top, pure=False)
        parts = self._dask.compute(*[
            task(r, b, k, self.source_names, self.classes)
            for r, b in zip(result._results, self.data.blocks)
        ])
        return _merge_top(parts, k)

    def vote_scores(self, result):
        """Lazy ``(n_samples, n_sources)`` vote influences, NaN off the votes."""
        task = self._dask.delayed(_block_vote_scores, pure=False)
        parts = [
            task(r, b, self.source_names, self.classes)
            for r, b in zip(result._results, self.data.blocks)
        ]
        return self._lazy(parts, lambda n: (n, len(self.source_names)))

    def source_removal(self, direction):
        """The :class:`DaskSourceRemoval` ranked by a target's direction.

        Each source's removal influence (``source_removal_influence``) is a
        sum over the rows, added up over the blocks.
        """
        ctx = self._context(None)
        scores = map_sum(_block_source_removal, [(b,) for b in self.data.blocks],
                         ctx, direction.V)
        return DaskSourceRemoval(scores)

    def leave_one_out(self, backend, method):
        """Lazy leave-one-out mislabel scores (``1 - p_i^(-ij)[L_ij]``).

        ``backend``: this builder's, or one refitted with gold rows.
        """
        kernels = backend.kernel_source(backend.has_inverse)
        ctx = self._dask.delayed(backend.context(kernels), pure=False)
        task = self._dask.delayed(_block_leave_one_out, pure=False)
        parts = [task(b, ctx, method) for b in self.data.blocks]
        return self._lazy(parts, lambda n: (n, len(self.source_names)))


def _block_source_removal(block, ctx, V):
    if block.terms is None:
        return np.zeros(block.n_sources)
    model, X = ctx.model, as_float64(block.X)
    U = model.pad(model.apply(X, V.reshape(model.n_rows, model.n_free)))
    P = model.proba(X, ctx.theta)
    return source_removal_influence(block.terms, (P * U).sum(axis=1, keepdims=True) - U)


def _block_top(result, block, k, names, classes):
    """A block's ``top_components`` candidates, in global row indices."""
    if result is None:
        empty = np.zeros(0, dtype=np.intp)
        return Top(empty, np.zeros(0), empty, empty, empty, np.zeros(0))
    builder = ResultBuilder(block.terms, None, block.index, block.n_rows, names, classes)
    top = builder.top_components(result, k)
    return Top(top.samples + block.offset, top.sample_influence,
               top.rows + block.offset, top.cols, top.votes, top.vote_influence)


def _merge_top(parts, k):
    """The global ``k`` first of per-block candidates (stable, as in memory)."""
    cat = {f: np.concatenate([getattr(p, f) for p in parts]) for f in Top.__dataclass_fields__}
    s = np.lexsort((cat["samples"], -cat["sample_influence"]))[:k]
    v = np.lexsort((cat["cols"], cat["rows"], -cat["vote_influence"]))[:k]
    return Top(cat["samples"][s], cat["sample_influence"][s], cat["rows"][v],
               cat["cols"][v], cat["votes"][v], cat["vote_influence"][v])


class DaskSourceRemoval:
    """:class:`SourceRemoval` on the blocks: a removal is the list of sources.

    Its ``labels`` are the removed sources; the backend refits on the
    blocks' labels without them (:meth:`DaskLogisticBackend.refit`).
    """

    def __init__(self, scores):
        self.scores = scores
        self.order = harmful_order(scores)

    def removal(self, k):
        sel = self.order[: int(k)]
        return Removal(tuple(int(j) for j in sel), int(sel.size), sel)

    def removed(self, sel, source_names, classes):
        """The removed sources and their names."""
        return sel, source_names[sel]


class DaskInfluenceResult:
    """Influences of the training terms on one target, from a dask fit.

    The same attributes as :class:`InfluenceResult`; ``per_source`` and
    ``per_parameter`` are in memory (summed over the row blocks), while
    ``per_sample``, ``ordinary`` and ``per_vote`` are lazy dask arrays with
    the row chunks of ``L`` (``per_vote`` dense, 0 where no term). Computing
    one of them computes the blocks' terms again; ``dask.compute`` several
    at once to share that work.
    """

    def __init__(self, *, per_sample, per_source, per_vote, per_parameter, ordinary,
                 method, relative, n_train, builder, results):
        self.per_sample, self.per_source = per_sample, per_source
        self.per_vote, self.per_parameter = per_vote, per_parameter
        self.ordinary, self.method, self.relative = ordinary, method, relative
        self.n_train = n_train
        self.source_names, self.classes = builder.source_names, builder.classes
        self._builder, self._results = builder, results

    def __repr__(self):
        return (
            f"DaskInfluenceResult(method={self.method!r}, relative={self.relative}, "
            f"n_samples={self.per_sample.shape[0]}, n_sources={self.per_source.shape[0]}, "
            f"n_train={self.n_train})"
        )

    def terms(self, format="coo", *, max_bytes=None, dtype=np.float64):
        """Every (sample, source, class) influence, as lazy dask arrays.

        ``"coo"``: a dict of 1-D dask arrays (``sample``, ``source``,
        ``class``, ``influence``, ``coefficient``, and ``self_influence``
        with RelatIF) whose block lengths are unknown until computed;
        ``"dense"``: a lazy (n_samples, n_sources, n_classes) array.
        ``max_bytes`` is accepted for the in-memory signature and ignored:
        nothing is built until computed, block by block.
        """
        if format not in ("coo", "dense"):
            raise ValueError(f"format must be 'coo' or 'dense'; got {format!r}.")
        return self._builder.terms(self._results, format, dtype, self.relative)



def refusal(method, how):
    """The error of an inspector method that would gather dask data."""
    return TypeError(
        f"SourceAwareInfluence.{method} would gather dask data whole; {how}."
    )


def prepare_dask(inspector, X, L, X_val, y_val):
    """Everything a dask fit needs, in the order of the in-memory fit.

    Reads the model, checks that the analysis can run on reduced statistics
    (a closed-form end model, no linearisation, an in-memory validation
    set), fits the label model on the dask ``L`` if
    needed (its fit validates every block first), and builds the training
    blocks, the ridge and the backend.

    Returns
    -------
    state : Bunch
        ``label_model``, ``W``, ``activation``, ``data`` (BlockData),
        ``backend``, ``frame_names``, ``n_sources``, ``l2`` and ``l2_losses``
        (the held-out loss along the grid under ``l2="auto"``, else None).
    """
    label_model, end_model = dask_check_model(inspector, X_val, y_val)
    frame_names = None
    if is_dask_frame(L):  # named sources; row counts known (one cheap pass)
        frame_names, L = list(L.columns), L.to_dask_array(lengths=True)
    L = as_dask_array(L)[0] if is_dask_collection(L) else L
    X, L = aligned_blocks(X, L, "SourceAwareInfluence.fit")
    wants_identity = inspector.method in ("auto", "rw") or inspector.relative
    if not hasattr(label_model, "W_"):
        label_model = clone(label_model).fit(L)
    W = np.asarray(label_model.W_, dtype=np.float64)
    if L.shape[1] != W.shape[0]:
        raise ValueError(
            f"L has {L.shape[1]} sources but the label model was fitted on "
            f"{W.shape[0]}."
        )
    W, activation, _ = linearize_if_needed(label_model, None, W, wants_identity,
                                           inspector.linearize)
    abstain = getattr(label_model, "abstain", -1)
    data = training_blocks(X, L, W, activation, abstain, "SourceAwareInfluence.fit")
    n_classes = W.shape[2]
    reference = closed_form_reference(inspector.logits, n_classes)
    l2, losses = inspector.l2, None
    if end_model is None and l2 == "auto":
        l2, losses = select_l2_blocks(data, n_classes, reference, X_val, y_val)
    options = BackendOptions.from_params(
        inspector.get_params(deep=False), l2 if end_model is None else 0.0
    )
    backend = dask_backend(end_model, data, n_classes, options, reference)
    return Bunch(label_model=label_model, W=W, activation=activation, data=data,
                 backend=backend, frame_names=frame_names, n_sources=W.shape[0],
                 l2=l2, l2_losses=losses)


def select_l2_blocks(data, n_classes, reference, X_val, y_val):
    """``l2="auto"`` on the training blocks, as the in-memory ``select_l2``.

    The path of fits from the strongest ridge down, warm-started, each to
    ``SELECTION_TOL``, judged on the gold validation set when given, else
    by the cross-validated noise-aware loss (:func:`cross_validated_l2`);
    the largest ``l2`` whose loss is within ``FLAT_RTOL`` of the lowest.
    """
    grid = np.asarray(L2_GRID, dtype=np.float64)
    if X_val is None:
        losses = cross_validated_l2(data, n_classes, reference, grid, N_FOLDS,
                                    SELECTION_TOL, NEWTON_MAX_STEPS)
        near = np.flatnonzero(losses <= losses.min() * (1 + FLAT_RTOL))
        return float(grid[near].max()), losses
    X_val, y_val = check_target(X_val, y_val, data.n_features, n_classes)
    losses = np.empty(len(grid))
    theta = None
    for k in np.argsort(grid)[::-1]:
        model = LogisticModel(data.n_features, n_classes, reference=reference,
                              l2=grid[k])
        theta, _, _ = newton_fit(data, model, theta, tol=SELECTION_TOL,
                                 max_iter=NEWTON_MAX_STEPS, exact_hessian=False)
        losses[k] = soft_cross_entropy(model.log_proba(X_val, theta), y_val)
    near = np.flatnonzero(losses <= losses.min() * (1 + FLAT_RTOL))
    return float(grid[near].max()), losses


def dask_check_model(inspector, X_val, y_val):
    """Refuse, with the way out, what a dask fit cannot do on reduced statistics.

    Returns
    -------
    label_model, end_model
        Of the inspector's ``model``.
    """
    label_model, end_model, classifier = split_model(inspector.model)
    sample = "fit the inspector on an in-memory sample of the rows (X[idx].compute(), "
    sample += "L[idx].compute())"
    if classifier is not None:
        raise refusal("fit", "an unfitted LabelModelClassifier fits in memory: fit it "
                      "first (on a sample), or pass (label_model, end_model)")
    if end_model is not None and not isinstance(end_model, LogisticRegression):
        kind = "torch" if is_torch_model(end_model) else type(end_model).__name__
        raise refusal("fit", f"a {kind} end model has no closed form on reduced "
                      f"statistics (only the logistic regressions do); {sample}")
    if end_model is None and inspector.l2 == "auto" and (
        is_dask_collection(X_val) or is_dask_collection(y_val)
    ):
        raise refusal("fit", "l2='auto' scores every fit of its path on the "
                      "validation set: pass X_val and y_val in memory "
                      "(X_val.compute(), y_val.compute())")
    wants_identity = inspector.method in ("auto", "rw") or inspector.relative
    if getattr(label_model, "activation", None) == "exp" and (
        inspector.linearize is True or (inspector.linearize == "auto" and wants_identity)
    ):
        raise ValueError(
            f"{type(label_model).__name__} has an exp activation, and LinearizedApprox "
            "(for method='rw' or relative=True) does not fit on dask arrays. Use "
            "method='wm' with relative=False, or fit LinearizedApprox("
            "FrozenEstimator(label_model)) on an in-memory sample of L and pass it "
            "as the label model."
        )
    return label_model, end_model
