"""Known-answer tests of the logistic layer: objective derivatives against
finite differences, Hessian-vector products and diagonals against the
explicit Hessian, Cholesky against CG, the null-direction lift and the
damped solves against dense ``H + delta I`` solves."""

import numpy as np
import pytest

from skweak_e2e.inspection._hessian_solver import HessianSolver
from skweak_e2e.inspection._linear_loss import LogisticModel
from .._tolerance import assert_allclose_scaled

LAM = 1e-2


# ----------------------------------------------------------------- logistic core
def _fitted_logistic(seed, n_samples, n_features, reference, intercept_l2):
    """A 3-class logistic model fitted to random soft labels, with its Hessian."""
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n_samples, n_features))
    T = rng.dirichlet(np.ones(3), size=n_samples)
    model = LogisticModel(
        n_features, 3, reference=reference, l2=LAM, intercept_l2=intercept_l2
    )
    theta, info = model.fit(X, T, tol=1e-12)
    assert info["grad_inf"] <= 1e-12
    P, rho = model.proba(X, theta), T.sum(axis=1)
    return rng, X, T, model, theta, P, rho, model.hessian(X, P, rho)


@pytest.mark.parametrize("reference", [False, True])
@pytest.mark.parametrize("intercept_l2", [None, 0.0])
def test_hessian_hvp_and_solvers(reference, intercept_l2):
    rng, X, T, model, theta, P, rho, H = _fitted_logistic(
        0, 200, 5, reference, intercept_l2
    )
    D, h = model.n_params, 1e-6
    J = np.empty((D, D))
    for k in range(D):
        e = np.zeros(D)
        e[k] = h
        J[:, k] = (
            model.objective(theta + e, X, T)[1] - model.objective(theta - e, X, T)[1]
        ) / (2 * h)
    assert np.abs(J - H).max() <= 1e-6 * np.abs(H).max()
    v = rng.normal(size=D)
    assert_allclose_scaled(model.hvp(X, P, rho, v), H @ v, atol=1e-12)
    assert_allclose_scaled(model.hessian_diag(X, P, rho), np.diag(H), atol=1e-12)
    # Right-hand sides in the range of H (target-loss gradients).
    G = (
        model.apply_t(X, model.free(P - np.eye(3)[rng.randint(3, size=200)])).ravel()
        / 200
    )
    chol = HessianSolver(model, X, P, rho, solver="cholesky").solve(G)
    cg = HessianSolver(model, X, P, rho, solver="cg").solve(G)
    assert np.abs(chol - cg).max() <= 1e-8 * np.abs(chol).max()
    assert_allclose_scaled(H @ chol, G, atol=1e-12)


def test_cg_stops_at_its_relative_residual_and_counts_iterations():
    rng, X, T, model, theta, P, rho, H = _fitted_logistic(2, 300, 6, False, None)
    D = model.n_params
    G = rng.normal(size=(D, 2))
    G[:, 1] *= 1e6  # the tolerance is relative to each right-hand side
    for tol in (1e-3, 1e-10):
        solver = HessianSolver(model, X, P, rho, solver="cg", cg_tol=tol)
        V = solver.solve(G)
        residual = np.linalg.norm(H @ V - G, axis=0) / np.linalg.norm(G, axis=0)
        assert np.all(residual <= 2 * tol)  # the recursive residual may drift
        assert len(solver.cg_iterations_) == 2
        assert all(1 <= it < D for it in solver.cg_iterations_)
    assert residual.max() < 1e-9
    # A zero right-hand side costs nothing; max_iter caps the iterations.
    assert not np.any(solver.solve(np.zeros(D))) and solver.cg_iterations_[-1] == 0
    capped = HessianSolver(model, X, P, rho, solver="cg", cg_tol=1e-14, cg_max_iter=2)
    capped.solve(G[:, 0])
    assert capped.cg_iterations_ == [2]


def test_null_direction_lift_gives_pseudo_inverse_solution():
    # Unpenalised intercept + C logits: (intercept += t 1) is a null direction.
    rng = np.random.RandomState(1)
    X, T = rng.normal(size=(100, 3)), rng.dirichlet(np.ones(3), size=100)
    model = LogisticModel(3, 3, l2=LAM, intercept_l2=0.0)
    theta, _ = model.fit(X, T, tol=1e-12)
    P = model.proba(X, theta)
    H = model.hessian(X, P, np.ones(100))
    assert np.linalg.eigvalsh(H)[0] < 1e-12  # singular
    G = model.apply_t(X, P - np.eye(3)[rng.randint(3, size=100)]).ravel()
    v = HessianSolver(model, X, P, np.ones(100)).solve(G)
    assert_allclose_scaled(v, np.linalg.pinv(H) @ G, atol=1e-10)


# --------------------------------------------------------------------- damping
@pytest.mark.parametrize("reference", [False, True])
@pytest.mark.parametrize("intercept_l2", [None, 0.0])
def test_damping_solves_with_shifted_hessian(reference, intercept_l2):
    rng, X, T, model, theta, P, rho, H = _fitted_logistic(
        3, 150, 4, reference, intercept_l2
    )
    D = model.n_params
    # Target-loss gradients (orthogonal to the null direction, when there is one).
    G = model.apply_t(X, model.free(P - np.eye(3)[rng.randint(3, size=150)]))
    G = G.ravel() / 150
    for damping in (0.01, 0.5, 20.0):
        delta = damping * np.trace(H) / D
        expected = np.linalg.solve(H + delta * np.eye(D), G)
        scale = np.abs(expected).max()
        chol = HessianSolver(model, X, P, rho, solver="cholesky", damping=damping)
        cg = HessianSolver(model, X, P, rho, solver="cg", damping=damping)
        assert chol.delta_ == pytest.approx(delta, rel=1e-12)
        assert cg.delta_ == pytest.approx(delta, rel=1e-12)
        assert np.abs(chol.solve(G) - expected).max() <= 1e-10 * scale
        assert np.abs(cg.solve(G) - expected).max() <= 1e-8 * scale
        v = rng.normal(size=D)
        if not model.null_rows.size:
            assert_allclose_scaled(
                cg.matvec(v), (H + delta * np.eye(D)) @ v, atol=1e-12
            )
            np.testing.assert_allclose(
                chol.inverse(), np.linalg.inv(H + delta * np.eye(D)), atol=1e-8
            )
    # The damped solution differs from the exact one (the test is not vacuous),
    # and damping=0 is the exact solver, bit for bit.
    exact = HessianSolver(model, X, P, rho, solver="cholesky")
    v0 = exact.solve(G)
    assert np.abs(chol.solve(G) - v0).max() > 0.1 * np.abs(v0).max()
    zero = HessianSolver(model, X, P, rho, solver="cholesky", damping=0.0)
    np.testing.assert_array_equal(zero.solve(G), exact.solve(G))
    assert zero.delta_ == 0.0
    with pytest.raises(ValueError, match="damping"):
        HessianSolver(model, X, P, rho, damping=-1.0)
