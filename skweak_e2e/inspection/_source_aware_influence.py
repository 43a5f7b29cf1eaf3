"""The inspector: source-aware influence functions of a two-stage pipeline
(Zhang, Wang, Hsieh and Ratner, NeurIPS 2022). Positive influence = harmful
(the paper's sign; WRENCH's explainer returns the opposite, scaled)."""

import numbers
from functools import partial

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.pipeline import Pipeline
from sklearn.utils import Bunch, indexable
from sklearn.utils.validation import check_array, check_is_fitted

from ..utils._sklearn_compat import (
    Interval,
    StrOptions,
    _fit_context,
    _num_samples,
    _safe_indexing,
)
from ..utils._validation import check_label_matrix
from ..utils._atomic import atomic_state
from ..utils._dask import is_dask_collection
from ._backends import BackendOptions, closed_form_reference, make_backend
from ._l2_selection import select_l2
from ._linear_loss import LogisticModel
from ._pipeline import (
    check_target,
    check_votes_fit,
    class_labels,
    fit_model,
    input_abstain,
    linearize_if_needed,
    source_names,
    split_model,
    training_rows,
)
from ._repair import (
    MIN_FOLD_ROWS,
    SampleRemoval,
    SourceRemoval,
    TermRemoval,
    check_counts,
    check_fractions,
    cross_fit_repair,
    source_removal_influence,
    warn_unsupported,
)
from ._result import ResultBuilder
from ._dask_influence import DaskResultBuilder, prepare_dask, refusal
from ._terms import TermDecomposition
from ._torch_influence import is_torch_model

__all__ = ["SourceAwareInfluence"]


#: Ridge of a network's last layer under ``l2="auto"`` (no selection there).
L2_FALLBACK = 1e-3

#: Label mass of a gold validation row in the leave-one-out mislabel score
#: (chosen on the benchmark suite among 1, 3, 10 and 30).
GOLD_WEIGHT = 10.0

#: Default relative Hessian damping of the influence solves (see the
#: ``damping`` parameter of :class:`SourceAwareInfluence`): ``delta`` equal to
#: the mean eigenvalue ``tr(H) / D`` of the Hessian.
DAMPING_DEFAULT = 1.0



class SourceAwareInfluence(BaseEstimator):
    """Source-aware influence functions of a two-stage weak-supervision pipeline.

    A label model turns the votes ``L`` into probabilistic labels and an end
    model is trained on them with the noise-aware cross-entropy. Through the
    label model's tensor form ``W`` the training loss splits into one term
    per (training sample, source, class); this inspector scores every term's
    influence on a target loss — one test point, several, or the mean loss of
    a labelled validation set — and aggregates them per sample, per source,
    per vote and per label-model parameter (Zhang et al., 2022, Table 1). It is an
    inspector, not an estimator: :meth:`fit` prepares the analysis once
    (training labels, a stationary end model, a factorised Hessian), then
    :meth:`influence`, :meth:`explain`, :meth:`mislabel_scores` and
    :meth:`drop_harmful` answer queries.

    **Sign convention:** positive influence = **harmful**. ``phi`` is the
    derivative of the target loss with respect to up-weighting a training
    term; removing a term changes the target loss by about ``-phi / N``
    (``N`` = number of training rows; exactly to first order with
    ``damping=0``).

    Parameters
    ----------
    model : None, tuple (label_model, end_model), LabelModelClassifier or label model, default=None
        The pipeline. ``None``: :class:`~skweak_e2e.MajorityVote` and the
        closed-form logistic regression. A label model (fitted or not): the
        closed-form logistic regression on its labels. A pair
        ``(label_model, end_model)``: ``end_model`` may be None (closed form),
        a scikit-learn ``LogisticRegression`` (fitted or not; its penalty is
        translated into the mean-loss form ``l2 = 1 / (C * N)`` with an
        unpenalised intercept), a fitted ``Pipeline`` ending in one (the
        earlier steps are a fixed feature map), a ``torch.nn.Module`` or a
        fitted skorch net (outputs one logit per class, or one logit for two
        classes). A :class:`~skweak_e2e.LabelModelClassifier`
        (``label_model_``, ``estimator_``; fitted on ``(X, L)`` first if
        needed) is read the same way; its classes must be the label model's
        indices ``0..C-1``. Unfitted label models are fitted on ``L``. The
        end model is always analysed on the *soft* labels of the covered
        rows (a model fitted on hard labels or on uncovered rows is polished
        to that objective).
    method : {"auto", "rw", "wm"}, default="auto"
        ``"rw"`` (reweighting, Zhang et al. eq. 11): up-weights a term without
        renormalising the label; additive; needs an identity label model
        (exp models are linearised, see ``linearize``). ``"wm"``
        (weight-moving, eq. 14): removes the term's parameter from the label
        and renormalises; works on identity and exp models; not additive.
        ``"auto"``: RW for ``influence``, ``explain`` and
        ``mislabel_scores``, WM for ``drop_harmful``'s term removals (on the
        benchmark suite RW gave the best mislabel detector, and WM the
        repair that never cost half a point of test accuracy; RW lost 1.1
        points on one set). Governs every query: ``influence``, ``explain``,
        ``mislabel_scores`` (how a vote is removed) and ``drop_harmful``
        (how terms are scored and removed), unless the call passes its own
        ``method``.
    relative : bool, default=False
        Divide each term's influence by the square root of the RW term's
        self-influence (RelatIF). Needs an identity label model and the
        explicit inverse Hessian. Governs ``influence``, ``explain``,
        ``mislabel_scores(score="influence")`` and ``drop_harmful``'s term
        ranking, unless the call passes its own ``relative``.
    l2 : float or "auto", default="auto"
        Ridge strength ``lambda`` of the mean-loss objective of the
        closed-form logistic regression (weights and intercept), of a torch
        network's last layer, and the base damping of the full-network GGN
        (``damping`` adds to it). Ignored for a scikit-learn
        ``LogisticRegression`` (its ``C`` sets it). ``"auto"``: for the
        closed-form model, the largest value of ``10^-5 .. 1`` (half-decade
        steps) whose held-out loss is within 1% of the lowest: the mean cross-entropy on ``fit``'s
        ``X_val, y_val`` when given, else the 3-fold cross-validated
        noise-aware loss on the training labels; ``1e-3`` for a network.
        Influences of an overfitted end model mostly point at what any
        regularisation would fix, so the analysed model should be tuned.
    damping : float, default=1.0
        Damping of the Hessian of the influence solves, relative to its mean
        eigenvalue: ``H + delta I`` with ``delta = damping * tr(H) / D``
        (``D`` parameters; a fixed-seed Hutchinson trace for the
        full-network GGN). The end model itself keeps its ridge ``l2``.
        ``damping=0`` gives the exact first-order effect of retraining;
        damping trades that exactness for robustness to the nearly flat
        directions of ``H`` (Koh & Liang, 2017), and shrinks the scores, so
        use 0 when the size of ``-phi / N`` matters. On the benchmark suite
        1 beat 0 for every mislabel score and the repair. One damped Hessian
        serves every score (RW sums still equal the ordinary influence;
        RelatIF uses the damped inverse).
    solver : {"auto", "cholesky", "cg"}, default="auto"
        Hessian solves: Cholesky of the explicit Hessian, or conjugate
        gradients on Hessian-vector products. ``"auto"``: Cholesky up to 4096
        parameters.
    logits : {"auto", "multinomial", "reference"}, default="auto"
        Parameterisation of the closed-form model: one logit per class, or
        class 0 fixed at logit 0 (binary: one logit). ``"auto"``: reference
        for two classes.
    linearize : {"auto", True, False}, default="auto"
        What to do with exp label models (DawidSkene, Snorkel). ``"auto"``:
        linearise them for ``method="rw"`` or ``"auto"``, or ``relative`` (fit
        :class:`~skweak_e2e.LinearizedApprox` and retrain the end model on its
        labels, as Zhang et al. do), use them directly for ``"wm"``. ``True``:
        always linearise. ``False``: never (RW then raises).
    polish : bool, default=True
        Continue training a given end model (scikit-learn or a network's last
        layer) to stationarity before computing influences; the formulas
        assume ``grad R = 0``. ``False`` uses the given parameters as they are.
    network : {"last_layer", "full"}, default="last_layer"
        Torch end models: exact influence of the last layer (features fixed),
        or the whole network through GGN conjugate gradients and JVPs.
    tol : float, default=1e-8
        Stationarity tolerance (max-abs gradient) of the end-model fits.
    max_iter : int, default=1000
        L-BFGS iterations of the end-model fits.
    cg_tol : float, default=None
        Relative residual of conjugate gradients; 1e-10 (closed form) or 1e-6
        (full network) when None.
    cg_max_iter : int, default=None
        Conjugate-gradient iterations; 1000 (closed form) or 200 (full
        network) when None.
    device : str or torch.device, default="auto"
        Torch device of network end models; ``"auto"`` = CUDA when available.
    source_names : array-like of str, default=None
        One name per source, used by the results, ``explain``, the plots and
        ``drop_harmful``. None: the columns of a DataFrame ``L``, else
        ``"source 0"``, ``"source 1"``...
    class_names : array-like, default=None
        One label per class index ``0..C-1``. None: the label model's
        ``classes_`` when it has them, else the indices.

    Attributes
    ----------
    label_model_ : object
        The fitted label model of the pipeline.
    linearized_model_ : object or None
        The LinearizedApprox that replaced an exp label model, if any.
    W_ : ndarray of shape (n_sources, n_classes + 1, n_classes)
        Tensor form the terms come from.
    activation_ : {"identity", "exp"}
        Its activation.
    train_index_ : ndarray of shape (n_train,)
        Rows of ``X``/``L`` used for training (covered rows with label mass).
    n_train_ : int
        ``N``, the number of training rows.
    labels_ : ndarray of shape (n_train, n_classes)
        The end model's training labels.
    end_model_ : object
        The end model the influences refer to (after polishing):
        a :class:`SoftLabelLogisticRegression`, a scikit-learn
        ``LogisticRegression`` copy, or a torch module.
    stationarity_ : dict
        ``grad_inf_given`` (max-abs gradient of a given end model),
        ``grad_inf`` (after polishing), iteration counts.
    n_samples_, n_sources_, n_classes_ : int
        Shape of the training label matrix.
    method_, relative_ : str, bool
        The ``method`` (``"rw"`` under ``"auto"``) and ``relative`` of the
        queries (change the parameters and refit to switch).
    l2_ : float
        The ridge strength of the analysed end model (``l2``, or its
        held-out choice under ``"auto"``).
    l2_validation_loss_ : ndarray or None
        The held-out loss at every grid value when ``l2="auto"`` chose it.
    source_names_ : ndarray of str
        Names of the sources.
    classes_ : ndarray
        Class labels of the indices ``0..C-1``.

    See Also
    --------
    skweak_e2e.MajorityVote : Identity label model.
    SoftLabelLogisticRegression : The closed-form end model.

    References
    ----------
    J. Zhang, H. Wang, C.-Y. Hsieh, A. Ratner. Understanding Programmatic
    Weak Supervision via Source-aware Influence Function. NeurIPS 2022.

    Examples
    --------
    >>> from skweak_e2e import SourceAwareInfluence
    >>> from skweak_e2e.datasets import make_weak_supervision
    >>> X, L, y = make_weak_supervision(300, 5, n_features=4, random_state=0)
    >>> sai = SourceAwareInfluence(l2=1e-2).fit(X[:200], L[:200])
    >>> res = sai.influence(X[200:], y[200:])  # mean validation loss
    >>> res.per_source.shape, res.per_vote.shape
    ((5,), (200, 5))
    >>> bool(abs(res.per_sample.sum() - res.per_source.sum()) < 1e-10)
    True
    """

    _parameter_constraints: dict = {
        "model": "no_validation",
        "method": [StrOptions({"auto", "rw", "wm"})],
        "relative": ["boolean"],
        "l2": [Interval(numbers.Real, 0, None, closed="left"), StrOptions({"auto"})],
        "damping": [Interval(numbers.Real, 0, None, closed="left")],
        "solver": [StrOptions({"auto", "cholesky", "cg"})],
        "logits": [StrOptions({"auto", "multinomial", "reference"})],
        "linearize": [StrOptions({"auto"}), "boolean"],
        "polish": ["boolean"],
        "network": [StrOptions({"last_layer", "full"})],
        "tol": [Interval(numbers.Real, 0, None, closed="neither")],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "cg_tol": [Interval(numbers.Real, 0, None, closed="neither"), None],
        "cg_max_iter": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "device": "no_validation",  # a str or a torch.device
        "source_names": ["array-like", None],
        "class_names": ["array-like", None],
    }

    def __init__(
        self,
        model=None,
        *,
        method="auto",
        relative=False,
        l2="auto",
        damping=DAMPING_DEFAULT,
        solver="auto",
        logits="auto",
        linearize="auto",
        polish=True,
        network="last_layer",
        tol=1e-8,
        max_iter=1000,
        cg_tol=None,
        cg_max_iter=None,
        device="auto",
        source_names=None,
        class_names=None,
    ):
        self.model = model
        self.method = method
        self.relative = relative
        self.l2 = l2
        self.damping = damping
        self.solver = solver
        self.logits = logits
        self.linearize = linearize
        self.polish = polish
        self.network = network
        self.tol = tol
        self.max_iter = max_iter
        self.cg_tol = cg_tol
        self.cg_max_iter = cg_max_iter
        self.device = device
        self.source_names = source_names
        self.class_names = class_names

    # ================================================================= fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, L, *, X_val=None, y_val=None):
        """Prepare the influence analysis of the pipeline on ``(X, L)``.

        Fits the label model if needed (and linearises an exp one when
        required), selects the training rows (covered rows with label mass),
        chooses the ridge strength when ``l2="auto"``, trains or polishes the
        end model on their labels to stationarity and factorises its Hessian.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training features (for a torch end model: any array its module
            accepts). A sparse matrix (e.g. TF-IDF) is never densified. With
            dask arrays ``X`` and ``L`` and a closed-form end model, the
            analysis runs block by block and per-row results are lazy (see
            the user guide's "Scaling out" page).
        L : array-like or DataFrame of shape (n_samples, n_sources) or (n_samples, n_sources, n_classes)
            Training votes, ``-1`` = abstain (or soft votes). The columns of a
            DataFrame name the sources (see ``source_names``).
        X_val : {array-like, sparse matrix} of shape (n_val, n_features), default=None
            Labelled validation inputs. With ``l2="auto"`` the ridge strength
            of the closed-form end model is chosen on the mean cross-entropy
            on ``(X_val, y_val)``; without them, on the cross-validated
            noise-aware loss on the training labels (see ``l2``).
        y_val : array-like of shape (n_val,), default=None
            Gold classes of ``X_val``.

        Returns
        -------
        self : SourceAwareInfluence
            The prepared inspector.
        """
        # A fit that raises leaves the inspector as it was.
        with atomic_state(self):
            if any(map(is_dask_collection, (X, L, X_val, y_val))):
                return self._fit_dask(X, L, X_val, y_val)
            data = self._validate(L, X_val, y_val)
            label_model, end_model = fit_model(*data.model, X, L)
            X, torch_end = self._check_features(X, end_model, data.L.shape[0])
            W, activation = self._tensor_form(label_model, data.L, torch_end)
            rows, scores = training_rows(data.L, W, activation)
            decomposition = TermDecomposition(
                data.L[rows], W, activation, scores=scores[rows]
            )
            self._set_training(data, label_model, decomposition, rows)
            X_train = X if rows.all() else _safe_indexing(X, np.flatnonzero(rows))
            self.l2_ = self._select_l2(end_model, torch_end, X_train, X_val, y_val)
            self._backend = make_backend(
                end_model,
                X_train,
                self.labels_,
                self.n_classes_,
                self._options(self.l2_),
                torch_end=torch_end,
            )
            self._finish_fit()
        return self

    # ------------------------------------------------------------ fit steps
    def _validate(self, L, X_val, y_val):
        """The votes, validated before any label model is fitted on them."""
        if (X_val is None) != (y_val is None):
            raise ValueError("Pass both X_val and y_val, or neither.")
        model = split_model(self.model)
        label_model, _, classifier = model
        W = getattr(label_model, "W_", None)
        if W is not None:
            n_classes = np.asarray(W).shape[2]
        else:
            n_classes = getattr(label_model, "n_classes", None)
        L_valid, _ = check_label_matrix(
            L,
            n_classes=n_classes,
            abstain=input_abstain(label_model, classifier),
            allow_soft=True,
        )
        return Bunch(L=L_valid, model=model, frame_names=getattr(L, "columns", None))

    @staticmethod
    def _check_features(X, end_model, n_samples):
        """``(X, torch_end)``: ``X`` validated for the end model's kind."""
        torch_end = end_model is not None and is_torch_model(end_model)
        if torch_end or isinstance(end_model, Pipeline):
            X = indexable(X)[0]  # the network / pipeline reads X itself
        else:
            X = check_array(X, accept_sparse="csr", dtype=np.float64)
        if _num_samples(X) != n_samples:
            raise ValueError(
                f"X has {_num_samples(X)} rows but L has {n_samples}; they "
                "must describe the same samples."
            )
        return X, torch_end

    def _tensor_form(self, label_model, L, torch_end):
        """``(W, activation)`` of the terms: the label model's, or linearised."""
        W = np.asarray(label_model.W_, dtype=np.float64)
        check_votes_fit(L, W)
        W, activation, self.linearized_model_ = linearize_if_needed(
            label_model,
            L,
            W,
            self.method in ("auto", "rw") or self.relative,
            self.linearize,
        )
        if self.relative and torch_end and self.network == "full":
            raise ValueError(
                "relative=True needs the explicit inverse Hessian; use "
                "network='last_layer' for torch end models."
            )
        return W, activation

    def _set_training(self, data, label_model, decomposition, rows):
        """The fitted attributes that describe the training terms."""
        self.train_index_ = np.flatnonzero(rows)
        self._decomposition = decomposition
        self.labels_ = decomposition.labels
        self.n_train_ = int(self.train_index_.size)
        self._set_model(label_model, decomposition.W, decomposition.activation,
                        data.L.shape[:2], data.frame_names)

    def _set_model(self, label_model, W, activation, shape, frame_names):
        """The fitted attributes of the label model, the shape and the names."""
        self.label_model_ = label_model
        self.W_ = W
        self.activation_ = activation
        self.n_samples_, self.n_sources_ = shape
        self.n_classes_ = W.shape[2]
        # "auto": RW for the scores (additive, exact group influences; the
        # best mislabel detector), WM for drop_harmful's removals.
        self.method_ = "rw" if self.method == "auto" else self.method
        self._repair_method = "wm" if self.method == "auto" else self.method
        self.relative_ = bool(self.relative)
        self.source_names_ = source_names(
            self.source_names, frame_names, self.n_sources_
        )
        self.classes_ = class_labels(self.class_names, label_model, self.n_classes_)

    def _finish_fit(self):
        """The end model, its stationarity and the result builder."""
        self.end_model_ = self._backend.end_model
        self.stationarity_ = dict(getattr(self._backend, "stationarity", {}))
        self._builder = ResultBuilder(
            self._decomposition,
            self._backend,
            self.train_index_,
            self.n_samples_,
            self.source_names_,
            self.classes_,
        )

    def _fit_dask(self, X, L, X_val, y_val):
        """The fit on dask arrays: reduced statistics, lazy per-row results."""
        if (X_val is None) != (y_val is None):
            raise ValueError("Pass both X_val and y_val, or neither.")
        state = prepare_dask(self, X, L, X_val, y_val)
        data = state.data
        self._set_model(state.label_model, state.W, state.activation,
                        (data.n_samples, state.n_sources), state.frame_names)
        self.linearized_model_ = None
        self.l2_validation_loss_ = state.l2_losses
        self._decomposition = None
        self.n_train_ = data.n_train
        self._backend = state.backend
        self.l2_ = L2_FALLBACK if state.l2 == "auto" else float(state.l2)
        self.train_index_, self.labels_ = data.lazy_training_rows()
        self.end_model_ = state.backend.end_model
        self.stationarity_ = dict(state.backend.stationarity)
        self._builder = DaskResultBuilder(
            data, state.backend, state.activation, self.n_classes_,
            self.source_names_, self.classes_,
        )
        return self

    def _select_l2(self, end_model, torch_end, X, X_val, y_val):
        """The end model's ridge: the given one, or the held-out choice."""
        self.l2_validation_loss_ = None
        if self.l2 != "auto":
            return float(self.l2)
        if end_model is not None:  # a network's layer (a LogisticRegression has C)
            return L2_FALLBACK
        if X_val is not None:
            X_val, y_val = check_target(X_val, y_val, X.shape[1], self.n_classes_)
        reference = closed_form_reference(self.logits, self.n_classes_)
        l2, self.l2_validation_loss_ = select_l2(
            partial(LogisticModel, X.shape[1], self.n_classes_, reference=reference),
            X,
            self.labels_,
            X_val=X_val,
            y_val=y_val,
        )
        return l2

    def _options(self, l2):
        return BackendOptions.from_params(self.get_params(deep=False), l2)

    # ============================================================ queries
    def _check_target(self, X, y, reduce="mean", method="influence"):
        if not (is_dask_collection(X) or is_dask_collection(y)):
            return check_target(X, y, self._backend.n_features, self.n_classes_)
        if self._decomposition is not None:
            raise refusal(method, "the inspector was fitted in memory: pass the "
                          "target in memory (X.compute(), y.compute()), or fit the "
                          "inspector on dask arrays")
        if not is_dask_collection(X):
            raise refusal(method, "X is in memory but y is a dask array: pass "
                          "y.compute(), or both X and y as dask arrays")
        if reduce == "none":
            raise refusal(method, "one result per target point needs the targets "
                          "in memory: pass X.compute() and y.compute(), or reduce="
                          "'mean' / 'sum' with X and y as dask arrays")
        if X.ndim != 2 or X.shape[1] != self._backend.n_features:
            raise ValueError(
                f"X must be 2-D with {self._backend.n_features} features; got shape "
                f"{X.shape}."
            )
        return X, y

    def _result(self, u, method=None, relative=None):
        method = self.method_ if method is None else method
        relative = self.relative_ if relative is None else relative
        return self._builder.result(u, method, relative)

    def influence(self, X, y, *, reduce="mean"):
        """Influence of every training term on a target loss.

        Positive = **harmful**: up-weighting the term raises the target loss;
        removing it changes the loss by about ``-phi / n_train_``.

        Parameters
        ----------
        X : array-like of shape (n_targets, n_features)
            Target inputs (test points or a validation set).
        y : array-like of shape (n_targets,)
            Their gold classes.
        reduce : {"mean", "sum", "none"}, default="mean"
            Target loss: the mean (e.g. validation loss) or the sum of the
            points' cross-entropies, or ``"none"``: one result per point.

        Returns
        -------
        result : InfluenceResult or list of InfluenceResult
            Per-sample, per-source, per-vote and per-parameter aggregates,
            and ``terms()`` for the individual (sample, source, class) scores.
        """
        check_is_fitted(self)
        if reduce not in ("mean", "sum", "none"):
            raise ValueError(f"reduce must be 'mean', 'sum' or 'none'; got {reduce!r}.")
        X, y = self._check_target(X, y, reduce)
        U = self._backend.directions(X, y, reduce)
        results = [self._result(u) for u in U]
        return results if reduce == "none" else results[0]

    def explain(self, x, y, *, top_k=5):
        """The training samples, sources and votes most responsible for a prediction.

        The target is the loss of one labelled test point; "responsible"
        means the largest (most harmful, positive) influence, as in Zhang et al. (2022)
        Table 2.

        Parameters
        ----------
        x : array-like of shape (n_features,) or (1, n_features)
            The test input (for a network or a pipeline: one raw input,
            without the batch axis).
        y : int
            Its gold class.
        top_k : int, default=5
            How many of each to return.

        Returns
        -------
        explanation : Bunch
            ``proba`` (end-model probabilities of ``x``, one per entry of
            ``classes``), ``samples``, ``sources`` and ``votes`` (each a
            Bunch with indices and ``influence``, most harmful first; sources
            also give their ``name``; votes give ``source_name``, the
            ``vote`` index and its class label ``vote_label``, None for an
            abstention), and ``result`` (the full :class:`InfluenceResult`).
        """
        check_is_fitted(self)
        if is_dask_collection(x):
            raise refusal("explain", "explain takes one test point: pass it in memory "
                          "(x.compute())")
        if not self._backend.raw_inputs:
            x = x if hasattr(x, "tocsr") else np.atleast_2d(np.asarray(x, np.float64))
        else:  # one raw input for a network or a pipeline: add the batch axis
            x = indexable([x])[0] if isinstance(x, str) else np.asarray(x)[None]
        x, y = self._check_target(x, np.atleast_1d(y))
        if len(y) != 1:
            raise ValueError("explain takes one test point; use influence() for a set.")
        res = self.influence(x, y, reduce="sum")
        proba = self._backend.proba(x)[0]
        top = self._builder.top_components(res, int(top_k))
        src = np.argsort(-res.per_source, kind="stable")[: int(top_k)]
        names = self.source_names_
        labels = np.array(
            [self.classes_[v] if v >= 0 else None for v in top.votes], dtype=object
        )
        return Bunch(
            proba=proba,
            classes=self.classes_,
            samples=Bunch(index=top.samples, influence=top.sample_influence),
            sources=Bunch(index=src, name=names[src], influence=res.per_source[src]),
            votes=Bunch(
                sample=top.rows,
                source=top.cols,
                source_name=names[top.cols],
                vote=top.votes,
                vote_label=labels,
                influence=top.vote_influence,
            ),
            result=res,
        )

    def mislabel_scores(
        self,
        X=None,
        y=None,
        *,
        score="leave_one_out",
        method=None,
        relative=None,
        gold_weight=GOLD_WEIGHT,
    ):
        """Per-vote suspicion scores: high = the vote ``L_ij`` is likely wrong.

        Two detectors, both built on the influence machinery:

        * ``score="leave_one_out"`` (default): ``1 - p_i^(-ij)[L_ij]``, one
          minus the end model's probability of the voted class at ``x_i``
          once the vote is removed from the training labels (``method``: its
          mass (RW) or its parameter with renormalisation (WM)), computed to
          first order by the influence function instead of retraining. A
          vote the rest of the pipeline does not support scores high. No
          gold labels are needed; given a labelled validation set ``(X,
          y)``, the end model is first refitted with those rows as well
          (one-hot labels of mass ``gold_weight``), so that votes the gold
          labels contradict score higher. Models above 4096 parameters (CG
          solver) use the Jacobi approximation of ``H^-1``.
        * ``score="influence"``: Zhang et al.'s detector, the influence
          ``phi_L_ij`` of the vote on the mean validation loss of ``(X, y)``
          (positive = harmful = suspicious), with ``method`` and ``relative``
          (RelatIF).

        On the benchmark suite (ten sets: two WRENCH text sets, three text
        tasks with 6 to 55 hand-written LFs, three tabular and two synthetic
        sets; see the benchmarks page) the default with a validation set,
        leave-one-out with RW removal and the gold rows at weight 10, had a
        mean AP per LF of 0.756 (gold weights 1, 3 and 30: 0.752, 0.757 and
        0.756; WM removal 0.747) and a pooled AP over all votes of 0.774
        (0.758, 0.768, 0.775); without a validation set, the gold-free
        score had 0.738 and 0.735. The baselines: KNN on the validation set
        0.610, confident learning 0.711, end-model disagreement 0.739,
        label-model disagreement 0.628; the paper's validation influence
        (``score="influence"``) 0.606 with RW, 0.742 with RelatIF where the
        explicit inverse Hessian exists (five small sets). A ten times
        stronger ridge raised the mean AP per LF (0.766) but lowered the
        pooled AP (0.758): the analysed model's ``l2`` is kept. Use
        ``score="influence"`` to ask which votes hurt a specific target set
        (e.g. a slice with known errors).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_val, n_features), default=None
            Labelled validation inputs: the target of ``score="influence"``
            (required), extra training rows of the leave-one-out score
            (optional).
        y : array-like of shape (n_val,), default=None
            Their gold classes.
        score : {"leave_one_out", "influence"}, default="leave_one_out"
            The detector (see above).
        method : {"rw", "wm"}, default=None
            How a vote is removed (RW: its label mass; WM: its parameter,
            the label renormalised). None: the inspector's ``method`` (for
            an exp label model fitted with ``method="wm"``, only WM exists).
        relative : bool, default=None
            RelatIF influences (``score="influence"`` only; needs the
            explicit inverse Hessian). None: the inspector's ``relative``
            for ``score="influence"``; the leave-one-out score has no
            relative form and ignores the inspector's.
        gold_weight : float, default=10.0
            Label mass of each validation row in the refit of the
            leave-one-out score (a training row has mass 1).

        Returns
        -------
        scores : ndarray of shape (n_samples, n_sources)
            The score of every vote of a training row; NaN for abstentions
            and rows not used in training.
        """
        check_is_fitted(self)
        if score not in ("leave_one_out", "influence"):
            raise ValueError(
                f"score must be 'leave_one_out' or 'influence'; got {score!r}."
            )
        if (X is None) != (y is None):
            raise ValueError("Pass both X and y (a labelled validation set), or neither.")
        if score == "leave_one_out":
            # The inspector's ``relative`` has no leave-one-out form: it only
            # governs the influence score; an explicit request is an error.
            if relative:
                raise ValueError("relative=True applies to score='influence' only.")
            method = self._variant(method, False)[0]
            backend = self._backend
            if is_dask_collection(X) and self._decomposition is None:
                raise refusal("mislabel_scores", "the gold rows of the leave-one-out "
                              "score join the refit in memory: pass them computed "
                              "(X.compute(), y.compute())")
            if X is not None:
                if not isinstance(gold_weight, numbers.Real) or not gold_weight > 0:
                    raise ValueError(
                        f"gold_weight must be a positive number; got {gold_weight!r}."
                    )
                if not hasattr(backend, "with_gold_rows"):
                    raise ValueError(
                        "score='leave_one_out' needs the closed-form end model or a "
                        "network's last layer (network='last_layer')."
                    )
                backend = backend.with_gold_rows(
                    *self._check_target(X, y, method="mislabel_scores"), gold_weight
                )
            return self._builder.leave_one_out(backend, method)
        if X is None or y is None:
            raise ValueError("score='influence' needs the validation set X, y.")
        method, relative = self._variant(method, relative)
        Xv, yv = self._check_target(X, y, method="mislabel_scores")
        u = self._backend.directions(Xv, yv, "mean")[0]
        return self._builder.vote_scores(self._result(u, method, relative))

    def _variant(self, method, relative):
        method = self.method_ if method is None else method
        relative = self.relative_ if relative is None else bool(relative)
        return self._builder.check_variant(method, relative)

    def drop_harmful(
        self, X, y, *, unit="term", fractions=None, method=None, cv=5
    ):
        """Remove the most harmful training components and refit, if it helps on held-out rows.

        Ranks the training components by their influence on the mean
        validation loss of ``(X, y)``, removes the top fraction ``q`` of the
        harmful ones (positive influence) and retrains the end model. The
        fraction is chosen by **cross-fitting**: the validation set is cut
        into ``cv`` folds; for each, the components are scored on the other
        folds and every candidate's retrained model is judged on the held-out
        fold. A removal is kept only if its held-out accuracy is not below
        the unrepaired model's and its held-out loss change is below zero by
        more than one standard error; otherwise nothing is removed (with a
        warning when a removal looked better but not clearly). The final
        model scores the components on the whole validation set and removes
        the chosen fraction. Only end models with a closed form are
        retrained (the logistic regressions, or a network's last layer).

        Scoring and selecting on the same rows (``cv=None``, the protocol of
        Zhang et al., 2022, Theorem 1) can only lower the *validation* loss;
        on the benchmark suite it lost up to 2.4 points of test accuracy,
        where the held-out choice lost at most 0.3 and lowered the test
        loss on 9 of 10 sets (see the benchmarks page).

        Parameters
        ----------
        X : array-like of shape (n_val, n_features)
            Labelled validation inputs.
        y : array-like of shape (n_val,)
            Their gold classes.
        unit : {"term", "sample", "source"}, default="term"
            ``"term"``: (sample, source, class) terms, scored and removed by
            ``method``. ``"sample"``: whole training rows by ordinary
            influence (the "IF" baseline). ``"source"``: whole sources,
            their parameters zeroed and labels renormalised, ranked by the
            first-order effect of that removal (rows only the source covered
            leave training, so a source whose coverage is worth more than
            its noise is not harmful); candidates are 0, 1, 2, ... sources.
        fractions : sequence of float, default=None
            Fractions ``q`` of the harmful components to try (0, no removal,
            is always tried); when None,
            ``(0, .01, .02, .05, .1, .2, .3, .5, .7, 1)``. With
            ``unit="source"``: numbers of sources to drop (default: every
            count from 0 to the number of harmful sources).
        method : {"wm", "rw"}, default=None
            Influence and removal of terms (``unit="term"``): WM removes a
            term's parameter and renormalises the label, RW removes its
            label mass. None: the inspector's ``method`` (WM under
            ``"auto"``).
        cv : int or None, default=5
            Folds of the cross-fit (at least 2, with at least 5 validation
            rows per fold). None: score and select on the whole validation
            set (overfits it; for comparison with the paper).

        Returns
        -------
        repair : Bunch
            ``estimator`` (the end model retrained on the *training* rows
            with the selected labels), ``fraction`` (selected ``q``; a count
            of sources for ``unit="source"``; 0 when nothing was removed),
            ``candidates``, ``validation_loss`` and ``validation_accuracy``
            (per candidate, on held-out folds; in-sample when ``cv=None``),
            ``expected_change`` and ``expected_change_se`` (the held-out
            validation loss change of the selected removal against none, and
            its standard error over the validation rows: what to expect on
            new data from this distribution), ``supported`` (False when a
            removal looked better but not clearly, and nothing was removed),
            ``n_removed`` (components removed by the final model),
            ``labels`` (the selected training labels, (n_samples,
            n_classes), zero rows for rows dropped or unused), ``removed``
            (the removed components: a dict of term arrays ``sample``,
            ``source``, ``class``, ``influence``, ``source_name`` and
            ``class_label``; row indices; or source indices),
            ``removed_names`` (the source names of the removed terms or
            sources; None for ``unit="sample"``) and
            ``erm_validation_loss`` (the unrepaired model's loss on the
            whole validation set).

        Examples
        --------
        >>> from skweak_e2e import SourceAwareInfluence
        >>> from skweak_e2e.datasets import make_weak_supervision
        >>> X, L, y = make_weak_supervision(900, 8, n_features=5, n_adversarial=1,
        ...                                 random_state=0)
        >>> sai = SourceAwareInfluence().fit(X[:600], L[:600])
        >>> rep = sai.drop_harmful(X[600:], y[600:])
        >>> bool(rep.expected_change <= 0), rep.validation_loss.shape
        (True, (10,))
        """
        check_is_fitted(self)
        Xv, yv = self._check_repair(X, y, unit, cv)
        make_strategy = self._repair_strategies(unit, method)
        final = make_strategy(self._backend.directions(Xv, yv, "mean")[0])
        if unit == "source":
            candidates = check_counts(fractions, self.n_sources_, final.order.size)
        else:
            candidates = check_fractions(fractions)
        out = cross_fit_repair(self._backend, make_strategy, Xv, yv, candidates, cv)
        if not out.supported:
            best = int(np.argmin(out.loss))
            warn_unsupported(len(yv), out.change[best], out.change_se[best])
        removal = final.removal(candidates[out.best])
        theta = (
            self._backend.theta
            if removal.n_removed == 0
            else self._backend.refit(removal.labels)
        )
        if self._decomposition is None:  # lazy, block by block
            full_labels = self._builder.data.lazy_labels(removal.labels)
        else:
            full_labels = np.zeros((self.n_samples_, self.n_classes_))
            full_labels[self.train_index_] = removal.labels
        removed, removed_names = final.removed(
            removal.selection, self.source_names_, self.classes_
        )
        return Bunch(
            estimator=self._backend.make_estimator(theta),
            fraction=candidates[out.best],
            candidates=candidates,
            validation_loss=out.loss,
            validation_accuracy=out.accuracy,
            expected_change=float(out.change[out.best]),
            expected_change_se=float(out.change_se[out.best]),
            supported=out.supported,
            n_removed=removal.n_removed,
            labels=full_labels,
            removed=removed,
            removed_names=removed_names,
            erm_validation_loss=float(self._backend.loss(Xv, yv)),
        )

    def _check_repair(self, X, y, unit, cv):
        """The validation set of ``drop_harmful``, once the repair is possible."""
        if not self._backend.can_refit:
            raise ValueError(
                "drop_harmful retrains the end model in closed form; a full-network "
                "torch analysis cannot be refitted here (use network='last_layer')."
            )
        if unit not in ("term", "sample", "source"):
            raise ValueError(
                f"unit must be 'term', 'sample' or 'source'; got {unit!r}."
            )
        if self._decomposition is None and unit != "source":
            raise refusal("drop_harmful", f"unit={unit!r} ranks every training "
                          "term or row exactly; on dask arrays use unit='source' "
                          "(refitted on reduced statistics), or fit the inspector "
                          "on an in-memory sample of the rows (X[idx].compute(), "
                          "L[idx].compute()) and repair that")
        if self._decomposition is None and is_dask_collection(X):
            raise refusal("drop_harmful", "the validation set is cut into folds: "
                          "pass it in memory (X.compute(), y.compute())")
        Xv, yv = self._check_target(X, y, method="drop_harmful")
        if cv is not None:
            if isinstance(cv, bool) or not isinstance(cv, numbers.Integral) or cv < 2:
                raise ValueError(f"cv must be an integer >= 2 or None; got {cv!r}.")
            if len(yv) < MIN_FOLD_ROWS * cv:
                raise ValueError(
                    f"The validation set has {len(yv)} rows: too few to choose a "
                    f"removal on held-out folds (cv={cv} needs at least "
                    f"{MIN_FOLD_ROWS * cv}). Label more validation rows, lower cv, "
                    "or pass cv=None to select on the scoring rows (overfits)."
                )
        return Xv, yv

    def _repair_strategies(self, unit, method):
        """``make_strategy(u)``: the removal strategy scored by directions ``u``."""
        dec, idx, builder = self._decomposition, self.train_index_, self._builder
        if unit == "term":
            method = self._repair_method if method is None else method
            method, relative = self._variant(method, None)
        if dec is None:  # dask: whole sources, scored block by block
            return builder.source_removal

        def make_strategy(u):
            if unit == "source":
                b = (self._backend.P * u).sum(axis=1, keepdims=True) - u
                return SourceRemoval(source_removal_influence(dec, b), dec, self.labels_)
            if unit == "sample":
                return SampleRemoval(self._result(u), self.labels_, idx)
            res = builder.result(u, method, relative)
            return TermRemoval(res, dec, self.labels_, idx, method)

        return make_strategy
