"""Shared code of the WeaSEL benchmarks (``weasel_robustness``, ``weasel_real``, ``weasel_b_mechanism``).

* :func:`pin_threads` pins torch's thread pools (the BLAS pools are set to
  one thread by importing the ``benchmarks`` package);
* data: WRENCH text features (TF-IDF -> truncated SVD -> standardisation,
  fitted on the training texts only) and Gaussian-blob features from
  :func:`skweak_e2e.datasets.make_weak_supervision`;
* :class:`SoftTargetMLP`, the downstream network of the two-stage baselines
  and of the supervised reference: ``WeaSELClassifier`` itself, given the
  fixed targets (label-model posteriors, which
  ``LabelModelClassifier(soft_labels="proba")`` hands over one row per
  sample, or gold labels) as a single soft source whose encoder labels are
  exactly those targets (:func:`targets_as_source`). The network ``f``
  (``skweak_e2e.end_to_end.MLP``, 50-50-25, dropout 0.3), the optimiser
  (Adam with weight decay), batches, epochs, per-epoch validation model
  selection (ROC-AUC for two classes, accuracy otherwise, best epoch kept),
  early stopping and F1-optimal threshold tuning are WeaSEL's own; only the
  training target differs from WeaSEL's (fixed instead of the encoder's);
* the method runners (WeaSEL, ``LabelModelClassifier`` with MajorityVote /
  DawidSkene / Snorkel + :class:`SoftTargetMLP`, supervised), the metrics,
  aggregation over seeds and reStructuredText tables.

The data are read in place from ``--wrench-dir`` (default
``$SKWEAK_E2E_WRENCH``, see ``_common.py``; never copied).
"""

import datetime
import json
import os
import time
import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import Bunch

from ._common import default_wrench_dir, rst_table  # noqa: F401 (the scripts' C.rst_table)

DEFAULT_WRENCH = default_wrench_dir()


def pin_threads(n_threads=1):
    """Pin torch's intra- and inter-op thread pools to ``n_threads``."""
    import torch

    torch.set_num_threads(n_threads)
    try:
        torch.set_num_interop_threads(n_threads)
    except RuntimeError:  # already set, or the pool has started
        pass

# --------------------------------------------------------------------------- data


def text_features(
    texts_train, texts_other, n_components=300, strip_accents=None, random_state=0
):
    r"""TF-IDF (word 1-2 grams, sublinear tf, min_df=2) -> SVD -> standardised.

    Every step is fitted on the training texts only; returns float32 arrays
    for the training texts and for each list in ``texts_other``.
    ``strip_accents="unicode"`` is used for Yoruba: its tone marks are often
    combining characters, which the default token pattern (``\w\w+``)
    treats as word breaks.
    """
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import StandardScaler

    vec = TfidfVectorizer(
        sublinear_tf=True, min_df=2, ngram_range=(1, 2), strip_accents=strip_accents
    )
    T = vec.fit_transform(texts_train)
    n_components = min(n_components, T.shape[1] - 1)
    svd = TruncatedSVD(n_components, random_state=random_state)
    Z = svd.fit_transform(T)
    scaler = StandardScaler().fit(Z)
    out = [scaler.transform(Z).astype(np.float32)]
    for texts in texts_other:
        out.append(
            scaler.transform(svd.transform(vec.transform(texts))).astype(np.float32)
        )
    info = {
        "vocabulary": len(vec.vocabulary_),
        "n_components": n_components,
        "explained_variance": float(svd.explained_variance_ratio_.sum()),
    }
    return out, info


def load_text_dataset(name, wrench_dir=DEFAULT_WRENCH, n_components=300):
    """A WRENCH text data set with TF-IDF/SVD features (read in place)."""
    from skweak_e2e.datasets import load_wrench

    d = load_wrench(os.path.join(wrench_dir, name))
    strip = "unicode" if name == "yoruba" else None
    (X_tr, X_va, X_te), info = text_features(
        d.train.texts,
        [d.valid.texts, d.test.texts],
        n_components=n_components,
        strip_accents=strip,
    )
    return Bunch(
        name=name,
        X_train=X_tr,
        X_valid=X_va,
        X_test=X_te,
        L_train=d.train.L,
        L_valid=d.valid.L,
        L_test=d.test.L,
        y_train=d.train.y,
        y_valid=d.valid.y,
        y_test=d.test.y,
        n_classes=d.n_classes,
        target_names=d.target_names,
        features=(
            f"TF-IDF (word 1-2-grams, sublinear tf, min_df=2"
            f"{', accents stripped' if strip else ''}; {info['vocabulary']} terms) "
            f"-> TruncatedSVD({info['n_components']}, "
            f"{100 * info['explained_variance']:.0f}% of the variance) -> "
            "StandardScaler, all fitted on the training texts"
        ),
    )


def load_synthetic(
    seed, n_train=1500, n_valid=250, n_test=1500, n_features=20, class_sep=1.6
):
    """Gaussian-blob features and gold labels from ``make_weak_supervision``.

    Two balanced classes, ``x = mu_y + N(0, I)``; the generator draws each
    class mean with norm ``class_sep`` in a random direction, so
    ``||mu_1 - mu_0|| ~ sqrt(2) class_sep`` and the Bayes ROC-AUC is about
    ``Phi(class_sep)`` (0.945 for 1.6). The generator's own label matrix is
    not used.
    """
    from skweak_e2e.datasets import make_weak_supervision

    n = n_train + n_valid + n_test
    X, _, y = make_weak_supervision(
        n, 1, n_features=n_features, class_sep=class_sep, random_state=seed
    )
    X = X.astype(np.float32)
    a, b = n_train, n_train + n_valid
    return Bunch(
        name="synthetic",
        X_train=X[:a],
        X_valid=X[a:b],
        X_test=X[b:],
        y_train=y[:a],
        y_valid=y[a:b],
        y_test=y[b:],
        n_classes=2,
        features=(
            f"make_weak_supervision blobs: {n_features} Gaussian features, "
            f"class_sep={class_sep}, {n_train}/{n_valid}/{n_test} train/valid/test "
            "rows, a fresh draw per seed"
        ),
    )


# ------------------------------------------------------------ downstream network

#: Smallest target probability: ``log`` of the targets must be finite.
_TARGET_FLOOR = 1e-6


def targets_as_source(targets):
    """Fixed targets ``p`` as one soft source whose WeaSEL labels are ``p``.

    With one source, WeaSEL's accuracy softmax is 1 on every row, so its
    encoder labels are ``softmax(tau2 * lam)`` for the soft vote ``lam``,
    whatever the encoder computes. ``lam = (log p - min_c log p) / tau2``
    makes them ``p``; ``tau2``, the largest row sum of ``log p - min_c log
    p``, keeps every vote in ``[0, 1]`` with a sum of at most 1, as soft
    votes must be. ``p`` is floored at ``1e-6`` (and renormalised) so that
    its log is finite. Returns ``(lam of shape (n, 1, C), tau2)``.

    >>> lam, tau2 = targets_as_source(np.array([[0.8, 0.2], [0.5, 0.5]]))
    >>> logits = tau2 * lam[:, 0]
    >>> np.round(np.exp(logits) / np.exp(logits).sum(1, keepdims=True), 6)
    array([[0.8, 0.2],
           [0.5, 0.5]])
    """
    p = np.maximum(np.asarray(targets, dtype=np.float64), _TARGET_FLOOR)
    log_p = np.log(p / p.sum(axis=1, keepdims=True))
    lam = log_p - log_p.min(axis=1, keepdims=True)
    tau2 = max(float(lam.sum(axis=1).max()), 1.0)
    return (lam / tau2)[:, None, :], tau2


class SoftTargetMLP(ClassifierMixin, BaseEstimator):
    """WeaSEL's downstream network trained on fixed targets, by ``WeaSELClassifier``.

    The targets are gold labels (one-hot) when ``y`` is 1-D, or the label
    model's probabilities when ``y`` is ``(n, n_classes)``, as
    ``LabelModelClassifier(soft_labels="proba")`` passes them. They enter
    ``WeaSELClassifier`` as a single soft source (:func:`targets_as_source`)
    whose encoder labels are exactly the targets, so WeaSEL's loss ``L_f``
    is the cross-entropy of ``f`` against them and its encoder receives no
    gradient. Everything else is WeaSEL's own training: the same default
    network ``f`` (``hidden_layer_sizes``, ``dropout``), Adam with weight
    decay, batches, per-epoch validation model selection (ROC-AUC for two
    classes, accuracy otherwise; best epoch kept), ``patience`` and the
    F1-optimal threshold on the best epoch (``tune_threshold``). The fitted
    ``WeaSELClassifier`` is ``weasel_``.
    """

    def __init__(
        self,
        hidden_layer_sizes=(50, 50, 25),
        dropout=0.3,
        lr=1e-4,
        weight_decay=7e-7,
        batch_size=64,
        max_epochs=150,
        patience=None,
        tune_threshold=True,
        n_classes=None,
        random_state=None,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.dropout = dropout
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.tune_threshold = tune_threshold
        self.n_classes = n_classes
        self.random_state = random_state

    def _targets(self, y):
        y = np.asarray(y)
        if y.ndim == 2:
            T = y.astype(np.float64)
        else:
            n_classes = max(self.n_classes or int(y.max()) + 1, 2)
            T = np.eye(n_classes)[y.astype(np.int64)]
        n_classes = max(T.shape[1], self.n_classes or 2)
        return np.pad(T, ((0, 0), (0, n_classes - T.shape[1])))

    def fit(self, X, y, X_val=None, y_val=None):
        from skweak_e2e import WeaSELClassifier

        T = self._targets(y)
        n_classes = T.shape[1]
        votes, tau2 = targets_as_source(T)
        self.weasel_ = WeaSELClassifier(
            hidden_layer_sizes=tuple(self.hidden_layer_sizes),
            dropout=self.dropout,
            # The encoder's output never matters with one source: the
            # smallest one, on the votes only.
            encoder_hidden=(),
            encoder_uses_features=False,
            encoder_init="random",
            warmup_epochs=0,
            class_conditional=False,
            tau2=tau2,
            classes=np.arange(n_classes),
            # Uniform targets are an all-zero vote: keep those rows.
            drop_uncovered=False,
            lr=self.lr,
            weight_decay=self.weight_decay,
            batch_size=self.batch_size,
            max_epochs=self.max_epochs,
            patience=self.patience,
            scoring="roc_auc" if n_classes == 2 else "accuracy",
            tune_threshold=self.tune_threshold,
            # A baseline trained on fixed targets: the gold rows only select.
            validation_weight=0,
            n_threads=1,
            random_state=self.random_state,
        )
        fit_params = {} if X_val is None else {"X_val": X_val, "y_val": y_val}
        self.weasel_.fit(np.asarray(X, dtype=np.float32), votes, **fit_params)
        self.classes_ = self.weasel_.classes_
        self.n_features_in_ = self.weasel_.n_features_in_
        self.n_train_used_ = self.weasel_.n_train_used_
        self.epoch_times_ = list(self.weasel_.history_[:, "dur"])
        self.n_epochs_ = self.weasel_.n_epochs_
        self.best_epoch_ = self.weasel_.best_epoch_
        self.best_score_ = self.weasel_.best_score_
        self.threshold_ = self.weasel_.threshold_
        return self

    def predict_proba(self, X):
        return self.weasel_.predict_proba(np.asarray(X, dtype=np.float32))

    def predict(self, X):
        return self.weasel_.predict(np.asarray(X, dtype=np.float32))


# ------------------------------------------------------------------ the methods

LABEL_MODELS = ("MV", "DS", "Snorkel")
METHODS = (
    ("WeaSEL",) + tuple(f"{lm} + net" for lm in LABEL_MODELS) + ("Supervised (gold y)",)
)


def make_label_model(name, n_classes, seed):
    from skweak_e2e import DawidSkene, MajorityVote, Snorkel

    # Model seeds differ from the data seeds (make_weak_supervision's note).
    if name == "MV":
        return MajorityVote(n_classes=n_classes)
    if name == "DS":
        return DawidSkene(n_classes=n_classes, random_state=seed + 1000)
    if name == "Snorkel":
        return Snorkel(n_classes=n_classes, random_state=seed + 1000)
    raise ValueError(name)


def evaluate(model, X_test, y_test, n_classes):
    """Test ROC-AUC (binary) / accuracy / F1 (binary, tuned threshold)."""
    from sklearn.metrics import f1_score, roc_auc_score

    proba = model.predict_proba(X_test)
    pred = np.asarray(model.predict(X_test))
    out = {"accuracy": float(np.mean(pred == y_test))}
    if n_classes == 2:
        out["auc"] = float(roc_auc_score(y_test, proba[:, 1]))
        out["f1"] = float(f1_score(y_test, pred))
    else:
        out["macro_f1"] = float(f1_score(y_test, pred, average="macro"))
    return out


def _fit_two_stage(method, net, data, L_train, seed):
    """``LabelModelClassifier(label model, net)``; Snorkel retried at lr / 10.

    Snorkel's full-batch SGD (lr 0.01, its default) diverges when thousands
    of duplicated sources make the gradient huge; it is then refitted with
    the learning rate divided by 10 (at most 3 times) and the lr used is
    recorded.
    """
    from skweak_e2e import LabelModelClassifier

    name = method.split(" + ")[0]
    lm = make_label_model(name, data.n_classes, seed)
    if data.X_valid.shape[0] == data.X_train.shape[0]:
        raise ValueError("X_val would be row-indexed as a sample-aligned fit param")
    for attempt in range(4):
        model = LabelModelClassifier(lm, net, soft_labels="proba")
        try:
            model.fit(data.X_train, L_train, X_val=data.X_valid, y_val=data.y_valid)
            break
        except FloatingPointError:
            if name != "Snorkel" or attempt == 3:
                raise
            lm = lm.set_params(lr=lm.lr / 10)
    note = f"Snorkel lr={lm.lr:g}" if name == "Snorkel" and lm.lr != 0.01 else ""
    return model, note


def add_weasel_options(parser):
    """Command-line options passed to ``WeaSELClassifier`` by both benchmarks."""
    parser.add_argument(
        "--accuracy-support",
        choices=("all", "voters"),
        default=None,
        help="WeaSEL's accuracy_support (default: the WeaSELClassifier default)",
    )


def add_run_options(parser, datasets):
    """The options of a benchmark run over (data set, seed) units, WeaSEL's included."""
    parser.add_argument(
        "--seeds", type=int, default=None, help="number of seeds (default 5; quick 2)"
    )
    parser.add_argument("--datasets", default=datasets)
    add_weasel_options(parser)
    parser.add_argument(
        "--jobs", type=int, default=2, help="worker processes, one (data set, seed) each"
    )
    parser.add_argument("--wrench-dir", default=DEFAULT_WRENCH)
    parser.add_argument("--json", default=None, help="write every record to this JSON file")
    parser.add_argument(
        "--from-json", default=None, help="only print the tables of a saved --json run"
    )


def weasel_params(args):
    """The ``WeaSELClassifier`` parameters set on the command line (``hp["weasel"]``)."""
    return {"accuracy_support": args.accuracy_support} if args.accuracy_support else {}


def run_method(method, data, L_train, seed, hp, return_model=False):
    """Fit one method on ``(X_train, L_train)`` and score it on the test split.

    ``hp``: dict with ``lr``, ``max_epochs``, ``patience`` and optionally
    ``weight_decay`` (every method; default: the networks' 7e-7), ``tau1``
    and optionally ``weasel`` (a dict of further ``WeaSELClassifier``
    parameters, e.g. ``accuracy_support``), both WeaSEL only. Returns a dict of metrics plus the validation score, best epoch,
    fit time and mean epoch time.
    """
    from skweak_e2e import WeaSELClassifier

    n_classes = data.n_classes
    common = {
        "lr": hp["lr"],
        "max_epochs": hp["max_epochs"],
        "patience": hp.get("patience"),
    }
    if "weight_decay" in hp:
        common["weight_decay"] = hp["weight_decay"]
    note = ""
    tic = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # silent sources, convergence notes
        if method == "WeaSEL":
            # The benchmarks' shared protocol (every method): ROC-AUC epoch
            # selection and the F1 threshold, batches of 64.
            model = WeaSELClassifier(
                tau1=hp.get("tau1", 1.0),
                classes=np.arange(n_classes),
                scoring="roc_auc" if n_classes == 2 else "accuracy",
                tune_threshold=True,
                # The paper's protocol: the gold rows only select.
                validation_weight=0,
                batch_size=64,
                n_threads=1,
                random_state=seed,
                **common,
                **hp.get("weasel", {}),
            )
            model.fit(data.X_train, L_train, X_val=data.X_valid, y_val=data.y_valid)
            net_info = model
            epochs = len(model.history_)
            dur = float(np.mean(model.history_[:, "dur"]))
        else:
            net = SoftTargetMLP(n_classes=n_classes, random_state=seed, **common)
            if method.startswith("Supervised"):
                model = net.fit(
                    data.X_train, data.y_train, X_val=data.X_valid, y_val=data.y_valid
                )
                net_info = model
            else:
                model, note = _fit_two_stage(method, net, data, L_train, seed)
                net_info = model.estimator_
            epochs = net_info.n_epochs_
            dur = float(np.mean(net_info.epoch_times_))
    fit_time = time.perf_counter() - tic
    res = evaluate(model, data.X_test, data.y_test, n_classes)
    res.update(
        valid_score=float(net_info.best_score_),
        best_epoch=int(net_info.best_epoch_),
        epochs=int(epochs),
        fit_time=fit_time,
        epoch_time=dur,
        note=note,
    )
    if return_model:
        return res, model
    return res


# ------------------------------------------------------------------- reporting


def mean_std(values, scale=1.0, digits=3):
    v = np.asarray([x for x in values if x is not None], dtype=np.float64) * scale
    if v.size == 0:
        return "—"
    return f"{v.mean():.{digits}f} ± {v.std(ddof=1) if v.size > 1 else 0.0:.{digits}f}"


def environment_line():
    import platform

    import sklearn
    import torch

    return (
        f"Python {platform.python_version()}, torch {torch.__version__} (CPU, "
        f"{torch.get_num_threads()} thread), scikit-learn {sklearn.__version__}, "
        f"{os.cpu_count()} CPU cores (shared), {platform.processor() or platform.machine()}"
    )


def map_units(function, units, extra_args, jobs):
    """Run ``function(*unit, *extra_args)`` for every unit, in ``jobs`` processes.

    Returns the concatenation of the record lists the calls return, in unit
    order (so the tables do not depend on ``jobs``).
    """
    records = []
    if jobs > 1:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(jobs, mp_context=mp.get_context("spawn")) as pool:
            futures = [pool.submit(function, *unit, *extra_args) for unit in units]
            for future in futures:
                records += future.result()
    else:
        for unit in units:
            records += function(*unit, *extra_args)
    return records


def run_units(function, datasets, seeds, extra_args, jobs):
    """``function(dataset, seed, *extra_args)`` for every data set and seed ``0..seeds-1``.

    Returns the records (see :func:`map_units`) and the wall time in seconds.
    """
    units = [(ds, s) for ds in datasets for s in range(seeds)]
    tic = time.perf_counter()
    records = map_units(function, units, extra_args, jobs)
    return records, time.perf_counter() - tic


def header(title):
    """The first lines of a run's report: title, date and environment."""
    return (
        f"# {title}, {datetime.datetime.now():%Y-%m-%d %H:%M}\n"
        f"# {environment_line()}"
    )


def load_json(path):
    """A run saved with :func:`save_json`."""
    with open(path) as fh:
        return json.load(fh)


def save_json(path, records, **settings):
    """Save ``settings`` and ``records`` (last) to ``path``; nothing when it is None."""
    if path:
        with open(path, "w") as fh:
            json.dump(dict(settings, records=records), fh, indent=1)


def targets_table(targets):
    """``(target, measured, met)`` triples as the "Targets" table (PASS / MISS)."""
    return rst_table(
        ["target", "measured", "status"],
        [(t, m, "PASS" if ok else "MISS") for t, m, ok in targets],
        "Targets",
    )
