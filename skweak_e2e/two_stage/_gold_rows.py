"""Gold validation rows joining the end model's training set.

A few hundred gold rows can teach the end model more than choosing its
settings does: on the text suite, adding them to the weakly labelled rows
(with a weight chosen by cross-validation on the gold rows themselves)
raised the mean test accuracy over six tasks from 72.2 to 74.4 (paired
runs, two seeds), by 10 points on Yoruba, whose weak labels are 52 %
accurate; YouTube, with 120 gold rows, lost 1.4. This module holds the pieces
:class:`~skweak_e2e.LabelModelClassifierCV` uses for that: the checks of
the gold rows and their folds (the weighted training set is
:func:`~skweak_e2e.utils._rows.weighted_rows`, shared with WeaSEL).
"""

import numpy as np

from ..utils._rows import gold_folds
from ..utils._sklearn_compat import _num_samples
from ..utils._targets import check_sample_alignment, encode_votes, gold_label_vector

__all__ = [
    "AUTO_WEIGHTS",
    "check_gold_rows",
    "gold_codes",
    "gold_folds",
]

# The gold rows' total weight as a fraction of the weak rows' total weight,
# tried by "auto" (0 keeps them out). Fractions, not per-row weights, so that
# the same value means the same thing for 2,000 or 200,000 weak rows.
AUTO_WEIGHTS = (0.1, 0.3, 1.0)


def _n_columns(X):
    """Number of columns of a 2-D ``X``; None when it is not 2-D (texts...)."""
    shape = getattr(X, "shape", None)
    if shape is None:
        try:
            shape = np.shape(X)
        except ValueError:  # ragged lists: the end model judges them
            return None
    return shape[1] if len(shape) == 2 else None


def check_gold_rows(X, X_val, y_val):
    """``y_val`` as a 1-D array, after checking both against ``X``, by name.

    Without this the end model and the scorer are the first to see the gold
    rows, and their messages name ``X`` and ``y`` (a label matrix passed as
    ``y_val`` would even be scored as agreement with the label model).
    """
    y_val = gold_label_vector(y_val, input_name="y_val")
    n_columns = _n_columns(X)
    if n_columns is not None and _n_columns(X_val) != n_columns:
        found = (
            f"has {_n_columns(X_val)} columns" if _n_columns(X_val) is not None
            else f"has shape {np.shape(X_val)}"
        )
        raise ValueError(
            f"X_val {found}, but X has {n_columns} columns; X_val must have the "
            "columns of X (in a Pipeline, name X_val in transform_input so that "
            "it goes through the same steps as X)."
        )
    check_sample_alignment(_num_samples(X_val), y_val.shape[0], "X_val", "y_val")
    return y_val


def gold_codes(y_val, classes, abstain):
    """Class codes of the gold labels; an error naming ``y_val`` if none is known."""
    codes = encode_votes(y_val, classes, abstain=abstain, input_name="y_val")
    if not (codes >= 0).any():
        raise ValueError(
            "y_val holds no gold label: it is empty or every entry equals "
            f"abstain={abstain!r}."
        )
    return codes
