"""Solves with the Hessian of a linear softmax model: Cholesky, CG, damping.

:class:`HessianSolver` works on any model object exposing the curvature
interface of :class:`~skweak_e2e.inspection._linear_loss.LogisticModel`
(``hessian``, ``hvp``, ``hessian_diag``, ``apply``, ``n_params``,
``n_rows``, ``n_free``, ``n_features``, ``fit_intercept``, ``null_rows``); it
imports no model, so the objective module can use it for Newton steps.
``X`` may be a dense array or a scipy sparse matrix: the conjugate-gradient
path only multiplies by ``X`` and ``X^T`` and never densifies it.
"""

import inspect

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator, cg

from ..utils._threads import serial_blas

__all__ = ["HessianSolver", "jacobi_row_kernels", "row_kernels"]

#: Rows per chunk in the O(n d^2) products (bounds temporary memory).
CHUNK_ROWS = 16384
#: Largest parameter count for which ``solver="auto"`` uses Cholesky.
CHOLESKY_MAX_PARAMS = 4096
#: Below this many parameters dense LAPACK calls run single-threaded: a
#: threaded OpenBLAS factorisation of a few-hundred-row matrix can be 100x
#: slower than the serial one when the cores are busy.
SERIAL_LAPACK_MAX = 1536
#: scipy 1.12 renamed ``cg``'s relative tolerance ``tol`` to ``rtol``.
_CG_RTOL = "rtol" if "rtol" in inspect.signature(cg).parameters else "tol"


def _lapack_threads(n):
    """Context limiting BLAS threads for small dense factorisations."""
    return serial_blas(n <= SERIAL_LAPACK_MAX)


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
    >>> from skweak_e2e.inspection._linear_loss import LogisticModel
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
        """Jacobi-preconditioned conjugate gradients from zero.

        scipy's ``cg`` on Hessian-vector products, with the inverse diagonal
        as preconditioner; it stops at ``||H x - g|| <= cg_tol ||g||``.
        """
        if not np.any(g):
            self.cg_iterations_.append(0)
            return np.zeros_like(g)
        D = g.shape[0]
        H = LinearOperator((D, D), matvec=self.matvec, dtype=np.float64)
        M = LinearOperator((D, D), matvec=lambda r: r / self._diag, dtype=np.float64)
        n_iter = [0]

        def count(_):
            n_iter[0] += 1

        x, _ = cg(
            H, g, M=M, maxiter=self.cg_max_iter, callback=count, atol=0.0,
            **{_CG_RTOL: self.cg_tol},
        )
        self.cg_iterations_.append(n_iter[0])
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

    def diagonal_row_kernels(self, X=None):
        """Jacobi approximation of :meth:`row_kernels` (no explicit inverse).

        ``H^-1`` is replaced by the inverse of its (damped, lifted) diagonal:
        ``T_i[a, a] = sum_f x~_if^2 / H[(f, a), (f, a)]``, off-diagonal
        blocks zero. O(nnz(X) K) time; for models too large for Cholesky.

        Returns
        -------
        T : ndarray of shape (n, K, K)
        """
        X = self.X if X is None else X
        return jacobi_row_kernels(self.model, self.damped_diagonal(), X)

    def damped_diagonal(self):
        """Diagonal of the damped Hessian the solves use (lifted for CG)."""
        if self.solver == "cholesky":
            diag = self.model.hessian_diag(self.X, self.P, self.rho, self.n_norm)
            return diag + self.delta_
        return self._diag

    def row_kernels(self, X=None):
        """Blocks of ``H^-1`` seen by each row (see :func:`row_kernels`)."""
        X = self.X if X is None else X
        return row_kernels(self.model, self.inverse(), X)


def jacobi_row_kernels(model, diag, X):
    """Row kernels of the inverse of the diagonal ``diag`` of the Hessian.

    Returns
    -------
    T : ndarray of shape (n, K, K)
    """
    inv = 1.0 / diag.reshape(model.n_rows, model.n_free)
    d = model.n_features
    X = X.astype(np.float64, copy=False)  # a float32 block's squares in float64
    sq = X.multiply(X).tocsr() if sp.issparse(X) else X * X
    K = np.asarray(sq @ inv[:d])
    if model.fit_intercept:
        K = K + inv[d]
    n, k = K.shape
    T = np.zeros((n, k, k))
    T[:, np.arange(k), np.arange(k)] = K
    return T


def row_kernels(model, Hinv, X):
    """Blocks of ``H^-1`` seen by each row: ``T_i[a, b] = x~_i^T B_ab x~_i``.

    ``B_ab`` is the (F, F) block of ``H^-1`` between free classes ``a`` and
    ``b``. The self-influence of a per-row logit gradient ``g`` (so that
    the parameter gradient is ``x~ (x) g``) is ``g^T T_i g``.

    Returns
    -------
    T : ndarray of shape (n, K, K)
    """
    F, K, d = model.n_rows, model.n_free, model.n_features
    Hinv = Hinv.reshape(F, K, F, K)
    T = np.empty((X.shape[0], K, K))
    for a in range(K):
        for b in range(a, K):
            B = Hinv[:, a, :, b]
            for start in range(0, X.shape[0], CHUNK_ROWS):
                Xc = X[start : start + CHUNK_ROWS]
                Y = model.apply(Xc, B)  # rows: x~^T B, shape (chunk, F)
                if sp.issparse(Xc):
                    val = np.asarray(Xc.multiply(Y[:, :d]).sum(axis=1)).ravel()
                else:
                    val = np.einsum("ij,ij->i", Y[:, :d], Xc)
                if model.fit_intercept:
                    val += Y[:, d]
                T[start : start + CHUNK_ROWS, a, b] = val
            if b != a:
                T[:, b, a] = T[:, a, b]
    return T
