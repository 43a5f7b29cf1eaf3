"""LinearizedApprox: a linear (identity-activation) copy of any label model."""

import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, minimize
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import has_fit_parameter

from ..utils._docstring import (
    FITTED_CLASSES_DOC,
    FITTED_COVERAGE_DOC,
    TIE_BREAK_DOC,
    Substitution,
)
from ..utils._sklearn_compat import HasMethods, Interval, StrOptions, _fit_context
from ..utils._threads import serial_blas
from ..utils._warnings import user_stacklevel
from ..utils._label_matrix import is_covered, unique_rows, vote_indicator
from ..utils._validation import check_label_proba
from ..utils._targets import TIE_TOL
from ._base import BaseLabelModel
from ._sparse_votes import ImplicitAbstainOnehot, sparse_is_covered, sparse_tensor_scores
from ._tensor_form import apply_tensor_form, scores_to_proba
from ._vote_codes import pattern_weights

__all__ = ["LinearizedApprox"]

# Floor of the row normaliser Z = sum_c S[i, c]; it only matters when every
# weight a row touches is exactly zero (a 0/0 output; see doc/mathematical_details.rst).
_Z_FLOOR = 1e-300
# Floor of the linear probabilities inside the KL fidelity metric.
_KL_FLOOR = 1e-12
# Start value of the weights that the "mv" initialisation does not set to 1.
_INIT_FLOOR = 0.01


def _linear_objective(w, A, T, weight, n_classes):
    """Weighted squared error of a linear tensor form, and its gradient.

    ``J(W) = sum_p weight[p] * ||T[p] - S[p] / Z[p]||^2`` with ``S = A @ W``
    and ``Z[p] = sum_c S[p, c]``; the gradient is ``A.T @ G`` with
    ``G[p] = 2 weight[p] / Z[p] * (r[p] - (r[p] . ybar[p]) 1)``,
    ``r = ybar - T`` (derived in doc/mathematical_details.rst).

    Parameters
    ----------
    w : ndarray of shape (n_sources * (n_classes + 1) * n_classes,)
        Flattened tensor form.
    A : sparse matrix of shape (n_rows, n_sources * (n_classes + 1))
        Augmented one-hot votes (abstain slot included), one row per pattern.
    T : ndarray of shape (n_rows, n_classes)
        Target probabilities.
    weight : ndarray of shape (n_rows,)
        Row weights (pattern counts, possibly normalised).
    n_classes : int

    Returns
    -------
    J : float
    grad : ndarray of the shape of ``w``
    """
    W = w.reshape(-1, n_classes)
    S = A @ W
    Z = np.maximum(S.sum(axis=1, keepdims=True), _Z_FLOOR)
    ybar = S / Z
    r = ybar - T
    J = float(weight @ np.einsum("pc,pc->p", r, r))
    G = (2.0 * weight[:, None] / Z) * (r - np.einsum("pc,pc->p", r, ybar)[:, None])
    grad = np.asarray(A.T @ G)
    return J, grad.ravel()


def _pinned_objective(w, A, T, weight, n_classes, total, strength):
    """:func:`_linear_objective` plus ``strength * (sum(w) - total) ** 2``.

    ``J`` is invariant to a global rescaling of ``W``, so its Hessian is
    singular along ``W`` and L-BFGS-B lets the scale drift, which slows it
    down and eventually underflows small entries. The penalty pins the scale
    without moving the minimum: any minimiser of ``J`` rescaled to
    ``sum(W) = total`` minimises the sum, and at a minimiser of the sum
    ``sum(W) = total`` exactly (since ``grad J . W = 0``), so that
    ``grad J`` vanishes there as well.
    """
    J, grad = _linear_objective(w, A, T, weight, n_classes)
    gap = w.sum() - total
    return J + strength * gap**2, grad + 2.0 * strength * gap


def _solve_linear_form(A, T, weight, starts, free, *, max_iter, tol, ftol):
    """Minimise :func:`_linear_objective` over ``W >= 0`` from each start.

    Entries where ``free`` is False are held at zero. Returns the
    ``scipy.optimize.OptimizeResult`` with the lowest objective ``J``
    (``fun``; the scale penalty of :func:`_pinned_objective` is left out).
    """
    n_classes = T.shape[1]
    bounds = Bounds(np.zeros(free.size), np.where(free.ravel(), np.inf, 0.0))
    options = {
        "maxiter": max_iter,
        "maxfun": 2 * max_iter,
        "gtol": tol,
        "ftol": ftol,
        "maxcor": 20,
    }
    best = None
    # L-BFGS-B's BLAS calls work on vectors of at most a few thousand entries;
    # a multi-threaded BLAS makes each iteration up to 100x slower.
    with serial_blas():
        for x0 in starts:
            x0 = np.where(free, x0, 0.0).ravel()
            total = x0.sum()
            # Curvature of the penalty comparable to that of J (~ n / total^2).
            strength = weight.sum() / total**2
            res = minimize(
                _pinned_objective,
                x0,
                args=(A, T, weight, n_classes, total, strength),
                jac=True,
                method="L-BFGS-B",
                bounds=bounds,
                options=options,
            )
            res.fun = _linear_objective(res.x, A, T, weight, n_classes)[0]
            if best is None or res.fun < best.fun:
                best = res
    return best


def _fidelity(target, approx, weight):
    """Agreement metrics between target and linearised probabilities (``fidelity_``)."""
    weight = np.asarray(weight, dtype=np.float64)
    total = weight.sum()
    n_classes = target.shape[1]
    diff = approx - target
    sq = np.einsum("pc,pc->p", diff, diff)
    tv = 0.5 * np.abs(diff).sum(axis=1)
    ratio = np.where(target > 0, target / np.maximum(approx, _KL_FLOOR), 1.0)
    kl = np.einsum("pc,pc->p", target, np.log(ratio))
    # The linear model agrees when its top class is one of the target's top
    # classes (ties within TIE_TOL, as in ``predict``).
    top = np.argmax(approx, axis=1)
    agree = target[np.arange(len(top)), top] >= target.max(axis=1) - TIE_TOL
    return {
        "rmse": float(np.sqrt(weight @ sq / (total * n_classes))),
        "mean_total_variation": float(weight @ tv / total),
        "max_total_variation": float(tv.max()),
        "mean_kl": float(weight @ kl / total),
        "argmax_agreement": float(weight @ agree / total),
    }


def _warn_stopped(max_iter, objective):
    """L-BFGS-B reached ``max_iter``: say what to check instead of more steps.

    Not "increase max_iter": on the text suite's narrow-rule tasks 4x the
    iterations (and time) changed the squared error in the 4th digit and no
    prediction; the error left is the linear form's, not the optimiser's,
    and ``fidelity_`` measures it.
    """
    warnings.warn(
        f"LinearizedApprox stopped at max_iter={max_iter} iterations with its "
        f"squared error (J={objective:.4g}) still falling slowly. This is usually "
        "the limit of the linear form rather than of the optimiser: read "
        "fidelity_ (mean |dp|, argmax agreement with the base model) to judge "
        "the approximation; more iterations rarely change it.",
        ConvergenceWarning,
        stacklevel=user_stacklevel(),
    )


@Substitution(
    tie_break=TIE_BREAK_DOC,
    fitted_classes=FITTED_CLASSES_DOC,
    fitted_coverage=FITTED_COVERAGE_DOC,
)
class LinearizedApprox(BaseLabelModel):
    """Linear (identity-activation) approximation of another label model.

    Influence analysis decomposes a label model's output into one term per
    (sample, source, class), which is exact only for a linear label model
    ``yhat[i, c] = S[i, c] / sum_k S[i, k]`` with
    ``S[i, c] = sum_j W[j, L[i, j] + 1, c]`` and ``W >= 0``. This model fits
    such a ``W`` so that its output matches a base label model (Dawid-Skene,
    Snorkel, ...) on the covered training rows, by least squares on the
    probabilities (Zhang et al., 2022, §3.4). The abstain slots ``W[j, 0, :]``
    are free, so that a linear form can reproduce prior and abstain effects.

    The fit clones ``base_model``, fits it on ``L`` and solves the bounded
    least-squares problem with L-BFGS-B and the analytic gradient on the
    unique row patterns of the covered rows (count-weighted, which gives the
    same minimiser as fitting every row). ``W`` is then rescaled so that its
    largest entry is 1 (the problem is invariant to a global scale).

    Parameters
    ----------
    base_model : label model
        The label model to approximate: any estimator with ``fit(L)`` and
        ``predict_proba(L)``. It is cloned and fitted on ``L``; wrap an
        already fitted model in :class:`sklearn.frozen.FrozenEstimator` to use
        it as is. It must read ``L`` with the same ``abstain`` value.
    init : {"mv", "shift", "exp"}, default="mv"
        Starting point. ``"mv"``: majority vote plus a small constant
        (``W[j, k+1, c] = 1[k == c] + 0.01`` and ``W[j, 0, c] = 0.01``).
        ``"shift"``: the base model's tensor form ``W_`` shifted to be
        non-negative (``W - min_c W``), as the reference implementation does.
        ``"exp"``: ``exp(W_ - max_c W_)``, which keeps the relative odds. The
        last two need a base model with ``W_`` and, for an identity base
        model, use its ``W_`` as is.
    n_restarts : int, default=1
        Number of fits; the first starts from ``init``, the others from
        random non-negative weights, and the one with the lowest error is
        kept. The problem is not convex: with many classes, different starts
        can end in different local minima.
    max_iter : int, default=15000
        Maximum number of L-BFGS-B iterations per fit.
    tol : float, default=1e-10
        Stopping tolerance on the projected gradient of ``J`` (``gtol`` of
        L-BFGS-B).
    ftol : float, default=1e-14
        Stopping tolerance on the relative decrease of ``J``, relative to
        ``max(J, 1)`` (``ftol`` of L-BFGS-B).
    n_classes : int, default=None
        Number of classes. When None, the base model's ``n_classes`` (if it
        declares one), else ``max(L) + 1``.
    abstain : int, default=-1
        Value of ``L`` that means "no vote"; passed on to the base model
        (which must have the default -1, or the same value).
    class_prior : array-like of shape (n_classes,), default=None
        Output for rows with no vote. When None, the base model's output for
        such rows.
    {tie_break}
    random_state : int, RandomState instance or None, default=None
        Seeds the random restarts and ``tie_break="random"``.

    Attributes
    ----------
    base_model_ : label model
        The fitted clone of ``base_model``.
    W_ : ndarray of shape (n_sources, n_classes + 1, n_classes)
        Non-negative tensor form (``activation="identity"``), with
        ``W_.max() == 1``. Entries of (source, outcome) pairs that never occur
        on the covered training rows keep their initial value; silent sources
        get zeros.
    fidelity_ : dict
        Agreement with the base model on the covered training rows:
        ``rmse`` (``sqrt(J / (n * n_classes))``), ``mean_total_variation``,
        ``max_total_variation``, ``mean_kl`` (``KL(base || linear)``) and
        ``argmax_agreement`` (the fraction of rows whose most probable linear
        class is a most probable base class, up to ties within 1e-5).
    objective_ : float
        Final value of ``J``, the sum over covered training rows of the
        squared differences of probabilities.
    n_iter_ : int
        Number of L-BFGS-B iterations of the retained fit (at least 1, for a
        start that already meets the tolerance).
    {fitted_classes}
    class_prior_ : ndarray of shape (n_classes,)
        Output for rows with no vote.
    {fitted_coverage}

    See Also
    --------
    MajorityVote : A linear label model that this model reproduces exactly.

    Notes
    -----
    The objective is
    ``J(W) = sum_i sum_c (yhat[i, c] - S[i, c] / Z[i]) ** 2`` over the covered
    training rows, with ``yhat`` the base model's probabilities; it is
    minimised over ``W >= 0``. Rows with no vote are not part of the fit; they
    get ``class_prior_``. ``J`` does not change when ``W`` is multiplied by a
    positive number; the solver adds the penalty
    ``(n / s0^2) * (sum(W) - s0) ** 2`` (``s0`` the sum of the start), which
    pins the scale without moving the minimum and keeps L-BFGS-B
    well-conditioned.

    References
    ----------
    .. [1] J. Zhang, H. Wang, C.-Y. Hsieh, A. Ratner. "Understanding
       Programmatic Weak Supervision via Source-aware Influence Function".
       NeurIPS 2022.

    Examples
    --------
    >>> import numpy as np
    >>> from skweak_e2e import LinearizedApprox, MajorityVote
    >>> L = np.array([[0, 0, 1], [1, -1, -1], [-1, 1, 1], [0, -1, 0]])
    >>> lin = LinearizedApprox(MajorityVote()).fit(L)
    >>> lin.predict_proba(L).round(3)
    array([[0.667, 0.333],
           [0.   , 1.   ],
           [0.   , 1.   ],
           [1.   , 0.   ]])
    >>> lin.fidelity_["max_total_variation"] < 1e-6
    True
    """

    activation = "identity"

    _parameter_constraints: dict = {
        **BaseLabelModel._parameter_constraints,
        "base_model": [HasMethods(["fit", "predict_proba"])],
        "init": [StrOptions({"mv", "shift", "exp"})],
        "n_restarts": [Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "ftol": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        base_model,
        *,
        init="mv",
        n_restarts=1,
        max_iter=15000,
        tol=1e-10,
        ftol=1e-14,
        n_classes=None,
        abstain=-1,
        class_prior=None,
        tie_break="random",
        random_state=None,
    ):
        self.base_model = base_model
        self.init = init
        self.n_restarts = n_restarts
        self.max_iter = max_iter
        self.tol = tol
        self.ftol = ftol
        self.n_classes = n_classes
        self.abstain = abstain
        self.class_prior = class_prior
        self.tie_break = tie_break
        self.random_state = random_state

    # The base model is a user-supplied estimator: its parameters must be
    # validated, so nested validation is not skipped.
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, L, y=None, sample_weight=None):
        """Fit the base model on ``L``, then the linear approximation of it.

        Parameters
        ----------
        L : array-like of shape (n_samples, n_sources) or (n_samples, n_sources, n_classes)
            Votes of the sources (``abstain`` for no vote), or soft votes.
        y : None
            Passed on to the base model's ``fit`` (the label models of this
            library ignore it).
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights, passed on to the base model's ``fit`` (which must
            accept them) and weighting the rows of the linear fit.

        Returns
        -------
        self : object
            The fitted model.
        """
        # The template of BaseLabelModel, under this fit's nested-validation
        # setting; the base model sees the input as given (_fit_input).
        return self._fit_template(L, y, sample_weight)

    def _default_n_classes(self):
        # n_classes is inherited from the base model when not given.
        if self.n_classes is not None:
            return self.n_classes
        return self._base_n_classes()

    def _base_n_classes(self):
        for name in ("n_classes_", "n_classes"):
            try:
                value = getattr(self.base_model, name)
            except AttributeError:
                continue
            if isinstance(value, Integral) and not isinstance(value, bool):
                return int(value)
        return None

    def _fit_input(self, L, L_input, y, sample_weight):
        C = self.n_classes_
        base = self._base_with_abstain(clone(self.base_model))
        if sample_weight is None:
            base.fit(L_input, y)
        elif has_fit_parameter(base, "sample_weight"):
            base.fit(L_input, y, sample_weight=sample_weight)
        else:
            raise TypeError(
                f"sample_weight was given, but the base model "
                f"{type(base).__name__} takes no sample_weight in fit."
            )
        self.base_model_ = base
        target = self._check_target(
            self._on_fitted_classes(base.predict_proba(L_input)), L.shape[0]
        )

        sparse = sp.issparse(L)
        covered = sparse_is_covered(L) if sparse else is_covered(L)
        weight = np.ones(L.shape[0]) if sample_weight is None else sample_weight
        if self.class_prior is None:
            self.class_prior_ = self._all_abstain_output(target, covered, L, weight)

        # Rows of zero weight are left out: they count for nothing.
        fitted = covered & (weight > 0)
        if sparse:
            # Crowd rows are nearly all distinct: fit on the rows themselves,
            # with the abstain slots implicit (O(votes) per product).
            A = ImplicitAbstainOnehot(L[np.flatnonzero(fitted)], C)
            patterns = inverse = None
            counts = weight[fitted].astype(np.float64)
            T = target[fitted]
        else:
            A = None
            patterns, inverse, counts = unique_rows(L[fitted])
        if A is None:
            counts = pattern_weights(
                inverse, counts, None if sample_weight is None else weight[fitted]
            )
            # Mean target per pattern: the count-weighted fit on patterns then has
            # the same minimiser as the fit on every row (and the same J whenever
            # the base model's output depends on the row pattern only).
            T = (
                np.stack(
                    [
                        np.bincount(
                            inverse,
                            weights=target[fitted, c] * weight[fitted],
                            minlength=len(counts),
                        )
                        for c in range(C)
                    ],
                    axis=1,
                )
                / counts[:, None]
            )
            A = vote_indicator(patterns, C, include_abstain=True)

        n_sources = L.shape[1]
        free = np.ones((n_sources, C + 1, C), dtype=bool)
        free[self.silent_sources_] = False
        starts = self._starting_points(free)

        # The sum over rows (not the mean), as in the documented objective: with
        # ftol relative to max(J, 1), small errors are driven to ~1e-14.
        best = _solve_linear_form(
            A,
            T,
            counts,
            starts,
            free,
            max_iter=self.max_iter,
            tol=self.tol,
            ftol=self.ftol,
        )
        if best.status == 1:
            _warn_stopped(self.max_iter, best.fun)
        W = np.where(free, best.x.reshape(free.shape), 0.0)
        W = np.maximum(W, 0.0)
        top = W.max()
        if top > 0:
            W = W / top
        self.W_ = W
        # A start that already meets the tolerance still costs one check.
        self.n_iter_ = max(int(best.nit), 1)

        approx = scores_to_proba(A @ W.reshape(-1, C), "identity", self.class_prior_)
        self.objective_ = float(counts @ np.square(approx - T).sum(axis=1))
        self.fidelity_ = _fidelity(T, approx, counts)

    def _base_with_abstain(self, base):
        """The base model reads ``L`` with this model's ``abstain``.

        ``LinearizedApprox(MajorityVote(), abstain=-9)`` gave the base model
        its default -1, so that the -9 votes were refused (or read as
        classes); the value is passed down, and two different explicit values
        are refused.
        """
        params = base.get_params(deep=False)
        if "abstain" not in params or params["abstain"] == self.abstain:
            return base
        if params["abstain"] != -1 and self.abstain != -1:
            raise ValueError(
                f"LinearizedApprox has abstain={self.abstain!r} but its base model "
                f"{type(base).__name__} has abstain={params['abstain']!r}; they read "
                "the same L: give them the same abstain value."
            )
        if params["abstain"] != -1:
            raise ValueError(
                f"The base model {type(base).__name__} has "
                f"abstain={params['abstain']!r}; set the same abstain on "
                f"LinearizedApprox (abstain={params['abstain']!r}), which reads "
                "the same L."
            )
        return base.set_params(abstain=self.abstain)

    def _check_target(self, proba, n_samples):
        return check_label_proba(
            proba,
            n_samples,
            "base_model",
            self.n_classes_,
            "Give the base model and LinearizedApprox the same n_classes and abstain.",
        )

    def _all_abstain_output(self, target, covered, L, weight):
        """Base model's output for a row with no vote (the uncovered rows)."""
        uncovered = ~covered & (weight > 0)
        if uncovered.any():
            return np.average(target[uncovered], axis=0, weights=weight[uncovered])
        if sp.issparse(L):
            row = sp.csr_matrix((1, L.shape[1]), dtype=L.dtype)
        elif L.ndim == 2 and self.abstain is None:
            # Hard votes without an abstain value cannot leave a row uncovered.
            return self.class_prior_
        elif L.ndim == 3:
            row = np.zeros((1,) + L.shape[1:])
        else:
            row = np.full((1, L.shape[1]), self.abstain)
        with warnings.catch_warnings():
            # A model fitted on a DataFrame warns about the missing names.
            warnings.simplefilter("ignore", UserWarning)
            out = self.base_model_.predict_proba(row)
        return self._check_target(self._on_fitted_classes(out), 1)[0]

    _fits_present_classes = True

    def _on_fitted_classes(self, proba, slots=False):
        """The base model's output (or ``W_``) on the classes being fitted.

        When some classes receive no vote, the linear form is fitted on the
        others (see ``BaseLabelModel._fit_present_classes``) while the base
        model answers on every class; the mass it gives absent classes on
        covered rows is dropped (rows are renormalised).
        """
        present = getattr(self, "_fit_classes", None)
        proba = np.asarray(proba, dtype=np.float64)
        if present is None or proba.ndim < 2 or proba.shape[-1] <= present.size:
            return proba
        if slots:  # a tensor form: outcome slots too
            proba = proba[:, np.r_[0, present + 1]]
        return proba[..., present]

    def _starting_points(self, free):
        C = free.shape[2]
        if self.init == "mv":
            W0 = np.full(free.shape, _INIT_FLOOR)
            W0[:, 1:, :] += np.eye(C)[None]
        else:
            W_base = getattr(self.base_model_, "W_", None)
            if W_base is not None:
                W_base = self._on_fitted_classes(W_base, slots=True)
            if W_base is None or np.shape(W_base) != free.shape:
                raise ValueError(
                    f"init={self.init!r} needs a base model with a tensor form W_ "
                    f"of shape {free.shape}; {type(self.base_model_).__name__} "
                    "has none. Use init='mv'."
                )
            if getattr(self.base_model_, "activation", "exp") == "identity":
                W0 = W_base.copy()
            elif self.init == "shift":
                W0 = W_base - W_base.min(axis=2, keepdims=True)
            else:
                W0 = np.exp(W_base - W_base.max(axis=2, keepdims=True))
        starts = [np.where(free, W0, 0.0)]
        rng = check_random_state(self.random_state)
        for _ in range(self.n_restarts - 1):
            starts.append(np.where(free, rng.uniform(size=free.shape), 0.0))
        return starts

    def _predict_proba(self, L):
        # A row is uncovered when no source that voted during fit votes on it
        # (the votes of silent sources carry no weight).
        active = np.ones(L.shape[1], dtype=bool)
        active[self.silent_sources_] = False
        if sp.issparse(L):
            S = sparse_tensor_scores(L, self.W_)
            proba = scores_to_proba(S, "identity", self.class_prior_)
            rows = np.repeat(np.arange(L.shape[0]), np.diff(L.indptr))
            covered = np.bincount(rows[active[L.indices]], minlength=L.shape[0]) > 0
            proba[~covered] = self.class_prior_
            return proba
        proba = apply_tensor_form(L, self.W_, "identity", self.class_prior_)
        proba[~is_covered(L[:, active])] = self.class_prior_
        return proba
