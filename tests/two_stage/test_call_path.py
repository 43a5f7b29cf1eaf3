"""``y`` through LabelModelClassifier.fit goes down the layers, and back up
only into the label model's own methods.

Followed call by call (``tests/_call_path.py`` says what a climb is), ``y``
climbs at most twice (the snorkel-argument hints around the label model's
``fit`` and ``predict_proba``); the classifier's own fit is entered
directly and its atomic state is a context manager, not a wrapper from
``utils``.
"""

import pytest

from skweak_e2e import DawidSkene, LabelModelClassifier
from skweak_e2e.datasets import make_weak_supervision

from .._call_path import PACKAGE, climbs_during


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_y_climbs_back_at_most_twice():
    X, L, _ = make_weak_supervision(100, 5, random_state=0)
    clf = LabelModelClassifier(DawidSkene(max_iter=2, tol=0.0))
    climbs = climbs_during(lambda: clf.fit(X, L))
    assert len(climbs) <= 2, climbs
    assert all(callee.startswith("skweak_e2e.label_model") for _, callee in climbs)


def test_the_climb_counter_sees_a_wrapper():
    # The checks of the call paths must be able to fail: atomic_fit (utils)
    # calling the method it wraps is a climb.
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
