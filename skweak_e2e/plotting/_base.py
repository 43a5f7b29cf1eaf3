"""Shared helpers of the plotting functions (matplotlib is imported lazily)."""

import numpy as np

from ..utils._optional import import_optional

# Colour-blind-safe colours (Okabe-Ito), one per statistic or sign.
COLORS = {
    "coverage": "#0072B2",
    "overlap": "#56B4E9",
    "conflict": "#E69F00",
    "accuracy": "#009E73",
    "positive": "#D55E00",
    "negative": "#0072B2",
}
CYCLE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442"]


def import_pyplot(caller):
    """``matplotlib.pyplot``, or an ImportError that says how to get it."""
    return import_optional("matplotlib.pyplot", caller)


def get_axes(ax, caller, figsize):
    """Use ``ax`` or create a new figure of ``figsize`` with one Axes."""
    plt = import_pyplot(caller)
    if ax is None:
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    elif not hasattr(ax, "barh"):
        raise TypeError(
            f"ax must be a matplotlib Axes or None; got {type(ax).__name__}."
        )
    return ax


def source_names_or_default(names, n_sources, owner=None):
    """Validated list of source names (``"source j"`` by default)."""
    if names is None:
        fitted = getattr(owner, "feature_names_in_", None)
        if fitted is not None and len(fitted) == n_sources:
            return [str(n) for n in fitted]
        return [f"source {j}" for j in range(n_sources)]
    names = [str(n) for n in names]
    if len(names) != n_sources:
        raise ValueError(
            f"source_names has {len(names)} entries but there are {n_sources} sources."
        )
    return names


def label_fontsize(n_labels):
    """Tick-label font size that stays readable as labels get denser."""
    return 9 if n_labels <= 25 else (7 if n_labels <= 60 else 5)


def heatmap(
    ax,
    values,
    row_labels,
    col_labels,
    *,
    cmap,
    vmin,
    vmax,
    cbar_label,
    annotate=None,
    fmt="{:.2f}",
):
    """Draw ``values`` with labelled rows/columns, a colorbar and annotations.

    NaN and masked cells are drawn in light grey.
    """
    import matplotlib as mpl

    values = np.ma.masked_invalid(np.asarray(values, dtype=np.float64))
    cmap = mpl.colormaps[cmap] if isinstance(cmap, str) else cmap
    cmap = cmap.with_extremes(bad="#DDDDDD")
    image = ax.imshow(
        values, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto", interpolation="nearest"
    )
    n_rows, n_cols = values.shape
    if row_labels is not None:
        ax.set_yticks(
            np.arange(n_rows), labels=row_labels, fontsize=label_fontsize(n_rows)
        )
    if col_labels is not None:
        ax.set_xticks(
            np.arange(n_cols), labels=col_labels, fontsize=label_fontsize(n_cols)
        )
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.figure.colorbar(image, ax=ax, label=cbar_label, fraction=0.046, pad=0.03)
    if annotate is None:
        annotate = n_rows * n_cols <= 150
    if annotate:
        norm = image.norm
        for (r, c), v in np.ndenumerate(values.filled(np.nan)):
            if np.isnan(v):
                continue
            # White text on dark cells, black on light ones.
            shade = cmap(norm(v))
            dark = 0.299 * shade[0] + 0.587 * shade[1] + 0.114 * shade[2] < 0.5
            ax.text(
                c,
                r,
                fmt.format(v),
                ha="center",
                va="center",
                fontsize=7,
                color="white" if dark else "black",
            )
    return image
