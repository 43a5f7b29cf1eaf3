"""Influence backends: the end-model side of the influence computation.

A backend holds the end model at a stationary point and answers what the
per-term formulas need: the training probabilities ``P``, the logit
directions ``u_i`` of a target, self-influences, and (when it can) a
closed-form retraining on new labels. Capabilities are attributes:
``can_refit`` (``drop_harmful`` needs it), ``has_inverse`` (RelatIF needs
the explicit ``H^-1``) and ``raw_inputs`` (targets are raw inputs of a
network or a pipeline rather than feature rows).

:class:`LogisticBackend` is the closed form (the soft-label logistic
regression, a scikit-learn ``LogisticRegression``, a pipeline ending in one,
or a network's last layer); the full-network GGN backend lives in
:mod:`._torch_influence`. :func:`make_backend` reads the user's end model.
"""

import copy
from dataclasses import dataclass
from functools import partial

import numpy as np
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_array, check_is_fitted

from ._hessian_solver import HessianSolver
from ._linear_loss import LogisticModel, soft_cross_entropy
from ._soft_logistic import SoftLabelLogisticRegression
from ._torch_influence import TorchGGNBackend, TorchLastLayer

__all__ = [
    "BACKENDS",
    "BackendOptions",
    "ClosedFormBackend",
    "LogisticBackend",
    "PipelineBackend",
    "SklearnBackend",
    "TorchLastLayerBackend",
    "closed_form_reference",
    "leave_out_proba",
    "make_backend",
    "self_influence",
    "sklearn_factory",
    "sklearn_linear_model",
    "sklearn_theta",
    "soft_logistic_factory",
    "target_gradients",
    "soft_logistic_params",
]


@dataclass(frozen=True)
class BackendOptions:
    """The inspector's settings that shape the backend (see its parameters)."""

    l2: float
    logits: str
    solver: str
    relative: bool
    polish: bool
    network: str
    tol: float
    max_iter: int
    cg_tol: object
    cg_max_iter: object
    damping: float
    device: object

    @classmethod
    def from_params(cls, params, l2):
        """The options of an inspector's ``get_params()``, with the resolved ``l2``."""
        keys = [f for f in cls.__dataclass_fields__ if f not in ("l2", "damping")]
        return cls(
            l2=float(l2),
            damping=float(params["damping"]),
            **{k: params[k] for k in keys},
        )

    def cg(self, full):
        """CG tolerance and iteration cap (closed form or full network)."""
        tol = self.cg_tol if self.cg_tol is not None else (1e-6 if full else 1e-10)
        it = self.cg_max_iter
        if it is None:
            it = 200 if full else 1000
        return tol, it

    def common(self):
        """Keyword arguments of a closed-form :class:`LogisticBackend`."""
        cg_tol, cg_it = self.cg(False)
        return {
            "tol": self.tol,
            "max_iter": self.max_iter,
            "cg_tol": cg_tol,
            "cg_max_iter": cg_it,
            "damping": float(self.damping),
            "solver": self.hessian_solver(),
        }

    def hessian_solver(self):
        """The closed-form solver: RelatIF needs the explicit inverse."""
        if self.relative and self.solver == "auto":
            return "cholesky"
        if self.relative and self.solver == "cg":
            raise ValueError(
                "relative=True needs solver='cholesky' (the explicit H^-1)."
            )
        return self.solver


class LogisticBackend:
    """End-model side of the closed-form influence path.

    Holds a :class:`LogisticModel` trained (or polished) to stationarity on
    the training labels, its Hessian solver, and everything the per-term
    formulas need: the training probabilities, the logit directions
    ``u_i = x~_i^T V`` for a target, and the row kernels of ``H^-1``.

    Parameters
    ----------
    model : LogisticModel
    X : ndarray of shape (n, d)
        Training inputs of the linear model (features, or a network's
        penultimate activations).
    labels : ndarray of shape (n, C)
    init : ndarray of shape (D,), default=None
        Parameters of an already-fitted end model.
    polish : bool, default=True
        Minimise the objective from ``init`` to ``||grad||_inf <= tol``. When
        False, ``init`` is used as it is (influence is then approximate).
    featurize : callable, default=None
        Maps raw inputs to the linear model's inputs (targets, new data).
    tol, max_iter, solver, cg_tol, cg_max_iter, damping
        See :meth:`LogisticModel.fit` and :class:`HessianSolver`
        (``damping`` damps the influence solves only, not the fits).
    make_estimator : callable, default=None
        Maps parameters ``theta`` to a fitted end model (the repaired
        estimator of ``drop_harmful``).

    Attributes
    ----------
    can_refit : bool
        True: the end model is retrained in closed form (``refit``).
    raw_inputs : bool
        True when targets are raw inputs mapped by ``featurize`` (a network
        or a pipeline), False when they are the feature matrix itself.
    has_inverse : bool
        True when the explicit ``H^-1`` is available (Cholesky solver), as
        RelatIF and self-influence need.
    """

    can_refit = True

    def __init__(
        self,
        model,
        X,
        labels,
        *,
        init=None,
        polish=True,
        featurize=None,
        tol=1e-8,
        max_iter=1000,
        solver="auto",
        cg_tol=1e-10,
        cg_max_iter=1000,
        damping=0.0,
        make_estimator=None,
    ):
        self.model = model
        self.make_estimator = make_estimator
        self.X = X
        self.labels = labels
        self.n_norm = X.shape[0]
        self.featurize = featurize
        self.tol, self.max_iter = tol, max_iter
        if init is None:
            theta, info = model.fit(X, labels, tol=tol, max_iter=max_iter)
            before = None
        else:
            init = np.asarray(init, dtype=np.float64).ravel()
            before = float(np.max(np.abs(model.objective(init, X, labels)[1])))
            if polish:
                theta, info = model.fit(
                    X, labels, init=init, tol=tol, max_iter=max_iter
                )
            else:
                theta, info = init, {"n_iter": 0, "n_newton": 0, "grad_inf": before}
        self.theta = theta
        self.stationarity = {
            "grad_inf_given": before,
            "grad_inf": info["grad_inf"],
            "n_iter": info["n_iter"],
            "n_newton": info["n_newton"],
        }
        self.P = model.proba(X, theta)
        self.solver = HessianSolver(
            model,
            X,
            self.P,
            labels.sum(axis=1),
            solver=solver,
            cg_tol=cg_tol,
            cg_max_iter=cg_max_iter,
            damping=damping,
        )
        # Row kernels of H^-1 ("exact" or "jacobi") and the training logits,
        # computed on first use.
        self._kernels = {}
        self._logits = None
        self.end_model = None if make_estimator is None else make_estimator(self.theta)

    @property
    def raw_inputs(self):
        return self.featurize is not None

    @property
    def has_inverse(self):
        return self.solver.solver == "cholesky"

    @property
    def n_features(self):
        """Number of input features of a target (None for raw inputs)."""
        return None if self.raw_inputs else self.model.n_features

    def inputs(self, X):
        return X if self.featurize is None else self.featurize(X)

    def proba(self, X, theta=None):
        theta = self.theta if theta is None else theta
        return self.model.proba(self.inputs(X), theta)

    def loss(self, X, y, theta=None):
        """Mean cross-entropy of hard labels ``y``."""
        theta = self.theta if theta is None else theta
        return soft_cross_entropy(self.model.log_proba(self.inputs(X), theta), y)

    def target_gradients(self, X_t, y_t, reduce):
        """Parameter gradients of the target loss(es), shape (D, n_targets)."""
        return target_gradients(self.model, self.theta, self.inputs(X_t), y_t, reduce)

    def directions(self, X_t, y_t, reduce):
        """Logit directions ``u`` of the training rows, (n_targets, n, C)."""
        model = self.model
        V = self.solver.solve(self.target_gradients(X_t, y_t, reduce))
        n_t = V.shape[1]
        F, K = model.n_rows, model.n_free
        U = model.apply(self.X, V.reshape(F, K, n_t).reshape(F, K * n_t))
        U = U.reshape(self.X.shape[0], K, n_t).transpose(2, 0, 1)
        return model.pad(U)

    def self_influence(self, G):
        """``g_i^T J_i H^-1 J_i^T g_i`` for per-row logit gradients ``G`` (n, C)."""
        return self_influence(self.model, self.kernels("exact"), G)

    def kernels(self, kind):
        """Row kernels of ``H^-1``: ``"exact"`` or their ``"jacobi"`` approximation."""
        if kind not in self._kernels:
            self._kernels[kind] = (
                self.solver.row_kernels()
                if kind == "exact"
                else self.solver.diagonal_row_kernels()
            )
        return self._kernels[kind]

    def leave_out_proba(self, rows, delta):
        """Training-row probabilities after changing their labels by ``delta``.

        See :func:`leave_out_proba`; the row kernels of ``H^-1`` are exact
        with Cholesky, the Jacobi approximation with CG.
        """
        kernels = self.kernels("exact" if self.has_inverse else "jacobi")
        if self._logits is None:  # once for all the sources' removals
            self._logits = self.model.logits(self.X, self.theta)
        return leave_out_proba(
            self.model, self._logits, self.P, kernels, self.n_norm, rows, delta
        )

    def with_gold_rows(self, X_gold, y_gold, weight):
        """A backend trained on the training rows plus labelled rows.

        The rows ``X_gold`` join the training set with one-hot labels of
        mass ``weight`` (the objective takes label rows of any mass), and the
        model is retrained from the current parameters with the same ridge,
        solver and damping. The training rows keep their positions
        ``0..n-1``, so :meth:`leave_out_proba` addresses them as before.
        """
        Xf = self.inputs(X_gold)
        if sp.issparse(self.X) or sp.issparse(Xf):
            X = sp.vstack([sp.csr_matrix(self.X), sp.csr_matrix(Xf)]).tocsr()
        else:
            X = np.vstack([self.X, np.asarray(Xf, dtype=np.float64)])
        gold = float(weight) * np.eye(self.labels.shape[1])[y_gold]
        return LogisticBackend(
            self.model,
            X,
            np.vstack([self.labels, gold]),
            init=self.theta,
            tol=self.tol,
            max_iter=self.max_iter,
            solver=self.solver.solver,
            cg_tol=self.solver.cg_tol,
            cg_max_iter=self.solver.cg_max_iter,
            damping=self.solver.damping,
        )

    def refit(self, labels):
        """Parameters minimising the objective on new labels (same ``n``)."""
        theta, _ = self.model.fit(
            self.X,
            labels,
            n_norm=self.n_norm,
            init=self.theta,
            tol=self.tol,
            max_iter=self.max_iter,
        )
        return theta


def target_gradients(model, theta, Xf, y_t, reduce):
    """Parameter gradients of the target loss(es) at ``theta``, shape (D, n_targets).

    ``reduce``: ``"mean"`` or ``"sum"`` of the points' cross-entropies (one
    column), or ``"none"`` (one column per point).
    """
    R = model.free(model.proba(Xf, theta) - np.eye(model.n_classes)[y_t])
    if reduce != "none":
        G = model.apply_t(Xf, R)
        if reduce == "mean":
            G = G / len(y_t)
        return G.reshape(-1, 1)
    if sp.issparse(Xf):  # one dense row per target (not the training set)
        Xf = Xf.toarray()
    Xt = np.hstack([Xf, np.ones((len(Xf), 1))]) if model.fit_intercept else Xf
    return np.einsum("kf,ka->fak", Xt, R).reshape(model.n_params, len(y_t))


def soft_logistic_factory(model, options, reference):
    """Maps parameters to a fitted :class:`SoftLabelLogisticRegression`."""
    return _SoftLogisticFactory(model, soft_logistic_params(options, reference))


def sklearn_factory(lr, model):
    """Maps parameters to a copy of the ``LogisticRegression`` ``lr``."""
    return _SklearnFactory(lr, model)


def self_influence(model, kernels, G):
    """``g_i^T T_i g_i`` for per-row logit gradients ``G`` (n, C) and row kernels."""
    Gf = model.free(G)
    return np.einsum("ia,iab,ib->i", Gf, kernels, Gf)


def leave_out_proba(model, logits, P, kernels, n_norm, rows, delta):
    """Training-row probabilities after changing their labels by ``delta``.

    First-order (influence) retraining: changing row ``i``'s label by
    ``delta_i`` (weight ``1/N`` in the mean loss) moves the parameters by
    ``-H^-1 grad / N`` and the row's logits by
    ``-T_i (delta_rho_i p_i - delta_i) / N``, with the row kernels ``T_i``
    of ``H^-1``.

    Parameters
    ----------
    model : LogisticModel
    logits : ndarray of shape (n, C)
        The training rows' logits at the fitted parameters (computed once by
        the caller: every source's removals read them).
    P : ndarray of shape (n, C)
        Their probabilities.
    kernels : ndarray of shape (n, K, K)
        Their row kernels.
    n_norm : float
        ``N``, the normaliser of the mean loss.
    rows : ndarray of shape (k,)
        Training positions.
    delta : ndarray of shape (k, C)
        Label changes (e.g. minus a vote's share).

    Returns
    -------
    proba : ndarray of shape (k, C)
    """
    grad = model.free(delta.sum(axis=1, keepdims=True) * P[rows] - delta)
    dz = -np.einsum("iab,ib->ia", kernels[rows], grad) / n_norm
    Z = logits[rows] + model.pad(dz)
    Z -= Z.max(axis=1, keepdims=True)
    proba = np.exp(Z)
    return proba / proba.sum(axis=1, keepdims=True)


def closed_form_reference(logits, n_classes):
    """Whether the closed-form model fixes class 0 at logit 0."""
    return logits == "reference" or (logits == "auto" and n_classes == 2)


class ClosedFormBackend(LogisticBackend):
    """The closed-form soft-label logistic regression, trained here."""

    def __init__(self, end_model, X, labels, n_classes, options):
        reference = closed_form_reference(options.logits, n_classes)
        model = LogisticModel(X.shape[1], n_classes, reference=reference, l2=options.l2)
        factory = _SoftLogisticFactory(model, soft_logistic_params(options, reference))
        super().__init__(model, X, labels, make_estimator=factory, **options.common())


class SklearnBackend(LogisticBackend):
    """A scikit-learn ``LogisticRegression``, translated into the closed form.

    ``featurize`` maps raw inputs to its features (a pipeline's head) and
    ``wrap`` turns the estimator of new parameters into the user's object.
    """

    def __init__(self, lr, X, labels, n_classes, options, *, featurize=None, wrap=None):
        lr, model = sklearn_model(lr, X, labels, n_classes)
        factory = _SklearnFactory(lr, model)
        super().__init__(
            model,
            X,
            labels,
            init=sklearn_theta(lr, model),
            polish=options.polish,
            featurize=featurize,
            make_estimator=factory if wrap is None else wrap(factory),
            **options.common(),
        )


class PipelineBackend(SklearnBackend):
    """A fitted pipeline ending in a ``LogisticRegression``: a fixed feature map."""

    def __init__(self, pipe, X, labels, n_classes, options):
        check_is_fitted(pipe)
        featurize = _PipelineFeatures(pipe[:-1])
        super().__init__(
            pipe[-1],
            featurize(X),
            labels,
            n_classes,
            options,
            featurize=featurize,
            wrap=partial(_PipelineFactory, pipe),
        )


class TorchLastLayerBackend(LogisticBackend):
    """The last ``nn.Linear`` of a network, on its penultimate activations."""

    def __init__(self, net, X, labels, n_classes, options):
        last = TorchLastLayer(net, device=options.device)
        if last.n_outputs not in (n_classes, 1) or (
            last.n_outputs == 1 and n_classes != 2
        ):
            raise ValueError(
                f"The torch end model outputs {last.n_outputs} logits for "
                f"{n_classes} classes."
            )
        H = last.features(X)
        model = LogisticModel(
            H.shape[1],
            n_classes,
            fit_intercept=last.has_bias,
            reference=last.n_outputs == 1,
            l2=options.l2,
        )
        super().__init__(
            model,
            H,
            labels,
            init=last.theta(),
            polish=options.polish,
            featurize=last.features,
            make_estimator=last.with_theta,
            **options.common(),
        )


def _full_network(net, X, labels, n_classes, options):
    cg_tol, cg_it = options.cg(True)
    return TorchGGNBackend(
        net,
        X,
        labels,
        n_classes,
        l2=options.l2,
        cg_tol=cg_tol,
        cg_max_iter=cg_it,
        damping=float(options.damping),
        device=options.device,
    )


def _is_pipeline_of_lr(end_model):
    return isinstance(end_model, Pipeline) and isinstance(
        end_model[-1], LogisticRegression
    )


#: ``(accepts(end_model, torch_end, options), backend class)``, tried in order.
BACKENDS = (
    (lambda m, torch_end, o: m is None, ClosedFormBackend),
    (lambda m, torch_end, o: isinstance(m, LogisticRegression), SklearnBackend),
    (lambda m, torch_end, o: _is_pipeline_of_lr(m), PipelineBackend),
    (lambda m, torch_end, o: torch_end and o.network == "full", _full_network),
    (lambda m, torch_end, o: torch_end, TorchLastLayerBackend),
)


def make_backend(end_model, X, labels, n_classes, options, *, torch_end=False):
    """The backend of an end model (see the inspector's ``model`` parameter).

    Parameters
    ----------
    end_model : None, LogisticRegression, Pipeline or torch model
        The user's end model (None: the closed-form soft-label model).
    X : array-like
        Training inputs of the covered rows.
    labels : ndarray of shape (n, C)
        Their training labels.
    n_classes : int
    options : BackendOptions
    torch_end : bool, default=False
        Whether ``end_model`` is a torch module or skorch net.

    Returns
    -------
    backend : LogisticBackend or TorchGGNBackend
        With ``end_model``, the analysed model after polishing.
    """
    for accepts, backend in BACKENDS:
        if accepts(end_model, torch_end, options):
            return backend(end_model, X, labels, n_classes, options)
    raise TypeError(
        "The end model must be None (closed-form logistic regression), a "
        "scikit-learn LogisticRegression (or a Pipeline ending in one), or a "
        "torch module / skorch net; got "
        f"{type(end_model).__name__}."
    )


def soft_logistic_params(options, reference):
    """Parameters of the :class:`SoftLabelLogisticRegression` the backend returns."""
    return {
        "l2": options.l2,
        "logits": "reference" if reference else "multinomial",
        "tol": options.tol,
        "max_iter": options.max_iter,
    }


def sklearn_penalty(params, n_train, n_classes):
    """``(l2, intercept_l2)`` of a ``LogisticRegression``'s mean-loss objective."""
    penalty = params.get("penalty", "deprecated")
    l1_ratio = params.get("l1_ratio", 0.0)
    if penalty in ("l1", "elasticnet") or (
        penalty in ("deprecated", "l2")
        and l1_ratio not in (None, 0, 0.0)
        and penalty != "l2"
    ):
        raise ValueError(
            "Influence functions need a smooth objective: the LogisticRegression "
            "end model must use an L2 penalty (l1_ratio=0) or none."
        )
    if params.get("class_weight") is not None:
        raise ValueError(
            "LogisticRegression(class_weight=...) is not supported by the "
            "influence computation; fold class weights into the labels."
        )
    C_reg = float(params["C"])
    lam = 0.0 if (penalty is None or np.isinf(C_reg)) else 1.0 / (C_reg * n_train)
    intercept_l2 = 0.0
    if params.get("solver") == "liblinear":
        if n_classes > 2:
            raise ValueError(
                "A multiclass liblinear LogisticRegression is one-vs-rest, "
                "not a softmax model; use solver='lbfgs'."
            )
        intercept_l2 = lam / float(params.get("intercept_scaling", 1.0)) ** 2
    return lam, intercept_l2


def sklearn_linear_model(lr, n_features, n_train, n_classes):
    """The :class:`LogisticModel` of a ``LogisticRegression``'s objective."""
    params = lr.get_params()
    lam, intercept_l2 = sklearn_penalty(params, n_train, n_classes)
    return LogisticModel(
        n_features,
        n_classes,
        fit_intercept=bool(params["fit_intercept"]),
        reference=n_classes == 2,
        l2=lam,
        intercept_l2=intercept_l2,
    )


def sklearn_model(lr, X, labels, n_classes):
    """The fitted ``LogisticRegression`` (fitted here if needed) and its model."""
    model = sklearn_linear_model(lr, X.shape[1], X.shape[0], n_classes)
    if not hasattr(lr, "coef_"):
        Xe, ye, we = _expand_soft_labels(X, labels)
        lr = clone(lr).fit(Xe, ye, sample_weight=we)
    classes = np.asarray(lr.classes_)
    if not np.array_equal(classes, np.arange(n_classes)):
        raise ValueError(
            f"The LogisticRegression end model has classes {classes.tolist()}; "
            f"expected 0..{n_classes - 1} (the label model's classes)."
        )
    return lr, model


def sklearn_theta(lr, model):
    """Flat parameters of a fitted ``LogisticRegression``."""
    Th = np.asarray(lr.coef_, dtype=np.float64).T
    if model.fit_intercept:
        Th = np.vstack([Th, np.asarray(lr.intercept_, dtype=np.float64)[None, :]])
    return Th.ravel()


class _SoftLogisticFactory:
    """Builds a fitted :class:`SoftLabelLogisticRegression` holding ``theta``."""

    def __init__(self, model, params):
        self.model, self.params = model, params

    def __call__(self, theta):
        return SoftLabelLogisticRegression.from_theta(self.model, theta, **self.params)


class _SklearnFactory:
    """A copy of a fitted ``LogisticRegression`` with coefficients ``theta``."""

    def __init__(self, lr, model):
        self.lr, self.model = lr, model

    def __call__(self, theta):
        model = self.model
        est = copy.deepcopy(self.lr)
        if not hasattr(est, "classes_"):  # fitted from reduced statistics (dask)
            est.classes_ = np.arange(model.n_classes)
            est.n_features_in_ = model.n_features
        T = np.asarray(theta).reshape(model.n_rows, model.n_free)
        est.coef_ = np.ascontiguousarray(T[: model.n_features].T)
        if model.fit_intercept:
            est.intercept_ = T[model.n_features].copy()
        return est


class _PipelineFactory:
    """A copy of a fitted pipeline whose final LogisticRegression holds ``theta``."""

    def __init__(self, pipe, final_factory):
        self.pipe, self.final_factory = pipe, final_factory

    def __call__(self, theta):
        pipe = copy.deepcopy(self.pipe)
        pipe.steps[-1] = (pipe.steps[-1][0], self.final_factory(theta))
        return pipe


class _PipelineFeatures:
    """The fitted head of a pipeline as a dense feature map."""

    def __init__(self, head):
        self.head = head

    def __call__(self, Z):
        # Sparse features (a TF-IDF head) stay sparse: the closed form only
        # multiplies by them.
        return check_array(self.head.transform(Z), accept_sparse="csr", dtype=np.float64)


def _expand_soft_labels(X, labels):
    """Rows (x_i, c) with sample weight ``labels[i, c]`` for every positive entry."""
    i, c = np.nonzero(labels > 0)
    return X[i], c, labels[i, c]
