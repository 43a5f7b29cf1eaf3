import os

import numpy as np
import pytest
from hypothesis import settings

# CI draws the same hypothesis examples on every run (a red CI must be
# reproducible); local runs keep exploring new ones.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


def _has_cuda():
    try:
        import torch
    except ImportError:  # pragma: no cover
        return False
    return torch.cuda.is_available()


def pytest_collection_modifyitems(config, items):
    if _has_cuda():
        return
    skip_gpu = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip_gpu)


@pytest.fixture
def rng():
    return np.random.RandomState(0)


@pytest.fixture(scope="session")
def dask_client():
    """A 2-worker LocalCluster of processes, shared by the dask tests.

    Processes (not threads): every task's arguments and results are pickled
    on their way to and from the workers, as on a real cluster. Skipped when
    the ``dask`` extra is not installed.
    """
    pytest.importorskip("dask.array")
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        # Any free port: several clusters (or test runs) may share the host.
        dashboard_address=":0",
        worker_dashboard_address=":0",
    )
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()
