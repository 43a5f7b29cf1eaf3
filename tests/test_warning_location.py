"""Warnings of a fit point at the user's line, not at the library's internals."""

import warnings

import numpy as np
import pytest

from skweak_e2e import DawidSkene, LinearizedApprox, MajorityVote, Snorkel


@pytest.mark.parametrize(
    "model",
    [Snorkel(n_epochs=5), DawidSkene(max_iter=2), MajorityVote(),
     LinearizedApprox(MajorityVote(), max_iter=1)],
    ids=repr,
)
def test_fit_warnings_name_the_calling_file(model):
    # Source 2 never votes (a UserWarning); few epochs or iterations leave
    # the iterative models unconverged (a ConvergenceWarning).
    L = np.array([[0, 1, -1, 0], [1, 1, -1, 0], [0, 0, -1, 1], [1, 0, -1, 1]] * 5)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(L)
    assert caught
    assert {w.filename for w in caught} == {__file__}
