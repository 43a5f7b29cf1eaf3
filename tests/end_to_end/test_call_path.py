"""``X`` through WeaSELClassifier.fit goes down the layers and stays there.

Followed call by call (``tests/_call_path.py`` says what a climb is), ``X``
climbs back up at most twice. The fit is entered directly (its atomic state
is a context manager, not a wrapper from ``utils``), and the passes over
whole data sets (the per-epoch validation scores, the predictions) loop
over ``utils._torch.row_slices`` themselves instead of handing a callback
to ``utils``. In memory no call climbs at all.

The dask path is not followed: there ``utils._dask.map_sum`` runs this
layer's function on every row block by design (a callback per block, on
the workers).
"""

import numpy as np
import pytest
from sklearn.base import clone

from skweak_e2e import WeaSELClassifier

torch = pytest.importorskip("torch")
pytest.importorskip("skorch")

from .._call_path import climbs_during  # noqa: E402
from ._weasel_common import FAST, _data, _quiet_fit  # noqa: E402


@pytest.mark.parametrize("votes", ["hard", "soft"])
def test_X_climbs_back_at_most_twice(votes):
    X, L, y = _data(n=120, m=4, n_features=4)
    if votes == "soft":
        L = np.eye(2)[np.clip(L, 0, 1)] * (L >= 0)[..., None]
    X_train, L_train, X_val, y_val = X[:90], L[:90], X[90:], y[90:]
    # With validation data every epoch scores X_val in row chunks.
    clf = WeaSELClassifier(**dict(FAST, max_epochs=2))
    # Once unprofiled: torch's and skorch's first-use imports are slow under
    # the profiler and are none of the path's business.
    _quiet_fit(clone(clf), X_train, L_train, X_val=X_val, y_val=y_val)
    climbs = climbs_during(
        lambda: _quiet_fit(clf, X_train, L_train, X_val=X_val, y_val=y_val)
    )
    assert len(climbs) <= 2, climbs
    assert climbs == [], climbs  # what the fit does today: none at all
