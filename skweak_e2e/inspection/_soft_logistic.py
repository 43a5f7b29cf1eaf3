"""The public soft-label logistic regression estimator."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from ..utils._math import softmax_rows
from ..utils._sklearn_compat import (
    Interval,
    StrOptions,
    _check_sample_weight,
    _fit_context,
)
from ..utils._atomic import atomic_fit
from ._linear_loss import LogisticModel

__all__ = ["SoftLabelLogisticRegression"]


class SoftLabelLogisticRegression(ClassifierMixin, BaseEstimator):
    """Multinomial logistic regression trained on soft (probabilistic) labels.

    Minimises ``1/n sum_i sum_c T_ic (-log p_c(x_i)) + l2/2 ||Theta||^2`` to
    stationarity (``||grad||_inf <= tol``), the intercept included in the
    penalty. This is the end model the influence functions of
    :class:`~skweak_e2e.SourceAwareInfluence` differentiate, and the estimator
    returned by its ``drop_harmful`` repair when no other end model was given.

    Parameters
    ----------
    l2 : float, default=1e-3
        Ridge strength ``lambda`` of the mean-loss objective (weights and
        intercept).
    fit_intercept : bool, default=True
        Whether to fit an intercept.
    logits : {"auto", "multinomial", "reference"}, default="auto"
        ``"multinomial"``: one logit per class. ``"reference"``: class 0 has
        the fixed logit 0 (binary: a single logit, as scikit-learn's binary
        ``LogisticRegression``). ``"auto"``: reference for two classes,
        multinomial otherwise.
    tol : float, default=1e-8
        Stationarity tolerance on the max-abs gradient.
    max_iter : int, default=1000
        L-BFGS iterations.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels (``0..C-1`` when fitted on soft labels).
    coef_ : ndarray of shape (n_logits, n_features)
        Weights of the free logits.
    intercept_ : ndarray of shape (n_logits,)
        Intercepts of the free logits (zeros without intercept).
    n_features_in_ : int
        Number of features.
    n_iter_ : int
        L-BFGS iterations.

    Examples
    --------
    >>> import numpy as np
    >>> from skweak_e2e.inspection import SoftLabelLogisticRegression
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> soft = np.array([[0.9, 0.1], [0.7, 0.3], [0.3, 0.7], [0.1, 0.9]])
    >>> clf = SoftLabelLogisticRegression(l2=0.01).fit(X, soft)
    >>> clf.predict(X)
    array([0, 0, 1, 1])
    """

    _parameter_constraints: dict = {
        "l2": [Interval(Real, 0, None, closed="left")],
        "fit_intercept": ["boolean"],
        "logits": [StrOptions({"auto", "multinomial", "reference"})],
        "tol": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self, l2=1e-3, *, fit_intercept=True, logits="auto", tol=1e-8, max_iter=1000
    ):
        self.l2 = l2
        self.fit_intercept = fit_intercept
        self.logits = logits
        self.tol = tol
        self.max_iter = max_iter

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True  # X is only multiplied, never densified
        return tags

    def _model(self, n_features, n_classes):
        reference = self.logits == "reference" or (
            self.logits == "auto" and n_classes == 2
        )
        return LogisticModel(
            n_features,
            n_classes,
            fit_intercept=self.fit_intercept,
            reference=reference,
            l2=self.l2,
        )

    @_fit_context(prefer_skip_nested_validation=True)
    @atomic_fit
    def fit(self, X, y, sample_weight=None):
        """Fit on hard labels (1-D) or soft labels (2-D, one column per class).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Features.
        y : array-like of shape (n_samples,) or (n_samples, n_classes)
            Hard labels, or non-negative class weights per sample (soft
            labels); rows of zeros drop out of the loss.
        sample_weight : array-like of shape (n_samples,), default=None
            Multiplies each row's label weights; the loss is then the
            weighted mean (a weight of 2 is a duplicated row).

        Returns
        -------
        self : SoftLabelLogisticRegression
            Fitted estimator.
        """
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse="csr",
            multi_output=True,
            dtype=np.float64,
            y_numeric=False,
        )
        if y.ndim == 2 and y.shape[1] > 1:
            T = np.asarray(y, dtype=np.float64)
            if not np.isfinite(T).all() or (T < 0).any():
                raise ValueError("Soft labels must be finite and non-negative.")
            self.classes_ = np.arange(T.shape[1])
        else:
            y = column_or_1d(y, warn=True)
            check_classification_targets(y)
            enc = LabelEncoder().fit(y)
            self.classes_ = enc.classes_
            if len(self.classes_) < 2:
                raise ValueError(
                    "SoftLabelLogisticRegression needs at least 2 classes; y has "
                    f"{len(self.classes_)} class."
                )
            T = np.eye(len(self.classes_))[enc.transform(y)]
        n_norm = None
        if sample_weight is not None:
            sw = _check_sample_weight(sample_weight, X, ensure_non_negative=True)
            if not sw.sum() > 0:
                raise ValueError(
                    "Every sample weight is zero; at least one must be positive."
                )
            T = T * sw[:, None]
            # The loss is the weighted mean: weight 2 is the same as a
            # duplicated row (the intercept-included ridge then matches too).
            n_norm = float(sw.sum())
        model = self._model(X.shape[1], T.shape[1])
        theta, info = model.fit(
            X, T, n_norm=n_norm, tol=self.tol, max_iter=self.max_iter
        )
        self._set_theta(model, theta)
        self.n_iter_ = info["n_iter"]
        return self

    @classmethod
    def from_theta(cls, model, theta, **params):
        """A fitted estimator holding parameters ``theta`` of ``model``.

        Used to hand back an end model fitted elsewhere (by the influence
        inspector, possibly on dask arrays) without fitting it again.

        Parameters
        ----------
        model : LogisticModel
            The objective ``theta`` belongs to (its features, classes and
            parameterisation).
        theta : ndarray of shape (n_params,)
            Flat parameters, row-major ``(n_features + 1, n_free)``.
        **params : dict
            Constructor parameters of the estimator.

        Returns
        -------
        estimator : SoftLabelLogisticRegression
            Fitted, with ``classes_`` the class indices ``0..C-1``.
        """
        est = cls(**params)
        est.classes_ = np.arange(model.n_classes)
        est.n_features_in_ = model.n_features
        est.n_iter_ = 0
        est._set_theta(model, theta)
        return est

    def _set_theta(self, model, theta):
        Th = theta.reshape(model.n_rows, model.n_free)
        self.coef_ = Th[: model.n_features].T.copy()
        self.intercept_ = (
            Th[model.n_features].copy()
            if model.fit_intercept
            else np.zeros(model.n_free)
        )
        self._theta = theta
        self._reference = model.reference

    def _get_model(self):
        n_classes = len(self.classes_)
        return self._model(self.n_features_in_, n_classes)

    def decision_function(self, X):
        """Confidence scores: the log-odds (two classes) or the class logits.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            Two classes: the log-odds of ``classes_[1]`` (positive means
            ``classes_[1]``), as scikit-learn's binary classifiers. More
            classes: the logit of every class.
        """
        Z = self._logits(X)
        return Z[:, 1] - Z[:, 0] if Z.shape[1] == 2 else Z

    def _logits(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse="csr", reset=False, dtype=np.float64)
        return self._get_model().logits(X, self._theta)

    def predict_proba(self, X):
        """Class probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Softmax of the logits; each row sums to 1.
        """
        Z = self._logits(X)
        return softmax_rows(Z)

    def predict(self, X):
        """Most probable class.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Predicted classes, from ``classes_``.
        """
        Z = self._logits(X)
        return self.classes_[np.argmax(Z, axis=1)]
