"""No public estimator gathers a dask input silently.

Every public estimator, given dask arrays, either works block by block or
refuses with a TypeError that names dask and the way out. "Gathering" is
caught where it happens: turning the whole dask array into a numpy array
(``numpy.asarray``, ``check_array``...), which this test forbids.
"""

from unittest import mock

import numpy as np
import pytest

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


def _forbid_gathering():
    def gathered(self, *args, **kwargs):
        raise AssertionError(f"a dask array of shape {self.shape} was gathered whole")

    return mock.patch.object(da.Array, "__array__", gathered)


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
    if outcome == "ok":
        for method in ("predict_proba", "predict", "transform"):
            _run(lambda: getattr(model, method)(LD))
    # Fitted in memory, a model still refuses or maps blocks for dask rows.
    fitted = Model().fit(L)
    for method in ("predict_proba", "predict", "transform"):
        _run(lambda: getattr(fitted, method)(LD))


@pytest.mark.parametrize(
    "make", [lambda: LabelModelClassifier(), lambda: LabelModelClassifierCV()],
    ids=["LabelModelClassifier", "LabelModelClassifierCV"],
)
def test_two_stage_classifiers(make):
    assert _run(lambda: make().fit(XD, LD)) == "refused"
    fitted = make().fit(X, L)
    for method in ("predict", "predict_proba", "decision_function"):
        _run(lambda: getattr(fitted, method)(XD))
    _run(lambda: fitted.score(XD, da.from_array(Y, chunks=100)))


def test_weasel():
    model = WeaSELClassifier(max_epochs=2, random_state=0)
    assert _run(lambda: model.fit(XD, LD)) == "ok"
    for method in ("predict", "predict_proba"):
        _run(lambda: getattr(model, method)(XD))
    _run(lambda: model.predict_proba_encoder(XD, LD))
    _run(lambda: model.score(XD, da.from_array(Y, chunks=100)))


def test_source_aware_influence():
    inspector = SourceAwareInfluence(MajorityVote())
    assert _run(lambda: inspector.fit(XD, LD)) == "ok"
    _run(lambda: inspector.influence(X[:50], Y[:50]))
