"""Following an argument call by call: the climbs back up the layers.

A *climb* is a call from a module of a lower layer into a module of a
higher one (the layers of ``tests/test_layers.py``): a decorator or
callback in ``utils`` that calls back into the estimator's layer, a label
model that calls a function it was handed. Imports cannot make one (the
import check forbids it); wrappers and callbacks can. Calls from outside
the package (numpy, scikit-learn, torch, skorch) count from the nearest
package frame below them, so a callback that skorch makes into
``end_to_end`` on behalf of ``end_to_end`` is no climb.
"""

import functools
import pathlib
import sys

import skweak_e2e

from .test_layers import _layer

PACKAGE = pathlib.Path(skweak_e2e.__file__).resolve().parent


@functools.lru_cache(maxsize=None)
def _module(filename):
    path = pathlib.Path(filename).resolve()
    try:
        inner = path.relative_to(PACKAGE).with_suffix("").parts
    except ValueError:
        return None  # outside the package: numpy, scikit-learn, the tests
    parts = [PACKAGE.name, *inner]
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def climbs_during(call):
    """``(caller, callee)`` functions of every climb while ``call()`` runs.

    Constructors (``__init__``) are left out: ``clone`` builds estimators
    from their parameters, without the data being followed.
    """
    found = []

    def package_frame(frame):
        while frame is not None and _module(frame.f_code.co_filename) is None:
            frame = frame.f_back
        return frame

    def profile(frame, event, arg):
        if event != "call":
            return
        callee = _module(frame.f_code.co_filename)
        caller_frame = package_frame(frame.f_back)
        if callee is None or caller_frame is None:
            return
        caller = _module(caller_frame.f_code.co_filename)
        if _layer(callee)[0] > _layer(caller)[0]:
            found.append(
                (
                    f"{caller}.{caller_frame.f_code.co_name}",
                    f"{callee}.{frame.f_code.co_name}",
                )
            )

    sys.setprofile(profile)
    try:
        call()
    finally:
        sys.setprofile(None)
    return [pair for pair in found if not pair[1].endswith("__init__")]
