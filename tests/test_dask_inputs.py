"""No public estimator gathers a dask input silently.

Every public estimator, given dask arrays, either works block by block or
refuses with a TypeError that names dask and the way out. "Gathering" is
caught where it happens: turning the whole dask array into a numpy array
(``numpy.asarray``, ``check_array``...) or computing it whole
(``.compute()``, ``dask.compute``), which this test forbids.
"""

import contextlib
from unittest import mock

import numpy as np
import pytest

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")
pytest.importorskip("torch")

from skweak_e2e import (  # noqa: E402
    DawidSkene,
    LabelModelClassifier,
    LabelModelClassifierCV,
    LinearizedApprox,
    MajorityVote,
    Snorkel,
    SourceAwareInfluence,
    WeaSELClassifier,
)
from skweak_e2e.datasets import make_weak_supervision  # noqa: E402

X, L, Y = make_weak_supervision(400, 4, 2, coverage=0.7, random_state=0)
X = X.astype(np.float32)
XD = da.from_array(X, chunks=(100, -1))
LD = da.from_array(L, chunks=(100, -1))


N_ROWS = X.shape[0]


def _forbid_gathering():
    """Fail on turning a whole dask array into numpy: ``np.asarray``, its
    ``.compute()`` or ``dask.compute`` of it (small reductions are fine)."""
    def gathered(self, *args, **kwargs):
        raise AssertionError(f"a dask array of shape {self.shape} was gathered whole")

    def whole(array):
        return isinstance(array, da.Array) and array.ndim and array.shape[0] == N_ROWS

    def array_compute(self, **kwargs):
        if whole(self):
            gathered(self)
        return dask.compute(self, **kwargs)[0]

    real_compute = dask.compute

    def compute(*args, **kwargs):
        for arg in args:
            if whole(arg):
                gathered(arg)
        return real_compute(*args, **kwargs)

    stack = contextlib.ExitStack()
    stack.enter_context(mock.patch.object(da.Array, "__array__", gathered))
    stack.enter_context(mock.patch.object(da.Array, "compute", array_compute))
    stack.enter_context(mock.patch.object(dask, "compute", compute))
    return stack


def _run(call):
    """The call's outcome: ``"ok"`` or ``"refused"``; fails on a silent gather."""
    with _forbid_gathering():
        try:
            call()
        except TypeError as exc:
            message = str(exc)
            # A refusal names dask and the way out (compute, or a sample).
            assert "dask" in message and "compute" in message, message
            return "refused"
    return "ok"


LABEL_MODELS = {
    "MajorityVote": MajorityVote,
    "DawidSkene": DawidSkene,
    "Snorkel": lambda: Snorkel(random_state=0),
    "LinearizedApprox": lambda: LinearizedApprox(MajorityVote()),
}


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("Model", LABEL_MODELS.values(), ids=LABEL_MODELS.keys())
def test_label_models(Model):
    model = Model()
    outcome = _run(lambda: model.fit(LD))
    # LinearizedApprox fits in memory: it refuses the dask fit, by name.
    assert outcome == ("refused" if Model is LABEL_MODELS["LinearizedApprox"] else "ok")
    if outcome == "ok":
        for method in ("predict_proba", "predict", "transform"):
            assert _run(lambda: getattr(model, method)(LD)) == "ok", method
    # Fitted in memory, a model maps its blocks for dask rows.
    fitted = Model().fit(L)
    for method in ("predict_proba", "predict", "transform"):
        assert _run(lambda: getattr(fitted, method)(LD)) == "ok", method


@pytest.mark.parametrize(
    "make", [lambda: LabelModelClassifier(), lambda: LabelModelClassifierCV()],
    ids=["LabelModelClassifier", "LabelModelClassifierCV"],
)
def test_two_stage_classifiers(make):
    assert _run(lambda: make().fit(XD, LD)) == "refused"
    fitted = make().fit(X, L)
    # The end model is the user's: its methods would gather, so they refuse.
    for method in ("predict", "predict_proba", "decision_function"):
        assert _run(lambda: getattr(fitted, method)(XD)) == "refused", method
    assert _run(lambda: fitted.score(XD, da.from_array(Y, chunks=100))) == "refused"


def test_weasel():
    model = WeaSELClassifier(max_epochs=2, random_state=0)
    assert _run(lambda: model.fit(XD, LD)) == "ok"
    for method in ("predict", "predict_proba"):
        assert _run(lambda: getattr(model, method)(XD)) == "ok", method
    assert _run(lambda: model.predict_proba_encoder(XD, LD)) == "ok"
    assert _run(lambda: model.score(XD, da.from_array(Y, chunks=100))) == "ok"


def test_source_aware_influence():
    inspector = SourceAwareInfluence(MajorityVote())
    assert _run(lambda: inspector.fit(XD, LD)) == "ok"
    assert _run(lambda: inspector.influence(X[:50], Y[:50])) == "ok"
