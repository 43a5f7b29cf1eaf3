"""WeaSEL's development suite: default WeaSEL against two-stage baselines.

Every method runs with its defaults on every data set of a varied suite
(real text with sparse TF-IDF, bundled tabular data with several
labeling-function generators, synthetic sets with imbalance, a class no
source votes for correctly, tiny and large n, many low-coverage sources,
degenerate sources). The defaults of ``WeaSELClassifier`` were chosen on the
whole table, never on one row. Methods, measured in the same run:

* ``WeaSEL``: ``WeaSELClassifier(random_state=s)`` fitted with the
  validation split (``X_val``, ``y_val``);
* ``WeaSEL (no val)``: the same without validation data;
* ``MV+LR`` and ``DS+LR``: ``LabelModelClassifier(MajorityVote() or
  DawidSkene(), LogisticRegression())``, scikit-learn defaults;
* ``MV+net``: WeaSEL's downstream network trained on the soft majority-vote
  labels only (``WeaSELClassifier(encoder_init="majority_vote",
  encoder_lr=1e-30, warmup_epochs=10)``: the encoder stays at its start, a
  soft majority vote), with the same validation selection from epoch 10;
* ``Gold+LR``: ``LogisticRegression`` on the gold training labels (the
  ceiling of the features).

Reported: test accuracy (mean over seeds) and the majority-class rate of the
test split. Usage::

    python -m benchmarks.weasel_suite --seeds 0 1 2 [--sets youtube wine-0]

The WRENCH sets are read in place from ``--wrench-dir`` (default
``$SKWEAK_E2E_WRENCH`` or ``../shared/data/wrench`` beside the repository);
they are skipped when absent.
"""

import argparse
import os
import time
import warnings

import numpy as np
from sklearn.utils import Bunch

from ._common import default_wrench_dir, parse_overrides, rst_table

DEFAULT_WRENCH = default_wrench_dir()

# ------------------------------------------------------------------- data sets


def _split(X, L, y, n_train, n_valid, rng):
    """Shuffle and split into train / valid / test (the rest)."""
    order = rng.permutation(len(y))
    a, b = n_train, n_train + n_valid
    tr, va, te = order[:a], order[a:b], order[b:]
    return Bunch(
        X_train=X[tr], L_train=L[tr], y_train=y[tr],
        X_valid=X[va], y_valid=y[va],
        X_test=X[te], y_test=y[te],
    )


def wrench_text(name, wrench_dir, seed):
    """A WRENCH text set with sparse TF-IDF features (fitted on train)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    from skweak_e2e.datasets import load_wrench

    d = load_wrench(os.path.join(wrench_dir, name))
    vec = TfidfVectorizer(
        sublinear_tf=True,
        min_df=2,
        ngram_range=(1, 2),
        strip_accents="unicode" if name == "yoruba" else None,
    )
    return Bunch(
        X_train=vec.fit_transform(d.train.texts),
        L_train=d.train.L,
        y_train=d.train.y,
        X_valid=vec.transform(d.valid.texts),
        y_valid=d.valid.y,
        X_test=vec.transform(d.test.texts),
        y_test=d.test.y,
    )


def tabular(name, seed, scale=True, **kwargs):
    """A bundled tabular set with the library's tree sources."""
    from sklearn.preprocessing import StandardScaler

    from skweak_e2e.datasets import load_tabular_weak_supervision

    d = load_tabular_weak_supervision(name, random_state=seed, **kwargs)
    out = Bunch(
        X_train=d.X_train, L_train=d.L_train, y_train=d.y_train,
        X_valid=d.X_valid, y_valid=d.y_valid, X_test=d.X_test, y_test=d.y_test,
    )
    if scale:
        scaler = StandardScaler().fit(d.X_train)
        for key in ("X_train", "X_valid", "X_test"):
            out[key] = scaler.transform(out[key])
    return out


def synthetic(seed, n_train, n_valid=250, n_test=2000, **kwargs):
    from skweak_e2e.datasets import make_weak_supervision

    kwargs.setdefault("class_sep", 1.5)
    X, L, y = make_weak_supervision(
        n_train + n_valid + n_test, random_state=seed, **kwargs
    )
    return _split(X, L, y, n_train, n_valid, np.random.RandomState(seed))


def unvoted_class(seed):
    """3 classes; the sources never vote class 2 on a class-2 row."""
    m = 8
    confusion = np.zeros((m, 3, 3))
    confusion[:, 0] = [0.8, 0.1, 0.1]  # some class-0 rows are voted 2 (wrongly)
    confusion[:, 1] = [0.15, 0.85, 0.0]
    confusion[:, 2] = [0.2, 0.8, 0.0]  # class 2 is voted 0 or 1, never 2
    return synthetic(
        seed, 2000, n_sources=m, n_classes=3, coverage=0.4, confusion=confusion
    )


def sms_like(seed):
    """Imbalanced spam-like set: most sources vote only the majority class."""
    n_ham, n_spam = 60, 5
    m = n_ham + n_spam
    confusion = np.zeros((m, 2, 2))
    confusion[:n_ham, :, 0] = 1.0  # "ham" sources always vote 0
    confusion[n_ham:, :, 1] = 1.0  # "spam" sources always vote 1
    coverage = np.zeros((m, 2))
    coverage[:n_ham] = [0.03, 0.02]  # almost no signal
    coverage[n_ham:] = [0.01, 0.12]
    return synthetic(
        seed, 3000, n_sources=m, class_prior=[0.87, 0.13], coverage=coverage,
        confusion=confusion, class_sep=1.2,
    )


SETS = {
    "youtube": lambda s, w: wrench_text("youtube", w, s),
    "yoruba": lambda s, w: wrench_text("yoruba", w, s),
    "breast_cancer-a": lambda s, w: tabular("breast_cancer", s),
    "breast_cancer-b": lambda s, w: tabular(
        "breast_cancer", 100 + s, scale=False, min_confidence=0.85
    ),
    "wine-a": lambda s, w: tabular("wine", s),
    "wine-b": lambda s, w: tabular("wine", 100 + s, n_sources=5),
    "digits-a": lambda s, w: tabular("digits", s),
    "digits-b": lambda s, w: tabular("digits", 100 + s, min_confidence=0.6),
    "imbalanced-90/10": lambda s, w: synthetic(
        s, 3000, n_sources=10, class_prior=[0.9, 0.1], coverage=0.3, accuracy=0.7
    ),
    "unvoted-class": lambda s, w: unvoted_class(s),
    "tiny-100": lambda s, w: synthetic(
        s, 100, n_valid=50, n_sources=6, coverage=0.5, accuracy=0.7
    ),
    "100-lowcov-LFs": lambda s, w: synthetic(
        s, 3000, n_sources=100, coverage=0.02, accuracy=0.7
    ),
    "large-50k": lambda s, w: synthetic(
        s, 50_000, n_valid=1000, n_test=5000, n_sources=10, coverage=0.3,
        accuracy=0.65, class_sep=1.0,
    ),
    "sms-like": lambda s, w: sms_like(s),
}

# --------------------------------------------------------------------- methods


def run_method(method, data, seed, weasel_params):
    from sklearn.linear_model import LogisticRegression

    from skweak_e2e import (
        DawidSkene,
        LabelModelClassifier,
        MajorityVote,
        WeaSELClassifier,
    )

    if method == "WeaSEL":
        model = WeaSELClassifier(random_state=seed, **weasel_params)
        model.fit(data.X_train, data.L_train, X_val=data.X_valid, y_val=data.y_valid)
    elif method == "WeaSEL (no val)":
        model = WeaSELClassifier(random_state=seed, **weasel_params)
        model.fit(data.X_train, data.L_train)
    elif method == "MV+net":
        # The encoder frozen at a soft majority vote (zero output layer, a
        # vanishing learning rate): the network learns those labels only.
        # Selection starts at epoch 10, as the recorded table was measured.
        params = dict(
            weasel_params,
            encoder_init="majority_vote",
            encoder_lr=1e-30,
            warmup_epochs=10,
        )
        model = WeaSELClassifier(random_state=seed, **params)
        model.fit(data.X_train, data.L_train, X_val=data.X_valid, y_val=data.y_valid)
    elif method in ("MV+LR", "DS+LR"):
        lm = MajorityVote() if method == "MV+LR" else DawidSkene(random_state=seed)
        model = LabelModelClassifier(lm, LogisticRegression())
        model.fit(data.X_train, data.L_train)
    elif method == "Gold+LR":
        model = LogisticRegression().fit(data.X_train, data.y_train)
    else:
        raise ValueError(method)
    return model


METHODS = ("WeaSEL", "WeaSEL (no val)", "MV+LR", "DS+LR", "MV+net", "Gold+LR")


def evaluate(model, data):
    pred = model.predict(data.X_test)
    return float(np.mean(pred == data.y_test))


def run(sets, seeds, methods, wrench_dir, weasel_params, log=print):
    records = []
    for name in sets:
        for seed in seeds:
            try:
                data = SETS[name](seed, wrench_dir)
            except FileNotFoundError as exc:
                log(f"skip {name}: {exc}")
                break
            major = float(np.max(np.bincount(data.y_test)) / data.y_test.size)
            for method in methods:
                tic = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    model = run_method(method, data, seed, weasel_params)
                acc = evaluate(model, data)
                rec = dict(
                    set=name, seed=seed, method=method, accuracy=acc,
                    time=time.perf_counter() - tic, majority=major,
                    epoch=getattr(model, "best_epoch_", None),
                )
                records.append(rec)
                log(
                    f"{name:18s} seed {seed} {method:16s} acc {acc:.3f} "
                    f"({rec['time']:.1f} s, epoch {rec['epoch']})"
                )
    return records


def table(records, methods):
    sets = list(dict.fromkeys(r["set"] for r in records))
    head = ["data set", "majority"] + list(methods) + ["WeaSEL - MV+LR"]
    rows = []
    means = {m: [] for m in methods}
    for name in sets:
        rs = [r for r in records if r["set"] == name]
        row = [name, f"{np.mean([r['majority'] for r in rs]):.3f}"]
        acc = {}
        for m in methods:
            v = [r["accuracy"] for r in rs if r["method"] == m]
            acc[m] = np.mean(v) if v else np.nan
            means[m].append(acc[m])
            row.append(f"{acc[m]:.3f}")
        diff = 100 * (acc.get("WeaSEL", np.nan) - acc.get("MV+LR", np.nan))
        row.append(f"{diff:+.1f} pt")
        rows.append(row)
    mean_row = ["mean", ""] + [f"{np.mean(means[m]):.3f}" for m in methods]
    mean_row.append(
        f"{100 * (np.mean(means['WeaSEL']) - np.mean(means['MV+LR'])):+.1f} pt"
        if "WeaSEL" in means and "MV+LR" in means
        else ""
    )
    rows.append(mean_row)
    return rst_table(head, rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--sets", nargs="+", default=list(SETS), choices=list(SETS))
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--wrench-dir", default=DEFAULT_WRENCH)
    parser.add_argument(
        "--weasel", nargs="*", default=[], metavar="KEY=VALUE",
        help="WeaSELClassifier parameters to override (development only)",
    )
    args = parser.parse_args(argv)
    params = parse_overrides(args.weasel)
    import torch

    torch.set_num_threads(1)
    tic = time.perf_counter()
    records = run(args.sets, args.seeds, args.methods, args.wrench_dir, params)
    print()
    print(table(records, args.methods))
    print(f"\nseeds {args.seeds}; WeaSEL overrides {params}; "
          f"{time.perf_counter() - tic:.0f} s in all")
    return records


if __name__ == "__main__":
    main()
