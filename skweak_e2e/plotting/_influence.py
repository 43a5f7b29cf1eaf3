"""Bar chart of the most influential sources, votes or samples."""

import sys
from collections.abc import Mapping

import numpy as np

from ..utils._dask import is_dask_collection
from ._base import COLORS, get_axes, label_fontsize

__all__ = ["plot_influence"]

# Keys tried, in order, when the result is a Bunch/dict and key="auto".
_SCORE_KEYS = ("per_source", "source_scores", "scores", "influence", "importances_mean")
_NAME_KEYS = ("source_names", "names", "feature_names")


def _resolve_scores(result, key, names):
    """``(scores, names, what)`` from the many shapes an influence result has."""
    pd = sys.modules.get("pandas")  # a pandas Series carries its own names
    what = "source"
    if not isinstance(result, Mapping) and hasattr(result, "per_source"):
        # An InfluenceResult (or any object exposing the aggregates).
        result = {
            k: getattr(result, k)
            for k in _SCORE_KEYS + ("per_sample",) + _NAME_KEYS
            if getattr(result, k, None) is not None
        }
    if pd is not None and isinstance(result, pd.Series):
        scores = result.to_numpy(dtype=float)
        names = list(result.index) if names is None else names
    elif isinstance(result, Mapping):
        if key == "auto":
            key = next((k for k in _SCORE_KEYS if k in result), None)
            if key is None:
                values = list(result.values())
                if values and all(np.ndim(v) == 0 for v in values):
                    # A plain {name: score} mapping.
                    return (
                        np.asarray(values, dtype=float),
                        [str(k) for k in result] if names is None else names,
                        "source",
                    )
                raise ValueError(
                    f"Cannot find the scores in this result (keys {sorted(result)}); "
                    f"pass key= (one of its keys), e.g. key='per_source'."
                )
        elif key not in result:
            raise KeyError(f"key {key!r} is not in the result (keys {sorted(result)}).")
        _refuse_lazy(result[key], key)
        scores = np.asarray(result[key], dtype=float)
        what = {"per_sample": "sample", "vote_values": "vote"}.get(key, "source")
        if (
            key == "vote_values"
            and names is None
            and {"vote_rows", "vote_cols"} <= set(result)
        ):
            source_names = next((result[k] for k in _NAME_KEYS if k in result), None)
            names = [
                f"sample {i} / "
                + (str(source_names[j]) if source_names is not None else f"source {j}")
                for i, j in zip(
                    np.asarray(result["vote_rows"]), np.asarray(result["vote_cols"])
                )
            ]
        elif names is None and what == "source":
            found = next((result[k] for k in _NAME_KEYS if k in result), None)
            names = list(found) if found is not None else None
    else:
        _refuse_lazy(result, "result")
        scores = np.asarray(result, dtype=float)
    if scores.ndim > 1:
        # (source, class, ...) tables: a source's influence is the sum of its
        # terms (the paper's aggregation is additive).
        scores = scores.reshape(scores.shape[0], -1).sum(axis=1)
    if scores.ndim != 1 or scores.size == 0:
        raise ValueError(
            f"Expected a non-empty vector of scores; got shape {scores.shape}."
        )
    if names is None:
        names = [f"{what} {j}" for j in range(scores.size)]
    names = [str(n) for n in names]
    if len(names) != scores.size:
        raise ValueError(
            f"names has {len(names)} entries but there are {scores.size} scores."
        )
    return scores, names, what


def _refuse_lazy(scores, name):
    """Refuse lazy scores (a dask influence result's per-row arrays).

    Drawing them would compute every row's score in the driver, silently.
    """
    if is_dask_collection(scores):
        raise TypeError(
            f"plot_influence would compute the lazy dask {type(scores).__name__} "
            f"{name} ({np.shape(scores)[0]} entries) whole. Plot per_source (in "
            "memory), or compute the top scores first (e.g. "
            "dask.array.topk(abs(scores), k)), or call .compute() if it fits in "
            "memory."
        )


def plot_influence(
    result,
    *,
    key="auto",
    names=None,
    top_k=10,
    positive_label="harmful",
    negative_label="helpful",
    title=None,
    ax=None,
):
    """Horizontal bars of the most influential sources (or votes, or samples).

    The ``top_k`` largest scores in absolute value are drawn, the largest at
    the top, coloured by sign. skweak_e2e's influence convention is
    "positive = harmful" (removing the term would lower the target loss);
    relabel the signs with ``positive_label`` / ``negative_label`` for other
    conventions.

    Parameters
    ----------
    result : mapping, Bunch, pandas Series or array-like
        Per-item scores: a 1-D array (``names`` names them), a Series (its
        index names them), a ``{name: score}`` dict, or a result Bunch/dict
        whose ``key`` entry holds the scores (``"auto"`` tries
        ``per_source``, ``source_scores``, ``scores``, ``influence`` and
        ``importances_mean``; names come from ``source_names``, ``names`` or
        ``feature_names`` when present). With ``key="vote_values"`` and the
        ``vote_rows``/``vote_cols`` entries, each bar is one (sample, source)
        vote. Tables of shape (n_items, ...) are summed over the trailing
        axes. Lazy dask scores (the per-row arrays of an influence result
        fitted on dask input) are refused with a TypeError rather than
        computed whole; its ``per_source`` is in memory and draws as usual.
    key : str, default="auto"
        Entry of a result mapping that holds the scores.
    names : list of str, default=None
        One name per score.
    top_k : int, default=10
        Number of bars.
    positive_label, negative_label : str, default="harmful", "helpful"
        Legend text of positive and negative scores.
    title : str, default=None
        Axes title; a default one says what is shown.
    ax : matplotlib Axes, default=None
        Axes to draw on; a new figure is created when None.

    Returns
    -------
    ax : matplotlib Axes
        The axes drawn on.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from skweak_e2e.plotting import plot_influence
    >>> result = {"per_source": [0.5, -0.2, 0.05, -0.9], "source_names": list("abcd")}
    >>> ax = plot_influence(result, top_k=3)
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['d', 'a', 'b']
    >>> plt.close(ax.figure)
    """
    if not isinstance(top_k, (int, np.integer)) or top_k < 1:
        raise ValueError(f"top_k must be a positive int; got {top_k!r}.")
    scores, names, what = _resolve_scores(result, key, names)
    finite = np.where(np.isfinite(scores), np.abs(scores), -np.inf)
    order = np.argsort(-finite, kind="stable")[: min(top_k, scores.size)]
    shown = scores[order]
    labels = [names[i] for i in order]
    k = len(order)
    ax = get_axes(ax, "plot_influence", figsize=(6.5, max(2.2, 0.8 + 0.32 * k)))
    colors = [COLORS["positive"] if s > 0 else COLORS["negative"] for s in shown]
    bars = ax.barh(np.arange(k), shown, height=0.7, color=colors)
    if k <= 30:
        ax.bar_label(bars, labels=[f"{s:.3g}" for s in shown], padding=3, fontsize=7)
    ax.set_yticks(np.arange(k), labels=labels, fontsize=label_fontsize(k))
    ax.invert_yaxis()
    ax.axvline(0.0, color="black", lw=0.8)
    # Leave room for the value labels on both sides.
    span = float(np.nanmax(np.abs(shown))) if np.isfinite(shown).any() else 1.0
    span = span or 1.0
    low = min(0.0, float(np.nanmin(shown))) - 0.18 * span
    high = max(0.0, float(np.nanmax(shown))) + 0.18 * span
    ax.set_xlim(low, high)
    from matplotlib.patches import Patch

    ax.legend(
        handles=[
            Patch(color=COLORS["positive"], label=f"> 0: {positive_label}"),
            Patch(color=COLORS["negative"], label=f"< 0: {negative_label}"),
        ],
        loc="best",
        fontsize=8,
    )
    ax.set_xlabel("influence score")
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)
    ax.set_title(
        title
        if title is not None
        else f"Most influential {what}s (top {k} of {scores.size}, by |score|)"
    )
    return ax
