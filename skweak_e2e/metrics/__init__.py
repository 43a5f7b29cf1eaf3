"""Metrics: per-source statistics of label matrices and gold-label scorers."""

from ._scorers import gold_accuracy_scorer, make_gold_scorer
from ._sources import source_summary

__all__ = ["gold_accuracy_scorer", "make_gold_scorer", "source_summary"]
