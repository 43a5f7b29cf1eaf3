"""``y`` through LabelModelClassifier.fit goes down the layers, and back up
only into the label model's own methods.

A *climb* is a call from a module of a lower layer into a module of a
higher one (see ``tests/test_layers.py``): a decorator or callback in
``utils`` that calls back into the estimator's layer. Imports cannot make
one; wrappers can. Followed call by call, ``y`` climbs at most twice (the
snorkel-argument hints around the label model's ``fit`` and
``predict_proba``); the classifier's own fit is entered directly and its
atomic state is a context manager, not a wrapper from ``utils``.
"""

import functools
import pathlib
import sys

import pytest

import skweak_e2e
from skweak_e2e import DawidSkene, LabelModelClassifier
from skweak_e2e.datasets import make_weak_supervision

from ..test_layers import _layer

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
    """``(caller, callee)`` functions of every climb while ``call()`` runs."""
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
    return found


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_y_climbs_back_at_most_twice():
    X, L, _ = make_weak_supervision(100, 5, random_state=0)
    clf = LabelModelClassifier(DawidSkene(max_iter=2, tol=0.0))
    # clone() builds the label model through its __init__, without y.
    climbs = [
        pair
        for pair in climbs_during(lambda: clf.fit(X, L))
        if not pair[1].endswith("__init__")
    ]
    assert len(climbs) <= 2, climbs
    assert all(callee.startswith("skweak_e2e.label_model") for _, callee in climbs)


def test_the_climb_counter_sees_a_wrapper():
    # The check above must be able to fail: atomic_fit (utils) calling the
    # method it wraps is a climb.
    from skweak_e2e.utils._atomic import atomic_fit

    class Model:
        @atomic_fit
        def fit(self):
            return self

    Model.__module__ = "skweak_e2e.two_stage._fake"
    Model.fit.__wrapped__.__code__ = Model.fit.__wrapped__.__code__.replace(
        co_filename=str(PACKAGE / "two_stage" / "_fake.py")
    )
    climbs = climbs_during(lambda: Model().fit())
    assert climbs == [("skweak_e2e.utils._atomic.wrapped", "skweak_e2e.two_stage._fake.fit")]
