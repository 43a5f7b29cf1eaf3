"""Input validation of WeaSELClassifier (torch-free).

Turns the user's ``X``, label matrix and validation data into the arrays the
training loop takes: features as float arrays (scipy.sparse CSR kept
sparse), votes as class codes with ``-1`` for abstain (hard votes) or
probabilities (soft votes), through the library's shared vote encoder, so
that every estimator infers the same classes and gives the same messages.
Each function takes the estimator, whose parameters (``classes``,
``abstain``, ``dtype``, ...) and fitted attributes it reads, like
scikit-learn's ``validate_data``.
"""

import numpy as np
from sklearn.utils.validation import check_array, validate_data

from ..utils._targets import (
    check_sample_alignment,
    check_vote_target,
    encode_votes,
    gold_label_vector,
    infer_classes,
)
from ..utils._validation import check_fits_in_dtype, check_label_matrix, fill_masked


__all__ = [
    "FLOAT_DTYPES",
    "is_soft",
    "set_soft_classes",
    "validate_features",
    "validate_inference_votes",
    "validate_training_data",
    "validate_validation_data",
]

FLOAT_DTYPES = (np.float64, np.float32)


def is_soft(y):
    """Whether ``y`` is a soft label matrix ``(n_samples, n_sources, n_classes)``."""
    ndim = getattr(y, "ndim", None)
    if ndim is None:
        try:
            ndim = np.asarray(y).ndim
        except (TypeError, ValueError):  # ragged lists: sklearn complains later
            return False
    return ndim == 3


def validate_features(estimator, X, *, reset=False, input_name="X"):
    """Float features (sparse CSR kept) that fit in the networks' dtype."""
    if not reset and input_name != "X":
        # scikit-learn's width check says "X has ... features": name the input.
        # validate_data below still gets the original, whose feature names
        # (a DataFrame's columns) it checks against those of X.
        checked = check_array(
            X, accept_sparse="csr", dtype=FLOAT_DTYPES, input_name=input_name
        )
        expected = getattr(estimator, "n_features_in_", None)
        if expected is not None and checked.shape[1] != expected:
            raise ValueError(
                f"{input_name} has {checked.shape[1]} features, but "
                f"{type(estimator).__name__} is fitted on X with {expected}; "
                f"{input_name} must have the columns of X."
            )
    X = validate_data(
        estimator, X, reset=reset, accept_sparse="csr", dtype=FLOAT_DTYPES
    )
    check_fits_in_dtype(X, estimator.dtype, input_name)
    return X


def _encode(estimator, y, input_name):
    return encode_votes(
        y, estimator.classes_, abstain=estimator.abstain, input_name=input_name
    )


def validate_training_data(estimator, X, y):
    """Validate ``X`` and the label matrix ``y``; set ``classes_``.

    ``y`` enters through the classifiers' one front door
    (``utils._targets.check_vote_target``), as in
    :class:`LabelModelClassifier`. Returns the features and ``L``: class
    codes (``-1`` = abstain) of shape ``(n_samples, n_sources)``, or soft
    votes ``(n_samples, n_sources, n_classes)``.
    """
    Y = check_vote_target(
        y, abstain=estimator.abstain, owner=type(estimator).__name__
    )
    X = validate_features(estimator, X, reset=True)
    check_sample_alignment(X.shape[0], Y.shape[0], "X", "y")
    if Y.ndim == 3:
        n_classes = None if estimator.classes is None else len(estimator.classes)
        L, n_classes = check_label_matrix(
            Y, n_classes=n_classes, allow_soft=True, input_name="y"
        )
        set_soft_classes(estimator, n_classes)
        return X, L
    estimator.classes_ = infer_classes(
        Y, classes=estimator.classes, abstain=estimator.abstain, declare="classes="
    )
    L, _ = check_label_matrix(
        _encode(estimator, Y, "y"),
        n_classes=estimator.classes_.size,
        allow_soft=False,
    )
    return X, L


def set_soft_classes(estimator, n_classes):
    """``classes_`` of soft votes: ``classes`` (the last axis) or ``0..n_classes-1``."""
    if estimator.classes is None:
        estimator.classes_ = np.arange(n_classes)
        return
    classes = np.asarray(estimator.classes)
    if classes.ndim != 1 or not np.array_equal(np.unique(classes), classes):
        raise ValueError(
            "With soft votes, classes names the columns of the last "
            "axis of y and must be sorted and distinct; got "
            f"{classes.tolist()}."
        )
    if classes.size != n_classes:
        raise ValueError(
            f"y has {n_classes} classes (its last axis) but classes names "
            f"{classes.size}: {classes.tolist()}."
        )
    estimator.classes_ = classes


def validate_inference_votes(estimator, X, L):
    """Validate a label matrix given at inference time against the fit."""
    n_samples = X.shape[0]
    L = fill_masked(L, estimator.abstain, "L")
    if is_soft(L):
        L, _ = check_label_matrix(
            L, n_classes=estimator.n_classes_, allow_soft=True, require_votes=False
        )
    else:
        if hasattr(L, "to_numpy") and not isinstance(L, np.ndarray):
            L = L.to_numpy()
        L = check_array(
            L, ensure_2d=False, dtype=None, ensure_all_finite=True, input_name="L"
        )
        if L.ndim == 1:
            L = L.reshape(-1, 1)
        if L.ndim != 2:
            raise ValueError(
                f"L must be (n_samples, n_sources) or (n_samples, n_sources, "
                f"n_classes); got shape {L.shape}."
            )
        L, _ = check_label_matrix(
            _encode(estimator, L, "L"),
            n_classes=estimator.n_classes_,
            allow_soft=False,
            require_votes=False,
        )
    check_sample_alignment(n_samples, L.shape[0], "X", "L")
    if L.shape[1] != estimator.n_sources_:
        raise ValueError(
            f"L has {L.shape[1]} sources (columns) but {type(estimator).__name__} "
            f"was fitted with {estimator.n_sources_}."
        )
    if estimator.lf_encoding == "raw" and L.ndim == 3:
        raise ValueError('lf_encoding="raw" needs hard votes, not soft ones.')
    return L


def validate_validation_data(estimator, X_val, y_val):
    """Validation features and the class codes of their gold labels.

    Rows whose label is ``abstain`` are dropped. Returns ``(None, None)``
    without validation data.
    """
    if (X_val is None) != (y_val is None):
        raise ValueError("X_val and y_val must be given together.")
    if X_val is None:
        return None, None
    X_val = validate_features(estimator, X_val, input_name="X_val")
    y_val = gold_label_vector(y_val, input_name="y_val")
    check_sample_alignment(X_val.shape[0], y_val.shape[0], "X_val", "y_val")
    codes = _encode(estimator, y_val, "y_val")
    known = codes >= 0
    if not known.any():
        raise ValueError("y_val holds no gold label (every entry is abstain).")
    return X_val[known], codes[known]
