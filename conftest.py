"""Root conftest: stable numpy printing for the doctests."""

import numpy as np


def pytest_configure(config):
    np.set_printoptions(legacy="1.25")
