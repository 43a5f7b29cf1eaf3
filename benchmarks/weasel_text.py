"""WeaSEL on text: candidate settings against the default two-stage baselines.

Every text task holds sparse TF-IDF features (word 1-2-grams, fitted on the
training texts), a label matrix on the training rows and 250 gold
validation rows. Methods, measured in the same run with seeds 0, 1, 2:

* ``MV+LR``, ``DS+LR``, ``Snorkel+LR``: ``LabelModelClassifier(MajorityVote()
  / DawidSkene() / Snorkel(), LogisticRegression())``, defaults;
* ``snorkel+LR``: the ``snorkel`` library's ``LabelModel`` (defaults,
  ``fit(L, seed=s)``) and ``LogisticRegression`` on its argmax labels of the
  covered rows (run in ``--peer-python`` when snorkel is not importable);
* ``Gold+LR``: ``LogisticRegression`` on the gold training labels;
* ``default`` and the other candidates of :data:`CANDIDATES`:
  ``WeaSELClassifier(random_state=s, **params)`` fitted with ``X_val,
  y_val`` (``previous``: the dense defaults, used on TF-IDF before the
  sparse ``"auto"`` settings).

Reported: test accuracy (mean and standard deviation over the seeds), fit
time, and the epoch kept. Usage::

    python -m benchmarks.weasel_text --candidates default previous
    python -m benchmarks.weasel_text --candidates default --weasel lr=3e-3
    python -m benchmarks.weasel_text --speed --candidates default previous
    python -m benchmarks.weasel_text --candidates default hidden16 --n-val 100 --baselines

``--speed`` times one fit (with 250 validation rows) on 5,000 IMDB texts x
7,000 TF-IDF columns with keyword sources. ``--cache FILE`` keeps the
baselines' records between runs.

The tasks are those of the text suite (``benchmarks/_text_tasks.py``,
``load_text_task``); the speed task has one source per sentiment keyword.
The data are read in place (``$SKWEAK_E2E_WRENCH``, ``$SKWEAK_E2E_TEXT``;
see ``_common.py``).
"""

import argparse
import json
import os
import subprocess
import tempfile
import time
import warnings

import numpy as np
from sklearn.utils import Bunch

from ._common import ROOT, default_text_dir, parse_overrides, rst_table
from ._text_tasks import TASKS, load_text_task

# ----------------------------------------------------------- the speed task

POSITIVE = (
    "great", "excellent", "best", "wonderful", "love", "beautiful", "perfect",
    "brilliant", "enjoy", "fun", "amazing", "superb", "masterpiece",
    "touching", "funny", "moving",
)
NEGATIVE = (
    "bad", "worst", "boring", "awful", "waste", "stupid", "dull", "poor",
    "terrible", "mess", "horrible", "lame", "predictable", "fails",
    "unfunny", "tedious",
)


def _keyword_votes(texts):
    """One source per keyword: positive words vote 1, negative words 0."""
    import re

    tokens = [set(re.findall(r"[a-z]+", t.lower())) for t in texts]
    L = np.full((len(texts), len(POSITIVE) + len(NEGATIVE)), -1, dtype=np.int64)
    for j, word in enumerate(POSITIVE + NEGATIVE):
        hit = np.fromiter((word in t for t in tokens), bool, len(texts))
        L[hit, j] = 1 if j < len(POSITIVE) else 0
    return L


def _read_lines(path):
    with open(path) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return [r["sentence"] for r in rows], np.array([r["label"] for r in rows])


# ---------------------------------------------------------------------- methods

#: Named WeaSEL settings (``--candidates``); ``--weasel`` adds others.
CANDIDATES = {
    # The library's defaults ("auto": the sparse settings on TF-IDF).
    "default": {},
    # The defaults before the sparse "auto" settings (the dense ones).
    "previous": dict(
        hidden_layer_sizes=(50, 50, 25), encoder_uses_features=True, lr=3e-3,
        weight_decay=7e-7,
    ),
    # A linear downstream model (multinomial logistic regression), the
    # encoder on the votes only.
    "linear": dict(hidden_layer_sizes=(), lr=3e-3, weight_decay=7e-7),
    # The sparse defaults before the strong gold-row join: a hidden layer of
    # 16, the gold rows at the weak rows' weight and a tenth of the rate.
    "hidden16": dict(hidden_layer_sizes=(16,), validation_weight=1.0, validation_lr=1e-3),
}


_SNORKEL_SCRIPT = r"""
import sys, numpy as np
from snorkel.labeling.model import LabelModel
data = np.load(sys.argv[1])
L, k, seed = data["L"], int(data["k"]), int(data["seed"])
lm = LabelModel(cardinality=k, verbose=False)
lm.fit(L, seed=seed, progress_bar=False)
np.save(sys.argv[2], lm.predict_proba(L))
"""


def snorkel_proba(L, n_classes, seed, peer_python):
    """snorkel's LabelModel posteriors, here or in the peer venv."""
    try:
        from snorkel.labeling.model import LabelModel
    except ImportError:
        LabelModel = None
    if LabelModel is not None:
        lm = LabelModel(cardinality=n_classes, verbose=False)
        lm.fit(L, seed=seed, progress_bar=False)
        return lm.predict_proba(L)
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = os.path.join(tmp, "L.npz"), os.path.join(tmp, "p.npy")
        np.savez(src, L=L, k=n_classes, seed=seed)
        env = dict(os.environ, PYTHONPATH=ROOT)
        subprocess.run(
            [peer_python, "-c", _SNORKEL_SCRIPT, src, dst], check=True, env=env
        )
        return np.load(dst)


def run_method(method, data, seed, args):
    from sklearn.linear_model import LogisticRegression

    from skweak_e2e import (
        DawidSkene,
        LabelModelClassifier,
        MajorityVote,
        Snorkel,
        WeaSELClassifier,
    )

    if method in ("MV+LR", "DS+LR", "Snorkel+LR"):
        lm = {
            "MV+LR": MajorityVote(),
            "DS+LR": DawidSkene(random_state=seed),
            "Snorkel+LR": Snorkel(random_state=seed),
        }[method]
        model = LabelModelClassifier(lm, LogisticRegression(), random_state=seed)
        return model.fit(data.X_train, data.L_train)
    if method == "snorkel+LR":
        n_classes = data.get("n_classes") or int(
            max(data.L_train.max(), data.y_test.max()) + 1
        )
        proba = snorkel_proba(data.L_train, n_classes, seed, args.peer_python)
        covered = (data.L_train >= 0).any(axis=1)
        labels = proba.argmax(axis=1)
        return LogisticRegression().fit(data.X_train[covered], labels[covered])
    if method == "Gold+LR":
        return LogisticRegression().fit(data.X_train, data.y_train)
    params = dict(CANDIDATES.get(method, {}), **args.weasel_params.get(method, {}))
    model = WeaSELClassifier(random_state=seed, **params)
    return model.fit(data.X_train, data.L_train, X_val=data.X_val, y_val=data.y_val)


def speed_task(n_rows=5000, n_features=7000):
    """IMDB train + dev texts (5,000 rows), TF-IDF capped at 7,000 columns,
    the stand-in keyword sources: the size of the speed target."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    base = os.path.join(default_text_dir(), "imdb")
    texts, y = _read_lines(os.path.join(base, "train.json"))
    texts_dev, y_dev = _read_lines(os.path.join(base, "dev.json"))
    texts, y = (texts + texts_dev)[:n_rows], np.r_[y, y_dev][:n_rows]
    vec = TfidfVectorizer(
        sublinear_tf=True, min_df=2, ngram_range=(1, 2), max_features=n_features
    )
    return Bunch(X=vec.fit_transform(texts), L=_keyword_votes(texts), y=y)


def speed(candidates, seeds, args):
    """CPU time of one fit (with 250 validation rows) at the speed-target size."""
    from skweak_e2e import WeaSELClassifier

    d = speed_task()
    val = slice(0, 250)
    print(f"speed task: X {d.X.shape}, {d.X.nnz / d.X.shape[0]:.0f} non-zeros a row")
    for cand in candidates:
        params = dict(CANDIDATES.get(cand, {}), **args.weasel_params.get(cand, {}))
        for seed in seeds:
            tic, cpu = time.perf_counter(), time.process_time()
            model = WeaSELClassifier(random_state=seed, **params).fit(
                d.X, d.L, X_val=d.X[val], y_val=d.y[val]
            )
            print(
                f"{cand:14s} seed {seed}: {time.process_time() - cpu:.1f} s cpu, "
                f"{time.perf_counter() - tic:.1f} s wall, {model.n_epochs_} epochs"
            )


BASELINES = ("MV+LR", "DS+LR", "Snorkel+LR", "snorkel+LR", "Gold+LR")


def run(tasks, loader, seeds, methods, args, log=print):
    records = []
    cache = {}
    if args.cache and os.path.exists(args.cache):
        with open(args.cache) as f:
            cache = json.load(f)
    for name in tasks:
        data = loader(name)
        if getattr(args, "n_val", None):  # fewer gold rows: a seeded subset
            keep = np.random.RandomState(0).permutation(len(data.y_val))[: args.n_val]
            data.X_val, data.y_val = data.X_val[keep], data.y_val[keep]
        for method in methods:
            for seed in seeds:
                key = f"{name}|{method}|{seed}"
                if method in BASELINES and key in cache:
                    rec = cache[key]
                else:
                    tic = time.perf_counter()
                    cpu = time.process_time()
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        model = run_method(method, data, seed, args)
                    rec = dict(
                        task=name, method=method, seed=seed,
                        accuracy=float(np.mean(model.predict(data.X_test) == data.y_test)),
                        time=time.perf_counter() - tic,
                        cpu=time.process_time() - cpu,
                        epoch=getattr(model, "best_epoch_", None),
                    )
                    if method in BASELINES:
                        cache[key] = rec
                records.append(rec)
                log(
                    f"{name:10s} {method:14s} seed {seed} acc {rec['accuracy']:.3f} "
                    f"({rec['time']:.1f} s wall, {rec['cpu']:.1f} s cpu, "
                    f"epoch {rec['epoch']})"
                )
        if args.cache:
            with open(args.cache, "w") as f:
                json.dump(cache, f)
    return records


def table(records, methods):
    tasks = list(dict.fromkeys(r["task"] for r in records))
    head = ["method"] + tasks + ["mean", "max std", "cpu s (max task)"]
    rows = []
    for m in methods:
        row, means, stds, cpus = [m], [], [], []
        for t in tasks:
            acc = [r["accuracy"] for r in records if r["task"] == t and r["method"] == m]
            cpu = [r["cpu"] for r in records if r["task"] == t and r["method"] == m]
            means.append(np.mean(acc))
            stds.append(np.std(acc))
            cpus.append(np.mean(cpu))
            row.append(f"{np.mean(acc):.3f} ± {np.std(acc):.3f}")
        row += [f"{np.mean(means):.3f}", f"{max(stds):.3f}", f"{max(cpus):.1f}"]
        rows.append(row)
    return rst_table(head, rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=None)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--candidates", nargs="+", default=["default"])
    parser.add_argument("--baselines", nargs="*", default=list(BASELINES))
    parser.add_argument(
        "--peer-python",
        default=os.environ.get(
            "SKWEAK_E2E_PEER_PYTHON",
            os.path.join(os.path.dirname(ROOT), "venv-peers", "bin", "python"),
        ),
        help="a Python with snorkel, for snorkel+LR when snorkel is not importable "
        "here (default: $SKWEAK_E2E_PEER_PYTHON, else ../venv-peers beside the "
        "repository)",
    )
    parser.add_argument(
        "--speed", action="store_true",
        help="time the candidates on a 5,000 x 7,000 TF-IDF task instead",
    )
    parser.add_argument("--cache", default=None, help="JSON cache of baseline runs")
    parser.add_argument(
        "--n-val", type=int, default=None,
        help="keep this many of the validation rows (a subset drawn with RandomState(0))",
    )
    parser.add_argument(
        "--weasel", nargs="*", default=[], metavar="[CANDIDATE:]KEY=VALUE",
        help="override WeaSELClassifier parameters (of one candidate or all)",
    )
    args = parser.parse_args(argv)
    args.weasel_params = {}
    for item in args.weasel:
        target, _, item = item.rpartition(":") if ":" in item.split("=")[0] else ("", "", item)
        for cand in [target] if target else args.candidates:
            args.weasel_params.setdefault(cand, {}).update(parse_overrides([item]))
    import torch

    torch.set_num_threads(1)
    if args.speed:
        return speed(args.candidates, args.seeds, args)
    tasks = args.tasks or list(TASKS)
    methods = list(args.baselines) + list(args.candidates)
    tic = time.perf_counter()
    records = run(tasks, load_text_task, args.seeds, methods, args)
    print()
    print(table(records, methods))
    print(
        f"\nseeds {args.seeds}; overrides {args.weasel_params}; "
        f"{time.perf_counter() - tic:.0f} s in all"
    )
    return records


if __name__ == "__main__":
    main()
