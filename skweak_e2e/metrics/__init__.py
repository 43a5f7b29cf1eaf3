"""Metrics: per-source statistics of label matrices and gold-label scorers."""

from ._scorers import gold_accuracy_scorer, make_gold_scorer
from ._analysis import label_buckets, label_matrix_summary
from ._sources import source_summary

__all__ = [
    "gold_accuracy_scorer",
    "label_buckets",
    "label_matrix_summary",
    "make_gold_scorer",
    "source_summary",
]
