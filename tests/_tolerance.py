"""Float comparisons whose tolerances follow the scale of what is compared.

No test may depend on the last bits of floating point: an absolute
tolerance of ``1e-14`` means nothing for values of size 10 (it is below
their rounding unit) and too much for values of size ``1e-20``. Here the
absolute tolerance is *relative to the scale* of the compared arrays (their
largest magnitude), so it bounds the error in units of the values at hand.
"""

import numpy as np

# Smallest tolerance a test may ask for: about 4500 rounding units of
# float64, above the reordering noise of BLAS and of summation order.
MIN_TOL = 1e-12


def _to_numpy(a):
    if hasattr(a, "detach"):  # torch tensors
        a = a.detach().cpu().numpy()
    return np.asarray(a, dtype=np.float64)


def scale_of(*arrays):
    """Largest finite magnitude of the arrays (1.0 when they are all zero)."""
    top = 0.0
    for a in arrays:
        a = _to_numpy(a)
        finite = a[np.isfinite(a)]
        if finite.size:
            top = max(top, float(np.abs(finite).max()))
    return top if top > 0 else 1.0


def assert_allclose_scaled(actual, desired, rtol=1e-7, atol=0.0, err_msg=""):
    """``np.testing.assert_allclose`` with ``atol`` in units of the scale.

    The absolute tolerance used is ``atol * scale_of(actual, desired)``.
    A positive tolerance below :data:`MIN_TOL` is refused: it would test
    the last bits of floating point.
    """
    for name, tol in (("rtol", rtol), ("atol", atol)):
        if 0 < tol < MIN_TOL:
            raise ValueError(f"{name}={tol:g} is below MIN_TOL={MIN_TOL:g}.")
    if rtol == 0 and atol == 0:
        raise ValueError("rtol and atol are both 0: an exact float comparison.")
    actual, desired = _to_numpy(actual), _to_numpy(desired)
    np.testing.assert_allclose(
        actual,
        desired,
        rtol=rtol,
        atol=atol * scale_of(actual, desired),
        err_msg=err_msg,
    )
