"""No test depends on the last bits of floating point.

A source scan keeps it so: absolute tolerances below 1e-9 must be relative
to the scale of the compared values (``assert_allclose_scaled``), and no
tolerance may go below ``MIN_TOL``.
"""

import ast
from pathlib import Path

import numpy as np
import pytest

from .._tolerance import MIN_TOL, assert_allclose_scaled, scale_of

TESTS = Path(__file__).resolve().parent
PLAIN = {
    "np.testing.assert_allclose",
    "numpy.testing.assert_allclose",
    "torch.testing.assert_close",
}


def _tolerance_keywords():
    for path in sorted(TESTS.glob("*.py")):
        if path.name == Path(__file__).name:  # shows bad tolerances on purpose
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = ast.unparse(node.func)
            for kw in node.keywords:
                if kw.arg in ("atol", "rtol", "abs", "rel") and isinstance(
                    kw.value, ast.Constant
                ):
                    value = kw.value.value
                    if isinstance(value, (int, float)) and not isinstance(value, bool):
                        yield f"{path.name}:{node.lineno}", name, kw.arg, value


def test_no_absolute_tolerance_ignores_the_scale():
    offenders = [
        (where, name, key, value)
        for where, name, key, value in _tolerance_keywords()
        if name in PLAIN and key == "atol" and 0 < value < 1e-9
    ]
    assert not offenders, (
        "use assert_allclose_scaled for absolute tolerances below 1e-9: "
        f"{offenders}"
    )


def test_no_tolerance_below_the_floor():
    offenders = [
        (where, key, value)
        for where, _, key, value in _tolerance_keywords()
        if 0 < value < MIN_TOL
    ]
    assert not offenders, offenders


def test_scaled_tolerance_follows_the_values():
    big = np.array([10.0, -3.0, 7.5])
    # 1.4e-14 off on values of size 10 (the failure of issue 11): within
    # 1e-12 of the scale, though above an absolute 1e-14.
    assert_allclose_scaled(big + 1.4e-14, big, rtol=0, atol=1e-12)
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(big + 1.4e-14, big, rtol=0, atol=1e-14)
    # ... but 1e-9 off is still caught.
    with pytest.raises(AssertionError):
        assert_allclose_scaled(big + 1e-9, big, rtol=0, atol=1e-12)
    # On tiny values the absolute tolerance shrinks with them.
    tiny = big * 1e-20
    with pytest.raises(AssertionError):
        assert_allclose_scaled(tiny + 1e-25, tiny, rtol=0, atol=1e-9)
    assert scale_of(np.zeros(3)) == 1.0
    assert scale_of([1.0, np.inf, -4.0]) == 4.0


def test_scaled_helper_refuses_last_bit_tolerances():
    with pytest.raises(ValueError, match="below MIN_TOL"):
        assert_allclose_scaled(1.0, 1.0, atol=1e-15)
    with pytest.raises(ValueError, match="exact float comparison"):
        assert_allclose_scaled(1.0, 1.0, rtol=0, atol=0)
