"""Synthetic weak-supervision data with planted source parameters."""

import numbers

import numpy as np
from sklearn.utils import Bunch, check_random_state

from ..utils._validation import check_class_prior

__all__ = ["make_weak_supervision", "planted_posterior"]


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _check_int(name, value, low):
    """``value`` is an integer >= ``low``, else an error naming both."""
    if not _is_int(value):
        raise TypeError(
            f"{name} must be an integer; got {value!r} of type {type(value).__name__}."
        )
    if value < low:
        raise ValueError(f"{name} must be at least {low}; got {value}.")


def _first_bad(values):
    """The first entry outside [0, 1] (NaN included), as the user wrote it."""
    flat = np.asarray(values, dtype=np.float64).ravel()
    bad = flat[~((flat >= 0) & (flat <= 1))]
    return f"{bad[0]:g}"


def _broadcast_coverage(coverage, n_sources, n_classes):
    cov = np.asarray(coverage, dtype=np.float64)
    if cov.ndim == 0:
        cov = np.full((n_sources, n_classes), float(cov))
    elif cov.ndim == 1:
        if cov.shape[0] != n_sources:
            raise ValueError(
                f"coverage has {cov.shape[0]} entries but n_sources={n_sources}."
            )
        cov = np.repeat(cov[:, None], n_classes, axis=1)
    if cov.shape != (n_sources, n_classes):
        raise ValueError(
            f"coverage must be a scalar, (n_sources,) or (n_sources, n_classes); "
            f"got shape {cov.shape}."
        )
    if not ((cov >= 0) & (cov <= 1)).all():  # NaN fails both comparisons
        raise ValueError(f"coverage must lie in [0, 1]; got {_first_bad(cov)}.")
    return cov


def _confusion_from_accuracy(accuracy, n_sources, n_classes):
    acc = np.asarray(accuracy, dtype=np.float64)
    if acc.ndim == 0:
        acc = np.full(n_sources, float(acc))
    if acc.shape != (n_sources,):
        raise ValueError(
            f"accuracy must be a scalar or (n_sources,); got shape {acc.shape}."
        )
    if not ((acc >= 0) & (acc <= 1)).all():  # NaN fails both comparisons
        raise ValueError(f"accuracy must lie in [0, 1]; got {_first_bad(acc)}.")
    off = (1.0 - acc) / (n_classes - 1)
    conf = np.repeat(off[:, None, None], n_classes, axis=1).repeat(n_classes, axis=2)
    idx = np.arange(n_classes)
    conf[:, idx, idx] = acc[:, None]
    return conf


def make_weak_supervision(
    n_samples=1000,
    n_sources=10,
    n_classes=2,
    *,
    class_prior=None,
    coverage=0.5,
    accuracy=0.75,
    confusion=None,
    n_features=20,
    class_sep=1.5,
    duplicates=None,
    n_adversarial=0,
    return_params=False,
    random_state=None,
):
    """Generate features, a label matrix and gold labels with planted sources.

    The gold label is drawn from ``class_prior``; source ``j`` votes on a
    sample of class ``c`` with probability ``coverage[j, c]`` (otherwise it
    abstains, ``-1``), and its vote is drawn from row ``c`` of its confusion
    matrix. Sources are conditionally independent given the class, which is
    the model of :class:`~skweak_e2e.DawidSkene` and
    :class:`~skweak_e2e.Snorkel`, so the planted parameters are the ground
    truth those models should recover. Features are Gaussian blobs
    ``x = mu_y + N(0, I)`` with class means at distance about ``class_sep``.

    Parameters
    ----------
    n_samples : int, default=1000
        Number of samples.
    n_sources : int, default=10
        Number of planted sources (before duplicates and adversarial ones).
    n_classes : int, default=2
        Number of classes.
    class_prior : array-like of shape (n_classes,), default=None
        Class probabilities; uniform when None.
    coverage : float or array-like of shape (n_sources,) or (n_sources, n_classes), default=0.5
        Probability that a source votes, optionally per class.
    accuracy : float or array-like of shape (n_sources,), default=0.75
        Probability that a vote is correct; errors are uniform over the other
        classes. Ignored when ``confusion`` is given.
    confusion : array-like of shape (n_sources, n_classes, n_classes), default=None
        ``confusion[j, c, k]`` = P(source j votes k | y = c, source j votes).
    n_features : int, default=20
        Number of features of ``X``; 0 returns ``X=None``.
    class_sep : float, default=1.5
        Distance scale between the class means.
    duplicates : dict of {int: int}, default=None
        ``{j: k}`` appends ``k`` exact copies of source ``j`` (correlated
        sources, which violate the conditional-independence assumption).
    n_adversarial : int, default=0
        Appends sources that vote with the planted coverage of source 0 but
        never for the true class (accuracy 0).
    return_params : bool, default=False
        Also return the planted parameters.
    random_state : int, RandomState instance or None, default=None
        Seed.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features) or None
        Features.
    L : ndarray of shape (n_samples, n_sources_total)
        Label matrix, -1 = abstain.
    y : ndarray of shape (n_samples,)
        Gold labels.
    params : Bunch
        Only with ``return_params``: ``class_prior``, ``coverage``
        (n_sources_total, n_classes) and ``confusion``
        (n_sources_total, n_classes, n_classes) of every column of ``L``.

    Examples
    --------
    >>> from skweak_e2e.datasets import make_weak_supervision
    >>> X, L, y = make_weak_supervision(n_samples=5, n_sources=3, random_state=0)
    >>> X.shape, L.shape, y.shape
    ((5, 20), (5, 3), (5,))
    """
    _check_int("n_samples", n_samples, 1)
    _check_int("n_sources", n_sources, 1)
    _check_int("n_classes", n_classes, 2)
    _check_int("n_adversarial", n_adversarial, 0)
    if n_features is not None:
        _check_int("n_features", n_features, 0)
    if not isinstance(class_sep, numbers.Real) or not np.isfinite(class_sep):
        raise ValueError(f"class_sep must be a finite number; got {class_sep!r}.")
    if duplicates:
        for j, k in dict(duplicates).items():
            if not _is_int(j) or not 0 <= j < n_sources:
                raise ValueError(
                    f"duplicates keys must be source indices in [0, {n_sources - 1}]; "
                    f"got {j!r}."
                )
            _check_int(f"duplicates[{j}]", k, 0)
    rng = check_random_state(random_state)
    prior = check_class_prior(class_prior, n_classes)
    cov = _broadcast_coverage(coverage, n_sources, n_classes)
    if confusion is None:
        conf = _confusion_from_accuracy(accuracy, n_sources, n_classes)
    else:
        conf = np.asarray(confusion, dtype=np.float64)
        if conf.shape != (n_sources, n_classes, n_classes):
            raise ValueError(
                "confusion must have shape (n_sources, n_classes, n_classes); got "
                f"{conf.shape}."
            )
        if not (conf >= 0).all() or not np.allclose(conf.sum(axis=2), 1.0):
            raise ValueError(
                "each confusion row must be a probability vector (finite, "
                "non-negative, summing to 1)."
            )

    if n_adversarial:
        adv = np.full((n_classes, n_classes), 1.0 / (n_classes - 1))
        np.fill_diagonal(adv, 0.0)
        conf = np.concatenate([conf, np.repeat(adv[None], n_adversarial, axis=0)])
        cov = np.concatenate([cov, np.repeat(cov[:1], n_adversarial, axis=0)])

    y = rng.choice(n_classes, size=n_samples, p=prior)
    n_total = conf.shape[0]
    L = np.full((n_samples, n_total), -1, dtype=np.int64)
    for j in range(n_total):  # one vectorised draw per source
        votes = rng.random_sample(n_samples) < cov[j, y]
        cdf = np.cumsum(conf[j][y], axis=1)
        draw = (rng.random_sample(n_samples)[:, None] > cdf).sum(axis=1)
        L[votes, j] = np.minimum(draw[votes], n_classes - 1)

    if duplicates:
        extra = [np.repeat(L[:, [j]], k, axis=1) for j, k in sorted(duplicates.items())]
        L = np.concatenate([L] + extra, axis=1)
        reps = [j for j, k in sorted(duplicates.items()) for _ in range(k)]
        conf = np.concatenate([conf, conf[reps]])
        cov = np.concatenate([cov, cov[reps]])

    X = None
    if n_features:
        means = rng.normal(size=(n_classes, n_features))
        means *= class_sep / np.linalg.norm(means, axis=1, keepdims=True).clip(1e-12)
        X = means[y] + rng.normal(size=(n_samples, n_features))

    if return_params:
        params = Bunch(class_prior=prior, coverage=cov, confusion=conf)
        return X, L, y, params
    return X, L, y


def planted_posterior(L, params):
    """Exact posterior P(y | L) under planted parameters.

    Parameters
    ----------
    L : ndarray of shape (n_samples, n_sources)
        Label matrix generated with these parameters.
    params : Bunch
        The ``params`` returned by ``make_weak_supervision(return_params=True)``.

    Returns
    -------
    posterior : ndarray of shape (n_samples, n_classes)
        The Bayes posterior of each row; each row sums to 1.

    Examples
    --------
    >>> from skweak_e2e.datasets import make_weak_supervision, planted_posterior
    >>> _, L, y, params = make_weak_supervision(
    ...     50, 5, return_params=True, random_state=0)
    >>> planted_posterior(L, params).shape
    (50, 2)
    """
    from ..label_model._tensor_form import apply_tensor_form
    from ..utils._validation import check_label_matrix

    try:
        prior, cov, conf = params.class_prior, params.coverage, params.confusion
    except AttributeError:
        raise TypeError(
            "params must be the Bunch returned by make_weak_supervision("
            f"..., return_params=True); got {type(params).__name__}."
        ) from None
    L, _ = check_label_matrix(
        L, n_classes=cov.shape[1], allow_soft=False, require_votes=False
    )
    if L.shape[1] != cov.shape[0]:
        raise ValueError(
            f"L has {L.shape[1]} sources but params describe {cov.shape[0]}."
        )
    n_sources, n_classes = cov.shape
    # Outcome probabilities E_j[c, k'] with k'=0 abstain, k'=k+1 vote k.
    E = np.concatenate([(1 - cov)[:, :, None], cov[:, :, None] * conf], axis=2)
    W = np.log(np.clip(E, 1e-300, None)).transpose(0, 2, 1)
    W = W + np.log(prior)[None, None, :] / n_sources
    return apply_tensor_form(L, W, "exp")
