"""The benchmarks of skweak_e2e: scripts run as modules from the repository root.

Every script is run as ``python -m benchmarks.<name>`` from the repository
root (the scripts that need snorkel or crowd-kit in the peers' venv as
``PYTHONPATH=$PWD <peers venv>/bin/python -m benchmarks.<name>``), so that
they import this checkout's ``skweak_e2e`` and each other's shared helpers
as a package, without editing ``sys.path``. See ``README.rst`` here.

Shared helpers (private modules):

* ``_common``: data paths, the reStructuredText table, peak memory,
  subprocess commands, command-line overrides;
* ``_peers``: uniform adapters around skweak_e2e's label models and the peer
  libraries (snorkel, crowd-kit);
* ``_text_tasks``: the text tasks (real texts, hand-written labeling
  functions) of the text suites;
* ``_weasel_common``: data, methods and reports of the WeaSEL benchmarks;
* ``_dask_fit``: label-model fits on a dask cluster.

Importing the package sets ``OMP_NUM_THREADS``, ``MKL_NUM_THREADS``,
``OPENBLAS_NUM_THREADS``, ``NUMEXPR_NUM_THREADS`` and
``VECLIB_MAXIMUM_THREADS`` to 1 where they are not set: the package is
imported before numpy by every script, and the measurements are made with
one BLAS thread (the networks and label models are small, and a thread pool
on shared cores slows them down).
"""

import os

for _var in (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
):
    os.environ.setdefault(_var, "1")
del _var
