#!/usr/bin/env python
"""The use cases of SourceAwareInfluence on a varied suite, against baselines.

Run it in the project's venv (one BLAS thread; 6 to 9 minutes on 2 shared
cores)::

    python -m benchmarks.influence                 # the suite, 3 seeds
    python -m benchmarks.influence --quick         # 1 seed
    python -m benchmarks.influence --speed         # also the 1e5 x 1e4 check
    python -m benchmarks.influence --wrench DIR    # WRENCH root (youtube/, yoruba/)

The suite (gold labels are used for evaluation only; a set whose data are
absent is skipped):

* **YouTube** (WRENCH, 2 classes): sparse TF-IDF of word 1-2 grams fitted
  on the train texts (about 1.7e4 columns, never densified).
* **Yoruba** (WRENCH, 7 classes): sparse TF-IDF of words.
* **imdb_narrow, mr_narrow, imdb_lexicon**: text tasks of
  ``_text_tasks.py`` with hand-written LFs (55, 53 and 6), TF-IDF 1-2 grams.
* **breast_cancer, wine, digits**: the library's embedded tabular sets
  (``load_tabular_weak_supervision``; tree sources fitted on a labelled
  seed set), standardised features.
* **synth-imbalanced**: ``make_weak_supervision``, 2 classes with prior
  (0.8, 0.2), 12 sources of accuracy 0.55-0.9 and one adversarial source.
* **synth-4class**: 4 classes, 10 sources of accuracy 0.5-0.85 with a
  source duplicated twice, weakly separated classes.

Pipeline: MajorityVote and the closed-form soft-label logistic regression,
with the inspector's defaults (the end model's ``l2`` chosen on the
validation loss, ``fit(..., X_val=, y_val=)``).

1. **Mislabel detection** (the protocol of Zhang et al. 2022, Table 3): the
   items are the votes of the covered training rows, a vote is positive when
   ``L_ij != y_i``; average precision per LF (mean over the LFs that have a
   positive) and pooled over all votes. Every variant of
   ``mislabel_scores`` in :data:`VARIANTS` and the baselines LM, EM, KNN,
   CL (confident learning: out-of-fold self-confidence, as cleanlab's) and
   LOO+KNN, in one table.
2. **Repair**: ``drop_harmful`` as in :data:`REPAIRS` (held-out choice
   against the in-sample one); test cross-entropy gain and test accuracy
   change against the analysed, validation-tuned end model, and the
   expected change ``drop_harmful`` reports against the measured one.
3. **Time per call** of ``fit`` (with the ``l2`` choice), ``influence``,
   ``mislabel_scores`` and ``drop_harmful``.
4. ``--speed``: ``fit`` and one ``influence`` call on 1e5 rows x 1e4 sparse
   features (50 non-zeros per row), 2 classes, 20 sources.
"""

import argparse
import os
import platform
import sys
import time
import warnings

import numpy as np
import scipy.sparse as sp
from scipy.stats import rankdata
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import average_precision_score, f1_score
from sklearn.model_selection import KFold
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler

import skweak_e2e
from skweak_e2e.datasets import (
    load_tabular_weak_supervision,
    load_wrench,
    make_weak_supervision,
)
from skweak_e2e.inspection import (
    SoftLabelLogisticRegression,
    SourceAwareInfluence,
)

from ._common import default_wrench_dir, rst_table

#: Variants of ``mislabel_scores``: name -> (score, method, relative, gold
#: weight of the validation rows or None (not passed), l2 factor).
VARIANTS = {
    "LOO-RW": ("leave_one_out", "rw", False, None, 1),
    "LOO-WM": ("leave_one_out", "wm", False, None, 1),
    "LOO-RW x10": ("leave_one_out", "rw", False, None, 10),
    "LOO-RW+val w1": ("leave_one_out", "rw", False, 1.0, 1),
    "LOO-RW+val w3": ("leave_one_out", "rw", False, 3.0, 1),
    "LOO-RW+val": ("leave_one_out", "rw", False, 10.0, 1),
    "LOO-RW+val w30": ("leave_one_out", "rw", False, 30.0, 1),
    "LOO-RW+val x10": ("leave_one_out", "rw", False, 10.0, 10),
    "LOO-WM+val": ("leave_one_out", "wm", False, 10.0, 1),
    "RW": ("influence", "rw", False, None, 1),
    "R-RW": ("influence", "rw", True, None, 1),
    "WM": ("influence", "wm", False, None, 1),
    "R-WM": ("influence", "wm", True, None, 1),
}
#: The library's default with a validation set, and without one.
DEFAULT_DETECTOR, GOLD_FREE_DETECTOR = "LOO-RW+val", "LOO-RW"
BASELINES = ("LM", "EM", "KNN", "CL", "LOO+KNN")
#: Repairs: name -> drop_harmful keywords. "default" is the call as a user
#: makes it (unit="term", the inspector's method "auto" = WM, cv=5).
REPAIRS = {
    "default": {},
    "RW": {"method": "rw"},
    "RW in-sample": {"method": "rw", "cv": None},
    "WM in-sample": {"method": "wm", "cv": None},
    "source": {"unit": "source"},
    "source in-sample": {"unit": "source", "cv": None},
}
#: Text tasks of the suite (benchmarks/_text_tasks.py): many hand-written LFs.
TEXT_TASKS = ("imdb_narrow", "mr_narrow", "imdb_lexicon")


# ====================================================================== data
class Task:
    """One data set: features, votes and gold labels of each split."""

    def __init__(self, name, seed, n_classes, train, valid, test, features):
        self.name, self.seed, self.n_classes = name, seed, n_classes
        self.X_tr, self.L_tr, self.y_tr = train
        self.X_va, self.L_va, self.y_va = valid
        self.X_te, self.L_te, self.y_te = test
        self.features = features


def wrench_task(root, name, ngram_range):
    """A WRENCH text set with sparse TF-IDF features fitted on the train texts."""
    data = load_wrench(os.path.join(root, name))
    vec = TfidfVectorizer(sublinear_tf=True, ngram_range=ngram_range)
    vec.fit(data.train.texts)
    splits = [data[s] for s in ("train", "valid", "test")]
    parts = [(vec.transform(s.texts).tocsr(), s.L, s.y) for s in splits]
    feats = f"sparse TF-IDF, {parts[0][0].shape[1]} columns"
    return Task(name, 0, data.n_classes, *parts, feats)


def tabular_task(name, seed):
    d = load_tabular_weak_supervision(name, random_state=seed)
    sc = StandardScaler().fit(d.X_train)
    return Task(
        name, seed, d.n_classes,
        (sc.transform(d.X_train), d.L_train, d.y_train),
        (sc.transform(d.X_valid), d.L_valid, d.y_valid),
        (sc.transform(d.X_test), d.L_test, d.y_test),
        f"{d.X_train.shape[1]} features",
    )


def synthetic_task(name, seed):
    rng = np.random.RandomState(seed)
    if name == "synth-imbalanced":
        X, L, y = make_weak_supervision(
            2000, 12, 2, class_prior=[0.8, 0.2], coverage=0.3,
            accuracy=rng.uniform(0.55, 0.9, 12), n_features=10, class_sep=1.5,
            n_adversarial=1, random_state=seed,
        )
    else:
        X, L, y = make_weak_supervision(
            2000, 10, 4, coverage=0.35, accuracy=rng.uniform(0.5, 0.85, 10),
            n_features=10, class_sep=1.0, duplicates={0: 2}, random_state=seed,
        )
    cut = [1200, 1400]
    parts = [(X[s], L[s], y[s]) for s in (slice(0, cut[0]), slice(*cut), slice(cut[1], None))]
    return Task(name, seed, len(np.unique(y)), *parts, "10 Gaussian features")


def suite(seeds, wrench_dir):
    tasks = []
    for name, ngrams in (("youtube", (1, 2)), ("yoruba", (1, 1))):
        if os.path.isdir(os.path.join(wrench_dir, name)):
            tasks.append(wrench_task(wrench_dir, name, ngrams))
        else:
            print(f"# {name} skipped: no {name}/ under {wrench_dir!r} (--wrench)",
                  file=sys.stderr)
    from ._text_tasks import load_text_task

    for name in TEXT_TASKS:
        try:
            d = load_text_task(name)
        except OSError as exc:
            print(f"# {name} skipped: {exc}", file=sys.stderr)
            continue
        parts = [(d[f"X_{s}"], d[f"L_{s}"].astype(np.intp), d[f"y_{s}"])
                 for s in ("train", "val", "test")]
        feats = f"sparse TF-IDF, {parts[0][0].shape[1]} columns, {parts[0][1].shape[1]} LFs"
        tasks.append(Task(name, 0, d.n_classes, *parts, feats))
    for name in ("breast_cancer", "wine", "digits"):
        tasks += [tabular_task(name, s) for s in seeds]
    for name in ("synth-imbalanced", "synth-4class"):
        tasks += [synthetic_task(name, s) for s in seeds]
    return tasks


# ================================================================ evaluation
def vote_probability(P, L):
    """``P[i, L_ij]`` for the votes, NaN for abstentions."""
    out = np.full(L.shape, np.nan)
    i, j = np.nonzero(L >= 0)
    out[i, j] = P[i, L[i, j]]
    return out


def mean_ap(suspicion, L, y):
    """Mean over sources of the AP of "L_ij != y_i" (high score = mislabel)."""
    aps = []
    for j in range(L.shape[1]):
        m = (L[:, j] >= 0) & np.isfinite(suspicion[:, j])
        wrong = L[m, j] != y[m]
        if wrong.any():
            aps.append(average_precision_score(wrong, suspicion[m, j]))
    return float(np.mean(aps))


def cross_entropy(estimator, X, y):
    P = np.clip(estimator.predict_proba(X), 1e-300, None)
    return float(-np.log(P[np.arange(len(y)), y]).mean())


def baselines(task, sai):
    """Suspicion scores of LM, EM, KNN and CL on the training votes."""
    L, idx = task.L_tr, sai.train_index_
    rows = np.zeros(L.shape[0], bool)
    rows[idx] = True
    Lc = np.where(rows[:, None], L, -1)  # votes of the covered training rows
    out = {}
    out["LM"] = 1 - vote_probability(sai.label_model_.predict_proba(L), Lc)
    out["EM"] = 1 - vote_probability(sai.end_model_.predict_proba(task.X_tr), Lc)
    k = min(10, len(task.y_va))
    knn = KNeighborsClassifier(k).fit(task.X_va, task.y_va)
    P = np.zeros((L.shape[0], task.n_classes))
    P[:, knn.classes_] = knn.predict_proba(task.X_tr)
    out["KNN"] = 1 - vote_probability(P, Lc)
    # Confident learning: out-of-fold probabilities of the end model trained
    # (same l2) on the weak labels of the other folds.
    P = np.zeros((L.shape[0], task.n_classes))
    X_c, T = task.X_tr[idx], sai.labels_
    for tr, te in KFold(5, shuffle=True, random_state=0).split(idx):
        est = SoftLabelLogisticRegression(l2=sai.l2_).fit(X_c[tr], T[tr])
        P[idx[te]] = est.predict_proba(X_c[te])
    out["CL"] = 1 - vote_probability(P, Lc)
    return out


def ranks(score):
    """Ranks of the finite scores in (0, 1]; NaN elsewhere."""
    out = np.full(score.shape, np.nan)
    ok = np.isfinite(score)
    out[ok] = rankdata(score[ok]) / ok.sum()
    return out


def pooled_ap(suspicion, L, y):
    """AP of "L_ij != y_i" over all the votes at once (one ranking)."""
    m = (L >= 0) & np.isfinite(suspicion)
    return float(average_precision_score((L != y[:, None])[m], suspicion[m]))


def accuracy(estimator, X, y):
    return float(np.mean(estimator.predict_proba(X).argmax(axis=1) == y))


def macro_f1(estimator, X, y):
    return float(f1_score(y, estimator.predict_proba(X).argmax(axis=1), average="macro"))


def run_task(task):
    """Every number of one task: mislabel APs, repairs, times."""
    out = {"ap": {}, "pooled": {}, "repair": {}, "time": {}}
    names = [f"LF{j}" for j in range(task.L_tr.shape[1])]
    t = time.perf_counter()
    sai = SourceAwareInfluence(source_names=names).fit(
        task.X_tr, task.L_tr, X_val=task.X_va, y_val=task.y_va
    )
    out["time"]["fit"] = time.perf_counter() - t
    out["l2"] = sai.l2_
    t = time.perf_counter()
    sai.influence(task.X_va, task.y_va)
    out["time"]["influence"] = time.perf_counter() - t
    tuned = cross_entropy(sai.end_model_, task.X_te, task.y_te)
    out["tuned_loss"] = tuned
    out["tuned_acc"] = accuracy(sai.end_model_, task.X_te, task.y_te)
    out["tuned_f1"] = macro_f1(sai.end_model_, task.X_te, task.y_te)
    wrong = task.L_tr[sai.train_index_] != task.y_tr[sai.train_index_, None]
    voted = task.L_tr[sai.train_index_] >= 0
    out["mislabel_rate"] = float(wrong[voted].mean())
    scores = {"const": np.where(task.L_tr >= 0, 0.0, np.nan)}
    scores.update(baselines(task, sai))
    x10 = SourceAwareInfluence(l2=10 * sai.l2_).fit(task.X_tr, task.L_tr)
    for name, (score, method, relative, weight, factor) in VARIANTS.items():
        insp = x10 if factor == 10 else sai
        if relative and not insp._backend.has_inverse:
            continue
        t = time.perf_counter()
        if score == "influence":
            scores[name] = insp.mislabel_scores(
                task.X_va, task.y_va, score=score, method=method, relative=relative
            )
        elif weight is None:
            scores[name] = insp.mislabel_scores(score=score, method=method)
        else:
            scores[name] = insp.mislabel_scores(
                task.X_va, task.y_va, score=score, method=method, gold_weight=weight
            )
        out["time"].setdefault(f"mislabel {name}", time.perf_counter() - t)
    # The hybrid: mean rank of the gold-free leave-one-out score and KNN.
    scores["LOO+KNN"] = ranks(scores["LOO-RW"]) + ranks(scores["KNN"])
    for name, sc in scores.items():
        out["ap"][name] = mean_ap(sc, task.L_tr, task.y_tr)
        out["pooled"][name] = pooled_ap(sc, task.L_tr, task.y_tr)
    for name, kwargs in REPAIRS.items():
        t = time.perf_counter()
        try:
            rep = sai.drop_harmful(task.X_va, task.y_va, **kwargs)
        except ValueError:  # too few validation rows to cross-fit: no repair
            out["repair"][name] = {"gain": 0.0, "acc": 0.0, "f1": 0.0, "fraction": np.nan,
                                   "expected": np.nan, "se": np.nan, "refused": True}
            continue
        if name == "default":
            out["time"]["drop_harmful"] = time.perf_counter() - t
        out["repair"][name] = {
            "gain": tuned - cross_entropy(rep.estimator, task.X_te, task.y_te),
            "acc": accuracy(rep.estimator, task.X_te, task.y_te) - out["tuned_acc"],
            "f1": macro_f1(rep.estimator, task.X_te, task.y_te) - out["tuned_f1"],
            "fraction": float(rep.fraction),
            "expected": -rep.expected_change,
            "se": rep.expected_change_se,
        }
    return out


# ================================================================== reports
def by_set(results):
    """Results grouped by data set name, in suite order."""
    groups = {}
    for task, res in results:
        groups.setdefault(task.name, []).append(res)
    return groups


def avg(values):
    values = [v for v in values if v is not None and np.isfinite(v)]
    return float(np.mean(values)) if values else float("nan")


def f3(v):
    return "--" if not np.isfinite(v) else f"{v:.3f}"


def ap_table(groups, key, title):
    cols = ["const"] + list(BASELINES) + list(VARIANTS)
    rows, per_set = [], {c: [] for c in cols}
    for name, rs in groups.items():
        vals = {c: avg([r[key].get(c, np.nan) for r in rs]) for c in cols}
        for c in cols:
            per_set[c].append(vals[c])
        rows.append([name, f3(avg([r["mislabel_rate"] for r in rs]))] + [f3(vals[c]) for c in cols])
    means = {c: avg(per_set[c]) for c in cols}
    rows.append(["**mean**", ""] + [f3(means[c]) for c in cols])
    return rst_table(["set", "mislabels"] + cols, rows, title), means, per_set


def report(results):
    groups = by_set(results)
    text = []
    table, means, per_set = ap_table(
        groups, "ap", "Mislabel detection: AP per LF, mean over the LFs"
    )
    text.append(table)
    text.append(ap_table(groups, "pooled", "Mislabel detection: pooled AP over all votes")[0])
    # wins of every inspector variant against every baseline, per set
    win_rows = []
    for m in VARIANTS:
        mine = np.asarray(per_set[m])
        cells = [m]
        for b in BASELINES:
            base = np.asarray(per_set[b])
            ok = np.isfinite(mine)
            cells.append(f"{int((mine[ok] > base[ok]).sum())}/{int(ok.sum())}")
        win_rows.append(cells)
    text.append(rst_table(["variant"] + [f"> {b}" for b in BASELINES], win_rows,
                          "Sets on which the variant's AP per LF is above the baseline's"))
    # ---- repair
    rrows, summary = [], {c: [] for c in REPAIRS}
    for name, rs in groups.items():
        cells = [name, f"{avg([np.log10(r['l2']) for r in rs]):.1f}",
                 f3(avg([r["tuned_loss"] for r in rs])),
                 f"{100 * avg([r['tuned_acc'] for r in rs]):.1f}"]
        for c in REPAIRS:
            rep = {k: avg([r["repair"][c][k] for r in rs]) for k in
                   ("gain", "acc", "f1", "fraction", "expected", "se")}
            summary[c].append(rep)
            if all(r["repair"][c].get("refused") for r in rs):
                cells.append("refused (too few rows)")
                continue
            cells.append(f"{rep['gain']:+.3f} / {100 * rep['acc']:+.1f} ({rep['fraction']:.2f})")
        rrows.append(cells)
    rrows.append(["**loss lower**", "", "", ""] + [
        f"{sum(r['gain'] > 0 for r in summary[c])}/{len(summary[c])}" for c in REPAIRS])
    rrows.append(["**acc. -0.5 pt or worse**", "", "", ""] + [
        f"{sum(r['acc'] <= -0.005 for r in summary[c])}/{len(summary[c])}" for c in REPAIRS])
    rrows.append(["**mean**", "", "", ""] + [
        f"{avg([r['gain'] for r in summary[c]]):+.3f} / "
        f"{100 * avg([r['acc'] for r in summary[c]]):+.1f}" for c in REPAIRS])
    text.append(rst_table(
        ["set", "log10 l2", "tuned loss", "tuned acc."] + list(REPAIRS),
        rrows,
        "Repair: test cross-entropy gain / test accuracy change (points) of "
        "drop_harmful over the validation-tuned end model (mean selected q or "
        "number of sources)"))
    frows = []
    for i, (name, rs) in enumerate(groups.items()):
        frows.append([name, f"{100 * avg([r['tuned_f1'] for r in rs]):.1f}"] + [
            f"{100 * summary[c][i]['f1']:+.1f}" for c in REPAIRS])
    frows.append(["**-0.5 pt or worse**", ""] + [
        f"{sum(r['f1'] <= -0.005 for r in summary[c])}/{len(summary[c])}" for c in REPAIRS])
    text.append(rst_table(
        ["set", "tuned macro-F1"] + list(REPAIRS), frows,
        "Repair: test macro-F1 change (points)"))
    erows = []
    for name, rs in groups.items():
        cells = [name]
        for c in ("default", "source"):
            e = avg([r['repair'][c]['expected'] for r in rs])
            se = avg([r['repair'][c]['se'] for r in rs])
            cells.append("refused" if not np.isfinite(e) else f"{e:+.3f} +/- {se:.3f}")
            cells.append(f"{avg([r['repair'][c]['gain'] for r in rs]):+.3f}")
        erows.append(cells)
    text.append(rst_table(
        ["set", "default: expected", "default: test", "source: expected", "source: test"],
        erows,
        "Expected loss decrease reported by drop_harmful (held-out folds, "
        "+/- standard error) against the measured test decrease"))
    # ---- time per call
    keys = ["fit", "influence", "mislabel LOO-RW", "mislabel LOO-RW+val", "mislabel RW",
            "drop_harmful"]
    trows = []
    seen = set()
    for task, r in results:
        if task.name in seen:
            continue
        seen.add(task.name)
        n = task.X_tr.shape[0]
        trows.append([task.name, str(n), task.features] +
                     [f"{r['time'].get(k, np.nan):.2f}" for k in keys])
    text.append(rst_table(["set", "n_train", "features"] + [f"{k} (s)" for k in keys], trows,
                          "Time per call (first seed)"))
    return "\n".join(text), means, summary


def speed_check(n=100_000, d=10_000, nnz_row=50, m=20, seed=0):
    """``fit`` and one ``influence`` on a 1e5 x 1e4 sparse problem."""
    rng = np.random.RandomState(seed)
    y = rng.randint(2, size=n + 2000)
    cols = rng.randint(d, size=(n + 2000, nnz_row))
    # Class-dependent vocabulary: the first 500 columns lean to class 1.
    cols[y == 1, :5] = rng.randint(500, size=(int((y == 1).sum()), 5))
    X = sp.csr_matrix(
        (rng.uniform(0.1, 1.0, cols.size), cols.ravel(), np.arange(0, cols.size + 1, nnz_row)),
        shape=(n + 2000, d),
    )
    _, L, _ = make_weak_supervision(n + 2000, m, 2, n_features=0, random_state=seed)
    # Re-plant the votes on this y: each source is right with prob 0.75.
    vote = rng.rand(n + 2000, m) < 0.4
    right = rng.rand(n + 2000, m) < 0.75
    L = np.where(vote, np.where(right, y[:, None], 1 - y[:, None]), -1)
    t = time.perf_counter()
    sai = SourceAwareInfluence(l2=1e-4).fit(X[:n], L[:n])
    t_fit = time.perf_counter() - t
    t = time.perf_counter()
    sai.influence(X[n:], y[n:])
    t_inf = time.perf_counter() - t
    return t_fit, t_inf, X[:n].nnz


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="one seed")
    ap.add_argument("--speed", action="store_true", help="the 1e5 x 1e4 sparse check")
    ap.add_argument("--wrench", default=default_wrench_dir(),
                    help="WRENCH root with youtube/ and yoruba/ (skipped when absent)")
    args = ap.parse_args(argv)
    seeds = list(range(1 if args.quick else args.seeds))
    warnings.simplefilter("ignore")
    t0 = time.perf_counter()
    tasks = suite(seeds, args.wrench)
    results = []
    for task in tasks:
        t = time.perf_counter()
        results.append((task, run_task(task)))
        print(f"# {task.name} seed {task.seed}: {time.perf_counter() - t:.1f} s",
              file=sys.stderr, flush=True)
    text, means, summary = report(results)
    print(f"skweak_e2e {skweak_e2e.__version__}, {platform.processor() or platform.machine()}, "
          f"seeds {seeds}, 1 BLAS thread\n")
    print(text)
    default = SourceAwareInfluence().mislabel_scores.__kwdefaults__
    print(f"mislabel_scores defaults: score={default['score']!r}, "
          f"method={default['method']!r}, relative={default['relative']!r}")
    if args.speed:
        t_fit, t_inf, nnz = speed_check()
        print(f"\nSpeed, 1e5 x 1e4 sparse ({nnz} non-zeros), 2 classes, 20 sources: "
              f"fit {t_fit:.2f} s, influence on 2000 targets {t_inf:.2f} s")
    print(f"\ntotal wall time {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
