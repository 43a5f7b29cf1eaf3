"""Bad or unusual gold validation rows given to LabelModelClassifierCV.

Found by a trial on synthetic support tickets: the gold rows were checked
only by the end model and the scorer, whose messages named ``X`` and ``y``
(or, for a label matrix passed as ``y_val``, nothing: an IndexError).
"""

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from skweak_e2e import LabelModelClassifierCV, MajorityVote
from skweak_e2e.utils._rows import stack_rows

from .test_gold_rows import _shifted_rules


def _fit(X_val, y_val, **kwargs):
    X, L, _ = _shifted_rules(200, 0)
    kwargs.setdefault("param_grid", {"estimator__C": [1.0]})
    return LabelModelClassifierCV(MajorityVote(), random_state=0, **kwargs).fit(
        X, L, X_val=X_val, y_val=y_val
    )


@pytest.mark.parametrize("validation_weight", ["auto", 0])
@pytest.mark.parametrize(
    "case, match",
    [
        ("label matrix", r"y_val must be 1-D gold labels.*\(40, 5\)"),
        ("unknown class", r"y_val contains labels that are not classes: \[7\]"),
        ("strings for integer votes", r"y_val contains labels that are not classes: \['neg'"),
        ("every entry abstains", r"y_val holds no gold label"),
        ("non-integer", r"y_val contains the non-integer vote [01]\.5"),
        ("narrow X_val", r"X_val has 3 columns, but X has 4"),
        ("1-D X_val", r"X_val has shape \(40,\), but X has 4 columns.*transform_input"),
        ("empty", r"y_val holds no gold label"),
    ],
)
def test_bad_gold_rows_are_refused_by_name(case, match, validation_weight):
    X_val, L_val, y_val = _shifted_rules(40, 1)
    X_val, y_val = {
        "label matrix": (X_val, L_val),
        "unknown class": (X_val, np.where(np.arange(40) == 0, 7, y_val)),
        "strings for integer votes": (X_val, np.array(["neg", "pos"])[y_val]),
        "every entry abstains": (X_val, np.full(40, -1)),
        "non-integer": (X_val, y_val + 0.5),
        "narrow X_val": (X_val[:, :3], y_val),
        "1-D X_val": (X_val[:, 0], y_val),
        "empty": (X_val[:0], y_val[:0]),
    }[case]
    with pytest.raises(ValueError, match=match):
        _fit(X_val, y_val, validation_weight=validation_weight)


def test_a_column_vector_of_gold_labels_is_accepted():
    X_val, _, y_val = _shifted_rules(40, 1)
    flat = _fit(X_val, y_val, validation_weight=0.3)
    column = _fit(X_val, y_val[:, None], validation_weight=0.3)
    np.testing.assert_array_equal(flat.estimator_.coef_, column.estimator_.coef_)


def test_a_dataframe_X_takes_array_gold_rows():
    X, L, _ = _shifted_rules(200, 0)
    X_val, _, y_val = _shifted_rules(40, 1)
    frame = pd.DataFrame(X, columns=list("abcd"))
    with warnings.catch_warnings():
        # Scoring arrays on a model fitted with feature names: scikit-learn's
        # own warning, expected here.
        warnings.filterwarnings("ignore", "X does not have valid feature names")
        from_frame = LabelModelClassifierCV(
            MajorityVote(), param_grid={"estimator__C": [1.0]},
            validation_weight=0.3, random_state=0,
        ).fit(frame, L, X_val=X_val, y_val=y_val)
    from_array = LabelModelClassifierCV(
        MajorityVote(), param_grid={"estimator__C": [1.0]},
        validation_weight=0.3, random_state=0,
    ).fit(X, L, X_val=X_val, y_val=y_val)
    np.testing.assert_allclose(from_frame.estimator_.coef_, from_array.estimator_.coef_)


@pytest.mark.parametrize(
    "top, bottom",
    [
        (pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]}), np.array([[5.0, 6.0]])),
        (pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]}), sp.csr_matrix([[5.0, 6.0]])),
        (np.array([[1.0, 3.0], [2.0, 4.0]]), sp.csr_matrix([[5.0, 6.0]])),
    ],
    ids=["frame+array", "frame+sparse", "array+sparse"],
)
def test_stack_rows_takes_gold_rows_of_another_container(top, bottom):
    stacked = stack_rows(top, bottom)
    assert type(stacked) is type(top)
    np.testing.assert_array_equal(
        np.asarray(stacked), [[1.0, 3.0], [2.0, 4.0], [5.0, 6.0]]
    )
    if hasattr(top, "columns"):
        assert list(stacked.columns) == ["a", "b"]


class _Unconverged(LogisticRegression):
    """Warns at every fit except with C=1 (the setting the search keeps)."""

    def fit(self, X, y, sample_weight=None):
        if self.C != 1.0:
            warnings.warn("not converged", ConvergenceWarning)
        return super().fit(X, y, sample_weight=sample_weight)


def test_the_weight_search_shows_only_the_final_fits_warnings():
    X, L, _ = _shifted_rules(300, 0)
    X_val, _, y_val = _shifted_rules(60, 1)
    # Gold rows that agree with the weak labels' boundary, so that every
    # candidate scores alike and the first one (C=1) wins the ties.
    y_val = (X_val[:, 0] > 1.0).astype(int)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clf = LabelModelClassifierCV(
            MajorityVote(), _Unconverged(), param_grid={"estimator__C": [1.0, 1e-3]},
            random_state=0,
        ).fit(X, L, X_val=X_val, y_val=y_val)
    assert clf.best_params_["estimator__C"] == 1.0
    assert clf.validation_weight_ > 0
    assert not [w for w in caught if issubclass(w.category, ConvergenceWarning)]
