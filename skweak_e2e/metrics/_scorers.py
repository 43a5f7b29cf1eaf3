"""Scorers that evaluate weakly supervised models on gold labels.

In weak supervision the ``y`` of ``fit`` is a label matrix, so the ``y`` that
model selection hands to a scorer is a label matrix too. A gold scorer ignores
it and reads the gold labels from the ``y_gold`` metadata instead, which
scikit-learn's metadata routing passes along (and splits) next to ``X`` and
``y``.
"""

import numpy as np
from sklearn.metrics import get_scorer, make_scorer
from sklearn.utils.metadata_routing import MetadataRequest
from sklearn.utils.validation import check_array, column_or_1d, indexable

from ..utils._sklearn_compat import _check_sample_weight, _num_samples, _safe_indexing
from ..utils._targets import check_sample_alignment

__all__ = ["gold_accuracy_scorer", "make_gold_scorer"]


class _GoldScorer:
    """Score an estimator against gold labels passed as ``y_gold``.

    Built by :func:`make_gold_scorer`; see there.
    """

    def __init__(self, scorer, unknown, description):
        self._scorer = scorer
        self._unknown = unknown
        self._description = description
        self._sample_weight_request = None

    def __repr__(self):
        return f"make_gold_scorer({self._description})"

    def _known_mask(self, gold):
        unknown = self._unknown
        if unknown is None:
            return np.ones(gold.shape, dtype=bool)
        if gold.dtype.kind in "iufb" and isinstance(unknown, str):
            return np.ones(gold.shape, dtype=bool)
        if gold.dtype.kind in "US" and not isinstance(unknown, str):
            return np.ones(gold.shape, dtype=bool)
        return ~np.asarray(gold == unknown, dtype=bool)

    def __call__(self, estimator, X, y_true=None, *, y_gold=None, sample_weight=None):
        """Score ``estimator`` on the rows of ``X`` with a known gold label.

        Parameters
        ----------
        estimator : fitted estimator
        X : array-like of shape (n_samples, n_features)
            Features.
        y_true : array-like, default=None
            The ``y`` of the evaluation split (usually a label matrix); it is
            ignored when ``y_gold`` is given, and used as the gold labels when
            it is 1-D and ``y_gold`` is not.
        y_gold : array-like of shape (n_samples,), default=None
            Gold labels, ``unknown`` where there is none.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights (requested with ``set_score_request``).

        Returns
        -------
        score : float
        """
        if y_gold is None:
            if y_true is not None and np.ndim(y_true) == 1:
                y_gold = y_true
            else:
                raise ValueError(
                    "The gold scorer needs gold labels: pass y_gold=... next to X "
                    "and the label matrix (with "
                    "sklearn.set_config(enable_metadata_routing=True) for model "
                    "selection tools such as GridSearchCV), or call it with 1-D "
                    "gold labels as y."
                )
        gold = check_array(y_gold, ensure_2d=False, dtype=None, input_name="y_gold")
        gold = column_or_1d(gold)
        check_sample_alignment(_num_samples(X), gold.shape[0], "X", "y_gold")
        known = np.flatnonzero(self._known_mask(gold))
        if known.size == 0:
            raise ValueError(
                f"y_gold holds no gold label: every entry is {self._unknown!r}."
            )
        kwargs = {}
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, gold)
            kwargs["sample_weight"] = sample_weight[known]
        X_known = _safe_indexing(indexable(X)[0], known)
        return self._scorer(estimator, X_known, gold[known], **kwargs)

    def set_score_request(self, *, sample_weight=None):
        """Request ``sample_weight`` (``y_gold`` is always requested).

        Parameters
        ----------
        sample_weight : bool, str or None, default=None
            Whether ``sample_weight`` is routed to this scorer (or the alias
            under which it is).

        Returns
        -------
        self : object
        """
        self._sample_weight_request = sample_weight
        return self

    def get_metadata_routing(self):
        """Metadata requested by the scorer: ``y_gold`` (and ``sample_weight``).

        Returns
        -------
        routing : MetadataRequest
        """
        request = MetadataRequest(owner=self)
        request.score.add_request(param="y_gold", alias=True)
        if self._sample_weight_request is not None:
            request.score.add_request(
                param="sample_weight", alias=self._sample_weight_request
            )
        return request


def make_gold_scorer(
    metric="accuracy",
    *,
    response_method="predict",
    greater_is_better=True,
    unknown=-1,
    **kwargs,
):
    """Make a scorer that evaluates against gold labels routed as ``y_gold``.

    Model selection on a weakly supervised estimator fits on ``(X, L)``; the
    ``y`` its scorer receives is therefore the label matrix ``L``. This
    scorer ignores it and compares the predictions with the gold labels
    ``y_gold`` instead, on the rows where they are known (``y_gold !=
    unknown``). ``y_gold`` is requested through metadata routing, so that
    ``GridSearchCV(..., scoring=scorer).fit(X, L, y_gold=y_gold)`` splits it
    with ``X`` and ``L``; this needs
    ``sklearn.set_config(enable_metadata_routing=True)``.

    Parameters
    ----------
    metric : str or callable, default="accuracy"
        A scikit-learn scorer name (e.g. ``"f1_macro"``, ``"roc_auc"``,
        ``"neg_log_loss"``), or a metric ``metric(y_true, y_pred, **kwargs)``.
    response_method : {"predict", "predict_proba", "decision_function"} or tuple, default="predict"
        What the metric reads, for a callable ``metric``.
    greater_is_better : bool, default=True
        For a callable ``metric``: whether higher is better (if not, the
        score is negated, as with :func:`sklearn.metrics.make_scorer`).
    unknown : int, str or None, default=-1
        Value of ``y_gold`` that marks a row without gold label; such rows
        are left out. None: every row has one.
    **kwargs
        Extra arguments of a callable ``metric``.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y=None, *, y_gold=None, sample_weight=None)``;
        when ``y_gold`` is not given and ``y`` is 1-D, ``y`` is the gold
        labels.

    See Also
    --------
    gold_accuracy_scorer : ``make_gold_scorer()``, ready to use.
    LabelModelClassifier.score : Accuracy against 1-D gold labels, agreement
        with the label model for a label matrix.

    Examples
    --------
    >>> import numpy as np
    >>> import sklearn
    >>> from sklearn.model_selection import GridSearchCV
    >>> from skweak_e2e import LabelModelClassifier, MajorityVote
    >>> from skweak_e2e.datasets import make_weak_supervision
    >>> from skweak_e2e.metrics import make_gold_scorer
    >>> X, L, y = make_weak_supervision(300, 5, random_state=0)
    >>> y_gold = np.where(np.arange(300) % 3 == 0, y, -1)  # a third is known
    >>> scorer = make_gold_scorer("f1_macro")
    >>> search = GridSearchCV(
    ...     LabelModelClassifier(MajorityVote()),
    ...     {"label_model__method": ["soft", "argmax"]},
    ...     scoring=scorer,
    ... )
    >>> with sklearn.config_context(enable_metadata_routing=True):
    ...     search = search.fit(X, L, y_gold=y_gold)
    >>> search.best_params_
    {'label_model__method': 'soft'}
    """
    if isinstance(metric, str):
        if kwargs or response_method != "predict" or not greater_is_better:
            raise ValueError(
                "response_method, greater_is_better and metric arguments apply to "
                "a callable metric; a scorer name already fixes them."
            )
        inner = get_scorer(metric)
        description = repr(metric)
    elif callable(metric):
        inner = make_scorer(
            metric,
            response_method=response_method,
            greater_is_better=greater_is_better,
            **kwargs,
        )
        description = getattr(metric, "__name__", repr(metric))
        if response_method != "predict":
            description += f", response_method={response_method!r}"
        if not greater_is_better:
            description += ", greater_is_better=False"
        for key, value in kwargs.items():
            description += f", {key}={value!r}"
    else:
        raise TypeError(
            f"metric must be a scorer name or a callable; got {type(metric).__name__}."
        )
    if unknown != -1:
        description += f", unknown={unknown!r}"
    return _GoldScorer(inner, unknown, description)


gold_accuracy_scorer = make_gold_scorer()
"""Accuracy against gold labels routed as ``y_gold`` (``-1`` = unknown).

See :func:`make_gold_scorer`.
"""
