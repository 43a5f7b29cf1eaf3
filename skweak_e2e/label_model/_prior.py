"""Class-prior estimation: from a few gold labels, or from the votes alone."""

import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import column_or_1d

from ..utils._dask import is_dask_collection
from ..utils._targets import check_sample_alignment
from ..utils._warnings import user_stacklevel
from ..utils._validation import as_array, check_label_matrix
from ._dawid_skene import DawidSkene

__all__ = ["estimate_class_prior"]


def _prior_from_gold(y, n_classes):
    y = column_or_1d(np.asarray(y), warn=False)
    if y.dtype.kind not in "iuf" or (
        y.dtype.kind == "f" and not np.array_equal(y, np.round(y))
    ):
        raise ValueError(
            f"y must hold integer class indices (-1 for unknown); got dtype {y.dtype}."
        )
    y = y.astype(np.int64)
    if (y < -1).any() or (y >= n_classes).any():
        raise ValueError(
            f"y must hold class indices in [0, {n_classes - 1}] or -1 (unknown); "
            f"got values from {int(y.min())} to {int(y.max())}."
        )
    known = y[y >= 0]
    if known.size == 0:
        raise ValueError("y holds no gold label (every entry is -1).")
    counts = np.bincount(known, minlength=n_classes).astype(np.float64)
    return (counts + 1.0) / (known.size + n_classes)


def estimate_class_prior(
    L, y=None, *, n_classes=None, abstain=-1, sample_weight=None, max_iter=200, tol=1e-4
):
    """Estimate the class prior from a few gold labels or from the votes alone.

    Snorkel's label model assumes the class prior it is given (uniform by
    default); on imbalanced data a wrong prior costs accuracy. This
    estimates it

    - from gold labels, when ``y`` holds some (snorkel's ``Y_dev``): the
      class frequencies among the known labels, add-one smoothed so that a
      class absent from a small dev set keeps a positive prior;
    - otherwise from the votes, with no label at all: the prior that
      :class:`~skweak_e2e.DawidSkene` learns by EM without its anchor
      (sources conditionally independent given the class; abstains missing
      at random, except for sources that vote for one class only, whose
      votes alone say nothing about the class). A warning says when that
      fit contradicts most single votes: the estimate is then unreliable.

    ``Snorkel(class_prior="estimate")`` uses the estimate from the votes.

    Parameters
    ----------
    L : array-like of shape (n_samples, n_sources)
        Label matrix (``abstain`` for no vote). With ``y``, only its number
        of classes is used and it may be the dev split's label matrix.
    y : array-like of shape (n_samples,), default=None
        Gold class indices, ``-1`` where unknown. When None, the prior is
        estimated from the votes of ``L``.
    n_classes : int, default=None
        Number of classes; inferred from ``L`` (and ``y``) when None.
    abstain : int, default=-1
        Value of ``L`` that means "no vote".
    sample_weight : array-like of shape (n_samples,), default=None
        Row weights of the estimate from the votes (ignored with ``y``).
    max_iter : int, default=200
        Maximum number of EM iterations (votes only).
    tol : float, default=1e-4
        EM tolerance (see :class:`~skweak_e2e.DawidSkene`).

    Returns
    -------
    class_prior : ndarray of shape (n_classes,)
        Positive class probabilities that sum to 1.

    See Also
    --------
    Snorkel : ``class_prior="estimate"`` estimates it from the votes.

    Notes
    -----
    The estimate from the votes is as good as the independence assumption.
    On planted data (independent sources) it recovers the prior, and
    Snorkel with it comes close to the accuracy it reaches with the true
    prior. On real label matrices with correlated sources it can be off, and
    cost accuracy against the uniform prior (the benchmarks page has the
    measurements). Check it against a few dev labels when you have them, or
    use those labels instead.

    Examples
    --------
    >>> from skweak_e2e.datasets import make_weak_supervision
    >>> from skweak_e2e.label_model import estimate_class_prior
    >>> _, L, y = make_weak_supervision(
    ...     5000, 20, 3, class_prior=[0.5, 0.3, 0.2], n_features=0, random_state=0)
    >>> estimate_class_prior(L).round(2)  # from the votes alone
    array([0.51, 0.29, 0.2 ])
    >>> y_dev = y[:100]  # a hundred dev labels
    >>> estimate_class_prior(L[:100], y_dev).round(2)
    array([0.5 , 0.34, 0.16])
    """
    if y is None and (is_dask_collection(L) or sp.issparse(L)):
        # Fitted from map-reduced statistics, never gathered; or sparse votes.
        raw = L
    else:
        raw = as_array(L)
    if y is not None:
        y_arr = np.asarray(y)
        check_sample_alignment(raw.shape[0], y_arr.shape[0], "L", "y")
        L_checked, n_cls = check_label_matrix(
            raw,
            n_classes=n_classes,
            abstain=abstain,
            allow_soft=False,
            require_votes=False,
        )
        if n_classes is None:
            known = y_arr[y_arr >= 0] if y_arr.dtype.kind in "iuf" else y_arr
            if known.size and known.dtype.kind in "iuf":
                n_cls = max(n_cls, int(known.max()) + 1)
        return _prior_from_gold(y_arr, n_cls)
    model = DawidSkene(
        # Abstains enter only for one-class sources, whose votes alone say
        # nothing about the class ("auto"); maximum likelihood, no anchor.
        model_abstain="auto",
        anchor_strength=0.0,
        n_classes=n_classes,
        abstain=abstain,
        max_iter=max_iter,
        tol=tol,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # A few hundred EM steps place the prior well before the confusion
        # matrices have settled to 1e-4.
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(raw, sample_weight=sample_weight)
    for record in caught:
        message = str(record.message)
        if "other than the vote" in message:
            # The user asked for a prior, not for a DawidSkene: say what the
            # internal fit's trouble means for the estimate.
            warnings.warn(
                "estimate_class_prior: the votes-only fit behind the estimate "
                "contradicts most single votes, so the estimated prior is "
                "unreliable (correlated or one-class sources). Give the prior, "
                "or estimate it from a few gold labels: "
                "estimate_class_prior(L_dev, y_dev).",
                UserWarning,
                stacklevel=user_stacklevel(),
            )
        else:
            warnings.warn_explicit(
                record.message, record.category, record.filename, record.lineno
            )
    prior = np.clip(model.class_prior_, 1e-6, None)
    return prior / prior.sum()
