"""Planted data where every labeling function gets the class boundary wrong.

The gold rows' tests (both classifiers) need a case that only gold labels
can fix: the rules all put the boundary of ``x0 > 0`` at ``x0 > shift``, so
weak labels alone teach the wrong threshold (about 0.66 accuracy for
``shift=1``).
"""

import numpy as np


def shifted_rules(n, seed, shift=1.0, dtype=np.float64):
    """``X`` (n, 4), ``L`` (n, 5) with 30 % abstains, gold ``y``."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4)).astype(dtype)
    y = (X[:, 0] > 0).astype(int)
    believed = (X[:, 0] > shift).astype(int)
    L = np.where(rng.random((n, 5)) < 0.9, believed[:, None], 1 - believed[:, None])
    L[rng.random((n, 5)) < 0.3] = -1
    return X, L, y
