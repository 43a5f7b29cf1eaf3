"""``L`` through SourceAwareInfluence.fit goes down the layers, and back up
only into the label model's own methods.

Followed call by call (``tests/_call_path.py`` says what a climb is), ``L``
climbs back up at most twice: the snorkel-argument hints of ``utils``
around the label model's ``fit`` and ``predict_proba``. The fit is entered
directly (its atomic state is a context manager, not a wrapper from
``utils``), and a torch end model's forward passes loop over
``utils._torch.row_slices`` instead of handing a callback to ``utils``.

The dask path is not followed: there ``utils._dask.map_sum`` combines the
label model's block statistics by design.
"""

import pytest
from sklearn.linear_model import LogisticRegression

from skweak_e2e import DawidSkene, MajorityVote, SourceAwareInfluence

from .._call_path import climbs_during
from ._influence_common import _data


def _assert_at_most_two_climbs_into_the_label_model(climbs):
    assert len(climbs) <= 2, climbs
    assert all(callee.startswith("skweak_e2e.label_model") for _, callee in climbs)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_L_climbs_back_at_most_twice():
    Xtr, Ltr, _, Xv, yv = _data(n_train=120, n_val=60)
    # A label model fitted here, and l2="auto" chosen on held-out rows: the
    # longest in-memory path.
    sai = SourceAwareInfluence((DawidSkene(max_iter=3), LogisticRegression()))
    climbs = climbs_during(lambda: sai.fit(Xtr, Ltr, X_val=Xv, y_val=yv))
    _assert_at_most_two_climbs_into_the_label_model(climbs)
    assert climbs, "the label model's hints are seen"


def test_L_climbs_back_at_most_twice_with_a_torch_end_model():
    torch = pytest.importorskip("torch")
    Xtr, Ltr, _, _, _ = _data(n_train=120, n_val=10)
    body = torch.nn.Sequential(torch.nn.Identity(), torch.nn.Linear(5, 3)).double()
    sai = SourceAwareInfluence((MajorityVote(), body), l2=1e-2)
    climbs = climbs_during(lambda: sai.fit(Xtr, Ltr))
    _assert_at_most_two_climbs_into_the_label_model(climbs)
