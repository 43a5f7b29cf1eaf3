"""Command-line entry point: ``python -m skweak_e2e demo`` (or ``skweak-e2e demo``).

The demo runs the library's main job on the embedded default (a bundled
scikit-learn data set with built-in weak sources, no download): it prints a
summary of the sources, fits every label model and scores it on the test
label matrix, then trains the two-stage end model (a logistic regression on
the label model's probabilistic labels) and compares it with supervised
baselines trained on gold labels.
"""

import argparse
import sys
import time
import warnings

import numpy as np

__all__ = ["main"]

DATASETS = ("breast_cancer", "wine", "digits")

# Label models of the library, in the order the report lists them.
LABEL_MODELS = ("MajorityVote", "DawidSkene", "Snorkel", "LinearizedApprox")

# Iteration caps of --quick.
_QUICK = {"DawidSkene": {"max_iter": 200}, "LinearizedApprox": {"max_iter": 300}}


# --------------------------------------------------------------------------- #
# Plain-text tables
# --------------------------------------------------------------------------- #
def _fmt(value, spec):
    if value is None:
        return "-"
    if isinstance(value, float):
        return "nan" if np.isnan(value) else format(value, spec or ".3f")
    return str(value)


def format_table(headers, rows, specs=None):
    """Align a table of strings and numbers (left for text, right for numbers).

    Parameters
    ----------
    headers : list of str
    rows : list of list
    specs : list of str, default=None
        Format spec per column for floats (default ``".3f"``).

    Returns
    -------
    text : str

    Examples
    --------
    >>> print(format_table(["name", "acc"], [["a", 0.5], ["bb", 0.25]]))
    name    acc
    ----  -----
    a     0.500
    bb    0.250
    """
    specs = specs or [".3f"] * len(headers)
    cells = [[_fmt(v, s) for v, s in zip(row, specs)] for row in rows]
    numeric = [
        all(
            row[k] is None or isinstance(row[k], (int, float, np.number))
            for row in rows
        )
        for k in range(len(headers))
    ]
    widths = [
        max([len(h)] + [len(row[k]) for row in cells]) for k, h in enumerate(headers)
    ]

    def line(values):
        parts = [
            v.rjust(w) if num else v.ljust(w)
            for v, w, num in zip(values, widths, numeric)
        ]
        return "  ".join(parts).rstrip()

    out = [line(headers), "  ".join("-" * w for w in widths)]
    out += [line(row) for row in cells]
    return "\n".join(out)


def _section(title):
    return f"\n{title}\n{'=' * len(title)}"


# --------------------------------------------------------------------------- #
# The demo
# --------------------------------------------------------------------------- #
def _seeded(cls, random_state, **params):
    """An instance of ``cls`` with the demo's seed and tie policy where it has them."""
    accepted = cls._get_param_names()
    params = {k: v for k, v in params.items() if k in accepted}
    if "random_state" in accepted:
        params["random_state"] = random_state
    if "tie_break" in accepted:
        # Scores count every row: ties and rows without any vote are drawn at
        # random instead of counted as abstentions.
        params["tie_break"] = "random"
    return cls(**params)


def _available_label_models(quick, random_state):
    """(name, instance or None) for each label model of this installation."""
    import skweak_e2e

    models = []
    for name in LABEL_MODELS:
        cls = getattr(skweak_e2e, name, None)
        if cls is None:
            models.append((name, None))
            continue
        params = {}
        if name == "LinearizedApprox":
            # The linear (influence-ready) copy of Dawid-Skene.
            params["base_model"] = _seeded(skweak_e2e.DawidSkene, random_state)
            name = "LinearizedApprox(DawidSkene)"
        if quick:
            params.update(_QUICK.get(name.split("(")[0], {}))
        models.append((name, _seeded(cls, random_state, **params)))
    return models


def _label_model_classifier():
    """The two-stage meta-estimator, or None in an installation without it."""
    import skweak_e2e

    found = getattr(skweak_e2e, "LabelModelClassifier", None)
    if found is None:
        try:
            from skweak_e2e.two_stage import LabelModelClassifier as found
        except ImportError:
            return None
    return found


def _accuracy(pred, y):
    return float(np.mean(pred == y))


def _end_model(random_state):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=2000, random_state=random_state)


def run_demo(dataset="breast_cancer", quick=False, random_state=0, out=None):
    """Run the demo and print its report.

    Parameters
    ----------
    dataset : {"breast_cancer", "wine", "digits"}, default="breast_cancer"
        The embedded data set.
    quick : bool, default=False
        Cap the iteration budgets of the iterative models (a few seconds in
        all; used by CI). The report is the same.
    random_state : int, default=0
        Seed of the data set, the label models and the end models.
    out : file-like, default=None
        Where to print; ``sys.stdout`` when None.

    Returns
    -------
    results : dict
        ``"label_models"``: name -> dict(fit_time, accuracy, covered_accuracy);
        ``"end_models"``: name -> test accuracy.
    """
    from sklearn.preprocessing import StandardScaler

    import skweak_e2e
    from skweak_e2e.datasets import load_tabular_weak_supervision
    from skweak_e2e.metrics import source_summary

    out = sys.stdout if out is None else out

    def say(text=""):
        print(text, file=out)

    start = time.perf_counter()
    data = load_tabular_weak_supervision(dataset, random_state=random_state)
    L_train, L_test, y_test = data.L_train, data.L_test, data.y_test
    n_classes = data.n_classes
    covered_test = (L_test >= 0).any(axis=1)

    say(f"skweak_e2e {skweak_e2e.__version__} demo: weak supervision on {dataset!r}")
    say(
        f"{n_classes} classes ({', '.join(data.target_names)}), "
        f"{L_train.shape[1]} built-in sources (shallow trees fitted on "
        f"{len(data.y_seed)} labelled seed rows)."
    )
    say(
        f"rows: seed {len(data.y_seed)}, train {len(data.y_train)}, "
        f"valid {len(data.y_valid)}, test {len(y_test)}; "
        f"rows with at least one vote: train {(L_train >= 0).any(axis=1).mean():.1%}, "
        f"test {covered_test.mean():.1%}"
    )

    # Sources ---------------------------------------------------------------
    summary = source_summary(
        L_train,
        data.y_train,
        n_classes=n_classes,
        source_names=data.source_names,
        as_frame=False,
    )
    say(_section("Sources (train split; accuracy against the gold labels)"))
    rows = [
        [
            name,
            ",".join(data.target_names[c] for c in pol) or "-",
            cov,
            ovl,
            con,
            acc,
        ]
        for name, pol, cov, ovl, con, acc in zip(
            summary["source"],
            summary["polarity"],
            summary["coverage"],
            summary["overlap"],
            summary["conflict"],
            summary["accuracy"],
        )
    ]
    rows.append(
        [
            "mean",
            "",
            float(np.mean(summary["coverage"])),
            float(np.mean(summary["overlap"])),
            float(np.mean(summary["conflict"])),
            float(np.nanmean(summary["accuracy"])),
        ]
    )
    say(
        format_table(
            ["source", "votes for", "coverage", "overlap", "conflict", "accuracy"],
            rows,
            [None, None, ".2f", ".2f", ".2f", ".3f"],
        )
    )

    # Label models ----------------------------------------------------------
    say(_section("Label models (fitted on L_train, scored on L_test)"))
    results = {"label_models": {}, "end_models": {}}
    fitted = {}
    rows = []
    missing = []
    for name, model in _available_label_models(quick, random_state):
        if model is None:
            missing.append(name)
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tic = time.perf_counter()
            model.fit(L_train)
            fit_time = time.perf_counter() - tic
            pred = model.predict(L_test)
        acc = _accuracy(pred, y_test)
        acc_cov = _accuracy(pred[covered_test], y_test[covered_test])
        fitted[name] = model
        results["label_models"][name] = {
            "fit_time": fit_time,
            "accuracy": acc,
            "covered_accuracy": acc_cov,
        }
        rows.append([name, fit_time, acc, acc_cov])
    say(
        format_table(
            ["label model", "fit [s]", "test accuracy", "on covered rows"],
            rows,
            [None, ".3f", ".3f", ".3f"],
        )
    )
    say("(ties and rows without any vote are broken at random, seeded)")
    if missing:
        say(f"not available in this installation: {', '.join(missing)}")

    # End models ------------------------------------------------------------
    scaler = StandardScaler().fit(data.X_train)
    X_train, X_test = scaler.transform(data.X_train), scaler.transform(data.X_test)
    say(_section("End models (logistic regression unless noted; test gold labels)"))
    rows = []
    two_stage = _label_model_classifier()
    if two_stage is None:
        say("LabelModelClassifier is not available in this installation.")
    else:
        from sklearn.base import clone

        for name, model in fitted.items():
            clf = two_stage(clone(model), _end_model(random_state))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tic = time.perf_counter()
                clf.fit(X_train, L_train)
                fit_time = time.perf_counter() - tic
                acc = _accuracy(clf.predict(X_test), y_test)
            results["end_models"][f"LabelModelClassifier({name})"] = acc
            rows.append([f"weak: labels from {name}", "L_train", fit_time, acc])

    # WeaSEL: encoder and end model learned jointly from (X, L); the valid
    # split's gold labels select the epoch (the paper's protocol).
    weasel = getattr(skweak_e2e, "WeaSELClassifier", None)
    if weasel is not None:
        X_valid = scaler.transform(data.X_valid)
        clf = weasel(max_epochs=15 if quick else 150, random_state=random_state)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tic = time.perf_counter()
            clf.fit(X_train, L_train, X_val=X_valid, y_val=data.y_valid)
            fit_time = time.perf_counter() - tic
        acc = _accuracy(clf.predict(X_test), y_test)
        results["end_models"]["WeaSELClassifier"] = acc
        rows.append(["weak: WeaSEL end-to-end (MLP)", "L_train", fit_time, acc])

    baselines = [
        (
            "supervised: seed gold labels",
            data.X_seed,
            data.y_seed,
            f"{len(data.y_seed)} gold",
        )
    ]
    baselines.append(
        (
            "supervised: train gold labels (upper bound)",
            data.X_train,
            data.y_train,
            f"{len(data.y_train)} gold",
        )
    )
    for label, X_fit, y_fit, what in baselines:
        tic = time.perf_counter()
        clf = _end_model(random_state).fit(scaler.transform(X_fit), y_fit)
        fit_time = time.perf_counter() - tic
        acc = _accuracy(clf.predict(X_test), y_test)
        results["end_models"][label] = acc
        rows.append([label, what, fit_time, acc])
    say(
        format_table(
            ["end model", "trained on", "fit [s]", "test accuracy"],
            rows,
            [None, None, ".3f", ".3f"],
        )
    )
    say(f"\ntotal time {time.perf_counter() - start:.1f} s")
    return results


def main(argv=None):
    """Entry point of ``python -m skweak_e2e`` and of the ``skweak-e2e`` script.

    Parameters
    ----------
    argv : list of str, default=None
        Command-line arguments (``sys.argv[1:]`` when None).

    Returns
    -------
    status : int
        Process exit status.
    """
    parser = argparse.ArgumentParser(
        prog="skweak-e2e",
        description="skweak_e2e: programmatic weak supervision for scikit-learn.",
    )
    sub = parser.add_subparsers(dest="command", metavar="command")
    demo = sub.add_parser(
        "demo",
        help="run the label models and the two-stage pipeline on a bundled data set",
        description=(
            "Fit every label model on a bundled scikit-learn data set with "
            "built-in weak sources (no download), then train an end model on "
            "their labels and compare it with supervised baselines."
        ),
    )
    demo.add_argument("--dataset", choices=DATASETS, default="breast_cancer")
    demo.add_argument(
        "--quick", action="store_true", help="a reduced run that takes a few seconds"
    )
    demo.add_argument("--random-state", type=int, default=0, help="seed (default 0)")
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    run_demo(args.dataset, quick=args.quick, random_state=args.random_state)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
