"""Fixtures of the inspection tests."""

import pytest

from skweak_e2e import SourceAwareInfluence

from ._influence_common import LAM, _data


@pytest.fixture(scope="module")
def tiny():
    Xtr, Ltr, ytr, Xv, yv = _data()
    sai = SourceAwareInfluence(l2=LAM, tol=1e-12, damping=0.0).fit(Xtr, Ltr)
    return Xtr, Ltr, ytr, Xv, yv, sai
