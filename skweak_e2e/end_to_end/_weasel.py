"""WeaSEL: end-to-end learning from multiple weak supervision sources."""

import inspect
import math
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.utils import check_random_state, column_or_1d
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    check_array,
    check_is_fitted,
    validate_data,
)

from ..utils._validation import (
    check_class_prior,
    check_label_matrix,
    check_no_vote_below_abstain,
    check_sample_alignment,
    is_covered,
    warn_silent_sources,
)

__all__ = ["WeaSELClassifier", "best_f1_threshold"]

_LOSSES = (
    "ce",
    "hellinger",
    "l1",
    "mig",
    "ce_no_stopgrad",
    "ce_asym_f",
    "ce_asym_e",
)
_FLOAT_DTYPES = (np.float64, np.float32)
_PREDICT_CHUNK = 4096


def _import_torch():
    """Import torch and skorch, or raise an ImportError naming the extra."""
    try:
        import skorch
        import torch
    except ImportError as exc:  # pragma: no cover - exercised without torch
        raise ImportError(
            "WeaSELClassifier needs torch and skorch; install them with "
            "`pip install skweak_e2e[torch]` (or `pip install torch skorch`)."
        ) from exc
    return torch, skorch


def best_f1_threshold(y_true, scores):
    """Decision threshold that maximises F1 on labelled data.

    A sample is predicted positive when its score is at least the
    threshold. Every distinct score is a candidate; F1 is computed as
    ``2PR / (P + R + 1e-6)`` (the reference implementation's formula) and
    ties go to the highest threshold.

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

    Examples
    --------
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


def _unique_labels(values):
    """Sorted distinct labels; a counting pass for small-range integers."""
    values = np.asarray(values).ravel()
    dtype = values.dtype
    if (
        dtype.kind == "i" or (dtype.kind == "u" and dtype.itemsize < 8)
    ) and values.size:
        wide = values.astype(np.int64, copy=False)
        low, high = int(wide.min()), int(wide.max())
        if high - low < 1_000_000:
            present = np.bincount(wide - low, minlength=high - low + 1)
            return (np.flatnonzero(present) + low).astype(dtype)
    try:
        return np.unique(values)
    except TypeError:
        raise ValueError(
            "The labels mix types that cannot be ordered (e.g. strings and "
            "numbers); use labels of a single type."
        ) from None


def _validation_scorer(scoring, n_classes, classes):
    """Return ``score(y_encoded, proba) -> float`` (higher is better)."""
    from sklearn.metrics import log_loss, roc_auc_score

    if scoring == "auto":
        scoring = "roc_auc" if n_classes == 2 else "accuracy"
    if callable(scoring):
        return lambda y, proba: float(scoring(classes[y], proba))
    if scoring == "accuracy":
        return lambda y, proba: float(np.mean(np.argmax(proba, axis=1) == y))
    if scoring == "neg_log_loss":
        labels = np.arange(n_classes)
        return lambda y, proba: -float(log_loss(y, proba, labels=labels))
    if n_classes == 2:
        return lambda y, proba: float(roc_auc_score(y, proba[:, 1]))
    labels = np.arange(n_classes)
    return lambda y, proba: float(
        roc_auc_score(y, proba, multi_class="ovr", labels=labels)
    )


def _downstream_proba(module, X, chunk=_PREDICT_CHUNK):
    """Softmax of the downstream logits, in eval mode, as a numpy array."""
    import torch

    param = next(module.parameters())
    was_training = module.training
    module.eval()
    out = []
    try:
        with torch.no_grad():
            for start in range(0, X.shape[0], chunk):
                batch = torch.as_tensor(
                    X[start : start + chunk], dtype=param.dtype, device=param.device
                )
                out.append(torch.softmax(module.downstream(batch), dim=1).cpu())
    finally:
        module.train(was_training)
    return torch.cat(out).numpy().astype(np.float64)


class _torch_threads:
    """Temporarily set torch's CPU thread count (None: leave it alone)."""

    def __init__(self, n_threads):
        self.n_threads = n_threads
        self.previous = None

    def __enter__(self):
        if self.n_threads is not None:
            import torch

            self.previous = torch.get_num_threads()
            if self.previous != self.n_threads:
                torch.set_num_threads(self.n_threads)
        return self

    def __exit__(self, *exc):
        if self.previous is not None and self.previous != self.n_threads:
            import torch

            torch.set_num_threads(self.previous)
        return False


def _reset_parameters(module):
    for submodule in module.modules():
        reset = getattr(submodule, "reset_parameters", None)
        if callable(reset):
            reset()


class WeaSELClassifier(ClassifierMixin, BaseEstimator):
    """End-to-end weak supervision (WeaSEL): a classifier trained on votes.

    WeaSEL [1]_ trains two networks together on features ``X`` and a label
    matrix ``L``: an *encoder* predicts, for every sample, an accuracy
    score for each source from its votes and features, and aggregates the
    votes with these scores into a probabilistic label ``y_e``; the
    *downstream* network ``f`` predicts ``y_f`` from the features alone.
    Each network is trained to agree with the other's (detached)
    prediction. Only ``f`` is used at prediction time, so the fitted model
    needs features only.

    Parameters
    ----------
    module : torch.nn.Module subclass or instance, default=None
        The downstream network ``f``, mapping features ``(batch,
        n_features)`` to ``(batch, n_classes)`` logits. None: an MLP with
        ``hidden_layer_sizes`` and ``dropout``. A class is instantiated
        with ``module_params``, plus ``n_features_in`` and ``n_outputs``
        when its constructor accepts them. An instance is deep-copied and
        re-initialised (``reset_parameters`` of each submodule) at every
        fit, so ``random_state`` controls the initialisation.
    module_params : dict, default=None
        Keyword arguments of a ``module`` class.
    hidden_layer_sizes : tuple of int, default=(50, 50, 25)
        Hidden widths of the default downstream MLP (dropout after every
        hidden layer but the last). Ignored when ``module`` is given.
    dropout : float, default=0.3
        Dropout of the default downstream MLP.
    encoder : torch.nn.Module subclass or instance, default=None
        The encoder, mapping the encoder input ``(batch, n_in)`` to
        ``(batch, n_sources)`` scores (``(batch, n_sources * n_classes)``,
        source-major, when class-conditional). None: an MLP with
        ``encoder_hidden``, ``encoder_dropout`` and ``encoder_batchnorm``.
        Classes and instances are handled as for ``module``.
    encoder_params : dict, default=None
        Keyword arguments of an ``encoder`` class.
    encoder_hidden : tuple of int, default=(70, 70)
        Hidden widths of the default encoder; ``()`` gives a linear encoder.
    encoder_dropout : float, default=0.3
        Dropout after every hidden layer of the default encoder.
    encoder_batchnorm : bool, default=True
        BatchNorm after every hidden ``Linear`` of the default encoder.
    lf_encoding : {"onehot", "signed", "raw"}, default="onehot"
        How the votes enter the encoder: one-hot per (source, class) with
        abstain all-zero (soft votes: their probabilities); ``"signed"``
        (binary only): +1 / -1 / 0 for a positive / negative vote /
        abstain; ``"raw"`` (hard votes only): the class index, -1 for
        abstain (the reference code's encoding).
    encoder_uses_features : bool, default=True
        Feed the features to the encoder together with the votes.
    class_conditional : "auto" or bool, default="auto"
        One accuracy per (source, class) instead of one per source;
        ``"auto"``: class-conditional when there are more than 2 classes.
    tau1 : float, default=1.0
        Inverse temperature of the accuracy softmax. Small values spread
        the weight over the sources (``tau1 -> 0`` is a soft majority
        vote); the paper advises ``tau1 <= 1/3`` without validation data.
    tau2 : {"sqrt", "m"} or float, default="sqrt"
        Total accuracy mass: ``sqrt(n_sources)`` or ``n_sources``, times
        ``n_classes`` when class-conditional, or the given value.
    accuracy : {"softmax", "sigmoid"}, default="softmax"
        ``theta = tau2 * softmax_j(tau1 * e)`` or ``tau2 * sigmoid(tau1 * e)``.
    accuracy_support : {"voters", "all"}, default="voters"
        Sources over which the accuracy softmax is normalised on each row.
        ``"voters"``: only the sources that vote on the row (a masked
        softmax: abstaining sources get a score of ``-inf``, hence
        ``theta = 0``), so ``theta`` sums to ``tau2`` over the voters.
        ``"all"`` (the paper and its code): every source, so ``theta`` sums
        to ``tau2`` over all sources, including those that abstain on the
        row (their accuracy multiplies no vote). With few votes per row,
        ``"all"`` lets the encoder move the mass onto abstaining sources
        and flatten its labels towards uniform; ``"voters"`` keeps the
        total weight of the votes fixed, so the encoder can only reweight
        the voters against each other (see Notes). The two are identical
        when every source votes on every row. For class-conditional
        accuracies the same voters (those with a vote on the row, whatever
        its class) are used for every class: masking per class would give
        every class that receives a vote the same total ``tau2`` and
        discard the vote counts. Soft votes count as a vote where their
        mass is positive. Rows without any vote (kept with
        ``drop_uncovered=False``) get ``theta = 0``, hence uniform encoder
        labels (the class prior when given). Under ``accuracy="sigmoid"``
        nothing is normalised and ``"voters"`` only sets the abstaining
        sources' ``theta`` to 0.
    loss : {"ce", "hellinger", "l1", "mig", "ce_no_stopgrad", "ce_asym_f", \
"ce_asym_e"}, default="ce"
        Agreement loss; ``"ce"`` is the symmetric cross-entropy with
        stop-gradient on the targets (see ``skweak_e2e.end_to_end._losses``).
    class_prior : array-like of shape (n_classes,), default=None
        Positive class prior whose log is added to the encoder logits
        (and the ``p`` of the MIG loss). None: uniform (no effect).
    classes : array-like, default=None
        All class labels, including classes that no source votes for.
        None: the distinct non-abstain values of ``y``.
    abstain : int, str or None, default=-1
        Value of ``y`` that means "no vote". None: every value is a vote.
    drop_uncovered : bool, default=True
        Drop the training rows where every source abstains (they carry no
        label information).
    lr : float, default=1e-4
        Adam learning rate.
    encoder_lr : float, default=None
        Learning rate of the encoder (a separate Adam parameter group);
        None: ``lr``.
    weight_decay : float, default=7e-7
        Adam L2 weight decay of both networks.
    batch_size : int, default=64
        Mini-batch size (at least 2, for BatchNorm).
    max_epochs : int, default=150
        Number of epochs.
    scoring : {"auto", "roc_auc", "accuracy", "neg_log_loss"} or callable, \
default="auto"
        Validation metric of ``f`` for model selection (higher is better);
        ``"auto"``: ROC-AUC for two classes, accuracy otherwise. A callable
        is called as ``scoring(y_true, proba)`` with labels from
        ``classes_`` and columns of ``proba`` in the order of ``classes_``.
    patience : int, default=None
        Stop after this many epochs without a validation improvement. None:
        train ``max_epochs`` and keep the best epoch.
    tune_threshold : bool, default=True
        Binary with validation data: tune the decision threshold of
        ``predict`` to the F1-optimal value on the validation set.
    device : str, default="cpu"
        Torch device (``"cpu"``, ``"cuda"``, ``"cuda:1"``...). A CUDA
        device that is not available falls back to the CPU with a warning.
    dtype : {"float32", "float64"}, default="float32"
        Floating-point precision of the networks.
    n_threads : int or None, default=1
        Number of CPU threads torch uses while fitting and predicting (set
        with ``torch.set_num_threads`` and restored afterwards); None keeps
        torch's setting. Mini-batches of the default networks are too small
        to gain from several threads, and torch's thread pool slows down by
        an order of magnitude when the cores are shared with other
        processes; raise it for large custom networks on the CPU.
    verbose : int, default=0
        Print skorch's per-epoch log when positive.
    random_state : int, RandomState instance or None, default=None
        Seeds the initialisation, shuffling and dropout (through a forked
        torch generator; the global torch and numpy states are left alone).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_classes_ : int
        Number of classes.
    n_sources_ : int
        Number of sources (columns of ``L``).
    n_features_in_ : int
        Number of features.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Feature names, when ``X`` was a DataFrame with string column names.
    coverage_ : float
        Fraction of the training rows with at least one vote.
    n_train_used_ : int
        Number of training rows used (the covered rows by default).
    silent_sources_ : ndarray
        Sources that never vote on the training rows.
    class_conditional_ : bool
        Whether the accuracies are class-conditional.
    tau2_ : float
        The resolved accuracy scale.
    threshold_ : float or None
        Tuned decision threshold on ``P(classes_[1])`` (binary with
        validation data and ``tune_threshold``), else None (argmax).
    best_epoch_ : int
        Epoch (1-based) whose weights were kept: the best validation epoch,
        or the last epoch without validation data.
    best_score_ : float or None
        Validation score of that epoch (None without validation data).
    device_ : str
        Device used for training.
    net_ : skorch.NeuralNet
        The trained network: ``net_.module_`` is a :class:`WeaSELModule`
        holding ``encoder`` and ``downstream``.
    history_ : skorch.History
        Per-epoch log (``train_loss``, ``valid_score``, ...).

    See Also
    --------
    MajorityVote : The label model WeaSEL starts from (random encoder).

    Notes
    -----
    ``y`` is the label matrix: ``(n_samples, n_sources)`` votes with
    ``abstain`` for no vote, or soft votes ``(n_samples, n_sources,
    n_classes)``. A 1-D ``y`` is a single source, i.e. ordinary supervision
    (``f`` then learns from the smoothed targets
    ``softmax(tau2 * onehot(y))``).

    *Deviation from the paper: the accuracy softmax is normalised over the
    voters of each row by default* (``accuracy_support="voters"``). In the
    paper and its code the softmax runs over all sources, so abstaining
    sources take part in the normalisation with a positive accuracy that
    multiplies no vote. The paper's data sets have 99-175 sources; with a
    handful of sources and about one vote per row the encoder can then
    agree with the downstream network simply by moving the mass ``tau2``
    onto the abstaining sources: on WRENCH
    YouTube (10 sources) the voters kept 2-3 % of ``tau2`` and the encoder
    labels became almost uniform (normalised entropy 1.0), so ``f`` was
    trained on flat targets. Renormalising over the voters removes that
    escape; it changes nothing where every source votes on every row. In
    the library's benchmarks (``benchmarks/README.rst``, section WeaSEL)
    it raised the mean test F1 on YouTube from 0.89 to 0.92-0.93 and the
    test accuracy on Yoruba from 0.45-0.46 to 0.47-0.50 (5 seeds, same
    protocol and learning-rate grids), and kept the F1 flat under a
    duplicated adversarial source (appendix F.1 analogue), where the
    paper's normalisation lost 0.05 F1. Use
    ``accuracy_support="all"`` to reproduce the paper.

    References
    ----------
    .. [1] S. Rühling Cachay, B. Boecking and A. Dubrawski, "End-to-End
       Weak Supervision", NeurIPS 2021.

    Examples
    --------
    >>> from skweak_e2e import WeaSELClassifier
    >>> from skweak_e2e.datasets import make_weak_supervision
    >>> X, L, y = make_weak_supervision(
    ...     400, 5, accuracy=0.8, class_sep=3.0, random_state=0)
    >>> clf = WeaSELClassifier(lr=1e-2, max_epochs=5, random_state=0)
    >>> clf = clf.fit(X[:300], L[:300], X_val=X[300:], y_val=y[300:])
    >>> clf.n_train_used_ < 300  # rows where every source abstains are dropped
    True
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    >>> clf.accuracy_scores(X[:2], L[:2]).sum(axis=1).round(3)  # tau2 = sqrt(5)
    array([2.236, 2.236], dtype=float32)
    >>> bool(clf.score(X[300:], y[300:]) > 0.8)
    True
    """

    _parameter_constraints: dict = {
        "module": [None, callable],
        "module_params": [dict, None],
        "hidden_layer_sizes": ["array-like"],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "encoder": [None, callable],
        "encoder_params": [dict, None],
        "encoder_hidden": ["array-like"],
        "encoder_dropout": [Interval(Real, 0, 1, closed="left")],
        "encoder_batchnorm": ["boolean"],
        "lf_encoding": [StrOptions({"onehot", "signed", "raw"})],
        "encoder_uses_features": ["boolean"],
        "class_conditional": [StrOptions({"auto"}), "boolean"],
        "tau1": [Interval(Real, 0, None, closed="neither")],
        "tau2": [StrOptions({"sqrt", "m"}), Interval(Real, 0, None, closed="neither")],
        "accuracy": [StrOptions({"softmax", "sigmoid"})],
        "accuracy_support": [StrOptions({"all", "voters"})],
        "loss": [StrOptions(set(_LOSSES))],
        "class_prior": ["array-like", None],
        "classes": ["array-like", None],
        "abstain": [Integral, str, None],
        "drop_uncovered": ["boolean"],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "encoder_lr": [Interval(Real, 0, None, closed="neither"), None],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 2, None, closed="left")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "scoring": [
            StrOptions({"auto", "roc_auc", "accuracy", "neg_log_loss"}),
            callable,
        ],
        "patience": [Interval(Integral, 1, None, closed="left"), None],
        "tune_threshold": ["boolean"],
        "device": [str],
        "dtype": [StrOptions({"float32", "float64"})],
        "n_threads": [Interval(Integral, 1, None, closed="left"), None],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        module=None,
        *,
        module_params=None,
        hidden_layer_sizes=(50, 50, 25),
        dropout=0.3,
        encoder=None,
        encoder_params=None,
        encoder_hidden=(70, 70),
        encoder_dropout=0.3,
        encoder_batchnorm=True,
        lf_encoding="onehot",
        encoder_uses_features=True,
        class_conditional="auto",
        tau1=1.0,
        tau2="sqrt",
        accuracy="softmax",
        accuracy_support="voters",
        loss="ce",
        class_prior=None,
        classes=None,
        abstain=-1,
        drop_uncovered=True,
        lr=1e-4,
        encoder_lr=None,
        weight_decay=7e-7,
        batch_size=64,
        max_epochs=150,
        scoring="auto",
        patience=None,
        tune_threshold=True,
        device="cpu",
        dtype="float32",
        n_threads=1,
        verbose=0,
        random_state=None,
    ):
        self.module = module
        self.module_params = module_params
        self.hidden_layer_sizes = hidden_layer_sizes
        self.dropout = dropout
        self.encoder = encoder
        self.encoder_params = encoder_params
        self.encoder_hidden = encoder_hidden
        self.encoder_dropout = encoder_dropout
        self.encoder_batchnorm = encoder_batchnorm
        self.lf_encoding = lf_encoding
        self.encoder_uses_features = encoder_uses_features
        self.class_conditional = class_conditional
        self.tau1 = tau1
        self.tau2 = tau2
        self.accuracy = accuracy
        self.accuracy_support = accuracy_support
        self.loss = loss
        self.class_prior = class_prior
        self.classes = classes
        self.abstain = abstain
        self.drop_uncovered = drop_uncovered
        self.lr = lr
        self.encoder_lr = encoder_lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.scoring = scoring
        self.patience = patience
        self.tune_threshold = tune_threshold
        self.device = device
        self.dtype = dtype
        self.n_threads = n_threads
        self.verbose = verbose
        self.random_state = random_state

    # ------------------------------------------------------------------
    # Validation helpers
    # ------------------------------------------------------------------
    def _abstain_mask(self, y):
        """Boolean mask of the abstain entries of a label array."""
        if self.abstain is None:
            return np.zeros(y.shape, dtype=bool)
        kind = y.dtype.kind
        numeric_abstain = not isinstance(self.abstain, str)
        if (kind in "biuf" and not numeric_abstain) or (
            kind in "US" and numeric_abstain
        ):
            return np.zeros(y.shape, dtype=bool)
        # Object arrays compare element by element (in C).
        return np.asarray(y == self.abstain, dtype=bool)

    @staticmethod
    def _is_soft(y):
        ndim = getattr(y, "ndim", None)
        if ndim is None:
            try:
                ndim = np.asarray(y).ndim
            except (TypeError, ValueError):  # ragged lists: sklearn complains later
                return False
        return ndim == 3

    def _check_hidden(self, sizes, name):
        sizes = tuple(np.asarray(sizes).ravel().tolist()) if len(sizes) else ()
        if any(
            not isinstance(h, Integral) or isinstance(h, bool) or h < 1 for h in sizes
        ):
            raise ValueError(
                f"{name} must hold positive integers; got {tuple(sizes)!r}."
            )
        return sizes

    def _encode_small_ints(self, y):
        """Lookup-table encoding of integer labels in a small range, or None.

        Returns codes with ``-1`` for abstain and ``-2`` for unknown labels.
        """
        classes = self.classes_
        if y.dtype.kind not in "iu" or classes.dtype.kind not in "iu" or not y.size:
            return None
        if y.dtype.kind == "u" and y.dtype.itemsize == 8:
            return None
        low = min(int(y.min()), int(classes.min()))
        high = max(int(y.max()), int(classes.max()))
        if high - low >= 1_000_000:
            return None
        table = np.full(high - low + 1, -2, dtype=np.int64)
        table[classes.astype(np.int64) - low] = np.arange(classes.size)
        abstain = self.abstain
        if (
            abstain is not None
            and not isinstance(abstain, str)
            and low <= abstain <= high
        ):
            table[int(abstain) - low] = -1
        return table[y.astype(np.int64, copy=False) - low]

    def _encode_votes(self, y, input_name="y"):
        """Map the votes of ``y`` to class indices; ``-1`` for abstain."""
        codes = self._encode_small_ints(y)
        if codes is not None:
            unknown = codes == -2
            if unknown.any():
                raise ValueError(
                    f"{input_name} contains labels that are not classes: "
                    f"{_unique_labels(y[unknown])[:10].tolist()}; the classes "
                    f"are {self.classes_.tolist()}."
                )
            return codes
        mask = self._abstain_mask(y)
        votes = y[~mask]
        classes = self.classes_
        try:
            # classes_ is sorted: one binary search per vote, no sort of y.
            index = np.searchsorted(classes, votes)
            unknown = classes[np.minimum(index, classes.size - 1)] != votes
        except TypeError:  # labels of mixed, unorderable types
            unknown = np.ones(votes.shape, dtype=bool)
        if unknown.any():
            raise ValueError(
                f"{input_name} contains labels that are not classes: "
                f"{_unique_labels(votes[unknown])[:10].tolist()}; the classes are "
                f"{classes.tolist()}."
            )
        codes = np.full(y.shape, -1, dtype=np.int64)
        codes[~mask] = index
        return codes

    def _validate_fit_data(self, X, y):
        """Validate ``X`` and the label matrix; set the class attributes."""
        name = type(self).__name__
        if y is None:
            raise ValueError(
                f"{name} requires y to be passed, but the target y is None. "
                "Pass the label matrix L as y."
            )
        if self._is_soft(y):
            X = validate_data(self, X, dtype=_FLOAT_DTYPES)
            n_classes = None if self.classes is None else len(self.classes)
            L, n_classes = check_label_matrix(
                y, n_classes=n_classes, allow_soft=True, input_name="y"
            )
            check_sample_alignment(X.shape[0], L.shape[0], "X", "y")
            if self.classes is None:
                self.classes_ = np.arange(n_classes)
            else:
                self.classes_ = np.asarray(self.classes)
                if self.classes_.ndim != 1 or not np.array_equal(
                    np.unique(self.classes_), self.classes_
                ):
                    raise ValueError(
                        "With soft votes, classes names the columns of the last "
                        "axis of y and must be sorted and distinct; got "
                        f"{self.classes_.tolist()}."
                    )
            return X, L
        X, y = validate_data(
            self, X, y, multi_output=True, dtype=_FLOAT_DTYPES, y_numeric=False
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        y2 = y.reshape(-1, 1) if y.ndim == 1 else y
        mask = self._abstain_mask(y2)
        votes = y2[~mask]
        if votes.size == 0:
            raise ValueError(
                "y contains no vote at all: every source abstains on every sample."
            )
        observed = _unique_labels(votes)
        # The target type only depends on the distinct values.
        check_classification_targets(observed)
        if self.classes is not None:
            classes = np.asarray(self.classes)
            if classes.ndim != 1 or np.unique(classes).size != classes.size:
                raise ValueError("classes must be a 1-D array of distinct labels.")
            self.classes_ = np.unique(classes)
        else:
            check_no_vote_below_abstain(
                observed,
                self.abstain,
                "To use negative labels, declare them with classes=.",
            )
            self.classes_ = observed
        if self.classes_.size < 2:
            raise ValueError(
                f"{name} needs at least 2 classes, but the votes contain only one "
                f"class ({self.classes_[0]}); declare the others with classes=."
            )
        L = self._encode_votes(y2)
        L, _ = check_label_matrix(L, n_classes=self.classes_.size, allow_soft=False)
        return X, L

    def _validate_L(self, X, L):
        """Validate an inference-time label matrix against the fitted model."""
        n_samples = X.shape[0]
        if self._is_soft(L):
            L, _ = check_label_matrix(
                L, n_classes=self.n_classes_, allow_soft=True, require_votes=False
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
                self._encode_votes(L, "L"),
                n_classes=self.n_classes_,
                allow_soft=False,
                require_votes=False,
            )
        check_sample_alignment(n_samples, L.shape[0], "X", "L")
        if L.shape[1] != self.n_sources_:
            raise ValueError(
                f"L has {L.shape[1]} sources (columns) but {type(self).__name__} "
                f"was fitted with {self.n_sources_}."
            )
        if self.lf_encoding == "raw" and L.ndim == 3:
            raise ValueError('lf_encoding="raw" needs hard votes, not soft ones.')
        return L

    def _validate_validation_data(self, X_val, y_val):
        if (X_val is None) != (y_val is None):
            raise ValueError("X_val and y_val must be given together.")
        if X_val is None:
            return None, None
        X_val = validate_data(self, X_val, reset=False, dtype=_FLOAT_DTYPES)
        y_val = check_array(y_val, ensure_2d=False, dtype=None, input_name="y_val")
        if y_val.ndim == 2 and y_val.shape[1] == 1:
            y_val = y_val.ravel()
        if y_val.ndim != 1:
            raise ValueError(
                "y_val must be 1-D gold labels (validation data selects the best "
                f"epoch); got shape {y_val.shape}."
            )
        check_sample_alignment(X_val.shape[0], y_val.shape[0], "X_val", "y_val")
        codes = self._encode_votes(y_val, "y_val")
        known = codes >= 0
        if not known.any():
            raise ValueError("y_val holds no gold label (every entry is abstain).")
        return X_val[known], codes[known]

    # ------------------------------------------------------------------
    # Network construction
    # ------------------------------------------------------------------
    @staticmethod
    def _build_network(spec, params, n_in, n_out, default, name, nn):
        if spec is None:
            if params is not None:
                raise ValueError(
                    f"{name}_params is only used with a {name} class; the default "
                    f"{name} is configured by its own parameters."
                )
            return default()
        if isinstance(spec, type) and issubclass(spec, nn.Module):
            kwargs = dict(params or {})
            try:
                signature = inspect.signature(spec.__init__).parameters
            except (TypeError, ValueError):  # pragma: no cover - builtins
                signature = {}
            accepts_any = any(
                p.kind is inspect.Parameter.VAR_KEYWORD for p in signature.values()
            )
            for key, value in (("n_features_in", n_in), ("n_outputs", n_out)):
                if key not in kwargs and (key in signature or accepts_any):
                    kwargs[key] = value
            return spec(**kwargs)
        if isinstance(spec, nn.Module):
            if params is not None:
                raise ValueError(
                    f"{name}_params is only used with a {name} class, not with an "
                    "instance."
                )
            import copy

            network = copy.deepcopy(spec)
            _reset_parameters(network)
            return network
        raise TypeError(
            f"{name} must be a torch.nn.Module subclass or instance (or None); "
            f"got {spec!r}."
        )

    @staticmethod
    def _check_output(network, inputs, n_out, name, torch):
        """Run a network on two rows and check its output shape."""
        was_training = network.training
        network.eval()
        try:
            with torch.no_grad():
                out = network(inputs)
        except Exception as exc:
            raise ValueError(
                f"The {name} failed on a batch of shape {tuple(inputs.shape)}: {exc}"
            ) from exc
        finally:
            network.train(was_training)
        if not isinstance(out, torch.Tensor) or tuple(out.shape) != (
            inputs.shape[0],
            n_out,
        ):
            shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out)
            raise ValueError(
                f"The {name} must return a tensor of shape (batch, {n_out}); got "
                f"{shape} for an input of shape {tuple(inputs.shape)}."
            )

    def _resolve_device(self, torch):
        try:
            device = torch.device(self.device)
        except (RuntimeError, ValueError) as exc:
            raise ValueError(f"device={self.device!r} is not a torch device.") from exc
        if device.type == "cuda" and not torch.cuda.is_available():
            warnings.warn(
                f"device={self.device!r} was requested but CUDA is not available; "
                "training on the CPU.",
                UserWarning,
                stacklevel=4,
            )
            device = torch.device("cpu")
        elif device.type == "cuda" and device.index is None:
            device = torch.device("cuda", torch.cuda.current_device())
        return device

    # ------------------------------------------------------------------
    # Fit
    # ------------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, *, X_val=None, y_val=None):
        """Train the encoder and the downstream network on features and votes.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features.
        y : array-like of shape (n_samples, n_sources), (n_samples,) or \
(n_samples, n_sources, n_classes)
            Label matrix: votes with ``abstain`` for no vote (a 1-D ``y``
            is a single source), or soft votes.
        X_val : array-like of shape (n_val, n_features), default=None
            Validation features. With ``y_val``, the downstream network is
            scored every epoch and the best epoch is kept.
        y_val : array-like of shape (n_val,), default=None
            Gold validation labels (entries equal to ``abstain`` are
            ignored).

        Returns
        -------
        self : object
            The fitted classifier.
        """
        torch, skorch = _import_torch()
        from ._losses import WeaSELLoss
        from ._modules import MLP, WeaSELModule

        X, L = self._validate_fit_data(X, y)
        n_classes = self.classes_.size
        n_features = X.shape[1]
        n_sources = L.shape[1]
        self.n_classes_ = n_classes
        self.n_sources_ = n_sources
        X_val, y_val = self._validate_validation_data(X_val, y_val)

        hidden = self._check_hidden(self.hidden_layer_sizes, "hidden_layer_sizes")
        encoder_hidden = self._check_hidden(self.encoder_hidden, "encoder_hidden")
        soft = L.ndim == 3
        if self.lf_encoding == "signed" and n_classes != 2:
            raise ValueError(
                f'lf_encoding="signed" needs 2 classes; there are {n_classes}.'
            )
        if self.lf_encoding == "raw" and soft:
            raise ValueError('lf_encoding="raw" needs hard votes, not soft ones.')
        prior = None
        if self.class_prior is not None:
            prior = check_class_prior(self.class_prior, n_classes)
            if (prior <= 0).any():
                raise ValueError(
                    "class_prior must be positive: a zero entry makes the "
                    "encoder's log-probability of that class -inf."
                )

        covered = is_covered(L)
        self.coverage_ = float(covered.mean())
        if self.drop_uncovered:
            X, L = X[covered], L[covered]
        self.n_train_used_ = int(X.shape[0])
        if self.n_train_used_ < 2:
            raise ValueError(
                f"{type(self).__name__} needs at least 2 training samples with a "
                f"vote; got {self.n_train_used_} (n_samples = {covered.size})."
            )
        self.silent_sources_ = warn_silent_sources(L, type(self).__name__)

        if self.class_conditional == "auto":
            self.class_conditional_ = n_classes > 2
        else:
            self.class_conditional_ = bool(self.class_conditional)
        if isinstance(self.tau2, str):
            base = math.sqrt(n_sources) if self.tau2 == "sqrt" else float(n_sources)
            self.tau2_ = base * (n_classes if self.class_conditional_ else 1)
        else:
            self.tau2_ = float(self.tau2)
        scorer = None
        if X_val is not None:
            scorer = _validation_scorer(self.scoring, n_classes, self.classes_)
            if self.scoring in ("auto", "roc_auc"):
                present = np.unique(y_val)
                if present.size < n_classes and (
                    n_classes == 2 or self.scoring == "roc_auc"
                ):
                    raise ValueError(
                        "ROC-AUC model selection needs every class in y_val; it "
                        f"holds only {self.classes_[present].tolist()}. Pass more "
                        'validation data or scoring="accuracy".'
                    )
        elif n_sources > 1 and self.tau1 > 1 / 3:
            warnings.warn(
                "No validation data: training runs for max_epochs and keeps the "
                "last epoch. Without early stopping the WeaSEL paper advises "
                f"tau1 <= 1/3 (got tau1={self.tau1}) to avoid collapsed solutions.",
                UserWarning,
                stacklevel=3,
            )
        tune = bool(self.tune_threshold and n_classes == 2 and X_val is not None)
        if tune and np.unique(y_val).size < 2:
            warnings.warn(
                "y_val holds a single class; the decision threshold is not tuned.",
                UserWarning,
                stacklevel=3,
            )
            tune = False

        device = self._resolve_device(torch)
        self.device_ = str(device)
        torch_dtype = torch.float64 if self.dtype == "float64" else torch.float32
        np_dtype = np.float64 if self.dtype == "float64" else np.float32
        seed = int(
            check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        )

        X_t = torch.from_numpy(np.array(X, dtype=np_dtype, order="C", copy=True))
        L_np = np.array(L, dtype=np_dtype if soft else L.dtype, order="C", copy=True)
        L_t = torch.from_numpy(L_np)
        X_t, L_t = X_t.to(device), L_t.to(device)
        X_val_np = None if X_val is None else np.asarray(X_val, dtype=np_dtype)

        from ._training import BatchIterator, TensorBatches, ValidationCheckpoint

        vote_width = (
            n_sources * n_classes if self.lf_encoding == "onehot" else n_sources
        )
        encoder_in = vote_width + (n_features if self.encoder_uses_features else 0)
        encoder_out = n_sources * n_classes if self.class_conditional_ else n_sources

        fork_devices = [device.index] if device.type == "cuda" else []
        with (
            _torch_threads(self.n_threads),
            torch.random.fork_rng(devices=fork_devices),
        ):
            torch.manual_seed(seed)
            downstream = self._build_network(
                self.module,
                self.module_params,
                n_features,
                n_classes,
                lambda: MLP(n_features, n_classes, hidden, self.dropout),
                "module",
                torch.nn,
            )
            encoder = self._build_network(
                self.encoder,
                self.encoder_params,
                encoder_in,
                encoder_out,
                lambda: MLP(
                    encoder_in,
                    encoder_out,
                    encoder_hidden,
                    self.encoder_dropout,
                    batchnorm=self.encoder_batchnorm,
                    dropout_last_hidden=True,
                ),
                "encoder",
                torch.nn,
            )
            joint = WeaSELModule(
                encoder,
                downstream,
                n_sources=n_sources,
                n_classes=n_classes,
                class_conditional=self.class_conditional_,
                tau1=self.tau1,
                tau2=self.tau2_,
                accuracy=self.accuracy,
                accuracy_support=self.accuracy_support,
                lf_encoding=self.lf_encoding,
                encoder_uses_features=self.encoder_uses_features,
                log_prior=None if prior is None else np.log(prior),
            ).to(device=device, dtype=torch_dtype)
            probe_X, probe_L = X_t[:2], L_t[:2]
            self._check_output(joint.downstream, probe_X, n_classes, "module", torch)
            probe_lam = joint.vote_onehot(probe_L, torch_dtype)
            self._check_output(
                joint.encoder,
                joint.encoder_input(probe_X, probe_L, probe_lam),
                encoder_out,
                "encoder",
                torch,
            )

            callbacks = []
            checkpoint = None
            if X_val is not None:
                checkpoint = ValidationCheckpoint(
                    X_val_np, y_val, scorer, tune, self.patience
                )
                callbacks.append(("validation_checkpoint", checkpoint))
            optimizer_kwargs = {"optimizer__weight_decay": self.weight_decay}
            if self.encoder_lr is not None and self.encoder_lr != self.lr:
                optimizer_kwargs["optimizer__param_groups"] = [
                    ("encoder.*", {"lr": self.encoder_lr})
                ]
            if device.type in ("cpu", "cuda"):
                optimizer_kwargs["optimizer__fused"] = True
            net = skorch.NeuralNet(
                module=joint,
                criterion=WeaSELLoss,
                criterion__loss=self.loss,
                criterion__class_prior=prior,
                optimizer=torch.optim.Adam,
                lr=self.lr,
                max_epochs=self.max_epochs,
                batch_size=self.batch_size,
                iterator_train=BatchIterator,
                iterator_train__shuffle=True,
                iterator_valid=BatchIterator,
                train_split=None,
                callbacks=callbacks,
                device=str(device),
                verbose=self.verbose,
                **optimizer_kwargs,
            )
            net.fit(TensorBatches(X_t, L_t), None)

        # The trained module lives in net.module_; keep the class (not the
        # instance) as the parameter so that the pickled net holds one copy,
        # which skorch maps to the CPU when CUDA is unavailable at load time.
        net.module = type(net.module_)
        if checkpoint is not None:
            self.best_epoch_ = int(checkpoint.best_epoch) or len(net.history)
            self.best_score_ = (
                float(checkpoint.best_score)
                if np.isfinite(checkpoint.best_score)
                else None
            )
            self.threshold_ = checkpoint.threshold
            checkpoint.release()
        else:
            self.best_epoch_ = len(net.history)
            self.best_score_ = None
            self.threshold_ = None
        losses = np.asarray(net.history[:, "train_loss"], dtype=np.float64)
        if not np.isfinite(losses).all():
            warnings.warn(
                'The training loss became non-finite; lower lr or use dtype="float64".',
                RuntimeWarning,
                stacklevel=3,
            )
        self.net_ = net
        self.history_ = net.history
        return self

    # ------------------------------------------------------------------
    # Prediction and inspection
    # ------------------------------------------------------------------
    def predict_proba(self, X):
        """Class probabilities of the downstream network.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=_FLOAT_DTYPES)
        with _torch_threads(self.n_threads):
            return _downstream_proba(self.net_.module_, X)

    def predict(self, X):
        """Class labels of the downstream network.

        Binary models with a tuned ``threshold_`` predict ``classes_[1]``
        when its probability is at least the threshold; otherwise the most
        probable class is returned.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Predicted class indices.
        """
        proba = self.predict_proba(X)
        if self.threshold_ is not None:
            index = (proba[:, 1] >= self.threshold_).astype(np.intp)
        else:
            index = np.argmax(proba, axis=1)
        return self.classes_[index]

    def _encoder_forward(self, X, L, what):
        import torch

        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=_FLOAT_DTYPES)
        L = self._validate_L(X, L)
        module = self.net_.module_
        param = next(module.parameters())
        was_training = module.training
        module.eval()
        out = []
        try:
            with _torch_threads(self.n_threads), torch.no_grad():
                for start in range(0, X.shape[0], _PREDICT_CHUNK):
                    stop = start + _PREDICT_CHUNK
                    Xb = torch.as_tensor(
                        X[start:stop], dtype=param.dtype, device=param.device
                    )
                    Lb = torch.as_tensor(
                        L[start:stop]
                        if L.ndim == 2
                        else L[start:stop].astype(np.float64),
                        device=param.device,
                    )
                    if Lb.is_floating_point():
                        Lb = Lb.to(param.dtype)
                    if what == "theta":
                        out.append(module.accuracy_scores(Xb, Lb).cpu())
                    else:
                        logits = module.encoder_logits(Xb, Lb)
                        out.append(torch.softmax(logits, dim=1).cpu())
        finally:
            module.train(was_training)
        return torch.cat(out).numpy()

    def predict_proba_encoder(self, X, L):
        """The encoder's probabilistic labels ``y_e`` (for inspection).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features.
        L : array-like of shape (n_samples, n_sources) or \
(n_samples, n_sources, n_classes)
            Votes in the label space of ``y`` used in fit.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Rows with no vote get the class prior (uniform by default).
        """
        return self._encoder_forward(X, L, "proba").astype(np.float64)

    def accuracy_scores(self, X, L):
        """Per-sample source accuracies ``theta`` predicted by the encoder.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features.
        L : array-like of shape (n_samples, n_sources) or \
(n_samples, n_sources, n_classes)
            Votes in the label space of ``y`` used in fit.

        Returns
        -------
        theta : ndarray of shape (n_samples, n_sources) or \
(n_samples, n_sources, n_classes)
            Non-negative scores; with the softmax parameterisation they sum
            to ``tau2_`` over the sources that vote on the row (per class
            when ``class_conditional_``), abstaining sources get 0 and rows
            without a vote are all 0. With ``accuracy_support="all"`` they
            sum to ``tau2_`` over all sources: abstaining sources have a
            positive score too, but it multiplies no vote.
        """
        return self._encoder_forward(X, L, "theta")

    def score(self, X, y, sample_weight=None):
        """Accuracy of :meth:`predict` against gold labels or source votes.

        With a 1-D ``y`` (gold labels), the accuracy over the entries that
        are not ``abstain``. With a label matrix, the fraction of the
        (non-abstain) votes that agree with the prediction, i.e. the
        agreement with the sources; soft votes count with their
        probability.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features.
        y : array-like of shape (n_samples,), (n_samples, n_sources) or \
(n_samples, n_sources, n_classes)
            Gold labels or a label matrix.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
            Accuracy or agreement, in [0, 1].
        """
        pred = self.predict(X)
        pred_index = np.searchsorted(self.classes_, pred)
        n_samples = pred.shape[0]
        weight = (
            np.ones(n_samples)
            if sample_weight is None
            else column_or_1d(np.asarray(sample_weight, dtype=np.float64))
        )
        check_sample_alignment(n_samples, weight.shape[0], "X", "sample_weight")
        if self._is_soft(y):
            A, _ = check_label_matrix(
                y, n_classes=self.n_classes_, allow_soft=True, require_votes=True
            )
            check_sample_alignment(n_samples, A.shape[0], "X", "y")
            agree = A[np.arange(n_samples), :, pred_index].sum(axis=1)
            mass = A.sum(axis=(1, 2))
        else:
            if hasattr(y, "to_numpy") and not isinstance(y, np.ndarray):
                y = y.to_numpy()
            y = check_array(y, ensure_2d=False, dtype=None, input_name="y")
            y2 = y.reshape(-1, 1) if y.ndim == 1 else y
            check_sample_alignment(n_samples, y2.shape[0], "X", "y")
            codes = self._encode_votes(y2)
            agree = (codes == pred_index[:, None]).sum(axis=1).astype(np.float64)
            mass = (codes >= 0).sum(axis=1).astype(np.float64)
        total = np.dot(weight, mass)
        if total <= 0:
            raise ValueError("y holds no label to score against.")
        return float(np.dot(weight, agree) / total)
