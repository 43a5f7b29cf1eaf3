"""The demo of ``python -m skweak_e2e demo``: results, then a report.

The demo runs the library's main job on the embedded default (a bundled
scikit-learn data set with built-in weak sources, no download): it
summarises the sources, fits every label model and scores it on the test
label matrix, trains the two-stage end model (a logistic regression on the
label model's probabilistic labels) and compares it with supervised
baselines trained on gold labels. A last part shows, on a synthetic task
whose sources are independent rules written without labelled data, how many
gold labels weak supervision is worth.

:func:`run_demo` computes the results and :func:`format_report` turns them
into the printed report; ``__main__.py`` only parses the command line.
"""

import time
import warnings

import numpy as np

__all__ = ["format_report", "run_demo"]

DATASETS = ("breast_cancer", "wine", "digits")

# Label models of the library, in the order the report lists them.
LABEL_MODELS = ("MajorityVote", "DawidSkene", "Snorkel", "LinearizedApprox")

# Iteration caps of --quick.
_QUICK = {"DawidSkene": {"max_iter": 200}, "LinearizedApprox": {"max_iter": 300}}

# The synthetic task of the last part: independent rules, no gold label.
_PAYOFF_SOURCES = 10
_PAYOFF_COVERAGE = 0.3
_PAYOFF_ACCURACY = (0.6, 0.85)
_PAYOFF_FEATURES = 50
_PAYOFF_TEST = 2000
_PAYOFF_UNLABELLED = (500, 1000, 4000)
_PAYOFF_GOLD = (20, 50, 100, 200, 500, 1000, 4000)


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
# The demo: computation
# --------------------------------------------------------------------------- #
def _seeded(cls, random_state, **params):
    """An instance of ``cls`` with the demo's seed and tie policy where it has them."""
    accepted = cls._get_param_names()
    if "random_state" in accepted:
        params["random_state"] = random_state
    if "tie_break" in accepted:
        # Scores count every row: ties and rows without any vote are drawn at
        # random instead of counted as abstentions.
        params["tie_break"] = "random"
    return cls(**params)


def _label_models(quick, random_state):
    """(name, unfitted instance) for each label model of the library."""
    import skweak_e2e

    models = []
    for name in LABEL_MODELS:
        params = dict(_QUICK.get(name, {})) if quick else {}
        if name == "LinearizedApprox":
            # The linear (influence-ready) copy of Dawid-Skene.
            params["base_model"] = _seeded(skweak_e2e.DawidSkene, random_state)
            label = "LinearizedApprox(DawidSkene)"
        else:
            label = name
        models.append((label, _seeded(getattr(skweak_e2e, name), random_state, **params)))
    return models


def _accuracy(pred, y):
    return float(np.mean(pred == y))


def _end_model(random_state):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=2000, random_state=random_state)


def _timed_fit(model, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tic = time.perf_counter()
        model.fit(*args, **kwargs)
    return time.perf_counter() - tic


def _source_rows(L_train, data):
    from skweak_e2e.metrics import label_matrix_summary, source_summary

    summary = source_summary(
        L_train,
        data.y_train,
        n_classes=data.n_classes,
        source_names=data.source_names,
        as_frame=False,
    )
    rows = [
        {
            "source": name,
            "votes_for": [data.target_names[c] for c in pol],
            "coverage": float(cov),
            "overlap": float(ovl),
            "conflict": float(con),
            "accuracy": float(acc),
        }
        for name, pol, cov, ovl, con, acc in zip(
            summary["source"],
            summary["polarity"],
            summary["coverage"],
            summary["overlap"],
            summary["conflict"],
            summary["accuracy"],
        )
    ]
    overall = label_matrix_summary(
        L_train, data.y_train, n_classes=data.n_classes
    )
    return rows, overall


def _payoff(random_state):
    """Weak supervision without gold labels against supervised budgets."""
    from skweak_e2e import DawidSkene, LabelModelClassifier
    from skweak_e2e.datasets import make_weak_supervision

    rng = np.random.RandomState(random_state)
    accuracy = rng.uniform(*_PAYOFF_ACCURACY, size=_PAYOFF_SOURCES)
    n_train = max(max(_PAYOFF_UNLABELLED), max(_PAYOFF_GOLD))
    X, L, y = make_weak_supervision(
        n_train + _PAYOFF_TEST,
        _PAYOFF_SOURCES,
        coverage=_PAYOFF_COVERAGE,
        accuracy=accuracy,
        n_features=_PAYOFF_FEATURES,
        class_sep=1.0,
        random_state=random_state,
    )
    X_test, y_test = X[n_train:], y[n_train:]
    order = rng.permutation(n_train)  # nested subsets of the training rows
    weak = {}
    for n in _PAYOFF_UNLABELLED:
        rows = order[:n]
        clf = LabelModelClassifier(
            DawidSkene(), _end_model(random_state), random_state=random_state
        )
        _timed_fit(clf, X[rows], L[rows])
        weak[n] = _accuracy(clf.predict(X_test), y_test)
    supervised = {}
    for k in _PAYOFF_GOLD:
        rows = order[:k]
        clf = _end_model(random_state)
        _timed_fit(clf, X[rows], y[rows])
        supervised[k] = _accuracy(clf.predict(X_test), y_test)
    best_weak = weak[max(weak)]
    matched = [k for k, acc in supervised.items() if acc >= best_weak]
    return {
        "n_sources": _PAYOFF_SOURCES,
        "source_accuracy": (float(accuracy.min()), float(accuracy.max())),
        "coverage": _PAYOFF_COVERAGE,
        "n_test": _PAYOFF_TEST,
        "weak": weak,
        "supervised": supervised,
        "gold_labels_matched": min(matched) if matched else None,
    }


def run_demo(dataset="breast_cancer", *, quick=False, random_state=0):
    """Run the demo and return its results.

    Parameters
    ----------
    dataset : {"breast_cancer", "wine", "digits"}, default="breast_cancer"
        The embedded data set.
    quick : bool, default=False
        Cap the iteration budgets of the iterative models (a few seconds in
        all; used by CI). The report has the same parts.
    random_state : int, default=0
        Seed of the data sets, the label models and the end models.

    Returns
    -------
    results : dict
        ``"dataset"``, ``"data"`` (sizes and coverage), ``"sources"`` (one
        dict per source) and ``"label_matrix"`` (whole-matrix statistics),
        ``"label_models"`` (name -> ``fit_time``, ``accuracy``,
        ``covered_accuracy``), ``"end_models"`` (name -> ``trained_on``,
        ``fit_time``, ``accuracy``), ``"payoff"`` (the synthetic
        comparison: ``weak`` maps a number of unlabelled rows, and
        ``supervised`` a number of gold labels, to a test accuracy;
        ``gold_labels_matched`` is the smallest gold budget that reaches the
        best weak model, None if none does) and ``"total_time"``. Pass it
        to :func:`format_report` for the printed report.
    """
    from sklearn.base import clone
    from sklearn.preprocessing import StandardScaler

    import skweak_e2e
    from skweak_e2e.datasets import load_tabular_weak_supervision

    start = time.perf_counter()
    data = load_tabular_weak_supervision(dataset, random_state=random_state)
    L_train, L_test, y_test = data.L_train, data.L_test, data.y_test
    covered_test = (L_test >= 0).any(axis=1)
    results = {
        "version": skweak_e2e.__version__,
        "dataset": dataset,
        "data": {
            "n_classes": data.n_classes,
            "target_names": list(data.target_names),
            "n_sources": L_train.shape[1],
            "n_seed": len(data.y_seed),
            "n_train": len(data.y_train),
            "n_valid": len(data.y_valid),
            "n_test": len(y_test),
            "coverage_train": float((L_train >= 0).any(axis=1).mean()),
            "coverage_test": float(covered_test.mean()),
        },
    }
    results["sources"], results["label_matrix"] = _source_rows(L_train, data)

    label_models = {}
    for name, model in _label_models(quick, random_state):
        fit_time = _timed_fit(model, L_train)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pred = model.predict(L_test)
        label_models[name] = {
            "model": model,
            "fit_time": fit_time,
            "accuracy": _accuracy(pred, y_test),
            "covered_accuracy": _accuracy(pred[covered_test], y_test[covered_test]),
        }

    scaler = StandardScaler().fit(data.X_train)
    X_train, X_test = scaler.transform(data.X_train), scaler.transform(data.X_test)
    end_models = {}
    for name, entry in label_models.items():
        clf = skweak_e2e.LabelModelClassifier(
            clone(entry.pop("model")), _end_model(random_state),
            random_state=random_state,
        )
        fit_time = _timed_fit(clf, X_train, L_train)
        end_models[f"weak: labels from {name}"] = {
            "trained_on": "L_train",
            "fit_time": fit_time,
            "accuracy": _accuracy(clf.predict(X_test), y_test),
        }
    # WeaSEL: encoder and end model learned jointly from (X, L); the valid
    # split's gold labels select the epoch (the paper's protocol).
    clf = skweak_e2e.WeaSELClassifier(
        max_epochs=15 if quick else 150, random_state=random_state
    )
    fit_time = _timed_fit(
        clf, X_train, L_train, X_val=scaler.transform(data.X_valid), y_val=data.y_valid
    )
    end_models["weak: WeaSEL end-to-end (MLP)"] = {
        "trained_on": f"L_train + {len(data.y_valid)} valid gold",
        "fit_time": fit_time,
        "accuracy": _accuracy(clf.predict(X_test), y_test),
    }
    baselines = [
        ("supervised: seed gold labels", data.X_seed, data.y_seed),
        ("supervised: train gold labels (upper bound)", data.X_train, data.y_train),
    ]
    for name, X_fit, y_fit in baselines:
        clf = _end_model(random_state)
        fit_time = _timed_fit(clf, scaler.transform(X_fit), y_fit)
        end_models[name] = {
            "trained_on": f"{len(y_fit)} gold",
            "fit_time": fit_time,
            "accuracy": _accuracy(clf.predict(X_test), y_test),
        }
    results["label_models"] = label_models
    results["end_models"] = end_models
    results["payoff"] = _payoff(random_state)
    results["total_time"] = time.perf_counter() - start
    return results


# --------------------------------------------------------------------------- #
# The demo: report
# --------------------------------------------------------------------------- #
def _paragraph(text, width=79):
    import textwrap

    return textwrap.fill(" ".join(text.split()), width=width)


def _reading_end_models(results):
    """How to read the end-model table, from its own numbers."""
    end = results["end_models"]
    n_seed = results["data"]["n_seed"]
    seed = end["supervised: seed gold labels"]["accuracy"]
    weak = {k: v["accuracy"] for k, v in end.items() if k.startswith("weak")}
    best = max(weak, key=weak.get)
    if weak[best] > seed:
        verdict = f"beats the {n_seed} seed labels ({weak[best]:.3f} against {seed:.3f})"
    else:
        verdict = (
            f"does not beat a classifier trained on those {n_seed} rows directly "
            f"({weak[best]:.3f} against {seed:.3f})"
        )
    return _paragraph(
        f"""How to read this table: the built-in sources are shallow trees fitted
        on the {n_seed} gold seed rows, so the weak labels hold no knowledge that
        those rows lack; weak supervision can only spread it over the
        unlabelled training rows. Here the best weakly supervised model
        ({best.split(': ', 1)[1]}) {verdict}. The upper bound needs every
        training row labelled by hand. Weak supervision pays off when the
        sources bring knowledge the labelled rows do not have (rules from
        people who know the task, lexicons, other models) and labelling is
        expensive: the next table shows such a case."""
    )


def _reading_payoff(payoff):
    best_n = max(payoff["weak"])
    best = payoff["weak"][best_n]
    matched = payoff["gold_labels_matched"]
    if matched is None:
        worth = (
            f"more than {max(payoff['supervised'])} gold labels, the largest "
            "budget tried"
        )
    else:
        worth = f"about {matched} gold labels (the smallest budget that reaches it)"
    return _paragraph(
        f"""With no gold label at all, the label model's labels on {best_n}
        unlabelled rows train a classifier to {best:.3f}, which is worth {worth}.
        More unlabelled rows help, at no labelling cost. The sources are
        planted to be independent, the setting the label models assume; real
        rules are often correlated, which costs accuracy: check them with
        source_summary, and find the harmful ones with
        SourceAwareInfluence."""
    )


def _report_header(results):
    """The data set, its split and its coverage."""
    data = results["data"]
    names = data["target_names"]
    return [
        f"skweak_e2e {results['version']} demo: weak supervision on "
        f"{results['dataset']!r}",
        f"{data['n_classes']} classes ({', '.join(names)}), {data['n_sources']} "
        f"built-in sources (shallow trees fitted on {data['n_seed']} labelled seed "
        "rows).",
        f"rows: seed {data['n_seed']}, train {data['n_train']}, valid "
        f"{data['n_valid']}, test {data['n_test']}; rows with at least one vote: "
        f"train {data['coverage_train']:.1%}, test {data['coverage_test']:.1%}",
    ]


def _report_sources(results):
    """One row per source, then all sources together."""
    lines = [_section("Sources (train split; accuracy against the gold labels)")]
    rows = [
        [
            r["source"], ",".join(r["votes_for"]) or "-", r["coverage"],
            r["overlap"], r["conflict"], r["accuracy"],
        ]
        for r in results["sources"]
    ]
    overall = results["label_matrix"]
    rows.append(
        ["all sources", "", overall["coverage"], overall["overlap"],
         overall["conflict"], overall["vote_accuracy"]]
    )
    lines.append(
        format_table(
            ["source", "votes for", "coverage", "overlap", "conflict", "accuracy"],
            rows,
            [None, None, ".2f", ".2f", ".2f", ".3f"],
        )
    )
    lines.append(
        "(all sources: rows with a vote, with two votes, with votes for two "
        "classes; accuracy of all votes)"
    )
    return lines


def _report_models(results):
    """The label models and end models tables, and how to read them."""
    lines = []
    # One table per model family: (title, headers, result columns, formats).
    tables = [
        (
            "Label models (fitted on L_train, scored on L_test)",
            "label_models",
            ["label model", "fit [s]", "test accuracy", "on covered rows"],
            ["fit_time", "accuracy", "covered_accuracy"],
            [None, ".3f", ".3f", ".3f"],
            "(ties and rows without any vote are broken at random, seeded)",
        ),
        (
            "End models (logistic regression unless noted; test gold labels)",
            "end_models",
            ["end model", "trained on", "fit [s]", "test accuracy"],
            ["trained_on", "fit_time", "accuracy"],
            [None, None, ".3f", ".3f"],
            None,
        ),
    ]
    for title, key, headers, columns, specs, note in tables:
        lines.append(_section(title))
        rows = [
            [name] + [r[column] for column in columns]
            for name, r in results[key].items()
        ]
        lines.append(format_table(headers, rows, specs))
        if note:
            lines.append(note)
    lines.append("")
    lines.append(_reading_end_models(results))
    return lines


def _report_payoff(payoff):
    """Weak against gold supervision on the synthetic task."""
    low, high = payoff["source_accuracy"]
    lines = [_section("Where weak supervision pays off (synthetic task)")]
    lines.append(
        _paragraph(
            f"""{payoff['n_sources']} independent rules written without labelled
            data (accuracies {low:.2f} to {high:.2f}, each voting on
            {payoff['coverage']:.0%} of the rows), two classes; a logistic
            regression trained on DawidSkene's labels of unlabelled rows, or on
            gold labels; accuracy on {payoff['n_test']} test rows."""
        )
    )
    lines.append("")
    rows = [
        [f"weak: {n} unlabelled rows, 0 gold labels", acc]
        for n, acc in payoff["weak"].items()
    ]
    rows += [
        [f"supervised: {k} gold labels", acc]
        for k, acc in payoff["supervised"].items()
    ]
    lines.append(format_table(["training data", "test accuracy"], rows, [None, ".3f"]))
    lines.append("")
    lines.append(_reading_payoff(payoff))
    return lines


def format_report(results):
    """Format the results of :func:`run_demo` as the plain-text report.

    Parameters
    ----------
    results : dict
        As returned by :func:`run_demo`.

    Returns
    -------
    report : str
        The report that ``python -m skweak_e2e demo`` prints.
    """
    # The report reads top to bottom: the data, its sources, the models, the
    # synthetic payoff; each part is formatted on its own.
    lines = _report_header(results)
    lines += _report_sources(results)
    lines += _report_models(results)
    lines += _report_payoff(results["payoff"])
    lines.append(f"\ntotal time {results['total_time']:.1f} s")
    return "\n".join(lines)
