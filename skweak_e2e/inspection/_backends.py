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
    "BackendOptions",
    "LogisticBackend",
    "closed_form_reference",
    "make_backend",
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
        self._kernels = None

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
        model = self.model
        Xf = self.inputs(X_t)
        R = model.free(model.proba(Xf, self.theta) - np.eye(model.n_classes)[y_t])
        if reduce != "none":
            G = model.apply_t(Xf, R)
            if reduce == "mean":
                G = G / len(y_t)
            return G.reshape(-1, 1)
        if sp.issparse(Xf):  # one dense row per target (not the training set)
            Xf = Xf.toarray()
        Xt = np.hstack([Xf, np.ones((len(Xf), 1))]) if model.fit_intercept else Xf
        return np.einsum("kf,ka->fak", Xt, R).reshape(model.n_params, len(y_t))

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
        if self._kernels is None:
            self._kernels = self.solver.row_kernels()
        Gf = self.model.free(G)
        return np.einsum("ia,iab,ib->i", Gf, self._kernels, Gf)

    def leave_out_proba(self, rows, delta):
        """Training-row probabilities after changing their labels by ``delta``.

        First-order (influence) retraining: changing row ``i``'s label by
        ``delta_i`` (weight ``1/N`` in the mean loss) moves the parameters by
        ``-H^-1 grad / N`` and the row's logits by
        ``-T_i (delta_rho_i p_i - delta_i) / N``, with the row kernels ``T_i``
        of ``H^-1`` (exact with Cholesky, the Jacobi approximation with CG).

        Parameters
        ----------
        rows : ndarray of shape (k,)
            Training positions.
        delta : ndarray of shape (k, C)
            Label changes (e.g. minus a vote's share).

        Returns
        -------
        proba : ndarray of shape (k, C)
        """
        model = self.model
        if self._kernels is None:
            self._kernels = (
                self.solver.row_kernels()
                if self.has_inverse
                else self.solver.diagonal_row_kernels()
            )
        grad = model.free(delta.sum(axis=1, keepdims=True) * self.P[rows] - delta)
        dz = -np.einsum("iab,ib->ia", self._kernels[rows], grad) / self.n_norm
        Z = model.logits(self.X[rows], self.theta) + model.pad(dz)
        Z -= Z.max(axis=1, keepdims=True)
        P = np.exp(Z)
        return P / P.sum(axis=1, keepdims=True)

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


def closed_form_reference(logits, n_classes):
    """Whether the closed-form model fixes class 0 at logit 0."""
    return logits == "reference" or (logits == "auto" and n_classes == 2)


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
        With ``end_model`` (the analysed model after polishing) set.
    """
    cg_tol, cg_it = options.cg(False)
    common = {
        "tol": options.tol,
        "max_iter": options.max_iter,
        "cg_tol": cg_tol,
        "cg_max_iter": cg_it,
        "damping": float(options.damping),
        "solver": options.hessian_solver(),
    }
    if end_model is None:
        reference = closed_form_reference(options.logits, n_classes)
        model = LogisticModel(X.shape[1], n_classes, reference=reference, l2=options.l2)
        params = {
            "l2": options.l2,
            "logits": "reference" if reference else "multinomial",
            "tol": options.tol,
            "max_iter": options.max_iter,
        }
        factory = _SoftLogisticFactory(model, params, n_classes)
        backend = LogisticBackend(model, X, labels, make_estimator=factory, **common)
    elif isinstance(end_model, LogisticRegression):
        backend = _sklearn_backend(end_model, X, labels, n_classes, options, common)
    elif isinstance(end_model, Pipeline) and isinstance(
        end_model[-1], LogisticRegression
    ):
        check_is_fitted(end_model)
        featurize = _PipelineFeatures(end_model[:-1])
        backend = _sklearn_backend(
            end_model[-1], featurize(X), labels, n_classes, options, common
        )
        backend.featurize = featurize
        backend.make_estimator = _PipelineFactory(end_model, backend.make_estimator)
    elif torch_end and options.network == "full":
        cg_tol, cg_it = options.cg(True)
        backend = TorchGGNBackend(
            end_model,
            X,
            labels,
            n_classes,
            l2=options.l2,
            cg_tol=cg_tol,
            cg_max_iter=cg_it,
            damping=float(options.damping),
            device=options.device,
        )
        backend.end_model = backend.module
        return backend
    elif torch_end:
        last = TorchLastLayer(end_model, device=options.device)
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
        backend = LogisticBackend(
            model,
            H,
            labels,
            init=last.theta(),
            polish=options.polish,
            featurize=last.features,
            make_estimator=last.with_theta,
            **common,
        )
    else:
        raise TypeError(
            "The end model must be None (closed-form logistic regression), a "
            "scikit-learn LogisticRegression (or a Pipeline ending in one), or a "
            "torch module / skorch net; got "
            f"{type(end_model).__name__}."
        )
    backend.end_model = backend.make_estimator(backend.theta)
    return backend


def _sklearn_backend(lr, X, labels, n_classes, options, common):
    """Closed-form backend of a scikit-learn ``LogisticRegression``."""
    params = lr.get_params()
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
    n_train = X.shape[0]
    C_reg = float(params["C"])
    lam = 0.0 if (penalty is None or np.isinf(C_reg)) else 1.0 / (C_reg * n_train)
    fit_intercept = bool(params["fit_intercept"])
    intercept_l2 = 0.0
    if params.get("solver") == "liblinear":
        if n_classes > 2:
            raise ValueError(
                "A multiclass liblinear LogisticRegression is one-vs-rest, "
                "not a softmax model; use solver='lbfgs'."
            )
        intercept_l2 = lam / float(params.get("intercept_scaling", 1.0)) ** 2
    if not hasattr(lr, "coef_"):
        Xe, ye, we = _expand_soft_labels(X, labels)
        lr = clone(lr).fit(Xe, ye, sample_weight=we)
    classes = np.asarray(lr.classes_)
    if not np.array_equal(classes, np.arange(n_classes)):
        raise ValueError(
            f"The LogisticRegression end model has classes {classes.tolist()}; "
            f"expected 0..{n_classes - 1} (the label model's classes)."
        )
    model = LogisticModel(
        X.shape[1],
        n_classes,
        fit_intercept=fit_intercept,
        reference=n_classes == 2,
        l2=lam,
        intercept_l2=intercept_l2,
    )
    Th = np.asarray(lr.coef_, dtype=np.float64).T
    if fit_intercept:
        Th = np.vstack([Th, np.asarray(lr.intercept_, dtype=np.float64)[None, :]])
    return LogisticBackend(
        model,
        X,
        labels,
        init=Th.ravel(),
        polish=options.polish,
        make_estimator=_SklearnFactory(lr, model),
        **common,
    )


class _SoftLogisticFactory:
    """Builds a fitted :class:`SoftLabelLogisticRegression` holding ``theta``."""

    def __init__(self, model, params, n_classes):
        self.model, self.params, self.n_classes = model, params, n_classes

    def __call__(self, theta):
        est = SoftLabelLogisticRegression(**self.params)
        est.classes_ = np.arange(self.n_classes)
        est.n_features_in_ = self.model.n_features
        est.n_iter_ = 0
        est._set_theta(self.model, theta)
        return est


class _SklearnFactory:
    """A copy of a fitted ``LogisticRegression`` with coefficients ``theta``."""

    def __init__(self, lr, model):
        self.lr, self.model = lr, model

    def __call__(self, theta):
        model = self.model
        est = copy.deepcopy(self.lr)
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
