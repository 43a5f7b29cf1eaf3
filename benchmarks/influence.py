#!/usr/bin/env python
"""Reproduce the protocol of the source-aware influence paper with SourceAwareInfluence.

[P004] = Zhang, Wang, Hsieh, Ratner, *Understanding Programmatic Weak
Supervision via Source-aware Influence Function*, NeurIPS 2022 (Tables 3-5);
``algorithms.md`` sections 5.7, 5.8 and 7.2 describe the protocol and the
paper's numbers. Run it in the project's venv::

    python benchmarks/influence.py            # full run (a few minutes on 2 cores)
    python benchmarks/influence.py --quick    # 2 seeds, YouTube + breast_cancer
    python benchmarks/influence.py --json results.json --rst section.rst

For every data set and label model (MV, DS, Snorkel; DS and Snorkel replaced
by their :class:`~skweak_e2e.LinearizedApprox`, as in every [P004]
experiment) the script fits the pipeline on the covered training rows,
scores influences on the mean validation cross-entropy, and prints, as
reStructuredText tables:

1. **Table 3, LF mislabel detection.** Items: every non-abstain vote
   ``L_ij`` on the covered training rows; target ``L_ij != y_i`` (gold train
   labels are used for this evaluation only). Scores: the per-vote influence
   ``phi_L_ij`` (``mislabel_scores``) of RW, R-RW, WM and R-WM, and the
   baselines LM (label model), EM (end model) and KNN (K = 10, fitted on the
   validation set), each scored by the discrepancy ``1 - p[L_ij]``. Metric:
   average precision per LF, mean over LFs, in two orientations:
   ``AP_mislabel`` (positive = mislabel, score as is; the paper's stated
   task) and ``AP_correct`` (positive = correct vote, score negated;
   ``algorithms.md`` 5.7.2 shows that the paper's numbers behave like this
   one). LFs without a positive item are skipped and counted.
2. **Table 4, test loss after removing harmful components.** ERM (plain
   training) against IF / R-IF (drop samples), GIF (drop whole LFs, MV only)
   and RW / R-RW / WM / R-WM (drop terms); the fraction (or number of LFs) is
   selected on the validation loss over the grid of ``algorithms.md`` 5.7.3
   (``drop_harmful``), and the test cross-entropy of the selected model is
   reported.
3. **Table 5**, the Spearman correlation between ordinary IF and the
   per-sample sum of RW influences. With the exact Hessian they are equal
   up to rounding, so the correlation is 1 (the paper's 0.72-0.99 come from
   the reference code's mode-dependent damping, ``algorithms.md`` 5.9).
4. Wall time of every step, a sensitivity table over the ridge strength
   ``l2`` of the end model (YouTube), and the issue's targets with PASS / MISS.
5. The damping curve (YouTube/svd300 and the tabular sets): the inspector's relative Hessian damping
   ``damping`` (``delta = damping * tr(H) / D`` added to the Hessian of the
   influence solves only; the end model is unchanged) over a grid, with the
   selection criterion that chooses it without labels of the training votes
   or the test split: the cross-validated loss of the ``drop_harmful``
   repair on the validation split (5-fold, 2 repeats: influences and the
   removal fraction from 4/5 of the validation rows, cross-entropy on the
   held-out 1/5).
6. Diagnostics of the mislabel AP (YouTube): [P004]'s literal end model
   (zero init, full-batch GD, lr 1e-3, 10 000 epochs) analysed as it is
   (``polish=False``, through the inspector's torch last-layer path) with
   absolute Hessian dampings ``--deltas``.
7. ``--speed``: the wall time of all influences for a synthetic problem of
   1e5 samples x 100 sources x 2 classes with d = 300 (the issue's target).

Randomness: the TruncatedSVD of the YouTube features and the Snorkel
initialisation (YouTube), and the splits and labeling functions of the
tabular sets, are seeded by ``--seeds``; every number is a mean +- standard
deviation over them. Nothing is tuned on the test split.
"""

import argparse
import os
import sys


def _early_threads(argv):
    """Thread count from the command line, read before numpy is imported."""
    for k, a in enumerate(argv):
        if a == "--threads" and k + 1 < len(argv):
            return argv[k + 1]
        if a.startswith("--threads="):
            return a.split("=", 1)[1]
    return "1"


_THREADS = _early_threads(sys.argv[1:])
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = _THREADS

import contextlib
import datetime
import json
import platform
import subprocess
import time
import warnings

import numpy as np
import scipy
import sklearn
from scipy.special import expit, log_softmax, softmax
from scipy.stats import spearmanr
from sklearn.decomposition import TruncatedSVD
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.frozen import FrozenEstimator
from sklearn.metrics import average_precision_score
from sklearn.model_selection import StratifiedKFold
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import skweak_e2e
from skweak_e2e.datasets import (
    load_tabular_weak_supervision,
    load_wrench,
    make_weak_supervision,
)
from skweak_e2e.inspection import SourceAwareInfluence
from skweak_e2e.label_model import (
    DawidSkene,
    LinearizedApprox,
    MajorityVote,
    Snorkel,
)

DEFAULT_WRENCH = "/work/shared/data/wrench"
LABEL_MODELS = ("MV", "DS", "Snorkel")
#: Inspector variants: name -> (method, relative).
VARIANTS = {"RW": ("rw", False), "R-RW": ("rw", True), "WM": ("wm", False), "R-WM": ("wm", True)}
BASELINES = ("KNN", "LM", "EM")
#: "const" scores every vote alike: its AP is the positive prevalence (a floor).
T3_COLUMNS = ("const",) + BASELINES + tuple(VARIANTS)
T4_COLUMNS = ("ERM", "IF", "R-IF", "GIF") + tuple(VARIANTS)
#: [P004] numbers (Tables 3-5, YouTube row), for the comparison columns.
PAPER_YOUTUBE = {
    "T3": {
        "MV": {"KNN": .831, "LM": .949, "EM": .826, "RW": .861, "R-RW": .917, "WM": .853, "R-WM": .869},
        "DS": {"KNN": .831, "LM": .826, "EM": .826, "RW": .908, "R-RW": .846, "WM": .877, "R-WM": .829},
        "Snorkel": {"KNN": .831, "LM": .826, "EM": .826, "RW": .927, "R-RW": .933, "WM": .894, "R-WM": .889},
    },
    "T4": {
        "MV": {"ERM": .351, "IF": .318, "GIF": .278, "R-IF": .295, "RW": .284, "R-RW": .284, "WM": .301, "R-WM": .283},
        "DS": {"ERM": .332, "IF": .240, "R-IF": .272, "RW": .263, "R-RW": .261, "WM": .325, "R-WM": .338},
        "Snorkel": {"ERM": .332, "IF": .320, "R-IF": .332, "RW": .264, "R-RW": .229, "WM": .296, "R-WM": .302},
    },
    "T5": {"MV": .926, "DS": .769, "Snorkel": .716},
}
SEED_OFFSET = 1000  # Snorkel's init seed = data seed + offset (never the same stream)


# ====================================================================== data
class Task:
    """One data set instance: features, votes and gold labels of each split."""

    def __init__(self, name, seed, n_classes, train, valid, test, features):
        self.name, self.seed, self.n_classes = name, seed, n_classes
        self.X_tr, self.L_tr, self.y_tr = train
        self.X_va, self.L_va, self.y_va = valid
        self.X_te, self.L_te, self.y_te = test
        self.features = features


def youtube_tasks(wrench_dir, seeds, svd_dim):
    """YouTube with TF-IDF (+ TruncatedSVD) features, one task per SVD seed.

    The vectoriser (sublinear tf, terms in >= 2 train texts) and the SVD are
    fitted on the train texts only. ``svd_dim=0`` keeps the sparse TF-IDF
    (densified; deterministic, so a single task).
    """
    data = load_wrench(os.path.join(wrench_dir, "youtube"))
    vec = TfidfVectorizer(sublinear_tf=True, min_df=2).fit(data.train.texts)
    Z = [vec.transform(data[s].texts) for s in ("train", "valid", "test")]
    splits = [data[s] for s in ("train", "valid", "test")]
    if svd_dim == 0:
        feats = f"TF-IDF ({Z[0].shape[1]} terms)"
        X = [z.toarray() for z in Z]
        return [
            Task("YouTube/tfidf", 0, data.n_classes,
                 *[(x, s.L, s.y) for x, s in zip(X, splits)], feats)
        ]
    tasks = []
    for seed in seeds:
        svd = TruncatedSVD(svd_dim, random_state=seed).fit(Z[0])
        X = [svd.transform(z) for z in Z]
        feats = f"TF-IDF ({Z[0].shape[1]} terms) + TruncatedSVD({svd_dim})"
        tasks.append(
            Task(f"YouTube/svd{svd_dim}", seed, data.n_classes,
                 *[(x, s.L, s.y) for x, s in zip(X, splits)], feats)
        )
    return tasks


def tabular_tasks(name, seeds):
    """The library's embedded tabular sets; features standardised on train."""
    tasks = []
    for seed in seeds:
        d = load_tabular_weak_supervision(name, random_state=seed)
        sc = StandardScaler().fit(d.X_train)
        tasks.append(
            Task(name, seed, d.n_classes,
                 (sc.transform(d.X_train), d.L_train, d.y_train),
                 (sc.transform(d.X_valid), d.L_valid, d.y_valid),
                 (sc.transform(d.X_test), d.L_test, d.y_test),
                 f"{d.X_train.shape[1]} raw features, standardised")
        )
    return tasks


# ================================================================= pipeline
def make_label_model(name, task):
    """The label models with [P004]'s settings (``algorithms.md`` 5.8)."""
    if name == "MV":
        return MajorityVote(n_classes=task.n_classes)
    if name == "DS":  # [WR] defaults: tol 1e-5, <= 10 000 EM steps, abstain modelled
        return DawidSkene(n_classes=task.n_classes, max_iter=10000, tol=1e-5)
    if name == "Snorkel":  # [WR] wrapper: lr 0.01, l2 0, 100 epochs, prior from valid labels
        prior = np.bincount(task.y_va, minlength=task.n_classes) / len(task.y_va)
        return Snorkel(
            n_classes=task.n_classes, n_epochs=100, lr=0.01, l2=0.0,
            class_prior=prior, random_state=task.seed + SEED_OFFSET,
        )
    raise ValueError(name)


def vote_probability(P, L):
    """``P[i, L_ij]`` for the votes, NaN for abstentions."""
    out = np.full(L.shape, np.nan)
    i, j = np.nonzero(L >= 0)
    out[i, j] = P[i, L[i, j]]
    return out


def mean_ap(suspicion, L, y):
    """Mean over LFs of the per-LF average precision, both orientations.

    ``suspicion``: (n, m), high = likely mislabel, NaN where no vote.
    Returns ``(AP_mislabel, n_skipped, AP_correct, n_skipped)``.
    """
    ap_mis, ap_cor = [], []
    for j in range(L.shape[1]):
        m = (L[:, j] >= 0) & np.isfinite(suspicion[:, j])
        wrong = L[m, j] != y[m]
        s = suspicion[m, j]
        if wrong.any():
            ap_mis.append(average_precision_score(wrong, s))
        if (~wrong).any():
            ap_cor.append(average_precision_score(~wrong, -s))
    m = L.shape[1]
    return (float(np.mean(ap_mis)), m - len(ap_mis), float(np.mean(ap_cor)), m - len(ap_cor))


def cross_entropy(estimator, X, y):
    """Mean test cross-entropy of hard labels, from the logits (exact)."""
    Z = np.asarray(estimator.decision_function(X), dtype=np.float64)
    if Z.ndim == 1:  # scikit-learn's binary model: one logit for class 1
        Z = np.column_stack([np.zeros_like(Z), Z])
    logp = log_softmax(Z, axis=1)
    return float(-logp[np.arange(len(y)), y].mean())


class Timer:
    """Accumulates wall times per step: ``with timer("step"): ...``."""

    def __init__(self):
        self.times = {}

    @contextlib.contextmanager
    def __call__(self, key):
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.times[key] = self.times.get(key, 0.0) + time.perf_counter() - t0


def fit_label_model(task, lm_name, tm=None):
    """The fitted label model, the covered rows and the model the inspector reads.

    ``tm``: a :class:`Timer` that records the "label model fit" and
    "linearize" steps.
    """
    tm = tm or Timer()
    lm = make_label_model(lm_name, task)
    with tm("label model fit"):
        lm.fit(task.L_tr)  # the whole train split, as [WR] does
    cov = (task.L_tr >= 0).any(axis=1)
    Xc, Lc, yc = task.X_tr[cov], task.L_tr[cov], task.y_tr[cov]
    analysed = lm
    if lm.activation == "exp":
        with tm("linearize"):
            analysed = LinearizedApprox(
                FrozenEstimator(lm), n_classes=task.n_classes
            ).fit(Lc)
    return lm, analysed, Xc, Lc, yc


def run_pipeline(task, lm_name, l2, damping, *, full=True):
    """All [P004] measurements of one (task, label model, l2, damping).

    ``full=False`` runs only what the l2 sensitivity table needs (RW and
    R-RW, without GIF / WM).
    """
    tm = Timer()
    res = {"warnings": []}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        lm, analysed, Xc, Lc, yc = fit_label_model(task, lm_name, tm)
        res["n_train"], res["n_votes"] = len(Lc), int((Lc >= 0).sum())
        res["vote_accuracy"] = float((Lc == yc[:, None])[Lc >= 0].mean())
        if analysed is not lm:
            res["fidelity_tv"] = float(analysed.fidelity_["mean_total_variation"])
            res["fidelity_agree"] = float(analysed.fidelity_["argmax_agreement"])

        names = list(VARIANTS) if full else ["RW", "R-RW"]
        sais, suspicion = {}, {}
        for name in names:
            method, relative = VARIANTS[name]
            with tm(f"fit {name}"):
                sais[name] = SourceAwareInfluence(
                    analysed, method=method, relative=relative, l2=l2, damping=damping
                ).fit(Xc, Lc)
            if not np.array_equal(sais[name].train_index_, np.arange(len(Lc))):
                raise RuntimeError("a covered training row carries no label mass")
            with tm(f"scores {name}"):
                suspicion[name] = sais[name].mislabel_scores(task.X_va, task.y_va)
        rw = sais["RW"]

        # -------- Table 3 baselines: discrepancy 1 - p[L_ij]
        with tm("baselines"):
            knn = KNeighborsClassifier(n_neighbors=10).fit(task.X_va, task.y_va)
            P_knn = np.zeros((len(Xc), task.n_classes))
            P_knn[:, knn.classes_] = knn.predict_proba(Xc)
            suspicion["KNN"] = 1.0 - vote_probability(P_knn, Lc)
            suspicion["LM"] = 1.0 - vote_probability(lm.predict_proba(Lc), Lc)
            suspicion["EM"] = 1.0 - vote_probability(rw.end_model_.predict_proba(Xc), Lc)
            suspicion["const"] = np.where(Lc >= 0, 0.0, np.nan)
        for name, s in suspicion.items():
            apm, skm, apc, skc = mean_ap(s, Lc, yc)
            res[f"T3 mislabel {name}"], res[f"T3 correct {name}"] = apm, apc
            res["T3 skipped mislabel"], res["T3 skipped correct"] = skm, skc

        # -------- Table 4: drop harmful components, select on validation loss
        res["T4 ERM"] = cross_entropy(rw.end_model_, task.X_te, task.y_te)
        res["T4 val ERM"] = cross_entropy(rw.end_model_, task.X_va, task.y_va)
        drops = [("IF", "RW", "sample"), ("R-IF", "R-RW", "sample")]
        drops += [(n, n, "term") for n in names]
        if full and lm_name == "MV":
            drops.append(("GIF", "RW", "source"))
        for col, key, unit in drops:
            with tm(f"drop {unit}"):
                rep = sais[key].drop_harmful(task.X_va, task.y_va, unit=unit)
            res[f"T4 {col}"] = cross_entropy(rep.estimator, task.X_te, task.y_te)
            res[f"T4 val {col}"] = float(rep.validation_loss.min())
            res[f"T4 q {col}"] = float(rep.fraction)

        # -------- Table 5: ordinary IF vs sum_jc RW (and the RelatIF pair)
        with tm("table 5"):
            r = rw.influence(task.X_va, task.y_va)
            res["T5 IF~sumRW"] = float(spearmanr(r.ordinary, r.per_sample)[0])
            scale = np.abs(r.ordinary).max()
            res["T5 maxdiff"] = float(np.abs(r.ordinary - r.per_sample).max() / scale)
            rr = sais["R-RW"].influence(task.X_va, task.y_va)
            res["T5 R-IF~sumR-RW"] = float(spearmanr(rr.ordinary, rr.per_sample)[0])
    res["warnings"] = sorted({f"{w.category.__name__}" for w in caught})
    res["times"] = tm.times
    return res


# ============================================ diagnostics: why the AP differs
def frozen_linear(coef, intercept):
    """A float64 ``torch.nn.Linear`` holding given logistic-regression parameters.

    ``coef`` is shaped like scikit-learn's (one row for two classes: the
    logit of class 1). Handed to the inspector with ``polish=False`` (the
    last-layer path: the layer's inputs are the features), its Hessian is the
    data Hessian at these parameters plus ``l2`` on weights and intercept.
    """
    import torch

    coef = np.atleast_2d(np.asarray(coef, dtype=np.float64))
    layer = torch.nn.Linear(coef.shape[1], coef.shape[0], dtype=torch.float64)
    with torch.no_grad():
        layer.weight.copy_(torch.as_tensor(coef))
        layer.bias.copy_(torch.as_tensor(np.atleast_1d(intercept), dtype=torch.float64))
    return layer


def linear_proba(coef, intercept, X):
    """Class probabilities of scikit-learn-shaped linear parameters."""
    Z = X @ np.atleast_2d(coef).T + np.atleast_1d(intercept)
    if Z.shape[1] == 1:
        Z = np.column_stack([np.zeros(len(Z)), Z[:, 0]])
    return softmax(Z, axis=1)


def paper_gd(X, T, *, lr=1e-3, epochs=10000):
    """[P004]'s end model: zero init, full-batch GD on the mean noise-aware CE.

    Binary: one logit (the [WR] ``LinearModel``); otherwise one per class.
    No weight decay. Returns ``(coef, intercept)`` shaped like scikit-learn's.
    """
    n = X.shape[0]
    Xt = np.hstack([X, np.ones((n, 1))])
    rho = T.sum(axis=1)
    binary = T.shape[1] == 2
    theta = np.zeros((Xt.shape[1], 1 if binary else T.shape[1]))
    for _ in range(epochs):
        Z = Xt @ theta
        if binary:
            R = rho[:, None] * expit(Z) - T[:, 1:]
        else:
            R = rho[:, None] * softmax(Z, axis=1) - T
        theta -= lr * (Xt.T @ R) / n
    return theta[:-1].T, theta[-1]


def cv_repair_loss(sai, task, n_splits=5, n_repeats=2):
    """Cross-validated loss of the ``drop_harmful`` repair on the validation split.

    For each fold, influences and the removal fraction come from the other
    folds of the validation split and the repaired model is scored (mean
    cross-entropy) on the held-out fold; mean over folds and repeats. Uses
    no label of the training votes and nothing of the test split.
    """
    n_splits = min(n_splits, int(np.bincount(task.y_va).min()))
    losses = []
    for rep in range(n_repeats):
        skf = StratifiedKFold(n_splits, shuffle=True, random_state=task.seed * 100 + rep)
        for a, b in skf.split(task.X_va, task.y_va):
            r = sai.drop_harmful(task.X_va[a], task.y_va[a])
            losses.append(cross_entropy(r.estimator, task.X_va[b], task.y_va[b]))
    return float(np.mean(losses))


def damping_curve(task, lm_name, l2, grid):
    """Mislabel AP, repair losses and the CV criterion for each relative damping."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        _, analysed, Xc, Lc, yc = fit_label_model(task, lm_name)
    out = {}
    for damping in grid:
        for name, (method, relative) in VARIANTS.items():
            sai = SourceAwareInfluence(
                analysed, method=method, relative=relative, l2=l2, damping=damping
            ).fit(Xc, Lc)
            s = sai.mislabel_scores(task.X_va, task.y_va)
            apm, _, apc, _ = mean_ap(s, Lc, yc)
            out[(damping, name, "AP_c")], out[(damping, name, "AP_m")] = apc, apm
            if name in ("RW", "R-RW"):
                rep = sai.drop_harmful(task.X_va, task.y_va)
                out[(damping, name, "val")] = float(rep.validation_loss.min())
                out[(damping, name, "test")] = cross_entropy(rep.estimator, task.X_te, task.y_te)
                out[(damping, name, "cv")] = cv_repair_loss(sai, task)
                if name == "RW":
                    out[(damping, "delta")] = sai._backend.solver.delta_
                    out["ERM test"] = cross_entropy(sai.end_model_, task.X_te, task.y_te)
        em = 1.0 - vote_probability(sai.end_model_.predict_proba(Xc), Lc)
        out["EM"] = mean_ap(em, Lc, yc)[2]
    return out


def diagnostics(task, lm_name, l2, deltas):
    """AP_correct of the influence scores of [P004]'s literal end model.

    ``paper GD``: the end model is trained as in [P004] (zero init,
    full-batch GD, lr 1e-3, 10 000 epochs, no decay; not stationary) and
    analysed with ``polish=False`` and the absolute Hessian damping
    ``delta`` (the inspector's relative ``damping`` is set to 0).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        _, analysed, Xc, Lc, yc = fit_label_model(task, lm_name)
    base = SourceAwareInfluence(analysed, l2=l2, damping=0.0).fit(Xc, Lc)
    t0 = time.perf_counter()
    gd_coef, gd_icpt = paper_gd(Xc, base.labels_)
    t_gd = time.perf_counter() - t0
    out = {"paper GD time": t_gd}
    models = {"paper GD": (gd_coef, gd_icpt, 0.0)}
    for study, (coef, icpt, l2_fit) in models.items():
        em = 1.0 - vote_probability(linear_proba(coef, icpt, Xc), Lc)
        for delta in deltas:
            out[(study, delta, "EM")] = mean_ap(em, Lc, yc)[2]
            for name, (method, relative) in VARIANTS.items():
                sai = SourceAwareInfluence(
                    (analysed, frozen_linear(coef, icpt)), method=method,
                    relative=relative, l2=l2_fit + delta, damping=0.0, polish=False,
                    device="cpu",
                ).fit(Xc, Lc)
                s = sai.mislabel_scores(task.X_va, task.y_va)
                out[(study, delta, name)] = mean_ap(s, Lc, yc)[2]
                if study == "paper GD" and delta == min(deltas) and name == "RW":
                    # max-abs gradient of the objective with l2 = min(deltas)
                    out["paper GD grad"] = sai.stationarity_["grad_inf_given"]
        if study == "paper GD":
            P = linear_proba(coef, icpt, task.X_te)
            out["paper GD test CE"] = float(-np.log(P[np.arange(len(P)), task.y_te]).mean())
    return out


# ================================================================ reporting
def rst_table(header, rows, title=None):
    """A reStructuredText grid table."""
    cells = [list(map(str, header))] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    sep = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    hsep = sep.replace("-", "=")

    def line(r):
        return "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |"

    out = [title, "", sep, line(cells[0]), hsep] if title else [sep, line(cells[0]), hsep]
    for r in cells[1:]:
        out += [line(r), sep]
    return "\n".join(out) + "\n"


def ms(values, digits=3):
    """``mean ± std`` (std omitted for one value)."""
    v = np.asarray([x for x in values if x is not None], dtype=float)
    if v.size == 0:
        return "—"
    if v.size == 1:
        return f"{v[0]:.{digits}f}"
    return f"{v.mean():.{digits}f} ± {v.std(ddof=1):.{digits}f}"


def fmt_s(values):
    v = np.asarray(values, dtype=float)
    m = v.mean()
    return f"{m * 1e3:.0f} ms" if m < 1 else f"{m:.2f} s"


def collect(runs, key):
    return [r[key] for r in runs if key in r]


def report_diagnostics(diag, args):
    """Table of the 'paper GD' diagnostics (AP_correct, means over seeds)."""
    if not diag:
        return ""
    cols = list(VARIANTS) + ["EM"]
    rows = []
    for lm, runs in diag.items():
        for delta in args.deltas:
            rows.append([lm, f"{delta:g}"] + [ms([r[("paper GD", delta, c)] for r in runs]) for c in cols])
    text = rst_table(
        ["label model", "Hessian damping (absolute)"] + [f"AP_c {c}" for c in cols], rows,
        f"[P004]'s literal end model ({args.primary}, AP_correct): trained as [P004] does "
        "(zero init, full-batch GD, lr 1e-3, 10 000 epochs, no decay) and analysed as it is "
        "(polish=False) with an absolute Hessian damping (the relative damping is 0)")
    for lm, runs in diag.items():
        text += (f"\n{lm} 'paper GD' end model: test CE {ms([r['paper GD test CE'] for r in runs])}, "
                 f"max-abs gradient {np.mean([r['paper GD grad'] for r in runs]):.1e} at "
                 f"l2 = {min(args.deltas):g} (not stationary), "
                 f"GD time {fmt_s([r['paper GD time'] for r in runs])}.")
    return text + "\n"


def cv_selected(runs, grid):
    """Per run, the damping with the lowest CV repair loss of RW (ties: smaller)."""
    return [min(grid, key=lambda d: (r[(d, "RW", "cv")], d)) for r in runs]


def report_damping(curve, args):
    """The damping curve (means over seeds) with the CV-selected row."""
    if not curve:
        return ""
    rows = []
    grid = args.dampings
    for ds, lm, runs in ((ds, lm, runs) for ds, per_lm in curve.items()
                         for lm, runs in per_lm.items()):
        for d in grid:
            rows.append(
                [ds, lm, f"{d:g}", f"{np.mean([r[(d, 'delta')] for r in runs]):.2e}"]
                + [ms([r[(d, v, "AP_c")] for r in runs]) for v in VARIANTS]
                + [ms([r[(d, v, k)] for r in runs], 4) for v in ("RW", "R-RW") for k in ("val", "cv")]
                + [ms([r[(d, v, "test")] for r in runs]) for v in ("RW", "R-RW")]
            )
        sel = cv_selected(runs, grid)
        rows.append(
            [ds, lm, "CV-selected (" + ", ".join(f"{d:g}" for d in sel) + ")", ""]
            + [ms([r[(d, v, "AP_c")] for r, d in zip(runs, sel)]) for v in VARIANTS]
            + [ms([r[(d, v, k)] for r, d in zip(runs, sel)], 4) for v in ("RW", "R-RW") for k in ("val", "cv")]
            + [ms([r[(d, v, "test")] for r, d in zip(runs, sel)]) for v in ("RW", "R-RW")]
        )
    notes = "".join(
        f"\n* {ds} {lm}: AP_c EM {ms([r['EM'] for r in runs])} (the end model does not depend "
        f"on the damping); ERM test CE {ms([r['ERM test'] for r in runs])}."
        for ds, per_lm in curve.items() for lm, runs in per_lm.items()
    )
    return rst_table(
        ["data set", "label model", "damping", "delta (abs.)"] + [f"AP_c {v}" for v in VARIANTS]
        + ["val RW", "CV RW", "val R-RW", "CV R-RW", "test RW", "test R-RW"], rows,
        f"Damping curve (l2 = {args.l2:g}): relative Hessian damping of the "
        "influence solves (delta = damping * tr(H) / D; the end model is unchanged). AP_c = "
        "AP_correct of mislabel_scores; val = validation loss of the drop_harmful repair "
        "(in-sample: the influences target the same set); CV = its 5-fold x 2 cross-validated "
        "loss on the validation split (the selection criterion); test = test CE of the repair "
        "selected on the whole validation split. 'CV-selected' picks, per seed, the damping "
        "with the lowest CV RW loss") + "\n" + notes + "\n"


def speed_check(damping, n=100_000, m=100, d=300, seed=0):
    """Wall time of all influences for n samples x m sources x 2 classes, d features."""
    X, L, y = make_weak_supervision(
        n + 1000, m, 2, n_features=d, coverage=0.3, random_state=seed
    )
    X, L, y, Xv, yv = X[:n], L[:n], y[:n], X[n:], y[n:]
    out = {}
    t0 = time.perf_counter()
    sai = SourceAwareInfluence(damping=damping).fit(X, L)
    out["fit"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    res = sai.influence(Xv, yv)
    out["influence"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    coo = res.terms("coo")
    out["terms"] = time.perf_counter() - t2
    out["total"] = time.perf_counter() - t0
    out["n_terms"] = int(coo["influence"].size)
    out["n_train"] = int(sai.n_train_)
    return out


def report(results, sweep, args, meta):
    out = []
    out.append(
        f"Measured {meta['date']} on {meta['machine']}, {args.threads} BLAS thread(s); "
        f"{meta['versions']}. Seeds {args.seeds}; l2 = {args.l2:g} and relative Hessian "
        f"damping {args.damping:g} (the library defaults) unless stated; total wall time "
        f"{meta['wall']:.0f} s.\n"
    )
    out.append("Data sets (covered train rows N, votes on them, mean vote accuracy):\n")
    for ds, per_lm in results.items():
        runs = per_lm["MV"]
        out.append(
            f"* {ds}: {runs[0]['features']}; N = {ms(collect(runs, 'n_train'), 0)}, "
            f"{ms(collect(runs, 'n_votes'), 0)} votes, vote accuracy "
            f"{ms(collect(runs, 'vote_accuracy'))}; {len(runs)} run(s)."
        )
    out.append("")

    for orient, title in (
        ("correct", ("Table 3 (AP_correct: positive = correct vote, score negated; "
                     "the orientation the paper's numbers follow)")),
        ("mislabel", ("Table 3 (AP_mislabel: positive = mislabel, score as is; "
                      "the paper's stated task)")),
    ):
        rows = []
        for ds, per_lm in results.items():
            for lm in LABEL_MODELS:
                runs = per_lm.get(lm)
                if not runs:
                    continue
                row = [ds, lm] + [ms(collect(runs, f"T3 {orient} {c}")) for c in T3_COLUMNS]
                row.append(ms(collect(runs, f"T3 skipped {orient}"), 1))
                rows.append(row)
                if ds.startswith("YouTube") and orient == "correct" and ds == args.primary:
                    p = PAPER_YOUTUBE["T3"][lm]
                    rows.append(["  paper (BERT)", lm] + [f"{p[c]:.3f}" if c in p else "—" for c in T3_COLUMNS] + [""])
        out.append(rst_table(["data set", "label model"] + list(T3_COLUMNS) + ["LFs skipped"], rows, title))

    rows = []
    for ds, per_lm in results.items():
        for lm in LABEL_MODELS:
            runs = per_lm.get(lm)
            if not runs:
                continue
            row = [ds, lm] + [ms(collect(runs, f"T4 {c}")) for c in T4_COLUMNS]
            rows.append(row)
            if ds == args.primary:
                p = PAPER_YOUTUBE["T4"][lm]
                rows.append(["  paper (BERT)", lm] + [f"{p[c]:.3f}" if c in p else "—" for c in T4_COLUMNS])
    out.append(rst_table(
        ["data set", "label model"] + list(T4_COLUMNS), rows,
        "Table 4 (test cross-entropy of the model selected on validation loss; lower is better)"))

    rows = []
    for ds, per_lm in results.items():
        for lm in LABEL_MODELS:
            runs = per_lm.get(lm)
            if not runs:
                continue
            rows.append([ds, lm] + [ms(collect(runs, f"T4 q {c}"), 2) for c in T4_COLUMNS[1:]])
    out.append(rst_table(
        ["data set", "label model"] + list(T4_COLUMNS[1:]), rows,
        "Selected removal (fraction q of the harmful components; GIF: number of LFs)"))

    rows = []
    for ds, per_lm in results.items():
        for lm in LABEL_MODELS:
            runs = per_lm.get(lm)
            if not runs:
                continue
            paper = f"{PAPER_YOUTUBE['T5'][lm]:.3f}" if ds == args.primary else "—"
            rows.append([ds, lm, ms(collect(runs, "T5 IF~sumRW"), 4),
                         f"{max(collect(runs, 'T5 maxdiff')):.1e}", paper,
                         ms(collect(runs, "T5 R-IF~sumR-RW"))])
    out.append(rst_table(
        ["data set", "label model", "Spearman(IF, sum RW)", "max-abs(IF - sum RW) / max-abs(IF)",
         "paper", "Spearman(R-IF, sum R-RW)"], rows,
        "Table 5 (correlation of ordinary IF with the per-sample sum of RW)"))

    def t(runs, step):
        v = [r["times"][step] for r in runs if step in r["times"]]
        return fmt_s(v) if v else "—"

    rows = []
    for ds, per_lm in results.items():
        for lm in LABEL_MODELS:
            runs = per_lm.get(lm)
            if not runs:
                continue
            rows.append([ds, lm, t(runs, "label model fit"), t(runs, "linearize"),
                         " / ".join(t(runs, f"fit {v}") for v in VARIANTS),
                         " / ".join(t(runs, f"scores {v}") for v in VARIANTS),
                         t(runs, "baselines"), t(runs, "drop term"), t(runs, "drop sample"),
                         t(runs, "drop source"), t(runs, "table 5")])
    out.append(rst_table(
        ["data set", "label model", "LM fit", "linearize", "inspector fit RW / R-RW / WM / R-WM",
         "mislabel_scores RW / R-RW / WM / R-WM", "baselines", "drop terms (4 variants)",
         "drop samples (IF, R-IF)", "drop LFs (GIF)", "Table 5"], rows,
        "Wall time per step (mean over runs). Inspector fit = end-model fit to "
        "stationarity + Hessian factorisation; mislabel_scores includes the solve and, "
        "for the relative variants, the row kernels of the inverse Hessian; drop = every candidate of the grid, refits included"))

    rows = []
    for ds, per_lm in results.items():
        for lm in ("DS", "Snorkel"):
            runs = per_lm.get(lm)
            if runs:
                warns = sorted({w for r in runs for w in r["warnings"]})
                rows.append([ds, lm, ms(collect(runs, "fidelity_tv"), 4),
                             ms(collect(runs, "fidelity_agree"), 4), ", ".join(warns) or "—"])
    out.append(rst_table(
        ["data set", "label model", "mean TV(linearised, original)", "argmax agreement", "warnings"],
        rows, "LinearizedApprox fidelity on the covered train rows"))

    if sweep:
        rows = []
        for lm, per_l2 in sweep.items():
            for l2, runs in per_l2.items():
                rows.append([lm, f"{l2:g}", ms(collect(runs, "T4 val ERM")),
                             ms(collect(runs, "T4 ERM")), ms(collect(runs, "T4 RW")),
                             ms(collect(runs, "T4 R-RW")),
                             ms([1 - r["T4 RW"] / r["T4 ERM"] for r in runs]),
                             ms(collect(runs, "T3 correct RW")),
                             ms(collect(runs, "T3 correct R-RW")),
                             ms(collect(runs, "T3 correct EM"))])
            sel = _validation_selected(per_l2)
            rows.append([lm, "val-selected", ms([r["T4 val ERM"] for r in sel]),
                         ms(collect(sel, "T4 ERM")), ms(collect(sel, "T4 RW")),
                         ms(collect(sel, "T4 R-RW")),
                         ms([1 - r["T4 RW"] / r["T4 ERM"] for r in sel]),
                         ms(collect(sel, "T3 correct RW")), ms(collect(sel, "T3 correct R-RW")),
                         ms(collect(sel, "T3 correct EM"))])
        out.append(rst_table(
            ["label model", "l2", "val CE (ERM)", "test CE ERM", "test CE RW", "test CE R-RW",
             "RW rel. gain", "AP_c RW", "AP_c R-RW", "AP_c EM"], rows,
            f"Sensitivity to the ridge strength l2 ({args.primary}); 'val-selected' picks, "
            "per seed, the l2 with the lowest ERM validation loss; AP_c = AP_correct "
            "(LM and KNN do not depend on l2)"))
    return "\n".join(out)


def _validation_selected(per_l2):
    """Per seed, the run whose ERM validation loss is lowest over the l2 grid."""
    grids = list(per_l2.values())
    return [min(seed_runs, key=lambda r: r["T4 val ERM"]) for seed_runs in zip(*grids)]


def targets(results, args, speed=None):
    """The issue's targets on YouTube with MV (and the speed target), PASS / MISS."""
    runs = results.get(args.primary, {}).get("MV")
    lines = []
    if speed:
        lines.append(
            f"* Speed: all influences, {speed['n_train']} training rows x 100 sources x 2 "
            f"classes, d = 300 ({speed['n_terms']} terms): {speed['total']:.2f} s (fit "
            f"{speed['fit']:.2f} s, influence {speed['influence']:.2f} s, terms "
            f"{speed['terms']:.2f} s) with {args.threads} BLAS thread(s), target 10 s -> "
            f"{'PASS' if speed['total'] < 10 else 'MISS'}"
        )
    if not runs:
        return "Targets:\n\n" + "\n".join(lines) + "\n" if lines else ""

    def m(key):
        return float(np.mean(collect(runs, key)))

    best_base = max(m(f"T3 correct {b}") for b in BASELINES)
    for name, paper in (("RW", .861), ("R-RW", .917)):
        v = m(f"T3 correct {name}")
        ok = v >= paper and v > best_base
        lines.append(
            f"* MV {name} AP_correct = {v:.3f}; paper {paper:.3f}; best baseline "
            f"{best_base:.3f} -> {'PASS' if ok else 'MISS'}"
            + ("" if ok else f" ({'>= paper' if v >= paper else '< paper'}, "
                             f"{'> baselines' if v > best_base else '<= best baseline'})")
        )
    erm = m("T4 ERM")
    for name in ("RW", "R-RW", "WM", "R-WM"):
        v = m(f"T4 {name}")
        gain = 1 - v / erm
        lines.append(
            f"* MV {name} test CE {erm:.3f} -> {v:.3f} ({-gain:+.1%}); paper .351 -> .284 "
            f"(-19.1%) -> {'PASS' if gain >= 0.191 else 'MISS'}"
        )
    return "Targets (" + args.primary + ", MV, means over seeds):\n\n" + "\n".join(lines) + "\n"


def metadata(t_wall):
    try:
        commit = subprocess.run(["git", "-C", HERE, "rev-parse", "--short", "HEAD"],
                                check=False, capture_output=True, text=True,
                                timeout=10).stdout.strip()
    except OSError:
        commit = "?"
    cpu = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "date": datetime.date.today().isoformat(),
        "machine": f"{cpu}, {os.cpu_count()} cores, {platform.system()}",
        "versions": (f"Python {platform.python_version()}, numpy {np.__version__}, "
                     f"scipy {scipy.__version__}, scikit-learn {sklearn.__version__}, "
                     f"skweak_e2e {skweak_e2e.__version__} (git {commit or '?'})"),
        "wall": t_wall,
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    # Defaults: (full run, --quick); an option given explicitly wins over both.
    defaults = {
        "seeds": (5, 2),
        "datasets": ("youtube,youtube-tfidf,breast_cancer,wine", "youtube,breast_cancer"),
        "l2_grid": ("1e-5,3e-5,1e-4,3e-4,1e-3,3e-3,1e-2,3e-2", "1e-4,1e-3,1e-2"),
        "deltas": ("0,1e-3,1e-2,1e-1,1,100", "0,1e-2,1"),
        "dampings": ("0,0.1,0.3,1,3,10,100", "0,1,10"),
    }
    p.add_argument("--quick", action="store_true",
                   help="2 seeds, YouTube (SVD) and breast_cancer, small grids")
    p.add_argument("--seeds", type=int, help="number of seeds (default 5; --quick: 2)")
    p.add_argument("--datasets",
                   help="comma list of youtube, youtube-tfidf, breast_cancer, wine "
                        "(default: all; --quick: youtube,breast_cancer)")
    p.add_argument("--wrench-dir", default=DEFAULT_WRENCH)
    p.add_argument("--svd-dim", type=int, default=300,
                   help="TruncatedSVD dimension of the YouTube TF-IDF (default 300)")
    p.add_argument("--l2", type=float, default=1e-3,
                   help="ridge strength of the end model (default 1e-3, the library default)")
    p.add_argument("--l2-grid", help="l2 values of the YouTube sensitivity table ('' = skip)")
    p.add_argument("--damping", type=float, default=None,
                   help="relative Hessian damping of the inspector (default: the library's)")
    p.add_argument("--dampings",
                   help="relative dampings of the damping-curve table ('' = skip)")
    p.add_argument("--deltas",
                   help="absolute Hessian dampings of the 'paper GD' diagnostics ('' = skip)")
    p.add_argument("--speed", action="store_true",
                   help="also time all influences for 1e5 samples x 100 sources x 2 classes, d = 300")
    p.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1)")
    p.add_argument("--json", help="write the raw results here")
    p.add_argument("--rst", help="write the report (reStructuredText) here")
    args = p.parse_args(argv)
    for key, (full, quick) in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, quick if args.quick else full)
    args.seeds = list(range(args.seeds))
    args.deltas = [float(v) for v in args.deltas.split(",") if v.strip()]
    args.dampings = [float(v) for v in args.dampings.split(",") if v.strip()]
    if args.damping is None:
        args.damping = float(SourceAwareInfluence().damping)
    args.primary = f"YouTube/svd{args.svd_dim}" if args.svd_dim else "YouTube/tfidf"

    t_start = time.perf_counter()
    tasks = []
    for ds in args.datasets.split(","):
        ds = ds.strip()
        if ds == "youtube":
            tasks += youtube_tasks(args.wrench_dir, args.seeds, args.svd_dim)
        elif ds == "youtube-tfidf":
            tasks += youtube_tasks(args.wrench_dir, args.seeds, 0)
        elif ds in ("breast_cancer", "wine"):
            tasks += tabular_tasks(ds, args.seeds)
        elif ds:
            p.error(f"unknown data set {ds!r}")

    results, sweep = {}, {}
    with threadpool_limits(limits=args.threads):
        for task in tasks:
            for lm in LABEL_MODELS:
                r = run_pipeline(task, lm, args.l2, args.damping)
                r["features"], r["seed"] = task.features, task.seed
                results.setdefault(task.name, {}).setdefault(lm, []).append(r)
                print(f"[{time.perf_counter() - t_start:6.1f} s] {task.name} seed {task.seed} "
                      f"{lm}: AP_c RW {r['T3 correct RW']:.3f} R-RW {r['T3 correct R-RW']:.3f}; "
                      f"test CE ERM {r['T4 ERM']:.3f} RW {r['T4 RW']:.3f}", file=sys.stderr)
        grid = [float(v) for v in args.l2_grid.split(",") if v.strip()]
        if grid:
            for task in (t for t in tasks if t.name == args.primary):
                for lm in LABEL_MODELS:
                    for l2 in grid:
                        r = run_pipeline(task, lm, l2, args.damping, full=False)
                        sweep.setdefault(lm, {}).setdefault(l2, []).append(r)
            print(f"[{time.perf_counter() - t_start:6.1f} s] l2 sweep done", file=sys.stderr)
        curve = {}
        if args.dampings:  # every data set but the secondary YouTube features
            for task in tasks:
                if task.name.startswith("YouTube") and task.name != args.primary:
                    continue
                for lm in LABEL_MODELS:
                    curve.setdefault(task.name, {}).setdefault(lm, []).append(
                        damping_curve(task, lm, args.l2, args.dampings))
            print(f"[{time.perf_counter() - t_start:6.1f} s] damping curve done", file=sys.stderr)
        diag = {}
        if args.deltas:
            import torch

            torch.set_num_threads(args.threads)
            for task in (t for t in tasks if t.name == args.primary):
                for lm in LABEL_MODELS:
                    diag.setdefault(lm, []).append(diagnostics(task, lm, args.l2, args.deltas))
            print(f"[{time.perf_counter() - t_start:6.1f} s] diagnostics done", file=sys.stderr)
        speed = speed_check(args.damping) if args.speed else None
    meta = metadata(time.perf_counter() - t_start)
    text = (report(results, sweep, args, meta) + "\n" + report_damping(curve, args)
            + "\n" + report_diagnostics(diag, args) + "\n" + targets(results, args, speed))
    print(text)
    if args.rst:
        with open(args.rst, "w") as fh:
            fh.write(text)
    if args.json:
        with open(args.json, "w") as fh:
            diag_json = {lm: [{" | ".join(map(str, k)) if isinstance(k, tuple) else k: v
                               for k, v in r.items()} for r in runs] for lm, runs in diag.items()}
            curve_json = {ds: {lm: [{" | ".join(map(str, k)) if isinstance(k, tuple) else k: v
                                     for k, v in r.items()} for r in runs]
                               for lm, runs in per_lm.items()} for ds, per_lm in curve.items()}
            json.dump({"meta": meta, "results": results, "diagnostics": diag_json,
                       "damping_curve": curve_json, "speed": speed,
                       "sweep": {lm: {str(k): v for k, v in d.items()} for lm, d in sweep.items()}},
                      fh, indent=1, default=float)


if __name__ == "__main__":
    main()
