"""LabelModelClassifier: a label model, then any classifier."""

import copy
import inspect
import warnings
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.pipeline import Pipeline
from sklearn.utils import get_tags
from sklearn.utils.metadata_routing import (
    MetadataRouter,
    MethodMapping,
    process_routing,
)
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import (
    check_array,
    check_is_fitted,
    column_or_1d,
    has_fit_parameter,
    indexable,
)

from ..utils._atomic import atomic_fit, atomic_state
from ..utils._dask import refuse_dask
from ..utils._label_matrix import is_covered
from ..utils._sklearn_compat import (
    HasMethods,
    StrOptions,
    _check_method_params,
    _fit_context,
    _num_samples,
    _routing_enabled,
    _safe_indexing,
)
from ..utils._targets import (
    abstain_mask,
    check_sample_alignment,
    check_vote_target,
    encode_votes,
    expand_soft_labels,
    proba_to_labels,
)
from ..utils._validation import check_label_proba, check_sample_weight
from ..utils._warnings import user_stacklevel
from ._components import (
    derived_seed,
    encode_for_label_model,
    make_label_model,
    sample_weight_key,
    scale_out_advice,
    seed_random_states,
    with_positive_weight,
)


__all__ = ["LabelModelClassifier"]


def _estimator_has(attr):
    """available_if check: the fitted (else the given or default) estimator has ``attr``."""

    def check(self):
        if hasattr(self, "estimator_"):
            getattr(self.estimator_, attr)
        else:
            getattr(self._estimator_template(), attr)
        return True

    return check


class LabelModelClassifier(MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    """Train any classifier on the probabilistic labels of a label model.

    The two-stage weak-supervision pipeline as one scikit-learn classifier:
    ``fit(X, y=L)`` fits ``label_model`` on the label matrix ``L``, turns its
    output into training labels, drops the rows where no source votes, and
    fits ``estimator`` on the features ``X``. (A scikit-learn ``Pipeline``
    cannot do this, because its steps cannot transform ``y``.)

    Soft labels are trained by sample-weight expansion: row ``i`` is repeated
    once per class ``c`` with label ``c`` and weight ``yhat[i, c]`` (zero
    weights are dropped). For any estimator whose loss is a weighted sum over
    rows, such as :class:`~sklearn.linear_model.LogisticRegression`, this
    minimises exactly the expected loss under the probabilistic labels
    (cross-entropy with soft targets). A :class:`~sklearn.pipeline.Pipeline`
    gets the weights through its final step (``<step>__sample_weight``; with
    metadata routing enabled, through the steps that request
    ``sample_weight``; a final step that can take sample weights and has not
    said otherwise is asked for them, and earlier steps that have not said
    otherwise are not, which is what happens without routing). Estimators
    that take no sample weights get hard labels instead, with a warning: the
    training target never changes silently.

    Parameters
    ----------
    label_model : label model, default=None
        Turns the label matrix into probabilistic labels: any estimator with
        ``fit(L)`` and ``predict_proba(L)``, such as
        :class:`~skweak_e2e.MajorityVote` (the default when None),
        :class:`~skweak_e2e.DawidSkene` or :class:`~skweak_e2e.Snorkel`. It
        is cloned, and receives the votes as class indices with ``-1`` for
        abstain (its ``abstain`` parameters, nested ones included, are set to
        ``-1``; a :class:`~sklearn.frozen.FrozenEstimator` is used as is).
    estimator : classifier, default=None
        The end model trained on ``X``. It is cloned. Defaults to
        :class:`~sklearn.linear_model.LogisticRegression`. To search over
        the parameters of either model (``label_model__<param>``,
        ``estimator__<param>``), pass an instance rather than None.
    soft_labels : bool or "proba", default=True
        Train on the label model's probabilities (by sample-weight
        expansion). When False, or when ``estimator`` takes no
        ``sample_weight``, train on hard labels: the most probable class,
        ties resolved by ``tie_break``. snorkel's tutorials train on hard
        labels (``probs_to_preds``); pass False to reproduce them.
        ``"proba"`` hands the probabilities to ``estimator.fit`` as ``y``
        itself, an array of shape ``(n_training_rows, n_classes)``, one row
        per training sample, for estimators that train on probability
        targets (such as a skorch net with a soft-target loss); such an
        estimator predicts class indices ``0..n_classes-1`` and sets
        ``classes_`` to them.
    tie_break : {"random", "lowest", "abstain"}, default="random"
        How hard training labels resolve ties between classes (within 1e-5):
        a random tied class (seeded by ``random_state``; snorkel's
        ``probs_to_preds`` default), the lowest tied class index, or leave
        the row out of training.
    drop_uncovered : bool, default=True
        Leave out the rows where every source abstains (their label is only
        the label model's prior). When False they are trained on that prior.
    abstain : int, str or None, default=-1
        Value of ``y`` that means "no vote". None means that every value is a
        vote.
    random_state : int, RandomState instance or None, default=None
        Seeds ``tie_break="random"``, and every ``random_state`` of the label
        model and the estimator that is left at None (so that a seeded
        classifier is deterministic, whatever it wraps).

    Attributes
    ----------
    label_model_ : label model
        The fitted clone of ``label_model``.
    estimator_ : classifier
        The fitted clone of ``estimator``.
    classes_ : ndarray of shape (n_classes,)
        Class labels. When the votes are non-negative integers they are the
        class indices ``0..n_classes-1`` of the label model; otherwise (e.g.
        strings) the sorted distinct votes.
    n_classes_ : int
        Number of classes.
    coverage_ : float
        Fraction of training rows with at least one vote.
    n_features_in_ : int
        Number of features of ``X`` (from ``estimator_``).
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Feature names of ``X`` when it was a DataFrame (from ``estimator_``).

    See Also
    --------
    MajorityVote, DawidSkene, Snorkel : Label models.
    skweak_e2e.metrics.make_gold_scorer : Scores model selection with gold
        labels routed next to the label matrix.

    Notes
    -----
    ``y`` may be

    - a label matrix ``(n_samples, n_sources)`` with ``abstain`` for no vote;
    - a soft label matrix ``(n_samples, n_sources, n_classes)``;
    - a 1-D array, read as a single source: this is ordinary supervision
      (with ``abstain`` entries left out), so the estimator behaves like any
      scikit-learn classifier. A column vector ``(n_samples, 1)`` is read the
      same way, with a ``DataConversionWarning``.

    Sample-aligned ``fit_params`` (``sample_weight``, or any array with one
    entry per row) follow the rows into the expanded training set. Without
    metadata routing, ``fit_params`` are passed to ``estimator.fit``; with
    routing enabled, they are routed to it as requested.

    Expansion repeats a row once per class with a positive probability, so
    the training set of ``estimator`` has up to ``n_classes`` times as many
    rows as ``X``.

    Examples
    --------
    >>> import numpy as np
    >>> from skweak_e2e import LabelModelClassifier
    >>> from skweak_e2e.datasets import make_weak_supervision
    >>> X, L, y = make_weak_supervision(300, 5, random_state=0)
    >>> clf = LabelModelClassifier().fit(X, L)
    >>> clf.classes_
    array([0, 1])
    >>> clf.predict(X[:5])
    array([1, 1, 1, 1, 0])
    >>> round(clf.coverage_, 3)  # rows with a vote, the training set
    0.957
    >>> round(clf.score(X, y), 3)  # 1-D y: accuracy against gold labels
    0.803
    >>> round(clf.score(X, L), 3)  # label matrix: agreement with the label model
    0.775
    """

    _parameter_constraints: dict = {
        "label_model": [HasMethods(["fit", "predict_proba"]), None],
        "estimator": [HasMethods(["fit", "predict"]), None],
        "soft_labels": ["boolean", StrOptions({"proba"})],
        "drop_uncovered": ["boolean"],
        "tie_break": [StrOptions({"random", "lowest", "abstain"})],
        "abstain": [Integral, str, None],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        label_model=None,
        estimator=None,
        *,
        soft_labels=True,
        tie_break="random",
        drop_uncovered=True,
        abstain=-1,
        random_state=None,
    ):
        self.label_model = label_model
        self.estimator = estimator
        self.soft_labels = soft_labels
        self.drop_uncovered = drop_uncovered
        self.tie_break = tie_break
        self.abstain = abstain
        self.random_state = random_state

    # ------------------------------------------------------------------ utils
    def _estimator_template(self):
        return LogisticRegression() if self.estimator is None else self.estimator

    def _training_rows(
        self, proba, rows, sample_weight, estimator, weight_key, allow_empty=False,
        settings=None,
    ):
        """Rows, labels and weights ``estimator`` trains on (fit and partial_fit).

        Soft labels by sample-weight expansion, hard labels (most probable
        class), or the probabilities as targets (``soft_labels="proba"``),
        for the samples ``rows``; zero-weight rows are left out. With
        ``allow_empty`` (one block of ``partial_fit``), a block left without
        training rows returns empty arrays instead of raising. ``settings``:
        the classifier whose ``soft_labels``, ``tie_break`` and
        ``random_state`` apply (this one when None).
        """
        settings = self if settings is None else settings
        soft_labels = settings.soft_labels
        targets = isinstance(soft_labels, str)  # "proba"
        soft = not targets and soft_labels and weight_key is not None
        if not targets and soft_labels and weight_key is None:
            if isinstance(estimator, Pipeline) and _routing_enabled():
                how = (
                    "with metadata routing enabled, the pipeline passes sample "
                    "weights only to the steps that request them: call "
                    "set_fit_request(sample_weight=True) on the step that "
                    "should take them"
                )
            else:
                how = "use an estimator whose fit takes sample_weight"
            warnings.warn(
                f"{type(estimator).__name__} takes no sample weights here, so soft "
                "labels cannot be used; training on hard labels instead (most "
                f"probable class, tie_break={settings.tie_break!r}). To train on soft "
                f"labels, {how}. To train on hard labels on purpose, pass "
                "soft_labels=False.",
                UserWarning,
                stacklevel=user_stacklevel(),
            )
        if targets:
            return with_positive_weight(rows, proba[rows], sample_weight)
        if soft:
            return expand_soft_labels(proba, rows, sample_weight)
        labels = proba_to_labels(
            proba[rows], tie_break=settings.tie_break,
            random_state=settings.random_state,
        )
        decided = labels >= 0  # tie_break="abstain" leaves ties out
        index, labels = rows[decided], labels[decided]
        if index.size == 0 and not allow_empty:
            raise ValueError(
                "Every covered row is a tie between classes, and "
                "tie_break='abstain' leaves ties out; nothing to train on."
            )
        return with_positive_weight(index, labels, sample_weight)

    # -------------------------------------------------------------------- fit
    # label_model and estimator are user-supplied: keep nested validation.
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None, **fit_params):
        """Fit the label model on ``y``, then the estimator on its labels.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Features. Anything ``estimator`` accepts and that can be indexed
            by rows (e.g. a list of texts for a text pipeline).
        y : array-like of shape (n_samples, n_sources), (n_samples, n_sources, n_classes) or (n_samples,)
            Label matrix (``abstain`` for no vote), soft votes, or a single
            source.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rows in the estimator's loss (multiplied into the
            expansion weights). The label model is fitted unweighted.
        **fit_params : dict
            Passed to ``estimator.fit`` (routed to it when metadata routing
            is enabled); sample-aligned arrays follow their rows.

        Returns
        -------
        self : object
            The fitted classifier.
        """
        refuse_dask(
            type(self).__name__, "fit", scale_out_advice("fit"), X=X, y=y
        )
        self._refuse_validation_data(fit_params)
        # A fit that raises leaves the classifier as it was.
        with atomic_state(self):
            Y = check_vote_target(y, abstain=self.abstain, owner=type(self).__name__)
            n_samples = _num_samples(X)
            check_sample_alignment(n_samples, Y.shape[0], "X", "y")
            label_model = make_label_model(self.label_model)
            seed = derived_seed(self.random_state)
            if not isinstance(label_model, FrozenEstimator):
                seed_random_states(label_model, seed)
            codes, classes = encode_for_label_model(Y, label_model, self.abstain)
            if sample_weight is not None:
                sample_weight = check_sample_weight(sample_weight, n_samples)
            if _routing_enabled():
                routed = process_routing(self, "fit", **fit_params)
                estimator_params = dict(routed.estimator.fit)
            else:
                estimator_params = dict(fit_params)
            proba = self._fit_label_model(label_model, codes, classes)
            rows = self._first_coverage(codes)
            self._fit_estimator(X, proba, rows, seed, sample_weight, estimator_params)
        return self

    def _fit_label_model(self, label_model, codes, classes):
        """Fit the label model on the codes; set its attributes; its labels."""
        n_samples = len(codes)
        if not isinstance(label_model, FrozenEstimator):
            # A frozen (fitted) label model is used as is; its fit is a no-op
            # whose signature, fit(X, y), is not the label models' fit(L).
            label_model.fit(codes)
        self._check_sources(label_model, codes)
        proba = check_label_proba(
            label_model.predict_proba(codes), n_samples, type(label_model).__name__
        )
        n_classes = proba.shape[1]
        if classes is None:
            classes = np.arange(n_classes)
        elif len(classes) != n_classes:
            raise ValueError(
                f"y holds {len(classes)} class(es) {classes.tolist()}, but the "
                f"label model predicts {n_classes}; at least two classes are "
                "needed."
            )
        self.label_model_ = label_model
        self.classes_ = classes
        self.n_classes_ = n_classes
        return proba

    def _first_coverage(self, codes):
        """Set ``coverage_``; the rows to train on."""
        n_samples = len(codes)
        covered = is_covered(codes)
        self.coverage_ = float(covered.mean())
        # partial_fit may continue from here; it keeps coverage_ over all rows.
        self._n_rows_seen, self._n_rows_covered = n_samples, int(covered.sum())
        rows = np.flatnonzero(covered) if self.drop_uncovered else np.arange(n_samples)
        if rows.size == 0:
            raise ValueError("No training row has a vote; nothing to train on.")
        return rows

    def _fit_estimator(self, X, proba, rows, seed, sample_weight, estimator_params):
        """Fit a clone of the estimator on the training rows of ``proba``."""
        estimator = clone(self._estimator_template())
        seed_random_states(estimator, seed)
        weight_key = sample_weight_key(estimator)
        if sample_weight is not None and weight_key is None:
            raise ValueError(
                f"sample_weight was given but {type(estimator).__name__}.fit "
                "takes no sample_weight."
            )
        index, labels, weight = self._training_rows(
            proba, rows, sample_weight, estimator, weight_key
        )
        if index.size == 0:
            raise ValueError(
                "No training row is left: every covered row has zero sample weight."
            )
        X = indexable(X)[0]  # row indexing (sparse -> CSR, iterables -> arrays)
        params = _check_method_params(X, estimator_params, indices=index)
        if weight is not None:
            params[weight_key] = weight
        estimator.fit(_safe_indexing(X, index), labels, **params)
        self.estimator_ = estimator
        self._trained = True

    def _refuse_validation_data(self, fit_params):
        """Gold validation rows passed to fit: point to the class that uses them."""
        given = sorted({"X_val", "y_val"} & set(fit_params))
        if given and not has_fit_parameter(self._estimator_template(), given[0]):
            raise TypeError(
                f"{type(self).__name__}.fit got {' and '.join(given)}, which its "
                f"estimator ({type(self._estimator_template()).__name__}) does not "
                "take. To select the end model (and label model) on gold "
                "validation rows, use LabelModelClassifierCV(...).fit(X, L, "
                "X_val=X_val, y_val=y_val)."
            )

    # ------------------------------------------------------------ partial_fit
    def _fitted_label_model(self):
        """The label model partial_fit uses as is; it must be fitted already."""
        label_model = self.label_model
        name = "MajorityVote()" if label_model is None else type(label_model).__name__
        try:
            if label_model is None:
                raise NotFittedError
            check_is_fitted(label_model)
        except NotFittedError:
            raise NotFittedError(
                f"partial_fit needs a fitted label_model; got an unfitted {name}. "
                "A label model cannot be fitted block by block: fit it first on "
                "the whole label matrix (a dask array when it is large) and pass "
                "it, e.g. LabelModelClassifier(FrozenEstimator(label_model), "
                "SGDClassifier())."
            ) from None
        return label_model

    def _partial_fit_classes(self, label_model, classes):
        """``classes_`` on the first partial_fit: ``classes`` or the label model's."""
        n_classes = getattr(label_model, "n_classes_", None)
        if n_classes is None and hasattr(label_model, "classes_"):
            n_classes = len(label_model.classes_)
        if classes is None:
            if n_classes is None:
                raise ValueError(
                    f"{type(label_model).__name__} has no n_classes_ nor classes_; "
                    "pass classes= to the first call of partial_fit."
                )
            return np.arange(n_classes)
        classes = np.unique(np.asarray(classes))
        if n_classes is not None and classes.size != n_classes:
            raise ValueError(
                f"classes={classes.tolist()} holds {classes.size} class(es) but the "
                f"label model predicts {n_classes}."
            )
        return classes

    @available_if(_estimator_has("partial_fit"))
    @_fit_context(prefer_skip_nested_validation=False)
    @atomic_fit(deep=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train the estimator on one more block, with a fitted label model.

        For features that do not fit in memory: call it once per block of
        rows (and again for more epochs). Each block's labels come from the
        label model exactly as in :meth:`fit` (soft-label expansion, hard
        labels or probability targets; uncovered rows dropped when
        ``drop_uncovered``), then ``estimator_.partial_fit`` is called on
        them, with every class index passed as ``classes``. The label model
        is not fitted here (its statistics need every row): pass a fitted
        one, as is or wrapped in :class:`~sklearn.frozen.FrozenEstimator`;
        it is used as is (not cloned) and reads the votes as class indices
        with ``-1`` for abstain.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Features of the block.
        y : array-like of shape (n_samples, n_sources), (n_samples, n_sources, n_classes) or (n_samples,)
            Label matrix of the block (``abstain`` for no vote), soft votes,
            or a single source.
        classes : array-like of shape (n_classes,), default=None
            The class labels, read on the first call only (later calls must
            pass the same or None). None means the label model's class
            indices ``0..n_classes-1``; pass the labels when the votes are
            not class indices (e.g. strings).
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rows (multiplied into the expansion weights).

        Returns
        -------
        self : object
            The updated classifier.
        """
        refuse_dask(
            type(self).__name__, "partial_fit", scale_out_advice("partial_fit"), X=X, y=y
        )
        first = not hasattr(self, "estimator_")
        if first:
            label_model = self._fitted_label_model()
            self.classes_ = self._partial_fit_classes(label_model, classes)
            self._classes_given = classes is not None
            self.n_classes_ = len(self.classes_)
            self.label_model_ = label_model
            self.estimator_ = clone(self._estimator_template())
            self._n_rows_seen = self._n_rows_covered = 0
            self._trained = False  # until a block leaves rows to train on
        elif classes is not None and not np.array_equal(
            np.unique(np.asarray(classes)), self.classes_
        ):
            raise ValueError(
                f"classes={np.asarray(classes).tolist()} is not the classes_ of the "
                f"first call, {self.classes_.tolist()}."
            )
        Y = check_vote_target(y, abstain=self.abstain, owner=type(self).__name__)
        n_samples = _num_samples(X)
        check_sample_alignment(n_samples, Y.shape[0], "X", "y")
        if sample_weight is not None:
            sample_weight = check_sample_weight(sample_weight, n_samples)
        if Y.ndim == 3:
            codes = Y.astype(np.float64)
        else:
            try:
                codes = encode_votes(Y, self.classes_, abstain=self.abstain)
            except ValueError as exc:
                if getattr(self, "_classes_given", True):
                    raise
                raise ValueError(
                    f"{exc} The classes are the label model's indices because "
                    "the first partial_fit got no classes=; with votes that "
                    "are labels (e.g. strings), pass classes=[...] (in the "
                    "label model's class order) to the first call."
                ) from None
        self._check_sources(self.label_model_, codes)
        proba = check_label_proba(
            self.label_model_.predict_proba(codes),
            n_samples,
            type(self.label_model_).__name__,
            n_classes=self.n_classes_,
        )
        covered = is_covered(codes)
        self._n_rows_seen += n_samples
        self._n_rows_covered += int(covered.sum())
        self.coverage_ = self._n_rows_covered / max(self._n_rows_seen, 1)
        rows = np.flatnonzero(covered) if self.drop_uncovered else np.arange(n_samples)

        estimator = self.estimator_
        accepted = inspect.signature(estimator.partial_fit).parameters
        weight_key = "sample_weight" if "sample_weight" in accepted else None
        if sample_weight is not None and weight_key is None:
            raise ValueError(
                f"sample_weight was given but {type(estimator).__name__}.partial_fit "
                "takes no sample_weight."
            )
        index, labels, weight = self._training_rows(
            proba, rows, sample_weight, estimator, weight_key, allow_empty=True
        )
        if index.size == 0:
            return self  # nothing to learn from this block
        params = {} if weight is None else {weight_key: weight}
        if "classes" in accepted:
            params["classes"] = np.arange(self.n_classes_)
        X = indexable(X)[0]
        estimator.partial_fit(_safe_indexing(X, index), labels, **params)
        self._trained = True
        return self

    def _check_trained(self):
        """Fitted, and the estimator trained (partial_fit may have had no row)."""
        check_is_fitted(self)
        if not getattr(self, "_trained", True):
            raise NotFittedError(
                f"{type(self).__name__} has not trained its estimator yet: "
                f"partial_fit has seen {self._n_rows_seen} row(s), "
                f"{self._n_rows_covered} with a vote, and none of them was left "
                "to train on (uncovered or zero-weight rows). Call partial_fit "
                "with blocks whose rows have votes."
            )

    def _check_sources(self, label_model, codes):
        """``y`` has the label model's number of sources (not a message about X)."""
        expected = getattr(label_model, "n_features_in_", None)
        inner = getattr(label_model, "estimator", label_model)  # FrozenEstimator
        if expected is not None and codes.ndim >= 2 and codes.shape[1] != expected:
            raise ValueError(
                f"y has {codes.shape[1]} sources (columns) but the label model "
                f"{type(inner).__name__} was fitted with {expected}; y must "
                "hold the votes of the same sources, in the same order."
            )

    # ------------------------------------------------------------- prediction
    @available_if(_estimator_has("predict"))
    def predict(self, X):
        """Predict class labels with the fitted estimator.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Features.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Predicted labels (values of ``classes_``).
        """
        refuse_dask(
            type(self).__name__, "predict", scale_out_advice("predict"), X=X
        )
        self._check_trained()
        codes = np.asarray(self.estimator_.predict(X))
        return self.classes_[codes.astype(np.intp)]

    @available_if(_estimator_has("predict_proba"))
    def predict_proba(self, X):
        """Class probabilities of the fitted estimator.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Features.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns follow ``classes_``; a class that received no training
            label gets probability 0.
        """
        refuse_dask(
            type(self).__name__, "predict_proba", scale_out_advice("predict_proba"), X=X
        )
        self._check_trained()
        proba = self.estimator_.predict_proba(X)
        seen = np.asarray(self.estimator_.classes_).astype(np.intp)
        if len(seen) == self.n_classes_:
            return proba
        full = np.zeros((proba.shape[0], self.n_classes_), dtype=proba.dtype)
        full[:, seen] = proba
        return full

    @available_if(_estimator_has("predict_proba"))
    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Features.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    @available_if(_estimator_has("decision_function"))
    def decision_function(self, X):
        """Decision function of the fitted estimator.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Features.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            As returned by ``estimator_.decision_function``; columns follow
            ``estimator_.classes_`` (equal to ``classes_`` unless a class
            received no training label).
        """
        refuse_dask(
            type(self).__name__, "decision_function", scale_out_advice("decision_function"), X=X
        )
        self._check_trained()
        return self.estimator_.decision_function(X)

    def score(self, X, y, sample_weight=None):
        """Accuracy against gold labels, or agreement with the label model.

        - 1-D ``y``: gold labels; accuracy of :meth:`predict`, leaving out the
          entries equal to ``abstain`` (unknown gold labels).
        - 2-D (or soft 3-D) ``y``: a label matrix; the fraction of covered rows
          on which :meth:`predict` agrees with the label model's most probable
          class, leaving out rows where the label model ties (within 1e-5).
          This is what model selection optimises without gold labels; use
          :func:`~skweak_e2e.metrics.make_gold_scorer` to select on gold
          labels instead. Each candidate is scored against its own label
          model, so these scores cannot rank candidates whose label models
          differ: when the label model's settings were changed by
          ``set_params`` (as ``GridSearchCV`` does), this score warns.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Features.
        y : array-like of shape (n_samples,), (n_samples, n_sources) or (n_samples, n_sources, n_classes)
            Gold labels or a label matrix.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
            Accuracy or agreement, in [0, 1].
        """
        refuse_dask(
            type(self).__name__, "score", scale_out_advice("score"), X=X, y=y
        )
        self._check_trained()
        y_arr = check_array(
            y, ensure_2d=False, allow_nd=True, dtype=None, input_name="y"
        )
        check_sample_alignment(_num_samples(X), y_arr.shape[0], "X", "y")
        if sample_weight is not None:
            sample_weight = check_sample_weight(sample_weight, y_arr.shape[0])
        if y_arr.ndim == 1 or (y_arr.ndim == 2 and y_arr.shape[1] == 1):
            gold = column_or_1d(y_arr)
            keep = ~abstain_mask(gold, self.abstain)
            if not keep.any():
                raise ValueError(
                    f"y holds no gold label: every entry equals abstain={self.abstain!r}."
                )
            pred = self.predict(X)
            return float(
                accuracy_score(
                    gold[keep],
                    pred[keep],
                    sample_weight=None
                    if sample_weight is None
                    else sample_weight[keep],
                )
            )
        if y_arr.ndim == 3:
            codes = y_arr.astype(np.float64)
        else:
            codes = encode_votes(y_arr, self.classes_, abstain=self.abstain)
        covered = is_covered(codes)
        if getattr(self, "_label_model_set", False):
            warnings.warn(
                f"{type(self).__name__}.score with a label matrix measures agreement "
                "with the classifier's own label model; candidates whose "
                "label_model settings differ are each scored against different "
                "labels, so their scores cannot be compared. To compare label "
                "models, score on gold labels: "
                "scoring=skweak_e2e.metrics.make_gold_scorer() with y_gold routed "
                "to it (see its documentation).",
                UserWarning,
                stacklevel=user_stacklevel(),
            )
        target = proba_to_labels(
            self.label_model_.predict_proba(codes), tie_break="abstain"
        )
        keep = covered & (target >= 0)
        if not keep.any():
            raise ValueError(
                "No row of y has an untied label-model label to compare with."
            )
        pred_codes = np.asarray(self.estimator_.predict(X)).astype(np.intp)
        return float(
            accuracy_score(
                target[keep],
                pred_codes[keep],
                sample_weight=None if sample_weight is None else sample_weight[keep],
            )
        )

    def set_params(self, **params):
        """Set the parameters of this estimator.

        Parameters
        ----------
        **params : dict
            Estimator parameters, nested ones as ``<component>__<param>``.

        Returns
        -------
        self : object
            The estimator.
        """
        if any(k == "label_model" or k.startswith("label_model__") for k in params):
            # Remembered so that score(X, L) can warn that agreement scores of
            # differently configured label models are not comparable.
            self._label_model_set = True
        return super().set_params(**params)

    # ------------------------------------------------------------- delegation
    @property
    def n_features_in_(self):
        """Number of features seen by ``estimator_`` during fit."""
        return self.estimator_.n_features_in_

    @property
    def feature_names_in_(self):
        """Feature names seen by ``estimator_`` during fit."""
        return self.estimator_.feature_names_in_

    def get_metadata_routing(self):
        """Get the metadata routing of this object.

        Returns
        -------
        routing : MetadataRouter
            ``sample_weight`` is consumed by this estimator (it weights the
            expanded rows); other fit parameters are routed to ``estimator``.
        """
        return (
            MetadataRouter(owner=self)
            .add_self_request(self)
            .add(
                estimator=self._estimator_template(),
                method_mapping=MethodMapping().add(caller="fit", callee="fit"),
            )
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        est_tags = get_tags(self._estimator_template())
        tags.input_tags = copy.deepcopy(est_tags.input_tags)
        tags.classifier_tags.poor_score = est_tags.classifier_tags.poor_score
        tags.non_deterministic = est_tags.non_deterministic
        return tags
