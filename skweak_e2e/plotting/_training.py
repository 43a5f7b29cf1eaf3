"""Plots of end-to-end training: learning curves and per-sample source scores."""

from numbers import Real

import numpy as np

from ._base import CYCLE, get_axes, heatmap, label_fontsize, source_names_or_default

__all__ = ["plot_accuracy_scores", "plot_training_curves"]

# skorch bookkeeping entries, not curves.
_SKIPPED_KEYS = {"epoch", "dur", "batches", "train_batch_count", "valid_batch_count"}


def _get_history(model):
    """Per-epoch records (dicts) of a model, a skorch net or a history."""
    if isinstance(model, (list, tuple)):  # skorch.History is a list subclass
        history = model
    elif getattr(model, "history_", None) is not None:
        history = model.history_
    elif getattr(getattr(model, "net_", None), "history", None) is not None:
        history = model.net_.history
    elif getattr(model, "history", None) is not None:
        history = model.history
    else:
        raise TypeError(
            f"Cannot find a training history on {type(model).__name__}: expected "
            "a fitted model with history_ or net_.history, a skorch net, or a list "
            "of per-epoch dicts."
        )
    rows = list(history)
    if not rows or not all(isinstance(r, dict) for r in rows):
        raise ValueError("The training history must be a non-empty list of dicts.")
    return rows


def _is_number(v):
    return isinstance(v, Real) and not isinstance(v, (bool, np.bool_))


def _curve_keys(rows, keys):
    """The numeric history entries to draw: ``keys``, checked, or all of them."""
    numeric = []
    for r in rows:
        for k, v in r.items():
            if (
                k not in numeric
                and k not in _SKIPPED_KEYS
                and not k.endswith("_best")
                and _is_number(v)
            ):
                numeric.append(k)
    if keys is None:
        keys = numeric
    else:
        keys = list(keys)
        missing = [k for k in keys if k not in numeric]
        if missing or not keys:
            raise ValueError(
                f"keys must be a non-empty subset of the numeric history entries "
                f"{numeric}; got {keys!r}."
            )
    if not keys:
        raise ValueError("The history holds no numeric entry to plot.")
    return keys


def _epoch_numbers(rows):
    """The epoch of each record (its position when it has no number)."""
    return np.array(
        [
            r.get("epoch", i + 1) if _is_number(r.get("epoch")) else i + 1
            for i, r in enumerate(rows)
        ],
        dtype=float,
    )


def _draw_curves(loss_ax, score_ax, rows, losses, scores):
    """Loss curves, score curves and best-epoch marks; the legend handles."""
    epochs = _epoch_numbers(rows)

    def series(key):
        return np.array(
            [r[key] if _is_number(r.get(key)) else np.nan for r in rows], dtype=float
        )

    colors = iter(CYCLE)
    handles = []
    for key in losses:
        handles += loss_ax.plot(
            epochs, series(key), marker="o", ms=3, lw=1.5, color=next(colors), label=key
        )
    best_epoch = None
    for key in scores:
        values = series(key)
        color = next(colors)
        handles += score_ax.plot(
            epochs, values, marker="s", ms=3, lw=1.5, ls="--", color=color, label=key
        )
        best = np.array([bool(r.get(f"{key}_best", False)) for r in rows])
        if best.any():
            handles.append(
                score_ax.scatter(
                    epochs[best],
                    values[best],
                    marker="*",
                    s=90,
                    color=color,
                    zorder=3,
                    label=f"{key} (new best)",
                )
            )
            best_epoch = epochs[np.flatnonzero(best)[-1]]
    if best_epoch is not None:
        handles.append(
            loss_ax.axvline(
                best_epoch,
                color="grey",
                ls=":",
                lw=1,
                label=f"best epoch ({best_epoch:g})",
            )
        )
    return handles


def plot_training_curves(model, *, keys=None, ax=None):
    """Plot the per-epoch losses and validation scores of a training run.

    Losses (keys containing ``"loss"``) are drawn on the left axis and other
    scores (e.g. ``valid_score``) on a right twin axis. When the history
    flags the best epochs (skorch's ``<key>_best`` entries), they are marked
    with a star and the last best epoch with a dotted vertical line.

    Parameters
    ----------
    model : estimator, skorch net, or list of dict
        A fitted :class:`~skweak_e2e.WeaSELClassifier` (its ``history_`` or
        ``net_.history``), a skorch net (``history``), or the per-epoch
        records themselves (one dict per epoch, as :class:`skorch.History`).
    keys : list of str, default=None
        The numeric entries to draw; by default all of them except skorch's
        bookkeeping (``epoch``, ``dur``, ``*_batch_count``, ``*_best``).
    ax : matplotlib Axes, default=None
        Axes to draw on; a new figure is created when None.

    Returns
    -------
    ax : matplotlib Axes
        The loss axes; the score axes, when there are scores, is its twin
        (``ax.figure.axes``) and is also stored as ``ax.score_axes``.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from skweak_e2e.plotting import plot_training_curves
    >>> history = [
    ...     {"epoch": e, "train_loss": loss, "valid_score": s, "valid_score_best": b}
    ...     for e, loss, s, b in [(1, 0.9, 0.7, True), (2, 0.6, 0.8, True),
    ...                           (3, 0.5, 0.78, False)]
    ... ]
    >>> ax = plot_training_curves(history)
    >>> [line.get_label() for line in ax.get_lines()]
    ['train_loss', 'best epoch (2)']
    >>> [line.get_label() for line in ax.score_axes.get_lines()][0]
    'valid_score'
    >>> plt.close(ax.figure)
    """
    rows = _get_history(model)
    keys = _curve_keys(rows, keys)
    losses = [k for k in keys if "loss" in k]
    scores = [k for k in keys if "loss" not in k]
    ax = get_axes(ax, "plot_training_curves", figsize=(7.0, 4.5))
    # Losses and scores have different scales: scores get a twin axis.
    loss_ax = ax
    score_ax = ax.twinx() if losses and scores else ax
    handles = _draw_curves(loss_ax, score_ax, rows, losses, scores)
    ax.set_xlabel("epoch")
    if losses:
        loss_ax.set_ylabel("loss")
    if scores:
        score_ax.set_ylabel("score")
    ax.score_axes = score_ax if scores else None
    ax.grid(alpha=0.3)
    ax.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.14),
        ncol=min(len(handles), 4),
        fontsize=8,
        frameon=False,
    )
    name = type(model).__name__ if not isinstance(model, (list, tuple)) else "training"
    ax.set_title(f"{name}: training curves ({len(rows)} epochs)")
    return ax


def plot_accuracy_scores(
    theta,
    *,
    L=None,
    abstain=-1,
    source_names=None,
    kind="box",
    max_samples=200,
    ax=None,
):
    """Plot per-sample source accuracy scores (WeaSEL's ``theta``).

    Parameters
    ----------
    theta : array-like of shape (n_samples, n_sources) or (n_samples, n_sources, n_classes)
        Scores, e.g. from :meth:`WeaSELClassifier.accuracy_scores
        <skweak_e2e.WeaSELClassifier.accuracy_scores>`. Class-conditional
        scores get one column per (source, class).
    L : array-like of shape (n_samples, n_sources), default=None
        The votes. When given, only the scores of sources that vote on a
        sample are shown (a score multiplies no vote where the source
        abstains; class-conditional scores only where the source votes that
        class).
    abstain : int, default=-1
        Value of ``L`` that means "no vote".
    source_names : list of str, default=None
        One name per source.
    kind : {"box", "heatmap"}, default="box"
        One box plot per source (distribution over samples, mean marked with
        a triangle), or a samples x sources heat map (masked cells in grey).
    max_samples : int, default=200
        Heat map only: at most this many evenly spaced samples are drawn.
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
    >>> from skweak_e2e.plotting import plot_accuracy_scores
    >>> theta = np.array([[0.9, 0.1], [0.7, 0.3], [0.8, 0.2]])
    >>> ax = plot_accuracy_scores(theta, source_names=["lf_a", "lf_b"])
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['lf_a', 'lf_b']
    >>> plt.close(ax.figure)
    """
    theta, mask, names = _score_columns(theta, L, abstain, source_names)
    if kind == "box":
        return _draw_score_boxes(ax, theta, mask, names, voted=L is not None)
    if kind != "heatmap":
        raise ValueError(f"kind must be 'box' or 'heatmap'; got {kind!r}.")
    if not isinstance(max_samples, int) or max_samples < 1:
        raise ValueError(f"max_samples must be a positive int; got {max_samples!r}.")
    return _draw_score_heatmap(
        ax, theta, mask, names, max_samples, voted=L is not None
    )


def _score_columns(theta, L, abstain, source_names):
    """Scores as (n_samples, columns), the cells to show, and the column names.

    Class-conditional scores get one column per (source, class); with ``L``
    a cell is shown only where the source votes (that class).
    """
    theta = np.asarray(theta, dtype=float)
    if theta.ndim not in (2, 3) or theta.shape[0] == 0:
        raise ValueError(
            "theta must have shape (n_samples, n_sources) or (n_samples, n_sources, "
            f"n_classes) with at least one sample; got {theta.shape}."
        )
    n_samples, n_sources = theta.shape[:2]
    names = source_names_or_default(source_names, n_sources)
    mask = np.ones(theta.shape, dtype=bool)
    if L is not None:
        L = np.asarray(L)
        if L.shape != (n_samples, n_sources):
            raise ValueError(
                f"L has shape {L.shape} but theta has {n_samples} samples "
                f"and {n_sources} sources."
            )
        voted = L != abstain
        if theta.ndim == 3:
            mask = voted[:, :, None] & (L[:, :, None] == np.arange(theta.shape[2]))
        else:
            mask = voted
    if theta.ndim == 3:
        C = theta.shape[2]
        names = [f"{n} [{c}]" for n in names for c in range(C)]
        theta = theta.reshape(n_samples, n_sources * C)
        mask = mask.reshape(n_samples, n_sources * C)
    return theta, mask, names


def _draw_score_boxes(ax, theta, mask, names, voted):
    """kind="box": the distribution of each column's shown scores."""
    n_samples, n_cols = theta.shape
    ax = get_axes(
        ax, "plot_accuracy_scores", figsize=(6.5, max(2.5, 0.8 + 0.3 * n_cols))
    )
    data = [theta[mask[:, j], j] for j in range(n_cols)]
    style = {
        "showmeans": True,
        "widths": 0.6,
        "patch_artist": True,
        "boxprops": {"facecolor": "#56B4E9", "alpha": 0.6},
        "medianprops": {"color": "black"},
        "flierprops": {"markersize": 2},
    }
    try:
        ax.boxplot(
            data,
            orientation="horizontal",
            meanprops={
                "markerfacecolor": "#D55E00",
                "markeredgecolor": "#D55E00",
                "markersize": 5,
            },
            **style,
        )
    except TypeError:  # matplotlib < 3.10
        ax.boxplot(data, vert=False, **style)
    ax.set_yticks(
        np.arange(1, n_cols + 1), labels=names, fontsize=label_fontsize(n_cols)
    )
    ax.invert_yaxis()
    ax.set_xlabel(
        "accuracy score θ" + (" (where the source votes)" if voted else "")
    )
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)
    ax.set_title(f"Per-sample source accuracy scores ({n_samples} samples)")
    return ax


def _draw_score_heatmap(ax, theta, mask, names, max_samples, voted):
    """kind="heatmap": samples x columns, at most ``max_samples`` rows."""
    n_samples, n_cols = theta.shape
    rows = np.unique(
        np.linspace(0, n_samples - 1, min(n_samples, max_samples)).astype(int)
    )
    values = np.where(mask, theta, np.nan)[rows]
    longest = max(len(n) for n in names)
    ax = get_axes(
        ax,
        "plot_accuracy_scores",
        figsize=(max(5.0, 2.5 + 0.4 * n_cols), 5.0 + 0.06 * min(longest, 30)),
    )
    finite = values[np.isfinite(values)]
    heatmap(
        ax,
        values,
        None,
        names,
        cmap="viridis",
        vmin=float(finite.min()) if finite.size else 0.0,
        vmax=float(finite.max()) if finite.size else 1.0,
        cbar_label="accuracy score θ"
        + (" (grey: source abstains)" if voted else ""),
        annotate=False,
    )
    ticks = np.unique(np.linspace(0, rows.size - 1, min(rows.size, 6)).astype(int))
    ax.set_yticks(ticks, labels=[str(r) for r in rows[ticks]])
    ax.set_ylabel("sample index")
    if n_cols > 4 or longest > 6:
        ax.tick_params(axis="x", labelrotation=45)
        for label in ax.get_xticklabels():
            label.set_horizontalalignment("right")
            label.set_rotation_mode("anchor")
    shown = f"{rows.size} of {n_samples}" if rows.size < n_samples else f"{n_samples}"
    ax.set_title(f"Source accuracy scores θ ({shown} samples)")
    return ax
