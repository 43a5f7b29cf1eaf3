"""Choice of the end model's ridge strength ``l2`` by validation loss.

An influence analysis of an overfitted end model mostly finds "harmful"
terms that any regularisation would have tamed, so the inspector analyses a
model whose ``l2`` was chosen on held-out data: the gold validation set when
one is given (``fit(..., X_val=, y_val=)``), else a K-fold cross-validation
of the noise-aware loss on the training labels themselves (no gold labels).
"""

import numpy as np

from ._linear_loss import soft_cross_entropy

__all__ = ["L2_GRID", "select_l2"]

#: Ridge strengths tried by ``l2="auto"`` (half-decade steps).
L2_GRID = tuple(float(v) for v in 10.0 ** np.arange(-5.0, 0.25, 0.5))
#: Folds of the label-only cross-validation.
N_FOLDS = 3
#: Held-out losses within this relative margin of the best count as equal,
#: and the strongest ridge among them is chosen: validation curves are flat
#: at small ``l2`` (held-out noise is far above 1%), and a weaker ridge
#: than needed only makes the Hessian worse conditioned.
FLAT_RTOL = 0.01
#: Stationarity tolerance of the selection fits (the final fit uses ``tol``).
SELECTION_TOL = 1e-6


def _path(make_model, X, T, grid, score):
    """Held-out losses along ``grid``, fitted from the strongest ridge down.

    Warm starts along the path make each fit a short continuation of the
    previous one.
    """
    losses = np.empty(len(grid))
    theta = None
    for k in np.argsort(grid)[::-1]:
        model = make_model(l2=grid[k])
        theta, _ = model.fit(X, T, init=theta, tol=SELECTION_TOL)
        losses[k] = score(model, theta)
    return losses


def select_l2(make_model, X, T, *, X_val=None, y_val=None, grid=L2_GRID):
    """The ``l2`` of ``grid`` with the lowest held-out loss.

    Parameters
    ----------
    make_model : callable
        ``make_model(l2=...)`` returns a :class:`LogisticModel` with that ridge.
    X : ndarray or sparse matrix of shape (n, d)
        Training inputs.
    T : ndarray of shape (n, C)
        Training labels.
    X_val, y_val : array-like, default=None
        Gold validation set; its mean cross-entropy is the criterion. When
        None, the criterion is the cross-validated noise-aware loss
        ``sum_c T_ic (-log p_c(x_i))`` on held-out training rows.
    grid : sequence of float, default=L2_GRID

    Returns
    -------
    l2 : float
        The selected ridge strength: the largest one whose loss is within
        1% of the lowest.
    losses : ndarray of shape (len(grid),)
        The criterion at every grid value.
    """
    grid = np.asarray(grid, dtype=np.float64)
    if X_val is not None:

        def gold(model, theta):
            return soft_cross_entropy(model.log_proba(X_val, theta), y_val)

        losses = _path(make_model, X, T, grid, gold)
    else:
        n = X.shape[0]
        # A fixed permutation: deterministic, and robust to sorted rows.
        fold = np.random.RandomState(0).permutation(n) % N_FOLDS
        losses = np.zeros(len(grid))
        for f in range(N_FOLDS):
            train, held = np.flatnonzero(fold != f), np.flatnonzero(fold == f)
            T_held = T[held]

            def weak(model, theta, held=held, T_held=T_held):
                logp = model.log_proba(X[held], theta)
                return float(-(T_held * logp).sum() / max(T_held.sum(), 1e-300))

            losses += _path(make_model, X[train], T[train], grid, weak) / N_FOLDS
    near = np.flatnonzero(losses <= losses.min() * (1 + FLAT_RTOL))
    return float(grid[near].max()), losses
