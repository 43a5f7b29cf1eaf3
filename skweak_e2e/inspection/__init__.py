"""Inspection of weak-supervision pipelines: source-aware influence functions."""

from ._logistic import SoftLabelLogisticRegression
from ._source_aware_influence import InfluenceResult, SourceAwareInfluence

__all__ = ["InfluenceResult", "SoftLabelLogisticRegression", "SourceAwareInfluence"]
