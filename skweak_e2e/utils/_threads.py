"""Thread limits: the one place that pins BLAS (and torch) thread counts.

Small dense products (an ``(m C)``-sized Snorkel epoch, L-BFGS vectors of a
few thousand entries, a Cholesky factorisation of a few hundred rows) run
slower on a threaded BLAS than on one thread: the threads spin and stall
when other jobs hold the cores, up to 100x. The estimators that do such
products wrap them in :func:`serial_blas`.
"""

import contextlib

from threadpoolctl import ThreadpoolController

__all__ = ["serial_blas", "torch_threads"]

_CONTROLLER = None


def _controller():
    # Scanning the loaded libraries is slow (milliseconds): do it once. The
    # first call comes from a fit, after ``skweak_e2e`` imported numpy and
    # scipy (whose wheels bundle their own BLAS), so both are found.
    global _CONTROLLER
    if _CONTROLLER is None:
        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER


def serial_blas(serial=True):
    """Context running BLAS on one thread when ``serial`` (else a no-op).

    Parameters
    ----------
    serial : bool, default=True

    Returns
    -------
    context : context manager
        Restores the previous thread counts on exit.

    Examples
    --------
    >>> import numpy as np
    >>> with serial_blas():
    ...     float(np.ones((2, 2)) @ np.ones(2) @ np.ones(2))
    4.0
    """
    if not serial:
        return contextlib.nullcontext()
    return _controller().limit(limits=1, user_api="blas")


class torch_threads:
    """Context setting torch's CPU thread count (None: leave it alone).

    Mini-batches of small networks gain nothing from several threads, and
    torch's thread pool slows down by an order of magnitude when the cores
    are shared with other processes. The previous count is restored on exit.

    Parameters
    ----------
    n_threads : int or None
        Threads while the context is active.

    Examples
    --------
    >>> import torch
    >>> before = torch.get_num_threads()
    >>> with torch_threads(1):
    ...     torch.get_num_threads()
    1
    >>> torch.get_num_threads() == before
    True
    """

    def __init__(self, n_threads):
        self.n_threads = n_threads
        self.previous = None

    def __enter__(self):
        if self.n_threads is not None:
            import torch

            self.previous = torch.get_num_threads()
            if self.previous != self.n_threads:
                torch.set_num_threads(self.n_threads)
        return self

    def __exit__(self, *exc):
        if self.previous is not None and self.previous != self.n_threads:
            import torch

            torch.set_num_threads(self.previous)
        return False
