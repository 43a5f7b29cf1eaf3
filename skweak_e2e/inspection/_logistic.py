"""Closed-form soft-label logistic regression for influence functions.

The end model of the closed-form influence path is a linear softmax model

    ``z = Theta^T x~``, ``x~ = [x; 1]``, ``f(x) = softmax(z)``,

trained on soft labels ``T`` (n x C, rows need not sum to one) with the
noise-aware mean loss plus a ridge penalty::

    R(Theta) = 1/n_norm sum_i sum_c T_ic (-log f(x_i)_c)
               + 1/2 sum_f l2_f ||Theta_f||^2.

``Theta`` has ``F = n_features + fit_intercept`` rows (the intercept is the
last row) and ``K`` columns: ``K = C`` for the symmetric multinomial model, or
``K = C - 1`` for the *reference* parameterisation in which class 0 has the
constant logit 0 (scikit-learn's binary logistic regression has this form
with one logit). Parameters are vectorised row-major: entry ``(f, k)`` is
``theta[f * K + k]``.

Everything an influence function needs is here: the objective and its
gradient, an L-BFGS fit to stationarity (with Newton polishing), the explicit
Hessian, Hessian-vector products, Cholesky and conjugate-gradient solves, and
the blocks of ``H^-1`` seen by each training row (self-influence, RelatIF).
See ``algorithms.md`` section 5.5 for the derivations.
"""

import contextlib
from numbers import Integral, Real

import numpy as np
import scipy.linalg
from scipy.optimize import minimize
from scipy.special import logsumexp
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.preprocessing import LabelEncoder
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data
from threadpoolctl import ThreadpoolController

__all__ = [
    "HessianSolver",
    "LogisticModel",
    "SoftLabelLogisticRegression",
]

#: Rows per chunk in the O(n d^2) products (bounds temporary memory).
CHUNK_ROWS = 16384
#: Largest parameter count for which ``solver="auto"`` uses Cholesky.
CHOLESKY_MAX_PARAMS = 4096
#: Below this many parameters dense LAPACK calls run single-threaded: a
#: threaded OpenBLAS factorisation of a few-hundred-row matrix can be 100x
#: slower than the serial one when the cores are busy.
SERIAL_LAPACK_MAX = 1536


_CONTROLLER = None


def _serial_blas(serial):
    """Context running BLAS single-threaded when ``serial`` (else a no-op)."""
    global _CONTROLLER
    if not serial:
        return contextlib.nullcontext()
    if _CONTROLLER is None:  # scanning the loaded libraries is slow: do it once
        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=1, user_api="blas")


def _lapack_threads(n):
    """Context limiting BLAS threads for small dense factorisations."""
    return _serial_blas(n <= SERIAL_LAPACK_MAX)


#: Below this many entries of ``X`` the L-BFGS fit runs with serial BLAS: its
#: own vector updates are tiny, and threads only add contention.
SERIAL_FIT_MAX = 1 << 20


class LogisticModel:
    """Linear softmax model with a ridge penalty: objective, derivatives, fit.

    Parameters
    ----------
    n_features : int
        Input dimension ``d``.
    n_classes : int
        Number of classes ``C >= 2``.
    fit_intercept : bool, default=True
        Append a constant feature (the last row of ``Theta``).
    reference : bool, default=False
        Fix the logit of class 0 at zero (``K = C - 1`` free columns).
    l2 : float, default=1e-3
        Ridge strength on the weights.
    intercept_l2 : float, default=None
        Ridge strength on the intercept row; ``l2`` when None.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[-1.5], [-0.5], [0.5], [1.5]])
    >>> T = np.array([[1, 0], [1, 0], [0, 1], [0, 1]], dtype=float)
    >>> model = LogisticModel(1, 2, reference=True, l2=0.1)
    >>> theta, info = model.fit(X, T)
    >>> info["grad_inf"] <= 1e-8
    True
    >>> model.proba(X, theta).argmax(axis=1)
    array([0, 0, 1, 1])
    """

    def __init__(
        self,
        n_features,
        n_classes,
        *,
        fit_intercept=True,
        reference=False,
        l2=1e-3,
        intercept_l2=None,
    ):
        self.n_features = int(n_features)
        self.n_classes = int(n_classes)
        self.fit_intercept = bool(fit_intercept)
        self.reference = bool(reference)
        self.n_rows = self.n_features + int(self.fit_intercept)
        self.n_free = self.n_classes - 1 if self.reference else self.n_classes
        l2_rows = np.full(self.n_rows, float(l2))
        if self.fit_intercept and intercept_l2 is not None:
            l2_rows[-1] = float(intercept_l2)
        self.l2_rows = l2_rows

    # ------------------------------------------------------------------ shapes
    @property
    def n_params(self):
        """Number of free parameters ``D = F * K``."""
        return self.n_rows * self.n_free

    @property
    def null_rows(self):
        """Rows of ``Theta`` whose all-ones shift is a null direction of ``H``.

        Only the symmetric multinomial model has them: adding ``t * 1`` to row
        ``f`` shifts every logit equally, which changes no probability, and
        only the penalty (when ``l2_f > 0``) pins it down.
        """
        if self.reference:
            return np.zeros(0, dtype=np.intp)
        return np.flatnonzero(self.l2_rows == 0)

    def free(self, A):
        """Columns of a (n, C) logit-space array that carry parameters."""
        return A[..., 1:] if self.reference else A

    def pad(self, A):
        """(n, K) free-logit array -> (n, C), with 0 for the reference class."""
        if not self.reference:
            return A
        return np.concatenate(
            [np.zeros(A.shape[:-1] + (1,), dtype=A.dtype), A], axis=-1
        )

    def apply(self, X, M):
        """``X~ @ M`` for M of shape (F, J), without forming ``X~``."""
        out = X @ M[: self.n_features]
        if self.fit_intercept:
            out += M[self.n_features]
        return out

    def apply_t(self, X, R):
        """``X~^T @ R`` for R of shape (n, J)."""
        top = X.T @ R
        if not self.fit_intercept:
            return top
        return np.vstack([top, R.sum(axis=0, keepdims=True)])

    # ---------------------------------------------------------- predictions
    def logits(self, X, theta):
        """Logits (n, C)."""
        return self.pad(self.apply(X, theta.reshape(self.n_rows, self.n_free)))

    def log_proba(self, X, theta):
        """Log class probabilities (n, C)."""
        Z = self.logits(X, theta)
        return Z - _logsumexp_rows(Z)[:, None]

    def proba(self, X, theta):
        """Class probabilities (n, C)."""
        return np.exp(self.log_proba(X, theta))

    # ------------------------------------------------------------ objective
    def penalty(self, theta):
        """``1/2 sum_f l2_f ||Theta_f||^2``."""
        Th = theta.reshape(self.n_rows, self.n_free)
        return 0.5 * float(np.sum(self.l2_rows[:, None] * Th * Th))

    def objective(self, theta, X, T, n_norm=None):
        """Objective value and gradient (flat) at ``theta``.

        Parameters
        ----------
        theta : ndarray of shape (D,)
        X : ndarray of shape (n, d)
        T : ndarray of shape (n, C)
            Soft labels (loss weights per class); rows need not sum to one.
        n_norm : float, default=None
            Normaliser of the data term; ``n`` when None.

        Returns
        -------
        value : float
        grad : ndarray of shape (D,)
        """
        n_norm = X.shape[0] if n_norm is None else n_norm
        Z = self.logits(X, theta)
        lse = _logsumexp_rows(Z)
        rho = T.sum(axis=1)
        value = (rho @ lse - np.sum(T * Z)) / n_norm + self.penalty(theta)
        P = np.exp(Z - lse[:, None])
        R = self.free(rho[:, None] * P - T)
        Th = theta.reshape(self.n_rows, self.n_free)
        grad = self.apply_t(X, R) / n_norm + self.l2_rows[:, None] * Th
        return value, grad.ravel()

    # ---------------------------------------------------------- curvature
    def hessian(self, X, P, rho, n_norm=None):
        """Explicit Hessian ``(1/n) sum_i rho_i (x~ x~^T) (x) A_i + diag(l2)``.

        ``A_i = diag(p_i) - p_i p_i^T`` restricted to the free classes. The
        null directions of the symmetric model (see :attr:`null_rows`) are
        *not* regularised here; :class:`HessianSolver` handles them.

        Parameters
        ----------
        X : ndarray of shape (n, d)
        P : ndarray of shape (n, C)
            Model probabilities at the point of expansion.
        rho : ndarray of shape (n,)
            Label mass of each row (1 for normalised labels).
        n_norm : float, default=None

        Returns
        -------
        H : ndarray of shape (D, D)
        """
        n_norm = X.shape[0] if n_norm is None else n_norm
        F, K, d = self.n_rows, self.n_free, self.n_features
        Pf = self.free(P)
        H4 = np.zeros((F, K, F, K))
        for a in range(K):
            for b in range(a, K):
                w = rho * (Pf[:, a] * ((a == b) - Pf[:, b]))
                block = np.zeros((F, F))
                for start in range(0, X.shape[0], CHUNK_ROWS):
                    Xc = X[start : start + CHUNK_ROWS]
                    wc = w[start : start + CHUNK_ROWS]
                    WX = Xc * wc[:, None]
                    block[:d, :d] += Xc.T @ WX
                    if self.fit_intercept:
                        col = WX.sum(axis=0)
                        block[:d, d] += col
                        block[d, :d] += col
                        block[d, d] += wc.sum()
                block /= n_norm
                H4[:, a, :, b] = block
                if b != a:
                    H4[:, b, :, a] = block.T
        H = H4.reshape(F * K, F * K)
        H[np.diag_indices_from(H)] += np.repeat(self.l2_rows, K)
        return H

    def hvp(self, X, P, rho, v, n_norm=None):
        """Hessian-vector product ``H v`` in O(n d C)."""
        n_norm = X.shape[0] if n_norm is None else n_norm
        V = v.reshape(self.n_rows, self.n_free)
        U = self.pad(self.apply(X, V))
        PU = P * U
        Q = self.free(PU - P * PU.sum(axis=1, keepdims=True)) * rho[:, None]
        out = self.apply_t(X, Q) / n_norm + self.l2_rows[:, None] * V
        return out.ravel()

    def hessian_diag(self, X, P, rho, n_norm=None):
        """Diagonal of the Hessian (the Jacobi preconditioner of CG)."""
        n_norm = X.shape[0] if n_norm is None else n_norm
        Pf = self.free(P)
        A = rho[:, None] * Pf * (1.0 - Pf)
        diag = np.zeros((self.n_rows, self.n_free))
        for start in range(0, X.shape[0], CHUNK_ROWS):
            Xc = X[start : start + CHUNK_ROWS]
            diag[: self.n_features] += (Xc * Xc).T @ A[start : start + CHUNK_ROWS]
        if self.fit_intercept:
            diag[self.n_features] = A.sum(axis=0)
        diag = diag / n_norm + self.l2_rows[:, None]
        return diag.ravel()

    # ---------------------------------------------------------------- fit
    def fit(self, X, T, *, n_norm=None, init=None, tol=1e-8, max_iter=1000):
        """Minimise the objective to ``||grad||_inf <= tol``.

        L-BFGS does the bulk of the work; when it stops short of ``tol``
        (it measures progress on the objective, which saturates in double
        precision), Newton steps with the exact Hessian finish the job.

        Parameters
        ----------
        X : ndarray of shape (n, d)
        T : ndarray of shape (n, C)
        n_norm : float, default=None
        init : ndarray of shape (D,), default=None
            Warm start; zeros when None.
        tol : float, default=1e-8
        max_iter : int, default=1000

        Returns
        -------
        theta : ndarray of shape (D,)
        info : dict
            ``n_iter`` (L-BFGS iterations), ``n_newton``, ``grad_inf``.
        """
        n_norm = X.shape[0] if n_norm is None else n_norm
        theta0 = np.zeros(self.n_params) if init is None else np.array(init, float)
        with _serial_blas(X.size <= SERIAL_FIT_MAX):
            return self._fit(X, T, n_norm, theta0, tol, max_iter)

    def _fit(self, X, T, n_norm, theta0, tol, max_iter):
        res = minimize(
            self.objective,
            theta0,
            args=(X, T, n_norm),
            jac=True,
            method="L-BFGS-B",
            options={
                "maxiter": max_iter,
                "gtol": tol,
                "ftol": 64 * np.finfo(float).eps,
                "maxcor": 20,
                "maxls": 50,
            },
        )
        theta = res.x
        value, grad = self.objective(theta, X, T, n_norm)
        n_newton = 0
        # Newton polishing: quadratic convergence from L-BFGS's neighbourhood.
        while np.max(np.abs(grad)) > tol and n_newton < 20:
            P = np.exp(self.log_proba(X, theta))
            solver = HessianSolver(self, X, P, T.sum(axis=1), n_norm=n_norm)
            step = solver.solve(grad)
            t, accepted = 1.0, False
            g_inf = np.max(np.abs(grad))
            while t >= 1e-10:
                cand = theta - t * step
                cval, cgrad = self.objective(cand, X, T, n_norm)
                armijo = cval <= value + 1e-4 * t * (grad @ -step)
                # Near the optimum the objective saturates in double precision;
                # then a smaller gradient is the right acceptance test.
                flat = abs(cval - value) <= 1e-12 * max(1.0, abs(value))
                if armijo or (flat and np.max(np.abs(cgrad)) < g_inf):
                    accepted = True
                    break
                t *= 0.5
            if not accepted:
                break
            theta, value, grad = cand, cval, cgrad
            n_newton += 1
        return theta, {
            "n_iter": int(res.nit),
            "n_newton": n_newton,
            "grad_inf": float(np.max(np.abs(grad))),
            "objective": float(value),
        }


class HessianSolver:
    """Solves ``H v = g`` for a :class:`LogisticModel` at a fixed point.

    ``solver="cholesky"`` forms and factorises the explicit Hessian
    (O(n d^2 C^2 + D^3), and serves any number of right-hand sides);
    ``solver="cg"`` runs Jacobi-preconditioned conjugate gradients on
    Hessian-vector products (O(n d C) per iteration, no D x D matrix).
    ``"auto"`` picks Cholesky up to :data:`CHOLESKY_MAX_PARAMS` parameters.

    Null directions of the symmetric model (an unpenalised row shifted along
    the all-ones class vector, see :attr:`LogisticModel.null_rows`) are
    lifted by adding ``mu * P_null``: every gradient an influence function
    uses is orthogonal to them, so the solution is the pseudo-inverse one.

    ``damping > 0`` solves ``(H + delta I) v = g`` instead, with ``delta =
    damping * tr(H) / D`` (a multiple of the mean eigenvalue of ``H``, so the
    same value means the same thing whatever the scale of the features):
    Cholesky factorises ``H + delta I``; CG uses ``H v + delta v`` and the
    preconditioner ``diag(H) + delta``. The model itself (its ridge ``l2``)
    is unchanged; only the inverse-Hessian-vector products are damped.

    Parameters
    ----------
    model : LogisticModel
    X : ndarray of shape (n, d)
    P : ndarray of shape (n, C)
    rho : ndarray of shape (n,)
    n_norm : float, default=None
    solver : {"auto", "cholesky", "cg"}, default="auto"
    cg_tol : float, default=1e-10
        Relative residual of CG.
    cg_max_iter : int, default=1000
    damping : float, default=0.0
        Relative damping: ``delta = damping * tr(H) / D`` is added to the
        diagonal of ``H`` for the solves (0 = exact ``H``).

    Attributes
    ----------
    delta_ : float
        The absolute damping added to the diagonal (0 without damping).
    hessian_scale_ : float
        ``tr(H) / D`` of the undamped Hessian (before the null lift).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.RandomState(0)
    >>> X, P = rng.normal(size=(50, 2)), np.full((50, 3), 1 / 3)
    >>> model = LogisticModel(2, 3, l2=0.1)
    >>> g = rng.normal(size=model.n_params)
    >>> v1 = HessianSolver(model, X, P, np.ones(50), solver="cholesky").solve(g)
    >>> v2 = HessianSolver(model, X, P, np.ones(50), solver="cg").solve(g)
    >>> bool(np.allclose(v1, v2))
    True
    >>> damped = HessianSolver(model, X, P, np.ones(50), damping=1.0)
    >>> H = model.hessian(X, P, np.ones(50))
    >>> delta = np.trace(H) / len(H)  # damping=1: the mean eigenvalue of H
    >>> v3 = np.linalg.solve(H + delta * np.eye(len(H)), g)
    >>> bool(np.allclose(damped.solve(g), v3))
    True
    """

    def __init__(
        self,
        model,
        X,
        P,
        rho,
        *,
        n_norm=None,
        solver="auto",
        cg_tol=1e-10,
        cg_max_iter=1000,
        damping=0.0,
    ):
        self.model = model
        self.X, self.P, self.rho = X, P, rho
        self.n_norm = X.shape[0] if n_norm is None else n_norm
        if solver == "auto":
            solver = "cholesky" if model.n_params <= CHOLESKY_MAX_PARAMS else "cg"
        self.solver = solver
        self.cg_tol, self.cg_max_iter = cg_tol, cg_max_iter
        self.cg_iterations_ = []
        null = model.null_rows
        self._null_rows = null
        damping = float(damping)
        if not np.isfinite(damping) or damping < 0:
            raise ValueError(f"damping must be a finite number >= 0; got {damping!r}.")
        self.damping = damping
        if solver == "cholesky":
            H = model.hessian(X, P, rho, self.n_norm)
            self._set_delta(np.diag(H))
            self._mu = self._null_scale(np.diag(H))
            self._add_null(H)
            if self.delta_:
                H[np.diag_indices_from(H)] += self.delta_
            try:
                with _lapack_threads(len(H)):
                    self._factor = scipy.linalg.cho_factor(H, lower=True)
            except np.linalg.LinAlgError:
                raise ValueError(
                    "The Hessian of the end model is not positive definite; "
                    "increase the L2 strength (l2) or the damping so that "
                    "influence functions are defined."
                ) from None
        elif solver == "cg":
            self._diag = model.hessian_diag(X, P, rho, self.n_norm)
            self._set_delta(self._diag)
            self._mu = self._null_scale(self._diag)
            if null.size:
                K = model.n_free
                self._diag.reshape(model.n_rows, K)[null] += self._mu / K
            self._diag += self.delta_
            if np.any(self._diag <= 0):
                raise ValueError(
                    "The Hessian of the end model has a zero diagonal entry; "
                    "increase the L2 strength (l2)."
                )
        else:
            raise ValueError(
                f"solver must be 'auto', 'cholesky' or 'cg'; got {solver!r}."
            )

    def _set_delta(self, diag):
        """``delta_ = damping * tr(H) / D`` from the undamped diagonal."""
        self.hessian_scale_ = float(np.mean(diag))
        self.delta_ = self.damping * self.hessian_scale_ if self.damping else 0.0

    def _null_scale(self, diag):
        return float(max(np.mean(np.abs(diag)), 1e-12))

    def _add_null(self, H):
        """Add ``mu * (e_f e_f^T) (x) (11^T / K)`` for each null row ``f``."""
        K = self.model.n_free
        for f in self._null_rows:
            sl = slice(f * K, (f + 1) * K)
            H[sl, sl] += self._mu / K

    def _apply_null(self, v, out):
        K = self.model.n_free
        if self._null_rows.size:
            V = v.reshape(self.model.n_rows, K)
            O = out.reshape(self.model.n_rows, K)
            O[self._null_rows] += (self._mu / K) * V[self._null_rows].sum(
                axis=1, keepdims=True
            )
        return out

    def matvec(self, v):
        """``(H + delta I) v`` (with the null-direction lift)."""
        out = self.model.hvp(self.X, self.P, self.rho, v, self.n_norm)
        if self.delta_:
            out += self.delta_ * v
        return self._apply_null(v, out)

    def solve(self, G):
        """Solve ``H V = G`` for one (D,) or several (D, k) right-hand sides."""
        G = np.asarray(G, dtype=np.float64)
        if self.solver == "cholesky":
            with _lapack_threads(self.model.n_params):
                return scipy.linalg.cho_solve(self._factor, G)
        if G.ndim == 1:
            return self._cg(G)
        return np.column_stack([self._cg(G[:, k]) for k in range(G.shape[1])])

    def _cg(self, g):
        """Jacobi-preconditioned conjugate gradients from zero."""
        x = np.zeros_like(g)
        norm_g = np.linalg.norm(g)
        if norm_g == 0:
            self.cg_iterations_.append(0)
            return x
        r = g.copy()
        z = r / self._diag
        p = z.copy()
        rz = r @ z
        for it in range(1, self.cg_max_iter + 1):
            Hp = self.matvec(p)
            alpha = rz / (p @ Hp)
            x += alpha * p
            r -= alpha * Hp
            if np.linalg.norm(r) <= self.cg_tol * norm_g:
                break
            z = r / self._diag
            rz_new = r @ z
            p = z + (rz_new / rz) * p
            rz = rz_new
        self.cg_iterations_.append(it)
        return x

    def inverse(self):
        """Explicit ``(H + delta I)^-1`` (Cholesky solver only)."""
        if self.solver != "cholesky":
            raise ValueError(
                "The explicit inverse Hessian needs solver='cholesky' (RelatIF "
                "and self-influence use it)."
            )
        with _lapack_threads(self.model.n_params):
            return scipy.linalg.cho_solve(self._factor, np.eye(self.model.n_params))

    def row_kernels(self, X=None):
        """Blocks of ``H^-1`` seen by each row: ``T_i[a, b] = x~_i^T B_ab x~_i``.

        ``B_ab`` is the (F, F) block of ``H^-1`` between free classes ``a`` and
        ``b``. The self-influence of a per-row logit gradient ``g`` (so that
        the parameter gradient is ``x~ (x) g``) is ``g^T T_i g``.

        Returns
        -------
        T : ndarray of shape (n, K, K)
        """
        X = self.X if X is None else X
        model = self.model
        F, K, d = model.n_rows, model.n_free, model.n_features
        Hinv = self.inverse().reshape(F, K, F, K)
        T = np.empty((X.shape[0], K, K))
        for a in range(K):
            for b in range(a, K):
                B = Hinv[:, a, :, b]
                for start in range(0, X.shape[0], CHUNK_ROWS):
                    Xc = X[start : start + CHUNK_ROWS]
                    Y = model.apply(Xc, B)  # rows: x~^T B, shape (chunk, F)
                    val = np.einsum("ij,ij->i", Y[:, :d], Xc)
                    if model.fit_intercept:
                        val += Y[:, d]
                    T[start : start + CHUNK_ROWS, a, b] = val
                if b != a:
                    T[:, b, a] = T[:, a, b]
        return T


def _logsumexp_rows(Z):
    """Row-wise log-sum-exp of a (n, C) array (faster than scipy's for small C)."""
    top = Z.max(axis=1)
    return top + np.log(np.exp(Z - top[:, None]).sum(axis=1))


def soft_cross_entropy(log_proba, y):
    """Mean cross-entropy of hard labels ``y`` under ``log_proba``."""
    return float(-np.mean(log_proba[np.arange(len(y)), y]))


class SoftLabelLogisticRegression(ClassifierMixin, BaseEstimator):
    """Multinomial logistic regression trained on soft (probabilistic) labels.

    Minimises ``1/n sum_i sum_c T_ic (-log p_c(x_i)) + l2/2 ||Theta||^2`` to
    stationarity (``||grad||_inf <= tol``), the intercept included in the
    penalty. This is the end model the influence functions of
    :class:`~skweak_e2e.SourceAwareInfluence` differentiate, and the estimator
    returned by its ``drop_harmful`` repair when no other end model was given.

    Parameters
    ----------
    l2 : float, default=1e-3
        Ridge strength ``lambda`` of the mean-loss objective (weights and
        intercept).
    fit_intercept : bool, default=True
        Whether to fit an intercept.
    logits : {"auto", "multinomial", "reference"}, default="auto"
        ``"multinomial"``: one logit per class. ``"reference"``: class 0 has
        the fixed logit 0 (binary: a single logit, as scikit-learn's binary
        ``LogisticRegression``). ``"auto"``: reference for two classes,
        multinomial otherwise.
    tol : float, default=1e-8
        Stationarity tolerance on the max-abs gradient.
    max_iter : int, default=1000
        L-BFGS iterations.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels (``0..C-1`` when fitted on soft labels).
    coef_ : ndarray of shape (n_logits, n_features)
        Weights of the free logits.
    intercept_ : ndarray of shape (n_logits,)
        Intercepts of the free logits (zeros without intercept).
    n_features_in_ : int
        Number of features.
    n_iter_ : int
        L-BFGS iterations.

    Examples
    --------
    >>> import numpy as np
    >>> from skweak_e2e.inspection import SoftLabelLogisticRegression
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> soft = np.array([[0.9, 0.1], [0.7, 0.3], [0.3, 0.7], [0.1, 0.9]])
    >>> clf = SoftLabelLogisticRegression(l2=0.01).fit(X, soft)
    >>> clf.predict(X)
    array([0, 0, 1, 1])
    """

    _parameter_constraints: dict = {
        "l2": [Interval(Real, 0, None, closed="left")],
        "fit_intercept": ["boolean"],
        "logits": [StrOptions({"auto", "multinomial", "reference"})],
        "tol": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self, l2=1e-3, *, fit_intercept=True, logits="auto", tol=1e-8, max_iter=1000
    ):
        self.l2 = l2
        self.fit_intercept = fit_intercept
        self.logits = logits
        self.tol = tol
        self.max_iter = max_iter

    def _model(self, n_features, n_classes):
        reference = self.logits == "reference" or (
            self.logits == "auto" and n_classes == 2
        )
        return LogisticModel(
            n_features,
            n_classes,
            fit_intercept=self.fit_intercept,
            reference=reference,
            l2=self.l2,
        )

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit on hard labels (1-D) or soft labels (2-D, one column per class).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features.
        y : array-like of shape (n_samples,) or (n_samples, n_classes)
            Hard labels, or non-negative class weights per sample (soft
            labels); rows of zeros drop out of the loss.
        sample_weight : array-like of shape (n_samples,), default=None
            Multiplies each row's label weights.

        Returns
        -------
        self : SoftLabelLogisticRegression
            Fitted estimator.
        """
        X, y = validate_data(
            self, X, y, multi_output=True, dtype=np.float64, y_numeric=False
        )
        if y.ndim == 2 and y.shape[1] > 1:
            T = np.asarray(y, dtype=np.float64)
            if not np.isfinite(T).all() or (T < 0).any():
                raise ValueError("Soft labels must be finite and non-negative.")
            self.classes_ = np.arange(T.shape[1])
        else:
            y = np.ravel(y)
            enc = LabelEncoder().fit(y)
            self.classes_ = enc.classes_
            if len(self.classes_) < 2:
                raise ValueError(
                    "SoftLabelLogisticRegression needs at least 2 classes; got "
                    f"{len(self.classes_)}."
                )
            T = np.eye(len(self.classes_))[enc.transform(y)]
        if sample_weight is not None:
            sw = np.asarray(sample_weight, dtype=np.float64).ravel()
            if sw.shape[0] != X.shape[0]:
                raise ValueError("sample_weight has a different length than X.")
            T = T * sw[:, None]
        model = self._model(X.shape[1], T.shape[1])
        theta, info = model.fit(X, T, tol=self.tol, max_iter=self.max_iter)
        self._set_theta(model, theta)
        self.n_iter_ = info["n_iter"]
        return self

    def _set_theta(self, model, theta):
        Th = theta.reshape(model.n_rows, model.n_free)
        self.coef_ = Th[: model.n_features].T.copy()
        self.intercept_ = (
            Th[model.n_features].copy()
            if model.fit_intercept
            else np.zeros(model.n_free)
        )
        self._theta = theta
        self._reference = model.reference

    def _get_model(self):
        n_classes = len(self.classes_)
        return self._model(self.n_features_in_, n_classes)

    def decision_function(self, X):
        """Compute the logits of every class.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features.

        Returns
        -------
        logits : ndarray of shape (n_samples, n_classes)
            Class logits; in the reference parameterisation class 0 has
            logit 0.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return self._get_model().logits(X, self._theta)

    def predict_proba(self, X):
        """Class probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Softmax of the logits; each row sums to 1.
        """
        Z = self.decision_function(X)
        return np.exp(Z - logsumexp(Z, axis=1, keepdims=True))

    def predict(self, X):
        """Most probable class.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Predicted classes, from ``classes_``.
        """
        return self.classes_[np.argmax(self.decision_function(X), axis=1)]


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
    """

    kind = "logistic"

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
    ):
        self.model = model
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
        Xt = np.hstack([Xf, np.ones((len(Xf), 1))]) if model.fit_intercept else Xf
        return np.einsum("kf,ka->fak", Xt, R).reshape(model.n_params, len(y_t))

    def directions(self, X_t, y_t, reduce):
        """Logit directions ``u`` of the training rows, (n_targets, n, C)."""
        model = self.model
        V = self.solver.solve(self.target_gradients(X_t, y_t, reduce))
        n_t = V.shape[1]
        F, K = model.n_rows, model.n_free
        U = model.apply(self.X, V.reshape(F, K, n_t).reshape(F, K * n_t))
        U = U.reshape(len(self.X), K, n_t).transpose(2, 0, 1)
        return model.pad(U)

    def self_influence(self, G):
        """``g_i^T J_i H^-1 J_i^T g_i`` for per-row logit gradients ``G`` (n, C)."""
        if self._kernels is None:
            self._kernels = self.solver.row_kernels()
        Gf = self.model.free(G)
        return np.einsum("ia,iab,ib->i", Gf, self._kernels, Gf)

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
