"""Plots of the sources: label-matrix statistics and learned accuracies."""

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ..metrics import source_summary
from ._base import COLORS, get_axes, heatmap, label_fontsize, source_names_or_default

__all__ = ["plot_source_accuracies", "plot_source_summary"]

_SUMMARY_STATS = ("coverage", "overlap", "conflict", "accuracy")


def _check_statistics(summary, statistics, y):
    """The statistics to draw: all that ``summary`` holds, or a valid subset."""
    available = [s for s in _SUMMARY_STATS if s in summary]
    if statistics is None:
        statistics = available
    else:
        statistics = list(statistics)
        unknown = [s for s in statistics if s not in available]
        if unknown or not statistics:
            raise ValueError(
                f"statistics must be a non-empty subset of {available}; got "
                f"{statistics!r}"
                + (
                    " (accuracy needs y)."
                    if "accuracy" in unknown and y is None
                    else "."
                )
            )
    return statistics


def _draw_summary_bars(ax, summary, statistics, order):
    """One group of horizontal bars per source; whether values are written."""
    n_sources, n_stats = len(order), len(statistics)
    height = 0.8 / n_stats
    positions = np.arange(n_sources)
    # Beyond 60 bars the numbers overlap and hide the bars.
    annotate = n_sources * n_stats <= 60
    for k, stat in enumerate(statistics):
        values = np.asarray(summary[stat], dtype=float)[order]
        offset = (k - (n_stats - 1) / 2) * height
        bars = ax.barh(
            positions + offset,
            values,
            height=height * 0.95,
            color=COLORS[stat],
            label=stat,
        )
        if annotate:
            ax.bar_label(
                bars,
                labels=["" if np.isnan(v) else f"{v:.2f}" for v in values],
                padding=2,
                fontsize=7,
            )
    return annotate


def plot_source_summary(
    L,
    y=None,
    *,
    n_classes=None,
    abstain=-1,
    source_names=None,
    statistics=None,
    sort_by=None,
    ax=None,
):
    """Bar chart of the coverage, overlap, conflict and accuracy of each source.

    The statistics are those of :func:`skweak_e2e.metrics.source_summary`:
    the fraction of rows where a source votes (coverage), where it votes
    together with another source (overlap), where another source votes a
    different class (conflict) and, with gold labels, the fraction of its
    votes on labelled rows that are correct (empirical accuracy).

    Parameters
    ----------
    L : array-like of shape (n_samples, n_sources)
        Label matrix, ``abstain`` for no vote. A DataFrame's columns name
        the sources.
    y : array-like of shape (n_samples,), default=None
        Gold labels (``-1`` = unknown); adds the accuracy bars.
    n_classes : int, default=None
        Number of classes; inferred from the votes when None.
    abstain : int, default=-1
        Value of ``L`` that means "no vote".
    source_names : list of str, default=None
        One name per source.
    statistics : list of str, default=None
        Subset of ``("coverage", "overlap", "conflict", "accuracy")`` to
        draw; all available ones by default.
    sort_by : str, default=None
        Order the sources by this statistic, largest first (input order
        when None).
    ax : matplotlib Axes, default=None
        Axes to draw on; a new figure is created when None.

    Returns
    -------
    ax : matplotlib Axes
        One horizontal bar per (source, statistic), sources from top to
        bottom.

    Examples
    --------
    >>> import numpy as np
    >>> import matplotlib.pyplot as plt
    >>> from skweak_e2e.plotting import plot_source_summary
    >>> L = np.array([[0, 0, -1], [1, 0, -1], [-1, 1, 1], [-1, -1, -1]])
    >>> ax = plot_source_summary(L, y=[0, 1, 1, 0])
    >>> len(ax.patches), [t.get_text() for t in ax.get_yticklabels()]
    (12, ['0', '1', '2'])
    >>> plt.close(ax.figure)
    """
    summary = source_summary(
        L,
        y,
        n_classes=n_classes,
        abstain=abstain,
        source_names=source_names,
        as_frame=False,
    )
    statistics = _check_statistics(summary, statistics, y)
    available = [s for s in _SUMMARY_STATS if s in summary]
    names = [str(n) for n in summary["source"]]
    n_sources = len(names)
    order = np.arange(n_sources)
    if sort_by is not None:
        if sort_by not in available:
            raise ValueError(f"sort_by must be one of {available}; got {sort_by!r}.")
        key = np.nan_to_num(np.asarray(summary[sort_by], dtype=float), nan=-1.0)
        order = np.argsort(-key, kind="stable")

    ax = get_axes(
        ax,
        "plot_source_summary",
        figsize=(7.0, max(2.5, 0.8 + n_sources * (0.12 * len(statistics) + 0.12))),
    )
    annotate = _draw_summary_bars(ax, summary, statistics, order)
    positions = np.arange(n_sources)
    ax.set_yticks(
        positions, labels=[names[j] for j in order], fontsize=label_fontsize(n_sources)
    )
    ax.invert_yaxis()
    ax.set_xlim(0, 1.12 if annotate else 1.0)
    ax.set_xticks(np.linspace(0, 1, 6))
    ax.set_xlabel(
        "fraction of rows (accuracy: fraction of votes on gold rows)"
        if "accuracy" in statistics
        else "fraction of rows"
    )
    n_samples = np.asarray(L).shape[0]
    ax.set_title(f"Source summary ({n_sources} sources, {n_samples} rows)")
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    return ax


def plot_source_accuracies(label_model, *, kind="auto", source_names=None, ax=None):
    """Plot what a fitted label model learned about each source.

    Parameters
    ----------
    label_model : fitted label model
        Any skweak_e2e label model (or any object with ``W_``).
    kind : {"auto", "accuracy", "confusion", "weights"}, default="auto"
        - ``"accuracy"``: one bar per source with its learned accuracy,
          P(vote correct | the source votes): the model's
          ``source_accuracy_`` (Snorkel, Dawid-Skene), or ``get_weights()``
          for other objects that have it;
        - ``"confusion"``: heat map of the confusion matrices ``confusion_``
          (rows: source and true class, columns: outcome, with "abstain"
          when the model treats abstaining as an outcome);
        - ``"weights"``: heat map of the tensor form ``W_`` (rows: sources,
          columns: "vote -> class" pairs), which every label model has; for
          models with the ``exp`` activation the weights are centred over
          the classes (a softmax ignores the rest), so a cell reads "how much
          this vote pushes this class";
        - ``"auto"``: ``"confusion"`` when the model has ``confusion_``,
          else ``"accuracy"`` when it has ``source_accuracy_`` or
          ``get_weights``, else ``"weights"``.
    source_names : list of str, default=None
        One name per source; defaults to ``feature_names_in_`` when the model
        was fitted on a DataFrame.
    ax : matplotlib Axes, default=None
        Axes to draw on; a new figure is created when None.

    Returns
    -------
    ax : matplotlib Axes
        The axes drawn on.

    Examples
    --------
    >>> import numpy as np
    >>> import matplotlib.pyplot as plt
    >>> from skweak_e2e import MajorityVote
    >>> from skweak_e2e.plotting import plot_source_accuracies
    >>> L = np.array([[0, 0, 1], [1, 1, -1], [0, -1, 0]])
    >>> ax = plot_source_accuracies(MajorityVote().fit(L))
    >>> ax.get_images()[0].get_array().shape  # 3 sources x (3 outcomes x 2 classes)
    (3, 6)
    >>> plt.close(ax.figure)
    """
    check_is_fitted(label_model)
    has_confusion = getattr(label_model, "confusion_", None) is not None
    has_accuracy = getattr(label_model, "source_accuracy_", None) is not None
    has_weights = callable(getattr(label_model, "get_weights", None))
    if kind == "auto":
        kind = (
            "confusion"
            if has_confusion
            else ("accuracy" if has_accuracy or has_weights else "weights")
        )
    if kind not in ("accuracy", "confusion", "weights"):
        raise ValueError(
            f"kind must be 'auto', 'accuracy', 'confusion' or 'weights'; got {kind!r}."
        )
    model_name = type(label_model).__name__
    classes = getattr(label_model, "classes_", None)
    draw = {
        "accuracy": _plot_accuracy_bars,
        "confusion": _plot_confusion,
        "weights": _plot_weights,
    }[kind]
    return draw(label_model, model_name, classes, source_names, ax)


def _plot_accuracy_bars(label_model, model_name, classes, source_names, ax):
    """kind="accuracy": one bar per source, with the chance level."""
    has_accuracy = getattr(label_model, "source_accuracy_", None) is not None
    has_weights = callable(getattr(label_model, "get_weights", None))
    if has_accuracy:
        acc = np.asarray(label_model.source_accuracy_, dtype=float).ravel()
    elif has_weights:
        acc = np.asarray(label_model.get_weights(), dtype=float).ravel()
    else:
        raise TypeError(
            f"{model_name} has neither source_accuracy_ nor get_weights(); "
            "use kind='weights' (or kind='confusion' for confusion_)."
        )
    names = source_names_or_default(source_names, acc.size, label_model)
    ax = get_axes(
        ax, "plot_source_accuracies", figsize=(6.0, max(2.5, 0.8 + 0.28 * acc.size))
    )
    positions = np.arange(acc.size)
    bars = ax.barh(positions, acc, height=0.7, color="#009E73")
    if acc.size <= 40:
        ax.bar_label(
            bars,
            labels=["" if np.isnan(a) else f"{a:.2f}" for a in acc],
            padding=2,
            fontsize=7,
        )
    n_classes = len(classes) if classes is not None else None
    if n_classes:
        ax.axvline(
            1.0 / n_classes,
            color="grey",
            ls="--",
            lw=1,
            label=f"chance (1/{n_classes})",
        )
        ax.legend(loc="lower right", fontsize=8)
    ax.set_yticks(positions, labels=names, fontsize=label_fontsize(acc.size))
    ax.invert_yaxis()
    ax.set_xlim(0, 1.1)
    ax.set_xlabel("learned accuracy (P(vote is correct | source votes))")
    ax.set_title(f"{model_name}: learned source accuracies")
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)
    return ax


def _plot_confusion(label_model, model_name, classes, source_names, ax):
    """kind="confusion": the confusion matrix of each source, stacked."""
    has_confusion = getattr(label_model, "confusion_", None) is not None
    if not has_confusion:
        raise TypeError(f"{model_name} has no confusion_; use kind='weights'.")
    confusion = np.asarray(label_model.confusion_, dtype=float)
    n_sources, C, n_out = confusion.shape
    names = source_names_or_default(source_names, n_sources, label_model)
    class_labels = [str(c) for c in (classes if classes is not None else range(C))]
    outcomes = (["abstain"] if n_out == C + 1 else []) + [
        f"votes {c}" for c in class_labels
    ]
    rows = [f"{names[j]} | y={c}" for j in range(n_sources) for c in class_labels]
    ax = get_axes(
        ax,
        "plot_source_accuracies",
        figsize=(2.2 + 0.9 * n_out, max(2.5, 0.8 + 0.24 * len(rows))),
    )
    heatmap(
        ax,
        confusion.reshape(n_sources * C, n_out),
        rows,
        outcomes,
        cmap="Blues",
        vmin=0.0,
        vmax=1.0,
        cbar_label="P(outcome | true class)",
    )
    for j in range(1, n_sources):
        ax.axhline(j * C - 0.5, color="white", lw=2)
    ax.set_xlabel("outcome")
    ax.set_title(f"{model_name}: confusion matrix of each source")
    return ax


def _plot_weights(label_model, model_name, classes, source_names, ax):
    """kind="weights": the tensor form W_, one row per source."""
    W = getattr(label_model, "W_", None)
    if W is None:
        raise TypeError(f"{model_name} has no tensor form W_ to plot.")
    W = np.asarray(W, dtype=float)
    n_sources, K, C = W.shape
    names = source_names_or_default(source_names, n_sources, label_model)
    class_labels = [str(c) for c in (classes if classes is not None else range(C))]
    vote_labels = ["abst."] + class_labels
    cols = [f"{vote_labels[k]}→{class_labels[c]}" for k in range(K) for c in range(C)]
    ax = get_axes(
        ax,
        "plot_source_accuracies",
        figsize=(max(4.0, 2.0 + 0.55 * len(cols)), max(2.5, 0.8 + 0.3 * n_sources)),
    )
    activation = getattr(label_model, "activation", "exp")
    cbar_label = "W[j, vote, class]"
    if activation == "exp":
        # A softmax ignores a constant added to all classes, so only the
        # class-centred weights are identifiable: how much a vote pushes
        # each class (half the log-odds for two classes).
        W = W - W.mean(axis=2, keepdims=True)
        cbar_label = "W[j, vote, class] − mean over classes"
    limit = float(np.abs(W).max()) or 1.0
    heatmap(
        ax,
        W.reshape(n_sources, K * C),
        names,
        cols,
        cmap="RdBu_r",
        vmin=-limit,
        vmax=limit,
        cbar_label=cbar_label,
    )
    for k in range(1, K):
        ax.axvline(k * C - 0.5, color="white", lw=2)
    ax.set_xlabel("vote → class (score added to the class for that vote)")
    ax.set_title(f"{model_name}: tensor form W ({activation} activation)")
    if len(cols) > 8:
        ax.tick_params(axis="x", labelrotation=60)
    return ax
