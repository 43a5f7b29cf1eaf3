"""Source-aware influence functions for two-stage weak-supervision pipelines.

Implements Zhang, Wang, Hsieh and Ratner (NeurIPS 2022): the
noise-aware loss of an end model trained on a label model's probabilistic
labels decomposes into one term per (training sample, source, class), and
each term gets an influence score on a target loss (a test point, or the mean
loss of a labelled validation set), by reweighting (RW) or weight-moving
(WM), optionally relative (RelatIF).

**Sign convention (the paper's).** ``phi`` is the derivative of the target
loss with respect to up-weighting a training term by ``eps`` at ``eps = 0``.
``phi > 0`` means the term is **harmful**: up-weighting it raises the target
loss, and removing it (``eps = -1/N`` with ``N`` training rows) changes the
target loss by about ``-phi / N``. (WRENCH's explainer returns the opposite
sign, scaled.)
"""

import numbers

import numpy as np
from sklearn.base import BaseEstimator, _fit_context, clone
from sklearn.pipeline import Pipeline
from sklearn.utils import Bunch, _safe_indexing, indexable
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import (
    _num_samples,
    check_array,
    check_is_fitted,
    column_or_1d,
)

from ..label_model import MajorityVote
from ..label_model._tensor_form import tensor_scores
from ..utils._validation import check_label_matrix, is_covered
from ._backends import BackendOptions, make_backend
from ._repair import SampleRemoval, SourceRemoval, TermRemoval, repair
from ._result import InfluenceResult, TermState
from ._terms import TermDecomposition
from ._torch_influence import is_torch_model

__all__ = ["SourceAwareInfluence"]


#: Default relative Hessian damping of the influence solves (see the
#: ``damping`` parameter of :class:`SourceAwareInfluence`): ``delta`` equal to
#: the mean eigenvalue ``tr(H) / D`` of the Hessian.
DAMPING_DEFAULT = 1.0



def _linearize(label_model, L):
    """Fit LinearizedApprox to an already fitted exp label model."""
    from sklearn.frozen import FrozenEstimator

    from ..label_model import LinearizedApprox

    lin = LinearizedApprox(
        FrozenEstimator(label_model),
        n_classes=int(np.asarray(label_model.W_).shape[2]),
        abstain=-1,  # L is already validated (abstain mapped to -1)
    )
    return lin.fit(L)


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
    method : {"rw", "wm"}, default="rw"
        ``"rw"`` (reweighting, Zhang et al. eq. 11): up-weights a term without
        renormalising the label; additive; needs an identity label model
        (exp models are linearised, see ``linearize``). ``"wm"``
        (weight-moving, eq. 14): removes the term's parameter from the label
        and renormalises; works on identity and exp models; not additive.
    relative : bool, default=False
        Divide each term's influence by the square root of the RW term's
        self-influence (RelatIF). Needs an identity label model and the
        explicit inverse Hessian.
    l2 : float, default=1e-3
        Ridge strength ``lambda`` of the mean-loss objective of the
        closed-form logistic regression (weights and intercept), of a torch
        network's last layer, and the base damping of the full-network GGN
        (``damping`` adds to it). Ignored for a scikit-learn
        ``LogisticRegression`` (its ``C`` sets it).
    damping : float, default=1.0
        Damping of the Hessian used by the influence solves, relative to its
        mean eigenvalue: the inverse-Hessian-vector products use ``H + delta
        I`` with ``delta = damping * tr(H) / D`` (``D`` parameters; for the
        full-network GGN the trace is a fixed-seed Hutchinson estimate). The
        end model itself is not changed: its training ridge is ``l2``.
        ``damping=0`` gives the exact influence of the fitted model (the
        first-order effect of retraining). Influence functions are usually
        damped in practice (Koh & Liang, 2017; Zhang et al.'s reference code uses
        a heavily damped LiSSA): damping trades exactness for robustness to
        the ill-conditioned, nearly flat directions of ``H``, along which the
        exact ``H^-1`` turns tiny gradient components into large, unstable
        scores. The default 1 (``delta`` = the mean eigenvalue) is the
        natural unit of that scale; on the benchmark data it gave a lower
        cross-validated validation loss of the :meth:`drop_harmful` repair
        than exact influences (``benchmarks/README.rst``, Influence). Damped
        scores rank removals much as exact ones do but shrink their size
        (``-phi / N`` then underestimates the actual change of the target
        loss); use ``damping=0`` when that size matters. The same damped
        Hessian serves every score, so the per-sample sums of RW still equal
        the ordinary influence (computed with the same damping), and RelatIF
        uses the damped inverse too.
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
        linearise them for ``method="rw"`` or ``relative`` (fit
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
        The ``method`` and ``relative`` the analysis was prepared with (the
        queries use these; change the parameters and refit to switch).

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
        "method": [StrOptions({"rw", "wm"})],
        "relative": ["boolean"],
        "l2": [Interval(numbers.Real, 0, None, closed="left")],
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
    }

    def __init__(
        self,
        model=None,
        *,
        method="rw",
        relative=False,
        l2=1e-3,
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

    # ================================================================= fit
    def _split_model(self, X, L):
        model = self.model
        if model is None:
            return MajorityVote(), None
        if isinstance(model, (tuple, list)):
            if len(model) != 2:
                raise ValueError(
                    "model as a sequence must be (label_model, end_model); got "
                    f"{len(model)} items."
                )
            return model[0], model[1]
        if hasattr(model, "label_model") and hasattr(model, "estimator"):
            if not hasattr(model, "label_model_"):
                model = clone(model).fit(X, L)
            classes = np.asarray(getattr(model, "classes_", []))
            if classes.dtype.kind not in "iu" or not np.array_equal(
                classes, np.arange(len(classes))
            ):
                raise ValueError(
                    "The LabelModelClassifier must use the class indices 0..C-1 "
                    f"(got classes_={classes.tolist()}); pass L encoded that way."
                )
            return model.label_model_, model.estimator_
        if hasattr(model, "activation") and (
            hasattr(model, "W_") or hasattr(model, "fit")
        ):
            return model, None
        raise TypeError(
            "model must be None, a label model, a (label_model, end_model) pair or "
            f"a LabelModelClassifier; got {type(model).__name__}."
        )

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, L):
        """Prepare the influence analysis of the pipeline on ``(X, L)``.

        Fits the label model if needed (and linearises an exp one when
        required), selects the training rows (covered rows with label mass),
        trains or polishes the end model on their labels to stationarity and
        factorises its Hessian.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training features (for a torch end model: any array its module
            accepts).
        L : array-like of shape (n_samples, n_sources) or (n_samples, n_sources, n_classes)
            Training votes, ``-1`` = abstain (or soft votes).

        Returns
        -------
        self : SourceAwareInfluence
            The prepared inspector.
        """
        label_model, end_model = self._split_model(X, L)
        if not hasattr(label_model, "W_"):
            label_model = clone(label_model).fit(L)
        W = np.asarray(label_model.W_, dtype=np.float64)
        n_classes = W.shape[2]
        L, _ = check_label_matrix(
            L,
            n_classes=n_classes,
            abstain=getattr(label_model, "abstain", -1),
            allow_soft=True,
        )
        if L.shape[1] != W.shape[0]:
            raise ValueError(
                f"L has {L.shape[1]} sources but the label model was fitted on "
                f"{W.shape[0]}."
            )
        torch_end = end_model is not None and is_torch_model(end_model)
        if torch_end or isinstance(end_model, Pipeline):
            X = indexable(X)[0]  # the network / pipeline reads X itself
        else:
            X = check_array(X, dtype=np.float64)
        if _num_samples(X) != L.shape[0]:
            raise ValueError(
                f"X has {_num_samples(X)} rows but L has {L.shape[0]}; they must "
                "describe the same samples."
            )

        activation = label_model.activation
        self.linearized_model_ = None
        if activation == "exp":
            wants = self.method == "rw" or self.relative
            if self.linearize is True or (self.linearize == "auto" and wants):
                self.linearized_model_ = _linearize(label_model, L)
                W = np.asarray(self.linearized_model_.W_, dtype=np.float64)
                activation = "identity"
            elif wants:
                raise ValueError(
                    f"{type(label_model).__name__} has an exp activation: reweighting "
                    "and RelatIF need an identity label model. Use linearize='auto' "
                    "(fit LinearizedApprox), or method='wm' with relative=False."
                )
        if self.relative and torch_end and self.network == "full":
            raise ValueError(
                "relative=True needs the explicit inverse Hessian; use "
                "network='last_layer' for torch end models."
            )

        rows = is_covered(L)
        if activation == "identity":
            rows &= tensor_scores(L, W).sum(axis=1) > 0
        if not rows.any():
            raise ValueError(
                "No training row carries label mass: every row is uncovered."
            )
        self.train_index_ = np.flatnonzero(rows)
        self._decomposition = TermDecomposition(L[rows], W, activation)
        self.labels_ = self._decomposition.labels
        self.label_model_ = label_model
        self.W_ = W
        self.activation_ = activation
        self.n_samples_, self.n_sources_ = L.shape[:2]
        self.n_classes_ = n_classes
        self.n_train_ = int(rows.sum())
        self.method_ = self.method
        self.relative_ = bool(self.relative)

        X_train = X if rows.all() else _safe_indexing(X, np.flatnonzero(rows))
        self._backend = make_backend(
            end_model,
            X_train,
            self.labels_,
            n_classes,
            self._options(),
            torch_end=torch_end,
        )
        self.end_model_ = self._backend.end_model
        self.stationarity_ = dict(getattr(self._backend, "stationarity", {}))
        self._kappa = None
        self._ordinary_self = None
        return self

    def _options(self):
        return BackendOptions(
            l2=self.l2,
            logits=self.logits,
            solver=self.solver,
            relative=bool(self.relative),
            polish=self.polish,
            network=self.network,
            tol=self.tol,
            max_iter=self.max_iter,
            cg_tol=self.cg_tol,
            cg_max_iter=self.cg_max_iter,
            damping=float(self.damping),
            device=self.device,
        )

    # ============================================================ queries
    def _check_target(self, X, y):
        if self._backend.raw_inputs:
            X = indexable(X)[0]
        else:
            X = check_array(X, accept_sparse="csr", dtype=np.float64)
            if X.shape[1] != self._backend.n_features:
                raise ValueError(
                    f"X has {X.shape[1]} features but the end model has "
                    f"{self._backend.n_features}."
                )
        y = column_or_1d(np.asarray(y), warn=True)
        n_x = _num_samples(X)
        if y.dtype.kind == "f":
            if not np.all(np.isfinite(y)) or not np.array_equal(y, np.round(y)):
                raise ValueError("y must hold integer class indices.")
        elif y.dtype.kind not in "iu":
            raise ValueError(f"y must hold integer class indices; got dtype {y.dtype}.")
        y = y.astype(np.intp)
        if len(y) != n_x:
            raise ValueError(f"X has {n_x} rows but y has {len(y)}.")
        if len(y) == 0:
            raise ValueError("The target set is empty.")
        if y.min() < 0 or y.max() >= self.n_classes_:
            raise ValueError(
                f"y holds a class outside 0..{self.n_classes_ - 1} (gold labels of "
                "the target must be known)."
            )
        return X, y

    def _kappa_matrix(self):
        """Self-influence base ``k_ic`` of ``x~_i (x) (p_i - e_c)``, cached."""
        if self._kappa is None:
            P = self._backend.P
            eye = np.eye(self.n_classes_)
            self._kappa = np.column_stack(
                [
                    self._backend.self_influence(P - eye[c])
                    for c in range(self.n_classes_)
                ]
            )
        return self._kappa

    def _ordinary_self_influence(self):
        if self._ordinary_self is None:
            lab = self.labels_
            G = lab.sum(axis=1, keepdims=True) * self._backend.P - lab
            self._ordinary_self = self._backend.self_influence(G)
        return self._ordinary_self

    def _result(self, u):
        P = self._backend.P
        b = (P * u).sum(axis=1, keepdims=True) - u
        r = (self.labels_ * b).sum(axis=1)
        kappa = self._kappa_matrix() if self.relative_ else None
        dec = self._decomposition
        agg = dec.aggregate(b, r, self.method_, kappa)
        idx = self.train_index_
        n = self.n_samples_
        per_sample = np.zeros(n)
        per_sample[idx] = agg["per_sample"]
        ordinary = np.zeros(n)
        phi = -r
        if self.relative_:
            q = self._ordinary_self_influence()
            phi = np.divide(
                phi, np.sqrt(np.maximum(q, 0)), out=np.zeros_like(phi), where=q > 0
            )
        ordinary[idx] = phi
        return InfluenceResult(
            per_sample=per_sample,
            per_source=agg["per_source"],
            per_vote=dec.per_vote_matrix(agg, idx, n),
            per_parameter=agg["per_parameter"],
            ordinary=ordinary,
            method=self.method_,
            relative=self.relative_,
            n_train=self.n_train_,
            state=TermState(dec, idx, n, b, r, kappa),
        )

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
        X, y = self._check_target(X, y)
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
            ``proba`` (end-model probabilities of ``x``), ``samples``,
            ``sources`` and ``votes`` (each a Bunch with indices and
            ``influence``, most harmful first; votes also give the ``vote``
            value), and ``result`` (the full :class:`InfluenceResult`).
        """
        check_is_fitted(self)
        if not self._backend.raw_inputs:
            x = x if hasattr(x, "tocsr") else np.atleast_2d(np.asarray(x, np.float64))
        else:  # one raw input for a network or a pipeline: add the batch axis
            x = indexable([x])[0] if isinstance(x, str) else np.asarray(x)[None]
        x, y = self._check_target(x, np.atleast_1d(y))
        if len(y) != 1:
            raise ValueError("explain takes one test point; use influence() for a set.")
        res = self.influence(x, y, reduce="sum")
        proba = self._backend.proba(x)[0]
        k = int(top_k)
        train = self.train_index_
        order = train[np.argsort(-res.per_sample[train], kind="stable")[:k]]
        src = np.argsort(-res.per_source, kind="stable")[:k]
        coo = res.per_vote.tocoo()
        top = np.argsort(-coo.data, kind="stable")[:k]
        rows, cols = coo.row[top], coo.col[top]
        dec = self._decomposition
        pos = np.searchsorted(train, rows)
        if dec.soft:
            mass = dec.L[pos, cols]
            votes = np.where(mass.sum(axis=1) > 0, mass.argmax(axis=1), -1)
        else:
            votes = dec.L[pos, cols].astype(np.intp)
        return Bunch(
            proba=proba,
            samples=Bunch(index=order, influence=res.per_sample[order]),
            sources=Bunch(index=src, influence=res.per_source[src]),
            votes=Bunch(sample=rows, source=cols, vote=votes, influence=coo.data[top]),
            result=res,
        )

    def mislabel_scores(self, X, y):
        """Per-vote suspicion scores ``phi_L_ij`` on the validation loss.

        Zhang et al.'s source-mislabel detector: the influence of vote ``L_ij`` on
        the mean validation loss. Positive = harmful = suspicious (a likely
        mislabel); rank votes in decreasing order.

        Parameters
        ----------
        X : array-like of shape (n_val, n_features)
            Labelled validation inputs.
        y : array-like of shape (n_val,)
            Their gold classes.

        Returns
        -------
        scores : ndarray of shape (n_samples, n_sources)
            ``phi_L_ij`` for every vote of a training row; NaN for abstentions
            and rows not used in training.
        """
        res = self.influence(X, y, reduce="mean")
        out = np.full((self.n_samples_, self.n_sources_), np.nan)
        coo = res.per_vote.tocoo()
        dec = self._decomposition
        pos = np.searchsorted(self.train_index_, coo.row)
        if dec.soft:
            voted = dec.L[pos, coo.col].sum(axis=1) > 0
        else:
            voted = dec.L[pos, coo.col] >= 0
        out[coo.row[voted], coo.col[voted]] = coo.data[voted]
        return out

    def drop_harmful(self, X, y, *, unit="term", fractions=None):
        """Remove the most harmful training components and refit (Zhang et al., 2022, Thm. 1).

        Scores every component on the mean validation loss of ``(X, y)``,
        then for each candidate removes the top fraction ``q`` of the
        components with positive (harmful) influence, retrains the end model
        and keeps the candidate with the lowest validation loss (ties go to
        the smaller removal; ``q = 0`` is plain training, so the selected
        validation loss is never above it). Only end models with a closed
        form are retrained (the logistic regressions, or a network's last
        layer).

        Parameters
        ----------
        X : array-like of shape (n_val, n_features)
            Labelled validation inputs.
        y : array-like of shape (n_val,)
            Their gold classes.
        unit : {"term", "sample", "source"}, default="term"
            ``"term"``: (sample, source, class) terms, scored by this
            inspector's method (RW: the term's label mass is removed; WM: its
            parameter is removed and the label renormalised). ``"sample"``:
            whole training rows by ordinary influence (the "IF" baseline).
            ``"source"``: whole sources by group influence, their parameters
            zeroed and labels renormalised (the "GIF" baseline for MV);
            candidates are 0, 1, 2, ... sources rather than fractions.
        fractions : sequence of float, default=None
            Fractions ``q`` of the harmful components to try; when None,
            ``(0, .01, .02, .05, .1, .2, .3, .5, .7, 1)``. With
            ``unit="source"``: numbers of sources to drop (default: every
            count from 0 to the number of harmful sources).

        Returns
        -------
        repair : Bunch
            ``estimator`` (the refitted end model, trained on ``X``),
            ``fraction`` (selected ``q``; a count of sources for
            ``unit="source"``), ``candidates`` and ``validation_loss`` (per
            candidate), ``n_removed`` (per candidate), ``labels`` (the
            selected training labels, (n_samples, n_classes), zero rows for
            rows dropped or unused), ``removed`` (the selected components:
            a dict of term arrays, row indices or source indices) and
            ``erm_validation_loss``.
        """
        check_is_fitted(self)
        if not self._backend.can_refit:
            raise ValueError(
                "drop_harmful retrains the end model in closed form; a full-network "
                "torch analysis cannot be refitted here (use network='last_layer')."
            )
        if unit not in ("term", "sample", "source"):
            raise ValueError(
                f"unit must be 'term', 'sample' or 'source'; got {unit!r}."
            )
        Xv, yv = self._check_target(X, y)
        res = self.influence(Xv, yv, reduce="mean")
        dec, idx = self._decomposition, self.train_index_
        if unit == "source":
            strategy = SourceRemoval(res, dec, self.labels_, fractions)
        elif unit == "sample":
            strategy = SampleRemoval(res, self.labels_, idx, fractions)
        else:
            strategy = TermRemoval(res, dec, self.labels_, idx, self.method_, fractions)
        out = repair(self._backend, strategy, Xv, yv)
        full_labels = np.zeros((self.n_samples_, self.n_classes_))
        full_labels[idx] = out.removal.labels
        return Bunch(
            estimator=self._backend.make_estimator(out.theta),
            fraction=strategy.candidates[out.best],
            candidates=strategy.candidates,
            validation_loss=out.validation_loss,
            n_removed=out.n_removed,
            labels=full_labels,
            removed=strategy.removed(out.removal.selection),
            erm_validation_loss=out.erm_validation_loss,
        )
