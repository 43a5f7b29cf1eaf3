"""WeaSEL: end-to-end learning from multiple weak supervision sources."""

import math
import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import Bunch, check_random_state
from sklearn.utils.validation import check_array, check_is_fitted

from ..utils._label_matrix import is_covered, warn_silent_sources
from ..utils._optional import import_optional
from ..utils._sklearn_compat import Interval, StrOptions, _fit_context
from ..utils._targets import check_sample_alignment, encode_votes
from ..utils._threads import torch_threads
from ..utils._torch import resolve_device
from ..utils._validation import (
    check_class_prior,
    check_label_matrix,
    check_sample_weight,
)
from ..utils._atomic import atomic_state
from ..utils._warnings import user_stacklevel
from ..utils._dask import is_dask_collection, refuse_dask

from ._options import (
    ACCURACY_FUNCTIONS,
    ACCURACY_SUPPORTS,
    LF_ENCODINGS,
    LOSSES,
    SCORINGS,
    resolve_join,
)
from ._networks import ModuleSpec, check_hidden_sizes
from ._inputs import (
    is_soft,
    validate_features,
    validate_inference_votes,
    validate_training_data,
    validate_validation_data,
)
from ._scoring import validation_scorer
from ._dask_blocks import lazy_method, score_blocks, validate_dask_training

__all__ = ["WeaSELClassifier"]

#: ``"auto"`` values of the network options for dense features (chosen on the
#: tabular suite) and for scipy.sparse features (chosen on the text suite:
#: TF-IDF with thousands of columns). See the ``hidden_layer_sizes`` entry of
#: the class docstring and the user guide.
_DENSE_AUTO = dict(
    hidden_layer_sizes=(50, 50, 25),
    encoder_uses_features=True,
    lr=3e-3,
    weight_decay=7e-7,
    encoder_init="random",
    warmup_epochs=0,
)
# The majority-vote warm start on sparse text: +0.8 points on the text
# suite's mean, seed spread at most 1.3 points (was 1.6), and no loss with
# 25 or 100 duplicated coin-flip sources on YouTube TF-IDF; on dense
# features it broke the duplicated-source robustness, so it stays sparse-only.
_SPARSE_AUTO = dict(
    hidden_layer_sizes=(16,),
    encoder_uses_features=False,
    lr=1e-2,
    weight_decay=1e-4,
    encoder_init="majority_vote",
    warmup_epochs=3,
)
_DASK_VALIDATION = (
    "validation data must be in memory: pass X_val.compute() and y_val.compute() "
    "(a sample of rows: they are scored after every epoch)"
)


def _auto_batch_size(n_rows):
    """``batch_size="auto"``: 64 rows, fewer on small and more on large sets.

    On a few hundred rows an epoch of 64-row batches is 2-5 steps, which
    leaves the networks untrained after ``max_epochs``: below 1,024 rows the
    batch shrinks to ``n_rows // 16`` (at least 16) for about 16 steps an
    epoch. Above 12,800 rows it grows to ``n_rows // 200`` (at most 512),
    so that an epoch is about 200 steps and a large set is not trained for
    10^4 steps an epoch.
    """
    if n_rows < 1024:
        return max(16, n_rows // 16)
    return min(512, max(64, n_rows // 200))


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
    hidden_layer_sizes : "auto" or tuple of int, default="auto"
        Hidden widths of the default downstream MLP (dropout after every
        hidden layer but the last). Ignored when ``module`` is given.
        ``"auto"``: ``(50, 50, 25)`` for dense ``X``; for a scipy.sparse
        ``X`` (TF-IDF and other high-dimensional sparse features, where a
        wide first layer is slow and fits the noise of the labels; see
        Notes) ``()``, a linear model, when gold validation rows join the
        training (``validation_weight``), else ``(16,)``. The width is
        fixed before training: a fit interrupted with Ctrl-C keeps the
        linear model without the join.
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
    encoder_init : {"auto", "random", "majority_vote"}, default="auto"
        Start of the default encoder. ``"auto"``: ``"majority_vote"`` for a
        scipy.sparse ``X`` (with ``warmup_epochs="auto"``, a warm start on
        text), ``"random"`` for dense ``X``. ``"random"``: PyTorch's
        initialisation (the paper's). ``"majority_vote"``: its output layer
        starts at zero, so every voter of a row gets the same accuracy and
        the encoder's labels start as a soft majority vote, whatever the
        seed; with ``warmup_epochs`` it makes ``f`` start from a network
        trained on majority-vote labels. A custom ``encoder`` is never
        modified.
    lf_encoding : {"onehot", "signed", "raw"}, default="onehot"
        How the votes enter the encoder: one-hot per (source, class) with
        abstain all-zero (soft votes: their probabilities); ``"signed"``
        (binary only): +1 / -1 / 0 for a positive / negative vote /
        abstain; ``"raw"`` (hard votes only): the class index, -1 for
        abstain (the reference code's encoding).
    encoder_uses_features : "auto" or bool, default="auto"
        Feed the features to the encoder together with the votes.
        ``"auto"``: True for dense ``X``, False for a scipy.sparse ``X``
        (the encoder then sees the votes only).
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
        Sources over which the accuracy softmax is normalised on each row:
        ``"voters"``, those that vote on the row (abstaining sources get
        ``theta = 0``, so ``theta`` sums to ``tau2`` over the voters), or
        ``"all"`` (the paper's code), every source, including those that
        abstain (their accuracy multiplies no vote). The two coincide when
        every source votes on every row; see Notes and the user guide.
        Class-conditional accuracies use the same voters for every class;
        rows without any vote get ``theta = 0`` (uniform encoder labels).
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
    lr : "auto" or float, default="auto"
        Adam learning rate. ``"auto"``: 3e-3 for dense ``X``, 1e-2 for a
        scipy.sparse ``X``. The paper's 1e-4 was chosen for 10^4-10^5
        training rows and barely moves the networks on a few hundred.
    encoder_lr : float, default=None
        Learning rate of the encoder (a separate Adam parameter group);
        None: ``lr``.
    weight_decay : "auto" or float, default="auto"
        Adam L2 weight decay of both networks. ``"auto"``: 7e-7 for dense
        ``X``, 1e-4 for a scipy.sparse ``X`` (thousands of TF-IDF weights
        per hidden unit need a real penalty).
    batch_size : int or "auto", default="auto"
        Mini-batch size (at least 2, for BatchNorm). ``"auto"``: 64 rows;
        ``n_train_used_ // 16`` (at least 16) on fewer than 1,024 rows, so
        that an epoch has about 16 steps even on small data, and
        ``n_train_used_ // 200`` (at most 512) above 12,800 rows.
    max_epochs : int, default=50
        Maximum number of epochs, the warm-up included.
    warmup_epochs : int or "auto", default="auto"
        ``"auto"``: 3 for a scipy.sparse ``X`` (on the text suite, with the
        majority-vote start: +0.8 points on the mean and a smaller spread
        across seeds), 0 for dense ``X``. Epochs at the start during which
        the encoder is frozen: the
        downstream network first learns the encoder's initial labels (a
        soft majority vote with ``encoder_init="majority_vote"``), then
        both are trained jointly, and epoch selection starts with the last
        warm-up epoch. 0: joint training from the first step, as in the
        paper. A warm-up on majority-vote labels helps where the majority
        vote is good, but it first teaches ``f`` the errors of duplicated
        or adversarial sources, which the joint phase must then unlearn.
    scoring : {"auto", "accuracy", "neg_log_loss", "roc_auc"} or callable, \
default="auto"
        Validation metric of ``f`` for epoch selection (higher is better).
        ``"auto"``: accuracy, ties broken by the log-loss. ``"roc_auc"``
        (one-vs-rest for more than 2 classes) is the paper's protocol; it
        can prefer an epoch that ranks well but predicts one class. A
        callable is called as ``scoring(y_true, proba)`` with labels from
        ``classes_`` and columns of ``proba`` in the order of ``classes_``.
    patience : int or None, default=None
        Stop after this many epochs (after the warm-up) without improvement:
        of the validation score with validation data, else of the training
        loss (by more than 1e-4, as scikit-learn's MLP). None: train
        ``max_epochs`` epochs. Validation accuracy on a few hundred rows is
        noisy and can rise again after 30 flat epochs, so early stopping is
        off by default.
    tune_threshold : bool, default=False
        Binary with validation data: predict ``classes_[1]`` when its
        probability reaches the F1-optimal threshold on the validation set
        (the paper's protocol) instead of the argmax. For threshold tuning
        by cross-validation, wrap the classifier in scikit-learn's
        ``TunedThresholdClassifierCV``.
    validation_weight : "auto" or float, default="auto"
        With validation data: after training (best epoch restored), the
        downstream network trains 10 more epochs on its weak rows (targets:
        the trained encoder's probabilistic labels) together with the gold
        validation rows and their labels, whose total weight is this
        fraction of the weak rows' (1 weighs the two sets equally). 0 keeps
        the gold rows for epoch selection only, as in the paper. ``"auto"``
        is 1, except for a scipy.sparse ``X`` with the default network
        (``hidden_layer_sizes="auto"``, which then gives a linear model, and
        no ``module``): there it is chosen after training. The gold rows
        lead (10) unless they are significantly worse teachers than the
        weak labels: logistic regression trained on the gold rows alone is
        cross-validated on them, and when the trained network's accuracy on
        those rows is higher at the one-sided 5 % level (a paired z test),
        the weak rows lead (3). ``join_scores_`` holds the accuracies and
        the statistic. On the text suite in ``benchmarks/`` (sparse TF-IDF,
        three seeds) this raised the mean test accuracy from 74.2 points
        (share 1 at a tenth of the learning rate, hidden layer of 16) to
        76.5; Yoruba, whose weak labels are 52 % accurate, from 58.9 to
        68.8. On simulated four-class topics labelled with keyword lists,
        where the weak labels teach much more than 250 gold rows can, the
        weak rows lead: 71.7 against 65.6 with the gold rows leading. On
        long multi-class documents the linear model loses to the hidden
        layer of 16 (5 points on simulated six-class long texts; see the
        user guide).
        ``best_score_`` and a tuned ``threshold_`` are those of the network
        before the gold rows join. Once joined, the gold rows are training
        rows: ``score(X_val, y_val)`` after the fit no longer estimates
        accuracy (``best_score_`` does, or rows kept out of the fit).
        With a dask ``X`` the gold rows only select the epoch (joining is
        done in memory; ``"auto"`` then means 0, a float above 0 warns), and
        a fit interrupted with Ctrl-C keeps its best epoch as it is.
    validation_lr : "auto" or float, default="auto"
        Adam learning rate of those 10 epochs. ``"auto"``: ``lr_`` where
        the gold rows lead (the share 10 chosen by ``"auto"``, or any share
        you set for a scipy.sparse ``X`` with the default network),
        ``lr_ / 3`` where the weak rows lead after that choice, else
        ``lr_ / 10``. On the text suite the full rate was what Yoruba's
        poor weak labels needed (share 10: 68.8 against 59.9 at ``lr_ /
        3``). Dense ``X`` and networks of your own keep share 1 at a tenth
        of the learning rate (the best of the continuations tried with the
        hidden layer of 16 on four text tasks; with that layer, share 10 at
        the full rate lost 2.3 points on IMDB with narrow rules).
    device : str, default="cpu"
        Torch device (``"cpu"``, ``"cuda"``, ``"cuda:1"``...); ``"auto"``
        takes CUDA when it is available. A CUDA device that is not available
        raises a ValueError in :meth:`fit`.
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
    hidden_layer_sizes_ : tuple of int
        The resolved hidden widths of the default downstream MLP.
    validation_weight_ : float
        The gold rows' share of the join (0.0 when they did not join:
        without validation data, on dask input or after Ctrl-C).
    validation_lr_ : float
        The learning rate of the join.
    join_scores_ : dict or None
        Where ``validation_weight="auto"`` chose the join (see there): the
        accuracy on the gold rows of the trained network before they joined
        (``"weak_model"``), the cross-validated accuracy of logistic
        regression trained on the gold rows alone (``"gold_rows_alone"``),
        and the paired z statistic of the first minus the second (``"z"``;
        the weak rows led when it was above 1.645). Fewer than 4 gold rows,
        or a single class, cannot be judged: NaN and +inf, and the weak
        rows lead. None elsewhere.
    encoder_uses_features_ : bool
        Whether the encoder sees the features.
    lr_ : float
        The learning rate used.
    weight_decay_ : float
        The weight decay used.
    encoder_init_ : str
        The resolved start of the default encoder.
    warmup_epochs_ : int
        The resolved number of warm-up epochs.
    tau2_ : float
        The resolved accuracy scale.
    threshold_ : float or None
        Tuned decision threshold on ``P(classes_[1])`` (binary with
        validation data and ``tune_threshold``), else None (argmax).
    batch_size_ : int
        The mini-batch size used.
    best_epoch_ : int
        Epoch (1-based) whose weights were kept: the best validation epoch,
        or the last epoch without validation data.
    n_epochs_ : int
        Number of epochs trained (fewer than ``max_epochs`` after early
        stopping or an interrupt).
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
    MajorityVote : The label model the default encoder starts from.
    LabelModelClassifier : Two-stage training on a label model's labels.

    Notes
    -----
    ``y`` is the label matrix: ``(n_samples, n_sources)`` votes with
    ``abstain`` for no vote, or soft votes ``(n_samples, n_sources,
    n_classes)``. A 1-D ``y`` is a single source, i.e. ordinary supervision
    (``f`` then learns from the smoothed targets
    ``softmax(tau2 * onehot(y))``).

    *Training protocol.* Both networks are trained jointly from the first
    step (optionally after a warm-up of ``f`` alone on the encoder's
    initial labels, ``warmup_epochs``), for ``max_epochs`` epochs. With
    validation data the epoch with the best validation accuracy (ties
    broken by the log-loss) is kept; without validation data, the last
    epoch. ``patience`` stops early, on the validation score or on the
    training loss. ``predict`` is the argmax of ``predict_proba``. The
    paper's protocol [1]_ is ``WeaSELClassifier(lr=1e-4, batch_size=64,
    max_epochs=150, scoring="roc_auc", tune_threshold=True,
    accuracy_support="all")``. On small data sets (hundreds to a few
    thousand rows) its small learning rate and ROC-AUC selection tend to
    keep an early, barely trained network whose ranking is good but whose
    argmax is not, which the F1 threshold then hides; accuracy selection
    keeps such a network only where nothing later predicts better.

    *Sparse features.* A scipy.sparse ``X`` (TF-IDF and other
    high-dimensional sparse features) resolves the ``"auto"`` options
    differently: one hidden layer of 16 units instead of ``(50, 50, 25)``
    (a linear model when gold rows join, see ``validation_weight``), an
    encoder that sees the votes only, ``lr=1e-2`` and
    ``weight_decay=1e-4``. With thousands of columns the wide first layers
    cost most of the time and fit the noise of the labels within one to a
    few epochs; on six text tasks the sparse settings were as accurate on
    average, with half the spread across seeds, in a third of the time.
    The rule looks at the type of ``X`` only: pass dense embeddings as a
    dense array, TF-IDF as a sparse matrix, or set the parameters.

    *Deviation from the paper:* the accuracy softmax is normalised over the
    voters of each row (``accuracy_support="voters"``). With few sources
    and about one vote per row, the paper's softmax over all sources lets
    the encoder agree with ``f`` by moving ``tau2`` onto abstaining
    sources, which flattens its labels; ``accuracy_support="all"``
    reproduces it.

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
    >>> clf = WeaSELClassifier(max_epochs=20, random_state=0)
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
        "hidden_layer_sizes": [StrOptions({"auto"}), "array-like"],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "encoder": [None, callable],
        "encoder_params": [dict, None],
        "encoder_hidden": ["array-like"],
        "encoder_dropout": [Interval(Real, 0, 1, closed="left")],
        "encoder_batchnorm": ["boolean"],
        "encoder_init": [StrOptions({"auto", "majority_vote", "random"})],
        "lf_encoding": [StrOptions(set(LF_ENCODINGS))],
        "encoder_uses_features": [StrOptions({"auto"}), "boolean"],
        "class_conditional": [StrOptions({"auto"}), "boolean"],
        "tau1": [Interval(Real, 0, None, closed="neither")],
        "tau2": [StrOptions({"sqrt", "m"}), Interval(Real, 0, None, closed="neither")],
        "accuracy": [StrOptions(set(ACCURACY_FUNCTIONS))],
        "accuracy_support": [StrOptions(set(ACCURACY_SUPPORTS))],
        "loss": [StrOptions(set(LOSSES))],
        "class_prior": ["array-like", None],
        "classes": ["array-like", None],
        "abstain": [Integral, str, None],
        "drop_uncovered": ["boolean"],
        "lr": [StrOptions({"auto"}), Interval(Real, 0, None, closed="neither")],
        "encoder_lr": [Interval(Real, 0, None, closed="neither"), None],
        "weight_decay": [StrOptions({"auto"}), Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 2, None, closed="left")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "warmup_epochs": [Interval(Integral, 0, None, closed="left"), StrOptions({"auto"})],
        "scoring": [StrOptions(set(SCORINGS)), callable],
        "patience": [Interval(Integral, 1, None, closed="left"), None],
        "tune_threshold": ["boolean"],
        "validation_weight": [StrOptions({"auto"}), Interval(Real, 0, None, closed="left")],
        "validation_lr": [StrOptions({"auto"}), Interval(Real, 0, None, closed="neither")],
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
        hidden_layer_sizes="auto",
        dropout=0.3,
        encoder=None,
        encoder_params=None,
        encoder_hidden=(70, 70),
        encoder_dropout=0.3,
        encoder_batchnorm=True,
        encoder_init="auto",
        lf_encoding="onehot",
        encoder_uses_features="auto",
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
        lr="auto",
        encoder_lr=None,
        weight_decay="auto",
        batch_size="auto",
        max_epochs=50,
        warmup_epochs="auto",
        scoring="auto",
        patience=None,
        tune_threshold=False,
        validation_weight="auto",
        validation_lr="auto",
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
        self.encoder_init = encoder_init
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
        self.warmup_epochs = warmup_epochs
        self.scoring = scoring
        self.patience = patience
        self.tune_threshold = tune_threshold
        self.validation_weight = validation_weight
        self.validation_lr = validation_lr
        self.device = device
        self.dtype = dtype
        self.n_threads = n_threads
        self.verbose = verbose
        self.random_state = random_state

    # With metadata routing on, a Pipeline or a search passes X_val and y_val
    # to fit without a set_fit_request call: they only exist to be used.
    __metadata_request__fit = {"X_val": True, "y_val": True}

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True  # scipy.sparse X: sparse batches
        return tags

    # ------------------------------------------------------------------
    # Fit: validation, options, networks, training, results
    # ------------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, *, X_val=None, y_val=None):
        """Train the encoder and the downstream network on features and votes.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array} of shape (n_samples, n_features)
            Features. A scipy.sparse matrix (e.g. TF-IDF) is kept sparse:
            each mini-batch is made dense on its own. A dask array (dense
            or scipy.sparse chunks) is streamed to the training loop one row
            block at a time, in a new block order every epoch (see the
            user guide, "Scaling out").
        y : array-like or dask array of shape (n_samples, n_sources), \
(n_samples,) or (n_samples, n_sources, n_classes)
            Label matrix: votes with ``abstain`` for no vote (a 1-D ``y``
            is a single source), or soft votes. With a dask ``X`` it may
            be in memory or a dask array; its row blocks follow ``X``'s.
        X_val : {array-like, sparse matrix} of shape (n_val, n_features), \
default=None
            Validation features. With ``y_val``, the downstream network is
            scored every epoch and the best epoch is kept. In memory, also
            when ``X`` is a dask array.
        y_val : array-like of shape (n_val,), default=None
            Gold validation labels (entries equal to ``abstain`` are
            ignored).

        Returns
        -------
        self : object
            The fitted classifier.
        """
        name = type(self).__name__
        refuse_dask(name, "fit", _DASK_VALIDATION, X_val=X_val, y_val=y_val)
        torch = import_optional("torch", name)
        import_optional("skorch", name)
        from ._training import WeaSELTrainer

        # A fit that raises (or is interrupted) leaves the classifier as it was.
        with atomic_state(self):
            lazy = is_dask_collection(X) or is_dask_collection(y)
            if lazy:
                blocks = validate_dask_training(self, X, y)
                soft = blocks.soft
            else:
                X, L = validate_training_data(self, X, y)
                self.n_sources_ = L.shape[1]
                soft, sparse = L.ndim == 3, sp.issparse(X)
            self.n_classes_ = self.classes_.size
            X_val, y_val = validate_validation_data(self, X_val, y_val)
            if lazy:
                counts = self._dask_training_rows(blocks)
                sparse = sp.issparse(counts.probe[0])  # what the blocks hold
            options = self._resolve_options(soft, X_val, y_val, sparse, lazy)
            if not lazy:
                X, L = self._training_rows(X, L)
            device = resolve_device(self.device, name)
            self.device_ = str(device)
            dtype = torch.float64 if self.dtype == "float64" else torch.float32
            seed = int(
                check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
            )
            if lazy:
                X, L = self._block_stream(blocks, counts, seed), None
            fork_devices = [device.index] if device.type == "cuda" else []
            trainer = WeaSELTrainer(self._training_options(options), dtype, device)
            with torch_threads(self.n_threads), torch.random.fork_rng(fork_devices):
                torch.manual_seed(seed)
                net, result = trainer.fit(
                    self._module_spec(options), X, L, X_val, y_val
                )
                join = self.validation_weight_ > 0
                if lazy and X_val is not None and self.validation_weight != "auto" \
                        and self.validation_weight > 0:
                    warnings.warn(
                        f"{name} trained on dask input: the gold validation rows "
                        "selected the epoch but did not join training (that needs "
                        "the training rows in memory). Pass validation_weight=0 to "
                        "ask for exactly this.",
                        UserWarning,
                        stacklevel=user_stacklevel(),
                    )
                # The gold rows join after a training that ran its course (not
                # after Ctrl-C, which keeps the best epoch as it is).
                if join and result.interrupted:
                    self.validation_weight_ = 0.0
                elif join:
                    from ._gold_rows import join_as_resolved

                    join_as_resolved(
                        self, net.module_, X, L, X_val, y_val, seed, options.choose_join
                    )
            self._set_training_results(net, result)
        return self

    def _resolve_options(self, soft, X_val, y_val, sparse, lazy=False):
        """Resolve the data-dependent options (a Bunch used by the next steps).

        Sets ``class_conditional_``, ``tau2_``, ``encoder_uses_features_``,
        ``hidden_layer_sizes_``, ``lr_``, ``weight_decay_``,
        ``validation_weight_``, ``validation_lr_`` and ``join_scores_`` (the
        ``"auto"`` values depend on whether ``X`` is sparse, see
        ``_SPARSE_AUTO``; a join chosen after training sets the last three
        again, see ``_gold_rows.join_as_resolved``); returns the hidden
        sizes, the class prior, the validation scorer, whether to tune the
        threshold (kept off the estimator: the scorer does not pickle) and
        whether to choose the join after training.
        """
        n_classes, n_sources = self.n_classes_, self.n_sources_
        auto = _SPARSE_AUTO if sparse else _DENSE_AUTO
        resolved = {}
        for key, default in auto.items():
            value = getattr(self, key)
            resolved[key] = default if isinstance(value, str) and value == "auto" else value
        join = resolve_join(self, sparse, joinable=X_val is not None and not lazy)
        self.validation_weight_, self.join_scores_ = join.share, None
        if join.hidden is not None:
            resolved["hidden_layer_sizes"] = join.hidden
        self.hidden_layer_sizes_ = check_hidden_sizes(
            resolved["hidden_layer_sizes"], "hidden_layer_sizes"
        )
        self.encoder_uses_features_ = bool(resolved["encoder_uses_features"])
        self.lr_ = float(resolved["lr"])
        self.validation_lr_ = (
            self.lr_ * join.lr_factor if self.validation_lr == "auto"
            else float(self.validation_lr)
        )
        self.weight_decay_ = float(resolved["weight_decay"])
        self.encoder_init_ = resolved["encoder_init"]
        self.warmup_epochs_ = int(resolved["warmup_epochs"])
        options = Bunch(
            hidden=self.hidden_layer_sizes_,
            encoder_hidden=check_hidden_sizes(self.encoder_hidden, "encoder_hidden"),
            prior=None,
            scorer=None,
            tune=False,
            choose_join=join.choose,
        )
        if self.lf_encoding == "signed" and n_classes != 2:
            raise ValueError(
                f'lf_encoding="signed" needs 2 classes; there are {n_classes}.'
            )
        if self.lf_encoding == "raw" and soft:
            raise ValueError('lf_encoding="raw" needs hard votes, not soft ones.')
        if self.class_prior is not None:
            options.prior = check_class_prior(self.class_prior, n_classes)
            if (options.prior <= 0).any():
                raise ValueError(
                    "class_prior must be positive: a zero entry makes the "
                    "encoder's log-probability of that class -inf."
                )
        if self.class_conditional == "auto":
            self.class_conditional_ = n_classes > 2
        else:
            self.class_conditional_ = bool(self.class_conditional)
        if isinstance(self.tau2, str):
            base = math.sqrt(n_sources) if self.tau2 == "sqrt" else float(n_sources)
            self.tau2_ = base * (n_classes if self.class_conditional_ else 1)
        else:
            self.tau2_ = float(self.tau2)
        if X_val is None:
            return options
        options.scorer = validation_scorer(self.scoring, n_classes, self.classes_)
        if self.scoring == "roc_auc" and np.unique(y_val).size < n_classes:
            raise ValueError(
                "ROC-AUC model selection needs every class in y_val; it holds "
                f"only {self.classes_[np.unique(y_val)].tolist()}. Pass more "
                'validation data or scoring="auto".'
            )
        options.tune = bool(self.tune_threshold and n_classes == 2)
        if options.tune and np.unique(y_val).size < 2:
            warnings.warn(
                "y_val holds a single class; the decision threshold is not tuned.",
                UserWarning,
                stacklevel=user_stacklevel(),
            )
            options.tune = False
        return options

    def _training_rows(self, X, L):
        """Drop the uncovered rows (by default); set the coverage attributes."""
        covered = is_covered(L)
        if self.drop_uncovered:
            X, L = X[covered], L[covered]
        self._set_row_counts(covered.size, int(covered.sum()), L.shape[0])
        self.silent_sources_ = warn_silent_sources(L, type(self).__name__)
        return X, L

    def _set_row_counts(self, n_rows, n_covered, n_used):
        """``coverage_``, ``n_train_used_`` and ``batch_size_``."""
        self.coverage_ = float(n_covered / n_rows) if n_rows else float("nan")
        self.n_train_used_ = int(n_used)
        if self.n_train_used_ < 2:
            raise ValueError(
                f"{type(self).__name__} needs at least 2 training samples with a "
                f"vote; got {self.n_train_used_} (n_samples = {n_rows})."
            )
        if self.batch_size == "auto":
            self.batch_size_ = _auto_batch_size(self.n_train_used_)
        else:
            self.batch_size_ = int(self.batch_size)

    # ------------------------------------------------------------------
    # Fit on dask arrays: row blocks streamed to the training loop
    # ------------------------------------------------------------------
    def _prepare_args(self, soft):
        """The arguments of ``_dask_blocks.prepare_block`` after the blocks."""
        classes = None if soft else self.classes_
        return (classes, self.n_classes_, self.abstain, self.drop_uncovered, self.dtype)

    def _dask_training_rows(self, blocks):
        """Counts over the blocks (validating each): the coverage attributes."""
        from ._dask_blocks import block_counts

        args = self._prepare_args(blocks.soft)
        counts = block_counts(blocks.X_parts, blocks.y_parts, *args)
        self._set_row_counts(counts.n_rows, counts.n_covered, counts.n_used)
        silent = np.flatnonzero(counts.source_votes <= 0)
        self.silent_sources_ = warn_silent_sources(None, type(self).__name__, silent=silent)
        return counts

    def _block_stream(self, blocks, counts, seed):
        """The training dataset of the row blocks (``_streaming.BlockStream``)."""
        from ._streaming import BlockStream

        return BlockStream(
            blocks.X_parts,
            blocks.y_parts,
            self._prepare_args(blocks.soft),
            n_rows=counts.n_used,
            n_features=self.n_features_in_,
            n_sources=self.n_sources_,
            probe=counts.probe,
            seed=seed,
        )

    def _module_spec(self, options):
        """The resolved network options (``_networks.ModuleSpec``)."""
        return ModuleSpec(
            n_classes=self.n_classes_,
            module=self.module,
            module_params=self.module_params,
            hidden=options.hidden,
            dropout=self.dropout,
            encoder=self.encoder,
            encoder_params=self.encoder_params,
            encoder_hidden=options.encoder_hidden,
            encoder_dropout=self.encoder_dropout,
            encoder_batchnorm=self.encoder_batchnorm,
            zero_encoder_output=self.encoder_init_ == "majority_vote",
            class_conditional=self.class_conditional_,
            tau1=self.tau1,
            tau2=self.tau2_,
            accuracy=self.accuracy,
            accuracy_support=self.accuracy_support,
            lf_encoding=self.lf_encoding,
            encoder_uses_features=self.encoder_uses_features_,
            log_prior=None if options.prior is None else np.log(options.prior),
        )

    def _training_options(self, options):
        """The resolved training options (``_training.TrainingOptions``)."""
        from ._training import TrainingOptions

        return TrainingOptions(
            estimator_name=type(self).__name__,
            lr=self.lr_,
            weight_decay=self.weight_decay_,
            batch_size=self.batch_size_,
            max_epochs=self.max_epochs,
            loss=self.loss,
            encoder_lr=self.encoder_lr,
            warmup_epochs=self.warmup_epochs_,
            patience=self.patience,
            class_prior=options.prior,
            scorer=options.scorer,
            tune_threshold=options.tune,
            verbose=self.verbose,
        )

    def _set_training_results(self, net, result):
        """Store the trainer's results (``_training.WeaSELTrainer.finish``)."""
        self.best_epoch_ = result.best_epoch
        self.best_score_ = result.best_score
        self.threshold_ = result.threshold
        self.n_epochs_ = result.n_epochs
        self.net_ = net
        self.history_ = net.history

    # ------------------------------------------------------------------
    # Prediction and inspection
    # ------------------------------------------------------------------
    def _check_X(self, X):
        check_is_fitted(self)
        return validate_features(self, X)

    def predict_proba(self, X):
        """Class probabilities of the downstream network.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Features.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``. A dask ``X`` gives a lazy
            dask array with its row chunks.
        """
        if is_dask_collection(X):
            return lazy_method(self, "predict_proba", X)
        X = self._check_X(X)
        from ._training import downstream_proba

        with torch_threads(self.n_threads):
            return downstream_proba(self.net_.module_, X)

    def predict(self, X):
        """Class labels of the downstream network.

        The most probable class (the argmax of :meth:`predict_proba`), as
        for every scikit-learn classifier. Binary models fitted with
        ``tune_threshold=True`` and validation data instead predict
        ``classes_[1]`` when its probability is at least ``threshold_``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Features.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Predicted class labels (lazy for a dask ``X``).
        """
        if is_dask_collection(X):
            return lazy_method(self, "predict", X)
        proba = self.predict_proba(X)
        if self.threshold_ is not None:
            index = (proba[:, 1] >= self.threshold_).astype(np.intp)
        else:
            index = np.argmax(proba, axis=1)
        return self.classes_[index]

    def _encoder_forward(self, X, L, what):
        import torch

        from ._training import accepts_sparse, predict_in_chunks

        if is_dask_collection(X) or is_dask_collection(L):
            method = "accuracy_scores" if what == "theta" else "predict_proba_encoder"
            return lazy_method(self, method, X, L)
        X = self._check_X(X)
        L = validate_inference_votes(self, X, L)
        module = self.net_.module_
        param = next(module.parameters())
        sparse = accepts_sparse(module.encoder)
        if what == "theta":
            function = module.accuracy_scores
        else:
            function = lambda Xb, Lb: torch.softmax(  # noqa: E731
                module.encoder_logits(Xb, Lb), dim=1
            )
        was_training = module.training
        module.eval()
        try:
            with torch_threads(self.n_threads):
                return predict_in_chunks(
                    function, X, param.dtype, param.device, L=L, sparse=sparse
                )
        finally:
            module.train(was_training)

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
        proba = self._encoder_forward(X, L, "proba")
        return proba if is_dask_collection(proba) else proba.astype(np.float64)

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
        if any(is_dask_collection(a) for a in (X, y, sample_weight)):
            agree, mass = score_blocks(self, X, y, sample_weight, _block_agreement)
        else:
            agree, mass = self._agreement(X, y, sample_weight)
        if mass <= 0:
            raise ValueError("y holds no label to score against.")
        return float(agree / mass)

    def _agreement(self, X, y, sample_weight, require_votes=True):
        """Weighted sums of the votes (or labels) that agree and of all of them.

        ``require_votes=False`` for one row block of a dask ``y``: a block
        may hold no vote, the whole ``y`` is checked on the sums.
        """
        pred = self.predict(X)
        pred_index = np.searchsorted(self.classes_, pred)
        n_samples = pred.shape[0]
        weight = check_sample_weight(sample_weight, n_samples)
        if is_soft(y):
            A, _ = check_label_matrix(
                y, n_classes=self.n_classes_, allow_soft=True,
                require_votes=require_votes,
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
            codes = encode_votes(y2, self.classes_, abstain=self.abstain)
            agree = (codes == pred_index[:, None]).sum(axis=1).astype(np.float64)
            mass = (codes >= 0).sum(axis=1).astype(np.float64)
        return np.array([np.dot(weight, agree), np.dot(weight, mass)])


def _block_agreement(model, X, y, sample_weight):
    """``(agree, mass)`` of one dask row block (``_dask_blocks.score_blocks``)."""
    return model._agreement(X, y, sample_weight, require_votes=False)
