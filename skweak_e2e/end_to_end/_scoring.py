"""Validation metrics of WeaSEL's downstream model (torch-free).

The training loop scores the downstream model on gold validation rows after
every epoch; :func:`validation_scorer` turns the ``scoring`` parameter into
a function of encoded labels and probabilities (higher is better).
:func:`best_f1_threshold` is the optional F1 threshold tuning of the paper's
protocol.
"""

import numpy as np

__all__ = ["best_f1_threshold", "validation_scorer"]


def best_f1_threshold(y_true, scores):
    """Decision threshold that maximises F1 on labelled data.

    A sample is predicted positive when its score is at least the
    threshold. Every distinct score is a candidate; F1 is computed as
    ``2PR / (P + R + 1e-6)`` and ties go to the highest threshold.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Binary gold labels (1 = positive).
    scores : array-like of shape (n_samples,)
        Scores of the positive class, e.g. ``predict_proba(X)[:, 1]``.

    Returns
    -------
    threshold : float
        The F1-optimal threshold.
    f1 : float
        The F1 it attains.

    See Also
    --------
    sklearn.model_selection.TunedThresholdClassifierCV : Threshold tuning
        by cross-validation for any binary classifier.

    Examples
    --------
    >>> from skweak_e2e.end_to_end import best_f1_threshold
    >>> best_f1_threshold([0, 0, 1, 1], [0.1, 0.6, 0.4, 0.8])
    (0.4, 0.7999...)
    """
    y_true = np.asarray(y_true).astype(np.float64).ravel()
    scores = np.asarray(scores, dtype=np.float64).ravel()
    order = np.argsort(-scores, kind="mergesort")
    sorted_scores = scores[order]
    tp = np.cumsum(y_true[order])
    fp = np.cumsum(1.0 - y_true[order])
    # Keep the last position of each run of equal scores: predicting
    # "score >= t" includes every sample tied at t.
    last = np.r_[sorted_scores[1:] != sorted_scores[:-1], True]
    tp, fp, thresholds = tp[last], fp[last], sorted_scores[last]
    n_pos = y_true.sum()
    precision = tp / (tp + fp)
    recall = tp / n_pos if n_pos > 0 else np.zeros_like(tp)
    f1 = 2 * precision * recall / (precision + recall + 1e-6)
    best = int(np.argmax(f1))
    return float(thresholds[best]), float(f1[best])


def _log_loss(y, proba):
    """Mean negative log-likelihood of the encoded labels ``y``."""
    picked = proba[np.arange(y.shape[0]), y]
    return float(-np.mean(np.log(np.clip(picked, 1e-15, None))))


def validation_scorer(scoring, n_classes, classes):
    """Return ``score(y_encoded, proba) -> float`` (higher is better).

    Parameters
    ----------
    scoring : {"auto", "accuracy", "neg_log_loss", "roc_auc"} or callable
        ``"auto"`` is accuracy with the log-loss as tie-breaker: among
        epochs of equal validation accuracy the better calibrated one wins
        (accuracy on a few hundred rows moves in steps of ``1/n_val``). A
        callable is called as ``scoring(y_true, proba)`` with labels from
        ``classes``.
    n_classes : int
        Number of classes (columns of ``proba``).
    classes : ndarray of shape (n_classes,)
        Class labels, for a callable ``scoring``.

    Returns
    -------
    scorer : callable
        ``scorer(y, proba)`` with ``y`` encoded as ``0..n_classes-1``.
    """
    from sklearn.metrics import roc_auc_score

    if callable(scoring):
        return lambda y, proba: float(scoring(classes[y], proba))
    if scoring == "auto":
        # A log-loss term smaller than one accuracy step (1 / n) only breaks
        # ties; the loss is clipped so that it never outweighs one step.
        def accuracy_then_log_loss(y, proba):
            accuracy = float(np.mean(np.argmax(proba, axis=1) == y))
            tie_break = min(_log_loss(y, proba), 10.0) / (11.0 * y.shape[0])
            return accuracy - tie_break

        return accuracy_then_log_loss
    if scoring == "accuracy":
        return lambda y, proba: float(np.mean(np.argmax(proba, axis=1) == y))
    if scoring == "neg_log_loss":
        return lambda y, proba: -_log_loss(y, proba)
    if n_classes == 2:
        return lambda y, proba: float(roc_auc_score(y, proba[:, 1]))
    labels = np.arange(n_classes)
    return lambda y, proba: float(
        roc_auc_score(y, proba, multi_class="ovr", labels=labels)
    )
