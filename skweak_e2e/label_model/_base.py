"""Base class shared by every label model."""

import warnings
from numbers import Integral

import numpy as np
import scipy.sparse as sp
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
)
from sklearn.utils.validation import check_is_fitted, validate_data

from ..utils._crowd import (
    check_sparse_label_matrix,
    sparse_is_covered,
    sparse_silent_sources,
)
from ..utils._dask import is_dask_collection, map_sum, row_blocks
from ..utils._hints import snorkel_hints
from ..utils._label_matrix import is_covered, warn_silent_sources
from ..utils._sklearn_compat import (
    Interval,
    StrOptions,
    _fit_context,
    _get_output_config,
    _num_samples,
)
from ..utils._targets import (
    TIE_TOL,
    check_gold_labels,
    check_sample_alignment,
    proba_to_labels,
)
from ..utils._validation import (
    check_class_prior,
    check_label_matrix,
    check_sample_weight,
    check_vote_container,
    fill_masked,
)
from ..utils._atomic import atomic_state
from ..utils._warnings import user_stacklevel

from ._dask import (
    as_dask_array,
    check_summary,
    map_rows,
    renumber_block,
    summarise_block,
)
from ._sparse_votes import sparse_tensor_scores
from ._tensor_form import apply_tensor_form, scores_to_proba

__all__ = ["BaseLabelModel"]

# The single-vote check needs enough rows to mean something.
_SINGLE_VOTE_MIN_ROWS = 50


# Every label model stores its tensor form W_ (n_sources, n_classes + 1,
# n_classes); a fit whose W_ alone would exceed this is refused up front.
TENSOR_BUDGET = 2 * 2**30


def check_tensor_size(n_sources, n_classes, owner):
    need = 8 * n_sources * (n_classes + 1) * n_classes
    if need > TENSOR_BUDGET:
        raise ValueError(
            f"{owner} with n_classes={n_classes} and {n_sources} sources needs a "
            f"tensor form of {need / 2**30:.1f} GiB (n_sources x (n_classes + 1) "
            f"x n_classes float64), above {TENSOR_BUDGET / 2**30:g} GiB. Check "
            "n_classes, or drop sources."
        )


# Per active source, the tensor-form entry of a class that no source voted
# for during fit (exp activation): three times log(1e-300).
_ABSENT_LOG_SCORE = 3 * np.log(1e-300)
# Rows scanned at a time by voted_classes (about 64 k entries).
_SCAN_ENTRIES = 1 << 16


def voted_classes(L, n_classes, sample_weight=None):
    """The classes that receive a vote (vote mass) on rows of positive weight.

    Scanned in row blocks, so that a large ``L`` needs no full-size
    temporary, and only until every class has been seen (usually within
    the first block).
    """
    keep = None if sample_weight is None else np.asarray(sample_weight) > 0
    if L.ndim == 3:
        L = L if keep is None else L[keep]
        return np.flatnonzero(L.sum(axis=(0, 1)) > 0)
    seen = np.zeros(n_classes + 1, dtype=bool)
    rows = max(1, _SCAN_ENTRIES // max(L.shape[1], 1))
    for start in range(0, L.shape[0], rows):
        block = L[start : start + rows]
        if keep is not None:
            block = block[keep[start : start + rows]]
        seen |= np.bincount(block.ravel().astype(np.intp) + 1, minlength=n_classes + 1) > 0
        if seen[1:].all():
            break
    return np.flatnonzero(seen[1:])


def _refuse_uncovered_weight():
    raise ValueError(
        "sample_weight is zero on every row with a vote: the rows it weighs "
        "are all uncovered (every source abstains), so the votes carry no "
        "weight and there is nothing to fit. Give rows with votes a positive "
        "weight (is_covered(L) marks them)."
    )


def _renumber(L, present, n_classes):
    """A validated ``L`` on the classes ``present``, renumbered 0, 1, ...

    Votes for other classes (only on rows of zero weight) become abstains.
    """
    if L.ndim == 3:
        return L[:, :, present]
    codes = np.full(n_classes + 1, -1, dtype=L.dtype)
    codes[present + 1] = np.arange(present.size)
    return codes[L.astype(np.intp) + 1]


def relative_weights(weight):
    """Sample weights rescaled so that the rows of positive weight average 1.

    Only ratios of weights carry meaning: the pseudo-counts (DawidSkene's
    ``alpha``), snorkel's ``mu_eps`` (from the number of rows) and the
    stopping rules of the solvers are in units of rows, so that a constant
    weight of 1e-10 (or 1e200) would otherwise change the fit. Weights of 0
    and 1 are returned unchanged (a weight of 0 still removes its row), and
    constant weights as None: the unweighted fit, to the last bit.
    """
    positive = np.count_nonzero(weight > 0)
    scaled = weight / weight.max()  # no overflow in the sum below
    if positive == weight.size and (scaled == 1.0).all():
        return None  # constant weights: exactly the unweighted fit
    return scaled * (positive / scaled.sum())


class BaseLabelModel(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Base class of the label models: transformers over a label matrix.

    A label model reads a label matrix ``L`` (``-1`` = abstain) and outputs,
    for every sample, a distribution over the classes. ``fit`` is a template:
    it validates ``L``, sets the common fitted attributes, then calls the
    hooks that subclasses implement:

    * ``_fit(L, sample_weight)`` (required) receives the validated ``L`` and
      the validated weights (None when not given) and must set ``W_`` (the
      tensor form, see :func:`~skweak_e2e.label_model.apply_tensor_form`);
      ``predict_proba`` is then the tensor form applied to ``L`` with the
      class activation ``activation`` ("identity" or "exp");
    * ``_fit_input(L, L_input, y, sample_weight)`` replaces ``_fit`` in
      models that also need the user's input as given (a wrapped model
      validates it itself); it calls ``_fit`` by default;
    * ``_fit_blocks(blocks, summary)`` fits on the row blocks of a dask
      array from map-reduced statistics (models without it refuse dask
      input); ``summary`` is a ``_dask.BlockSummary``;
    * ``_default_n_classes()`` gives the class count used when ``n_classes``
      is None (None: inferred from ``L``);
    * ``_estimate_class_prior(L, n_classes, sample_weight)`` backs
      ``class_prior="estimate"`` where a model supports it.

    A subclass whose ``fit`` needs other nested-validation settings overrides
    ``fit`` and calls ``self._fit_template(L, y)``.

    Rows where every source abstains are normal input: they get the
    model's posterior for the all-abstain pattern (the class prior unless the
    model treats abstaining as informative).

    Classes that no source votes for (on rows of positive weight) cost
    nothing: DawidSkene, Snorkel and LinearizedApprox fit on the classes
    that receive votes, and the absent classes keep their place in the
    outputs with zero prior and zero probability (``n_classes_`` and the
    output width do not change); a vote for one of them at predict time
    counts as an abstain. Masked entries of a numpy masked array are
    abstains.

    Notes
    -----
    Fitted attributes common to all label models: ``classes_``,
    ``n_classes_``, ``n_features_in_`` (the number of sources),
    ``class_prior_``, ``coverage_`` (fraction of training rows with at least
    one vote), ``silent_sources_`` and ``W_``.
    """

    activation = "exp"
    accepts_soft = True

    _parameter_constraints: dict = {
        "n_classes": [Interval(Integral, 2, None, closed="left"), None],
        "abstain": [Integral, None],
        "class_prior": ["array-like", None],
        "tie_break": [StrOptions({"abstain", "random", "lowest"})],
        "random_state": ["random_state"],
    }

    def _validate_L(self, L, *, reset):
        """Validate ``L`` with sklearn's machinery, then with the label rules."""
        if sp.issparse(L):
            return self._validate_sparse(L, reset=reset)
        L = fill_masked(L, self.abstain)  # masked votes are abstains
        check_vote_container(L)
        L = validate_data(
            self,
            L,
            reset=reset,
            dtype="numeric",
            ensure_all_finite=False,
            allow_nd=self.accepts_soft,
        )
        n_classes = self._default_n_classes() if reset else self.n_classes_
        L, n_classes = check_label_matrix(
            L,
            n_classes=n_classes,
            abstain=self.abstain,
            allow_soft=self.accepts_soft,
            require_votes=reset,
        )
        return L, n_classes

    def _validate_sparse(self, L, *, reset):
        """A sparse ``L`` (stored value = class + 1, implicit zero = abstain)."""
        n_classes = self._default_n_classes() if reset else self.n_classes_
        L, n_classes = check_sparse_label_matrix(
            L, n_classes=n_classes, require_votes=reset
        )
        if reset:
            self.n_features_in_ = L.shape[1]
            if hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
        elif L.shape[1] != self.n_features_in_:
            raise ValueError(
                f"L has {L.shape[1]} sources (columns) but {type(self).__name__} "
                f"was fitted with {self.n_features_in_}."
            )
        return L, n_classes

    @snorkel_hints
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, L, y=None, sample_weight=None):
        """Fit the label model on a label matrix.

        Parameters
        ----------
        L : array-like of shape (n_samples, n_sources) or (n_samples, n_sources, n_classes)
            Votes of the sources (``abstain`` for no vote), or soft votes. A
            dask array (or dask DataFrame) is fitted from statistics reduced
            over its row blocks, without gathering it (see the "Scaling out"
            page of the user guide). A scipy sparse matrix stores class
            index + 1 with the implicit zero as abstain (crowd labels, see
            :func:`~skweak_e2e.utils.label_matrix_from_long`); the fit then
            costs O(number of votes) per step.
        y : None
            Ignored; present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative row weights; a weight of 2 counts a row twice as
            much as a weight of 1, and a weight of 0 removes it. Only their
            ratios matter: they are rescaled to average 1 over the rows they
            keep, so that constant weights change nothing (pseudo-counts such
            as DawidSkene's ``alpha`` are in units of such rows). With a dask
            ``L`` it may be a dask array.

        Returns
        -------
        self : object
            The fitted label model.
        """
        return self._fit_template(L, y, sample_weight)

    def _fit_template(self, L_input, y, sample_weight=None):
        """Validate, set the common fitted attributes, then call the hooks."""
        # A fit that raises leaves the model as it was; the context manager
        # (not a decorator from utils) keeps the call going one way, down.
        with atomic_state(self):
            if is_dask_collection(L_input) or is_dask_collection(sample_weight):
                return self._fit_dask(L_input, y, sample_weight)
            L, n_classes = self._validate_L(L_input, reset=True)
            if y is not None:
                check_sample_alignment(L.shape[0], _num_samples(y), "L", "y")
            weight = None
            if sample_weight is not None:
                weight = check_sample_weight(sample_weight, L.shape[0])
                if not weight.sum() > 0:
                    raise ValueError(
                        "sample_weight sums to zero: there is nothing to fit."
                    )
                weight = relative_weights(weight)
            sparse = sp.issparse(L)
            covered = sparse_is_covered(L) if sparse else is_covered(L)
            if weight is not None and not weight[covered].sum() > 0:
                _refuse_uncovered_weight()
            check_tensor_size(L.shape[1], n_classes, type(self).__name__)
            self._set_classes(L, n_classes, weight)
            self.coverage_ = float(np.average(covered, weights=weight))
            self.silent_sources_ = warn_silent_sources(
                L, type(self).__name__, weight,
                silent=sparse_silent_sources(L, weight) if sparse else None,
            )
            # A sparse crowd matrix fits on its own class set (no renumbering).
            present = None if sparse else self._classes_to_fit(L, n_classes, weight)
            if present is None:
                self._fit_input(L, L_input, y, weight)
            else:
                self._fit_present_classes(
                    present,
                    lambda: self._fit_input(
                        _renumber(L, present, n_classes), L_input, y, weight
                    ),
                )
            self._n_features_out = n_classes
            if not sparse and L.ndim == 2:
                self._check_single_votes(L, weight)
            return self

    def _check_single_votes(self, L, weight):
        """Warn when the fit contradicts most rows that have a single vote.

        On a row with one vote, the majority is that vote. A fit that goes
        against it on most such rows has either found a spurious optimum
        or decided that the sources are worse than chance; both deserve a
        look before the labels are used.
        """
        voted = L >= 0
        single = np.flatnonzero(voted.sum(axis=1) == 1)
        if single.size < _SINGLE_VOTE_MIN_ROWS:
            return
        votes = L[single][voted[single]]
        proba = self._predict_proba(L[single])
        top = proba.max(axis=1)
        # A vote tied with the top class is not contradicted.
        agrees = proba[np.arange(single.size), votes] >= top - TIE_TOL
        share = weight[single] if weight is not None else None
        against = 1.0 - float(np.average(agrees, weights=share))
        if against > 0.5:
            warnings.warn(
                f"{type(self).__name__} predicts a class other than the vote on "
                f"{against:.0%} of the {single.size} rows with a single vote. A fit "
                "that contradicts most single votes has found a spurious optimum or "
                "believes the sources are worse than chance; compare it with "
                "MajorityVote on a few gold labels (e.g. score(L_dev, y_dev) or "
                "LabelModelClassifierCV) before using its labels.",
                UserWarning,
                stacklevel=user_stacklevel(),
            )

    # Models whose cost grows with n_classes fit on the classes that receive
    # votes only (see _fit_present_classes); MajorityVote needs no fit.
    _fits_present_classes = False

    def _classes_to_fit(self, L, n_classes, weight, class_votes=None):
        """The classes to fit on, or None to fit on all ``n_classes``.

        ``class_votes`` (the per-class vote counts of dask blocks) replaces
        the count over ``L``.
        """
        if not self._fits_present_classes or n_classes <= 2:
            return None
        if class_votes is None:
            present = voted_classes(L, n_classes, weight)
        else:
            present = np.flatnonzero(np.asarray(class_votes)[:n_classes] > 0)
        if present.size == n_classes:
            return None
        if present.size < 2:  # a model needs two classes: add the lowest absent
            absent = np.setdiff1d(np.arange(n_classes), present)
            present = np.sort(np.concatenate([present, absent[: 2 - present.size]]))
        return present

    def _fit_present_classes(self, present, fit):
        """Fit on the classes in ``present``, then widen to every class.

        A class that no source votes for costs nothing: a stray vote of 999
        made DawidSkene run 1000 EM iterations over 1000 classes. The model
        is fitted on ``L`` with the votes renumbered ``0..len(present)-1``
        and the class prior restricted to ``present`` (``fit()`` runs the
        model's fit on the renumbered votes); then ``W_`` and
        ``class_prior_`` (and the model's own class-shaped attributes, in
        ``_widen_classes``) get back ``n_classes`` classes, the absent ones
        with zero prior and zero probability, and a vote for an absent
        class (at predict time) counts as an abstain.
        """
        n_classes = self.n_classes_
        prior = self.class_prior_[present]
        if not prior.sum() > 0:
            raise ValueError(
                f"class_prior puts no mass on the classes the sources vote for "
                f"({present.tolist()}); got {self.class_prior_.tolist()}."
            )
        self._fit_classes = present
        self.n_classes_ = present.size
        self.classes_ = np.arange(present.size)
        self.class_prior_ = prior / prior.sum()
        fit()
        self._widen_classes(present, n_classes)
        del self._fit_classes
        self.n_classes_ = n_classes
        self.classes_ = np.arange(n_classes)

    def _widen_classes(self, present, n_classes):
        """``W_`` and ``class_prior_`` from ``present`` to all the classes."""
        W = self.W_
        # Outcome slots: abstain, then the votes; a vote for an absent class
        # reads the abstain slot.
        outcome = np.zeros(n_classes + 1, dtype=np.intp)
        outcome[present + 1] = np.arange(1, present.size + 1)
        full = np.zeros((W.shape[0], n_classes + 1, n_classes))
        if self.activation == "exp":
            # Far below any score of a present class (each at least
            # log(1e-300) per source and once for the prior): probability 0.
            active = np.ones(W.shape[0], dtype=bool)
            active[self.silent_sources_] = False
            full[active] = _ABSENT_LOG_SCORE
        full[:, :, present] = W[:, outcome, :]
        self.W_ = full
        prior = np.zeros(n_classes)
        prior[present] = self.class_prior_
        self.class_prior_ = prior

    def _fit_dask(self, L_input, y, sample_weight):
        """The fit template on the row blocks of a dask array."""
        owner = type(self).__name__
        if not hasattr(self, "_fit_blocks"):
            raise TypeError(
                f"{owner} does not fit on dask collections; got "
                f"{type(L_input).__name__}. Fit it on an in-memory L (a sample of "
                "rows, L[idx].compute()), or use MajorityVote, DawidSkene or "
                "Snorkel, which fit on dask arrays."
            )
        if not is_dask_collection(L_input):
            raise TypeError(
                f"sample_weight is a dask array but L is {type(L_input).__name__}; "
                "pass both as dask arrays, or both in memory."
            )
        L, names = as_dask_array(L_input)
        blocks = row_blocks(L, sample_weight, caller=owner)
        declared = self._default_n_classes()
        summary = map_sum(
            summarise_block, blocks, declared, self.abstain, self.accepts_soft
        )
        n_classes = check_summary(summary)
        if sample_weight is not None and not summary.covered_weight > 0:
            _refuse_uncovered_weight()
        if sample_weight is not None:
            # Relative weights, as in memory (see relative_weights).
            scale = summary.positive_rows / summary.weight_total
            if scale != 1.0:
                sample_weight = sample_weight * scale
                blocks = row_blocks(L, sample_weight, caller=owner)
                summary.weight_total *= scale
                summary.covered_weight *= scale
        if y is not None:
            check_sample_alignment(summary.n_samples, _num_samples(y), "L", "y")
        check_tensor_size(summary.n_sources, n_classes, owner)
        self.n_features_in_ = summary.n_sources
        if names is not None and all(isinstance(n, str) for n in names):
            self.feature_names_in_ = np.asarray(names, dtype=object)
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        self._set_classes(L, n_classes, sample_weight)
        self.coverage_ = summary.covered_weight / summary.weight_total
        silent = np.flatnonzero(summary.source_votes <= 0)
        self.silent_sources_ = warn_silent_sources(None, owner, silent=silent)
        present = self._classes_to_fit(None, n_classes, None, summary.class_votes)
        if present is None:
            self._fit_blocks(blocks, summary)
        else:
            self._fit_present_classes(
                present, lambda: self._fit_present_blocks(L, sample_weight, summary, present)
            )
        self._n_features_out = n_classes
        return self

    def _fit_present_blocks(self, L, sample_weight, summary, present):
        """``_fit_blocks`` on the row blocks with renumbered votes (abstain -1)."""
        n_classes = len(summary.class_votes)
        if any(len(c) > 1 for c in L.chunks[1:]):  # whole rows (and fibres) per block
            L = L.rechunk({axis: -1 for axis in range(1, L.ndim)})
        dtype = np.float64 if summary.soft else np.int16 if n_classes < 2**15 else np.int64
        chunks = L.chunks[:2] + ((present.size,) if summary.soft else ())
        L_fit = L.map_blocks(
            renumber_block, present, n_classes, self.abstain, dtype=dtype,
            chunks=chunks, meta=np.empty((0,) * L.ndim, dtype=dtype),
        )
        blocks = row_blocks(L_fit, sample_weight, caller=type(self).__name__)
        abstain, self.abstain = self.abstain, -1  # the renumbered votes' abstain
        try:
            self._fit_blocks(blocks, summary)
        finally:
            self.abstain = abstain

    def _set_classes(self, L, n_classes, sample_weight):
        """``n_classes_``, ``classes_`` and ``class_prior_`` (given or estimated)."""
        self.n_classes_ = n_classes
        self.classes_ = np.arange(n_classes)
        if isinstance(self.class_prior, str):  # "estimate", where supported
            self.class_prior_ = self._estimate_class_prior(L, n_classes, sample_weight)
        else:
            self.class_prior_ = check_class_prior(self.class_prior, n_classes)

    def _default_n_classes(self):
        """The class count to validate ``L`` with at fit time (None: infer)."""
        return self.n_classes

    def _fit_input(self, L, L_input, y, sample_weight):
        """Fit on the validated ``L``; ``L_input`` and ``y`` are as given."""
        self._fit(L, sample_weight)

    def _fit(self, L, sample_weight):  # pragma: no cover - abstract
        raise NotImplementedError

    def _estimate_class_prior(self, L, n_classes, sample_weight):  # pragma: no cover
        raise NotImplementedError

    @snorkel_hints
    def predict_proba(self, L):
        """Probabilistic labels.

        Parameters
        ----------
        L : array-like of shape (n_samples, n_sources) or (n_samples, n_sources, n_classes)
            Label matrix with the fitted number of sources.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Each row sums to one. Rows with no vote get the all-abstain
            posterior (the class prior for most models). A dask ``L`` gives
            a lazy dask array with the row chunks of ``L``.
        """
        check_is_fitted(self)
        if is_dask_collection(L):
            return map_rows(self, L, "predict_proba")
        L, _ = self._validate_L(L, reset=False)
        return self._predict_proba(L)

    def _predict_proba(self, L):
        if sp.issparse(L):
            return scores_to_proba(
                sparse_tensor_scores(L, self.W_), self.activation, self.class_prior_
            )
        return apply_tensor_form(L, self.W_, self.activation, self.class_prior_)

    def fit_predict(self, L, y=None, sample_weight=None):
        """Fit on ``L``, then return :meth:`predict` of ``L``.

        Parameters
        ----------
        L : array-like or sparse matrix of shape (n_samples, n_sources)
            Label matrix (see :meth:`fit`).
        y : None
            Ignored; present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights of the fit.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Class indices, or -1 for ties under ``tie_break="abstain"``.
        """
        return self.fit(L, y, sample_weight=sample_weight).predict(L)

    def transform(self, L):
        """Probabilistic labels (same as :meth:`predict_proba`).

        Parameters
        ----------
        L : array-like of shape (n_samples, n_sources) or (n_samples, n_sources, n_classes)
            Label matrix with the fitted number of sources.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilistic labels; each row sums to 1.
        """
        if is_dask_collection(L):
            container = _get_output_config("transform", self)["dense"]
            if container != "default":
                raise TypeError(
                    f'set_output(transform="{container}") would gather the lazy '
                    f"output of a dask L into one in-memory {container} frame. "
                    'Call set_output(transform="default") to keep a lazy dask '
                    "array, or use predict_proba(L) (lazy) and wrap blocks or a "
                    "computed result yourself."
                )
        return self.predict_proba(L)

    @snorkel_hints
    def predict(self, L):
        """Hard labels, with ties resolved by ``tie_break``.

        Parameters
        ----------
        L : array-like of shape (n_samples, n_sources) or (n_samples, n_sources, n_classes)
            Label matrix with the fitted number of sources.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Class indices, or -1 for a tie under ``tie_break="abstain"``.
            With ``tie_break="random"`` a tied row's class is drawn from a
            hash of its probabilities seeded by ``random_state`` (0 when
            None), so that it does not depend on the other rows. A dask
            ``L`` gives a lazy dask array.
        """
        if is_dask_collection(L):
            check_is_fitted(self)
            return map_rows(self, L, "predict")
        proba = self.predict_proba(L)
        return proba_to_labels(proba, self.tie_break, self.random_state, by_content=True)

    @snorkel_hints
    def score(self, L, y, sample_weight=None):
        """Accuracy of :meth:`predict` against gold labels.

        A prediction of -1 (a tie under ``tie_break="abstain"``) counts as an
        error, so that abstaining cannot inflate the score; gold labels equal
        to -1 (unknown) are ignored.

        Parameters
        ----------
        L : array-like of shape (n_samples, n_sources)
            Label matrix.
        y : array-like of shape (n_samples,)
            Gold class indices, -1 where unknown.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
            Weighted accuracy over the samples with a known gold label.
        """
        pred = self.predict(L)
        if is_dask_collection(pred):  # one label per row: small next to L
            pred = pred.compute()
        # A gold label that is no class counts as an error, as in accuracy_score.
        y = check_gold_labels(y, len(pred))
        weight = check_sample_weight(sample_weight, len(y))
        known = y != -1
        if not known.any():
            raise ValueError("y holds no gold label (every entry is -1).")
        correct = (pred == y)[known]
        return float(np.average(correct, weights=weight[known]))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Label matrices hold integer codes; the common checks then feed
        # non-negative integer data instead of floats.
        tags.input_tags.categorical = True
        # scipy.sparse L: stored value = class + 1, implicit zero = abstain.
        tags.input_tags.sparse = True
        tags.target_tags.required = False
        return tags
