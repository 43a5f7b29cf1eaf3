"""Root conftest: stable numpy printing for the doctests."""

import numpy as np


def pytest_configure(config):
    # numpy 2 prints scalars as np.float64(...); its legacy mode prints them
    # as numpy 1 does (and numpy 1 knows no "1.25" mode: it already is).
    if np.lib.NumpyVersion(np.__version__) >= "2.0.0":
        np.set_printoptions(legacy="1.25")
