"""Warnings that point at the user's line, not at the library's internals."""

import sys

__all__ = ["user_stacklevel"]

# Frames of these packages are skipped: the library itself, and the
# scikit-learn wrappers its estimators run under (``_fit_context``).
_INTERNAL = ("skweak_e2e", "sklearn")


def user_stacklevel():
    """``stacklevel`` for :func:`warnings.warn` that names the caller's code.

    Counts the frames from the caller of this function up to the first one
    outside skweak_e2e and scikit-learn, so that a warning raised deep in a
    fit (through template methods, decorators and dask helpers) shows the
    line of the user's script that called ``fit``.

    Returns
    -------
    stacklevel : int

    Examples
    --------
    >>> user_stacklevel() >= 1
    True
    """
    frame = sys._getframe(1)  # the function that warns: stacklevel 1
    level = 1
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if not module.split(".")[0] in _INTERNAL:
            return level
        frame = frame.f_back
        level += 1
    return level
