"""Objective, gradient and Hessian of the soft-label linear softmax model.

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

This module holds the objective and its gradient, an L-BFGS fit to
stationarity (with Newton polishing through
:class:`~skweak_e2e.inspection._hessian_solver.HessianSolver`), the explicit
Hessian, Hessian-vector products and the Hessian diagonal. ``X`` may be a
dense array or a scipy sparse matrix (CSR is best): every product is
``X @ M`` or ``X.T @ R``, so sparse inputs are never densified (the explicit
Hessian of a sparse ``X`` is dense, ``D x D``; it is formed only for the
Cholesky solver). The derivations are in the user guide's mathematical
details.
"""

import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize

from ..utils._math import logsumexp_rows
from ..utils._threads import serial_blas
from ._hessian_solver import CHOLESKY_MAX_PARAMS, CHUNK_ROWS, HessianSolver

__all__ = ["LogisticModel", "damped_step", "soft_cross_entropy"]

#: Newton-CG steps tried from a warm start before falling back to L-BFGS.
NEWTON_WARM_STEPS = 30
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
        return Z - logsumexp_rows(Z)[:, None]

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
        loss_sum, grad_sum, _, _ = self.data_terms(theta, X, T)
        Th = theta.reshape(self.n_rows, self.n_free)
        value = loss_sum / n_norm + self.penalty(theta)
        grad = grad_sum / n_norm + (self.l2_rows[:, None] * Th).ravel()
        return value, grad

    def data_terms(self, theta, X, T):
        """Summed data loss and gradient of the rows, and what the Hessian needs.

        The unnormalised, unpenalised part of :meth:`objective`, so that row
        blocks (a dask worker's chunks) add up. Returns ``(loss_sum,
        grad_sum, P, rho)``: ``sum_i rho_i lse_i - T_i . z_i``, its gradient
        (flat, shape (D,)), the class probabilities (n, C) and the row
        weights ``rho = T.sum(axis=1)``.
        """
        Z = self.logits(X, theta)
        lse = logsumexp_rows(Z)
        rho = T.sum(axis=1)
        loss_sum = float(rho @ lse - np.sum(T * Z))
        P = np.exp(Z - lse[:, None])
        grad_sum = self.apply_t(X, self.free(rho[:, None] * P - T)).ravel()
        return loss_sum, grad_sum, P, rho

    # ---------------------------------------------------------- curvature
    def hessian(self, X, P, rho, n_norm=None, scratch=None):
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
        scratch : ndarray of shape (r, d), default=None
            Float64 work space for the weighted rows of a dense ``X``, reused
            instead of a new array per chunk of rows (see
            :func:`_weighted_gram`).

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
                    block[:d, :d] += _weighted_gram(Xc, wc, scratch)
                    if self.fit_intercept:
                        col = np.asarray(Xc.T @ wc).ravel()
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
            diag[: self.n_features] += _square(Xc).T @ A[start : start + CHUNK_ROWS]
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
        with serial_blas(X.size <= SERIAL_FIT_MAX):
            return self._fit(X, T, n_norm, theta0, tol, max_iter)

    def _fit(self, X, T, n_norm, theta0, tol, max_iter):
        n_iter = 0
        if init_is_warm(theta0) and self.n_params > CHOLESKY_MAX_PARAMS:
            # A warm start (a refit on slightly changed labels) is already in
            # Newton's region: inexact Newton-CG on Hessian-vector products
            # converges in a few steps, where L-BFGS spends most of its time
            # in its own O(D) bookkeeping on text-scale models.
            theta, value, grad, n_newton = self._newton(
                X, T, n_norm, theta0, tol, NEWTON_WARM_STEPS
            )
            if np.max(np.abs(grad)) <= tol:
                return theta, _info(0, n_newton, grad, value)
            theta0 = theta
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
        n_iter = int(res.nit)
        # Newton polishing: quadratic convergence from L-BFGS's neighbourhood.
        theta, value, grad, n_newton = self._newton(X, T, n_norm, res.x, tol, 20)
        return theta, _info(n_iter, n_newton, grad, value)

    def _newton(self, X, T, n_norm, theta, tol, max_steps):
        """Damped Newton steps from ``theta`` until ``||grad||_inf <= tol``.

        The CG solves are inexact far from the optimum (relative residual
        ``min(0.1, ||grad||_inf)``, never below 1e-10): the step only needs
        to be a descent direction there.
        """
        value, grad = self.objective(theta, X, T, n_norm)
        n_newton = 0
        while np.max(np.abs(grad)) > tol and n_newton < max_steps:
            g_inf = np.max(np.abs(grad))
            P = np.exp(self.log_proba(X, theta))
            solver = HessianSolver(
                self,
                X,
                P,
                T.sum(axis=1),
                n_norm=n_norm,
                cg_tol=max(1e-10, min(0.1, g_inf)),
            )
            step = solver.solve(grad)
            cand, result, _ = damped_step(
                lambda point: self.objective(point, X, T, n_norm),
                theta, step, value, grad,
            )
            if cand is None:
                break
            theta, (value, grad) = cand, result
            n_newton += 1
        return theta, value, grad, n_newton


def damped_step(evaluate, theta, step, value, grad):
    """The Newton step ``-step`` from ``theta``, halved until it is accepted.

    A point is accepted by Armijo's rule, or by a smaller gradient where the
    objective is flat in double precision (near the optimum it saturates,
    and then the gradient is the right test). The in-memory polish and the
    dask fit (``_dask_blocks.newton_fit``) damp their steps with this one
    rule.

    Parameters
    ----------
    evaluate : callable
        ``evaluate(point)`` returns a tuple whose first two entries are the
        objective and its gradient at ``point`` (more may follow).
    theta, step : ndarray of shape (D,)
    value : float
        The objective at ``theta``.
    grad : ndarray of shape (D,)
        Its gradient at ``theta``.

    Returns
    -------
    point : ndarray of shape (D,) or None
        The accepted point; None when no step down to ``1e-10`` is.
    result : tuple or None
        ``evaluate(point)``.
    n_evaluations : int
        How many points were evaluated (a pass over the data each).

    Examples
    --------
    >>> import numpy as np
    >>> def square(x):  # objective and gradient of x**2
    ...     return float(x @ x), 2 * x
    >>> x = np.array([1.0])
    >>> point, result, n = damped_step(square, x, np.array([3.0]), *square(x))
    >>> point.tolist(), n  # the full step overshoots to -2; half of it is taken
    ([-0.5], 2)
    """
    g_inf = np.max(np.abs(grad))
    t, n_evaluations = 1.0, 0
    while t >= 1e-10:
        point = theta - t * step
        result = evaluate(point)
        n_evaluations += 1
        new_value, new_grad = result[0], result[1]
        armijo = new_value <= value + 1e-4 * t * (grad @ -step)
        flat = abs(new_value - value) <= 1e-12 * max(1.0, abs(value))
        if armijo or (flat and np.max(np.abs(new_grad)) < g_inf):
            return point, result, n_evaluations
        t *= 0.5
    return None, None, n_evaluations


def init_is_warm(theta0):
    """Whether a fit starts from given parameters (not from zeros)."""
    return bool(np.any(theta0 != 0))


def _info(n_iter, n_newton, grad, value):
    return {
        "n_iter": n_iter,
        "n_newton": n_newton,
        "grad_inf": float(np.max(np.abs(grad))),
        "objective": float(value),
    }


def _scale_rows(X, w):
    """``diag(w) @ X`` for a dense or sparse ``X`` (sparse stays sparse)."""
    if sp.issparse(X):
        return sp.csr_matrix(X.multiply(w[:, None]))
    return X * w[:, None]


def _weighted_gram(X, w, scratch=None):
    """``X^T diag(w) X`` (dense), for a dense or sparse ``X``.

    With ``w >= 0`` (every diagonal block of the Hessian; ``w <= 0``, every
    off-diagonal one, is its negation) and a dense ``X`` it is ``S^T S`` with ``S = diag(sqrt(w)) X``, which BLAS computes as a
    symmetric rank-k update: half the work of the general product. ``S`` is
    written into ``scratch`` when it is large enough: on a dask worker,
    whose allocator returns every large array to the system as it is freed
    (distributed sets ``MALLOC_TRIM_THRESHOLD_``), a fresh array per chunk
    of rows costs more than the product.
    """
    if not sp.issparse(X) and w.size and w.max() <= 0:
        # The off-diagonal class pairs (w = -rho pa pb): the same update.
        return -_weighted_gram(X, -w, scratch)
    if not sp.issparse(X) and w.size and w.min() >= 0:
        out = None
        if scratch is not None and scratch.shape[0] >= X.shape[0]:
            out = scratch[: X.shape[0]]
        S = np.multiply(X, np.sqrt(w)[:, None], out=out)
        return S.T @ S
    return _dense(X.T @ _scale_rows(X, w))


def _square(X):
    """Entry-wise square of a dense or sparse ``X``, in float64.

    (Blocks of a float32 ``X`` stay float32; their squares must not.)
    """
    X = X.astype(np.float64, copy=False)
    return X.multiply(X).tocsr() if sp.issparse(X) else X * X


def _dense(A):
    """A dense ndarray of a dense or sparse product."""
    return A.toarray() if sp.issparse(A) else np.asarray(A)


def soft_cross_entropy(log_proba, y):
    """Mean cross-entropy of hard labels ``y`` under ``log_proba``."""
    return float(-np.mean(log_proba[np.arange(len(y)), y]))
