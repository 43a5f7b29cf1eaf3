"""Plots for weak supervision (matplotlib, an optional dependency).

Every function draws on ``ax`` (a new figure when None) and returns the
matplotlib Axes. matplotlib is imported only when a function is called.
"""

from ._influence import plot_influence
from ._sources import plot_source_accuracies, plot_source_summary
from ._training import plot_accuracy_scores, plot_training_curves

__all__ = [
    "plot_accuracy_scores",
    "plot_influence",
    "plot_source_accuracies",
    "plot_source_summary",
    "plot_training_curves",
]
