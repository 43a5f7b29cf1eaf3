"""Text suite (issue 19): every pipeline at its defaults on real text tasks.

The tasks (``_text_tasks.py``) are real texts with labeling functions written
as users write them: WRENCH YouTube and Yoruba with their shipped LFs, IMDB
and MR sentiment with hand-written LFs in several styles. In one run, on
each task:

* every label model alone at its defaults (``MajorityVote``, ``DawidSkene``,
  ``Snorkel``, ``LinearizedApprox(DawidSkene())``): test accuracy of
  ``predict_proba(L_test).argmax(1)`` and, separately, of ``predict(L_test)``
  with its default ``tie_break`` (``"abstain"``: a tie is a -1, counted
  wrong, which exposes the tie effects);
* the default two-stage pipeline ``LabelModelClassifier(lm,
  LogisticRegression(random_state=0))`` for each label model;
* the two-stage pipeline with validation selection
  (:func:`validated_two_stage`): LR ``C`` in ``np.logspace(-2, 3, 6)`` x
  label model in {MV, DS, Snorkel}, selected by accuracy on the validation
  rows; ``skweak_e2e.LabelModelClassifierCV`` at its defaults is run as well
  when the library has it, and then it is the one the targets use;
* ``WeaSELClassifier(random_state=s).fit(X, L, X_val=X_val, y_val=y_val)``
  for every seed (mean +- std, wall time per fit);
* snorkel 0.10's ``LabelModel(cardinality=C).fit(L_train, seed=s)`` with the
  same default LR trained on its probabilities through
  ``LabelModelClassifier`` (uncovered rows dropped, as for ours); "n/a" when
  snorkel cannot be imported;
* ``LogisticRegression`` on all gold training labels (default ``C``, and
  ``C`` tuned on the validation rows): the ceiling of the features.

Targets (PASS/MISS per task; accuracy points):

* T1: each default label model (argmax) >= majority vote - 1;
* T2: best default pipeline with validation (validated two-stage or WeaSEL)
  >= best label model alone + 1;
* T3: default WeaSEL >= best default two-stage - 0.5;
* T4: default WeaSEL >= snorkel + LR;
* suite mean: default WeaSEL and the validated two-stage each at least a
  third of the way from the best label model to gold-label LR (means over
  the tasks).

Usage (snorkel lives in the peers venv, which also needs skorch for WeaSEL)::

    PYTHONPATH=$PWD ../venv-peers/bin/python -m benchmarks.text_suite
    python -m benchmarks.text_suite --quick        # 1 seed, two small tasks
    python -m benchmarks.text_suite --tables-from benchmarks/results/text_suite.json

Results: tables on stdout; ``benchmarks/results/text_suite.{json,csv}``.
Wall times are measured on whatever machine runs the script, one thread.
"""

import argparse
import csv
import json
import os
import time
import warnings

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression

import skweak_e2e
from skweak_e2e import (
    DawidSkene,
    LabelModelClassifier,
    LinearizedApprox,
    MajorityVote,
    Snorkel,
    WeaSELClassifier,
)

from ._common import HERE, rst_table
from ._text_tasks import TASKS, lf_summary, load_text_task

CS = np.logspace(-2, 3, 6)
QUICK_TASKS = ("youtube", "mr_keywords")


def label_models():
    """The label models at their defaults (seeded where they draw)."""
    return {
        "MV": MajorityVote(random_state=0),
        "DS": DawidSkene(random_state=0),
        "Snorkel": Snorkel(random_state=0),
        "LinApprox(DS)": LinearizedApprox(DawidSkene(random_state=0), random_state=0),
    }


def default_lr(C=1.0):
    return LogisticRegression(C=C, random_state=0)


def accuracy(y_pred, y):
    return float(np.mean(np.asarray(y_pred) == np.asarray(y)))


class _ProbaTable(BaseEstimator):
    """A fitted 'label model' whose probabilities come from another library.

    Wraps a fitted model with ``predict_proba(L)`` (snorkel's LabelModel) so
    that :class:`~skweak_e2e.LabelModelClassifier` (through
    ``FrozenEstimator``) trains the same end model on its output.
    """

    def __init__(self, model=None, n_classes=None):
        self.model = model
        self.n_classes = n_classes

    def fit(self, L, y=None):
        self.fitted_ = True
        return self

    def predict_proba(self, L):
        return np.asarray(self.model.predict_proba(np.asarray(L, dtype=np.int64)))


# ------------------------------------------------------------ validation


def _hand_validated(X, L, X_val, y_val, Cs=CS):
    """Grid: label model in {MV, DS, Snorkel} x LR ``C``, best validation accuracy.

    Each label model is fitted once and frozen for its ``C`` values; ties go
    to the first candidate (MV before DS before Snorkel, small ``C`` first).
    """
    lms = label_models()
    best = None
    for name in ("MV", "DS", "Snorkel"):
        lm = FrozenEstimator(lms[name].fit(L))
        for C in Cs:
            clf = LabelModelClassifier(lm, default_lr(C), random_state=0).fit(X, L)
            score = accuracy(clf.predict(X_val), y_val)
            if best is None or score > best[0]:
                best = (score, clf, f"{name}, C={C:g}")
    return best[1], dict(selected=best[2], val_accuracy=best[0])


def _library_cv():
    return getattr(skweak_e2e, "LabelModelClassifierCV", None)


def validated_two_stage(X, L, X_val, y_val, use_library=True):
    """The two-stage pipeline with model selection on gold validation rows.

    Uses ``skweak_e2e.LabelModelClassifierCV`` at its defaults when the
    library has it (and ``use_library``), else the hand grid of
    :func:`_hand_validated`. Returns ``(fitted classifier, info dict)``.
    """
    cv = _library_cv() if use_library else None
    if cv is None:
        clf, info = _hand_validated(X, L, X_val, y_val)
        info["how"] = "hand grid (MV/DS/Snorkel x C)"
        return clf, info
    try:
        est = cv()
    except TypeError:  # a constructor that wants its two models
        est = cv(MajorityVote(), default_lr())
    est.fit(X, L, X_val=X_val, y_val=y_val)
    params = getattr(est, "best_params_", None)
    return est, dict(how="LabelModelClassifierCV defaults", selected=str(params))


# ------------------------------------------------------------- snorkel


def _snorkel_label_model():
    try:
        from snorkel.labeling.model import LabelModel
    except ImportError:
        return None
    return LabelModel


def snorkel_two_stage(task, seed):
    """snorkel 0.10 LabelModel + the same default LR; None without snorkel."""
    LabelModel = _snorkel_label_model()
    if LabelModel is None:
        return None
    lm = LabelModel(cardinality=task.n_classes, verbose=False)
    lm.fit(np.asarray(task.L_train, dtype=np.int64), seed=seed, progress_bar=False)
    proba = FrozenEstimator(_ProbaTable(lm, task.n_classes).fit(task.L_train))
    clf = LabelModelClassifier(proba, default_lr(), random_state=0)
    clf.fit(task.X_train, task.L_train)
    lm_acc = accuracy(lm.predict_proba(np.asarray(task.L_test, np.int64)).argmax(1), task.y_test)
    return accuracy(clf.predict(task.X_test), task.y_test), lm_acc


# ------------------------------------------------------------------ run


def _rec(records, task, method, group, values, seconds=None, note=""):
    values = [v for v in np.atleast_1d(values)]
    r = dict(
        task=task,
        method=method,
        group=group,
        accuracy=float(np.mean(values)) if values else None,
        std=float(np.std(values)) if len(values) > 1 else None,
        runs=[float(v) for v in values],
        seconds=None if seconds is None else float(seconds),
        note=note,
    )
    records.append(r)
    return r


def run_task(name, seeds, verbose=True):
    """All methods on one task; a list of records."""
    task = load_text_task(name)
    recs = []
    s = lf_summary(task)
    if verbose:
        print(
            f"\n== {name}: n={task.L_train.shape[0]}/{len(task.y_val)}/{len(task.y_test)}, "
            f"{s['n_lfs']} LFs, coverage {s['coverage']:.3f}, "
            f"LF vote accuracy (train) {s['vote_accuracy']:.3f}; {task.features}",
            flush=True,
        )

    # 1. label models alone, 2. default two-stage
    for lm_name, lm in label_models().items():
        t0 = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            lm.fit(task.L_train)
        dt = time.perf_counter() - t0
        proba = lm.predict_proba(task.L_test)
        pred = lm.predict(task.L_test)
        kinds = sorted({w.category.__name__ for w in caught})
        _rec(recs, name, f"{lm_name} (argmax)", "label model", accuracy(proba.argmax(1), task.y_test), dt,
             note=("warned: " + ", ".join(kinds)) if kinds else "")
        _rec(
            recs, name, f"{lm_name} (predict)", "label model predict",
            accuracy(pred, task.y_test), None,
            note=f"{np.mean(pred == -1):.1%} ties -> -1 (tie_break={lm.tie_break!r})",
        )
        t0 = time.perf_counter()
        clf = LabelModelClassifier(label_models()[lm_name], default_lr(), random_state=0)
        clf.fit(task.X_train, task.L_train)
        _rec(
            recs, name, f"{lm_name} + LR", "two-stage",
            accuracy(clf.predict(task.X_test), task.y_test), time.perf_counter() - t0,
        )

    # 3. validated two-stage (hand grid always; the library's CV when present)
    t0 = time.perf_counter()
    clf, info = _hand_validated(task.X_train, task.L_train, task.X_val, task.y_val)
    _rec(
        recs, name, "validated two-stage (hand grid)", "validated",
        accuracy(clf.predict(task.X_test), task.y_test), time.perf_counter() - t0,
        note=f"selected {info['selected']} (val {info['val_accuracy']:.3f})",
    )
    if _library_cv() is not None:
        t0 = time.perf_counter()
        try:
            clf, info = validated_two_stage(task.X_train, task.L_train, task.X_val, task.y_val)
            _rec(
                recs, name, "LabelModelClassifierCV", "validated",
                accuracy(clf.predict(task.X_test), task.y_test), time.perf_counter() - t0,
                note=f"selected {info['selected']}",
            )
        except Exception as exc:  # report, do not stop the suite
            _rec(recs, name, "LabelModelClassifierCV", "validated", [], note=f"failed: {exc!r}"[:200])

    # 4. WeaSEL, one fit per seed
    accs, times = [], []
    for seed in seeds:
        t0 = time.perf_counter()
        w = WeaSELClassifier(random_state=seed).fit(
            task.X_train, task.L_train, X_val=task.X_val, y_val=task.y_val
        )
        times.append(time.perf_counter() - t0)
        accs.append(accuracy(w.predict(task.X_test), task.y_test))
        if verbose:
            print(f"   WeaSEL seed {seed}: {accs[-1]:.4f} ({times[-1]:.0f} s)", flush=True)
    _rec(recs, name, "WeaSEL", "weasel", accs, np.mean(times), note=f"{len(seeds)} seeds")

    # 5. snorkel 0.10 + LR
    if _snorkel_label_model() is None:
        _rec(recs, name, "snorkel 0.10 + LR", "snorkel", [], note="n/a (snorkel not importable)")
    else:
        accs, lm_accs, t0 = [], [], time.perf_counter()
        for seed in seeds:
            a, lm_a = snorkel_two_stage(task, seed)
            accs.append(a)
            lm_accs.append(lm_a)
        dt = (time.perf_counter() - t0) / len(seeds)
        _rec(recs, name, "snorkel 0.10 LabelModel (argmax)", "snorkel lm", lm_accs, None)
        _rec(recs, name, "snorkel 0.10 + LR", "snorkel", accs, dt, note=f"{len(seeds)} seeds")

    # 6. gold labels
    t0 = time.perf_counter()
    gold = default_lr().fit(task.X_train, task.y_train)
    _rec(recs, name, "gold LR (C=1)", "gold", accuracy(gold.predict(task.X_test), task.y_test),
         time.perf_counter() - t0)
    val = [(accuracy(default_lr(C).fit(task.X_train, task.y_train).predict(task.X_val), task.y_val), -i, C)
           for i, C in enumerate(CS)]
    C = max(val)[2]
    gold = default_lr(C).fit(task.X_train, task.y_train)
    _rec(recs, name, "gold LR (val-tuned C)", "gold tuned",
         accuracy(gold.predict(task.X_test), task.y_test), None, note=f"C={C:g}")
    if verbose:
        print(task_table(name, recs), flush=True)
    return recs


def _get(recs, method):
    for r in recs:
        if r["method"] == method:
            return r["accuracy"]
    return None


def _group(recs, group):
    return {r["method"]: r["accuracy"] for r in recs if r["group"] == group and r["accuracy"] is not None}


def task_summary(recs):
    """The headline numbers and the per-task targets of one task."""
    lms = _group(recs, "label model")
    mv = lms["MV (argmax)"]
    best_lm = max(lms.values())
    two = _group(recs, "two-stage")
    validated = _group(recs, "validated")
    val_pipe = validated.get("LabelModelClassifierCV", validated["validated two-stage (hand grid)"])
    weasel = _get(recs, "WeaSEL")
    snork = _get(recs, "snorkel 0.10 + LR")
    s = dict(
        task=recs[0]["task"],
        mv=mv,
        best_lm=best_lm,
        best_lm_name=max(lms, key=lms.get).replace(" (argmax)", ""),
        best_two_stage=max(two.values()),
        best_two_stage_name=max(two, key=two.get),
        validated=val_pipe,
        weasel=weasel,
        snorkel_lr=snork,
        gold=_get(recs, "gold LR (C=1)"),
        gold_tuned=_get(recs, "gold LR (val-tuned C)"),
    )
    worst = min(v for k, v in lms.items() if k != "MV (argmax)")

    def at_least(a, b):  # a >= b, blind to float rounding of the means
        return bool(a >= b - 1e-9)

    s["T1"] = at_least(worst, mv - 0.01)
    s["T2"] = at_least(max(val_pipe, weasel), best_lm + 0.01)
    s["T3"] = at_least(weasel, s["best_two_stage"] - 0.005)
    s["T4"] = None if snork is None else at_least(weasel, snork)
    return s


def _pct(v):
    return "n/a" if v is None else f"{100 * v:.1f}"


def _mark(v):
    return "n/a" if v is None else ("PASS" if v else "MISS")


def task_table(name, recs):
    rows = []
    for r in recs:
        acc = "n/a" if r["accuracy"] is None else _pct(r["accuracy"])
        if r["std"] is not None:
            acc += f" ± {100 * r['std']:.1f}"
        secs = "" if r["seconds"] is None else f"{r['seconds']:.1f}"
        rows.append([r["method"], acc, secs, r["note"]])
    return rst_table(["method", "test accuracy (%)", "fit time (s)", "note"], rows, title=f"Text suite: {name}")


def wide_table(records):
    """Every method (rows) on every task (columns): test accuracy, %."""
    tasks = list(dict.fromkeys(r["task"] for r in records))
    methods = list(dict.fromkeys(r["method"] for r in records))
    acc = {(r["task"], r["method"]): r for r in records}
    rows = []
    for m in methods:
        row = [m]
        for t in tasks:
            r = acc.get((t, m))
            cell = "n/a" if r is None or r["accuracy"] is None else _pct(r["accuracy"])
            if r is not None and r["std"] is not None:
                cell += f" ± {100 * r['std']:.1f}"
            row.append(cell)
        rows.append(row)
    return rst_table(["method"] + tasks, rows, title="Text suite: every method (test accuracy, %)")


def summary_table(summaries):
    header = ["task", "MV", "best LM", "best default 2-stage", "validated 2-stage", "WeaSEL",
              "snorkel+LR", "gold LR", "T1 LMs>=MV-1", "T2 val>=LM+1", "T3 W>=2st-0.5", "T4 W>=snorkel"]
    rows = []
    for s in summaries:
        rows.append([
            s["task"], _pct(s["mv"]), f"{_pct(s['best_lm'])} ({s['best_lm_name']})",
            f"{_pct(s['best_two_stage'])} ({s['best_two_stage_name'].replace(' + LR', '')})",
            _pct(s["validated"]), _pct(s["weasel"]), _pct(s["snorkel_lr"]), _pct(s["gold"]),
            _mark(s["T1"]), _mark(s["T2"]), _mark(s["T3"]), _mark(s["T4"]),
        ])
    return rst_table(header, rows, title="Text suite: summary (test accuracy, %)")


def suite_targets(summaries):
    """Mean over the tasks: fraction of the way from the best LM to gold LR."""
    mean = {k: float(np.mean([s[k] for s in summaries])) for k in ("best_lm", "gold", "weasel", "validated")}
    gap = mean["gold"] - mean["best_lm"]
    out = dict(mean=mean)
    for k in ("weasel", "validated"):
        frac = (mean[k] - mean["best_lm"]) / gap if gap > 0 else float("nan")
        out[k] = dict(fraction=frac, passed=bool(frac >= 1 / 3 - 1e-9))
    return out


def suite_table(st):
    m = st["mean"]
    rows = [["best label model", _pct(m["best_lm"]), "0", ""], ["gold LR (C=1)", _pct(m["gold"]), "1", ""]]
    for k, label in (("weasel", "default WeaSEL"), ("validated", "validated two-stage")):
        rows.append([label, _pct(m[k]), f"{st[k]['fraction']:.3f}", _mark(st[k]["passed"]) + " (>= 0.33)"])
    return rst_table(["suite mean", "accuracy (%)", "fraction of LM->gold gap", "target"], rows,
                     title="Text suite: mean over the tasks")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tasks", nargs="*", default=None, choices=TASKS)
    p.add_argument("--seeds", type=int, default=3, help="number of seeds (0..n-1) for WeaSEL and snorkel")
    p.add_argument("--quick", action="store_true", help=f"1 seed; tasks {QUICK_TASKS} unless --tasks")
    p.add_argument("--tables-from", metavar="JSON", default=None,
                   help="print the tables of a saved run (its .json) and exit")
    p.add_argument("--out", default=os.path.join(HERE, "results", "text_suite"),
                   help="output prefix (.json and .csv are appended)")
    args = p.parse_args(argv)
    if args.tables_from:
        with open(args.tables_from) as f:
            saved = json.load(f)
        summaries = [task_summary([r for r in saved["records"] if r["task"] == t])
                     for t in dict.fromkeys(r["task"] for r in saved["records"])]
        print(wide_table(saved["records"]))
        print(summary_table(summaries))
        print(suite_table(suite_targets(summaries)))
        return
    tasks = args.tasks or (list(QUICK_TASKS) if args.quick else list(TASKS))
    seeds = list(range(1 if args.quick else args.seeds))

    # Warnings of the label-model fits are recorded in the table's notes;
    # the repeats inside the pipelines would only flood the log.
    warnings.simplefilter("ignore")
    t_start = time.perf_counter()
    records, summaries, lf_info = [], [], {}
    for name in tasks:
        recs = run_task(name, seeds)
        records += recs
        summaries.append(task_summary(recs))
        s = lf_summary(load_text_task(name))
        lf_info[name] = {k: v for k, v in s.items() if k != "per_lf"}
    print()
    print(wide_table(records))
    print(summary_table(summaries))
    st = suite_targets(summaries)
    print(suite_table(st))
    snork = _snorkel_label_model()
    print(f"seeds {seeds}; skweak_e2e from {os.path.dirname(skweak_e2e.__file__)}; "
          f"snorkel {'n/a' if snork is None else __import__('snorkel').__version__}; "
          f"total {time.perf_counter() - t_start:.0f} s")

    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out + ".json", "w") as f:
        json.dump(dict(seeds=seeds, records=records, summaries=summaries, suite=st, lfs=lf_info),
                  f, indent=1, default=lambda o: o.item() if hasattr(o, "item") else str(o))
    with open(args.out + ".csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["task", "method", "group", "accuracy", "std", "seconds", "note"])
        for r in records:
            w.writerow([r["task"], r["method"], r["group"], r["accuracy"], r["std"], r["seconds"], r["note"]])
    print(f"wrote {args.out}.json and .csv")


if __name__ == "__main__":
    main()
