"""Inspection of weak-supervision pipelines: source-aware influence functions."""

from ._result import InfluenceResult
from ._soft_logistic import SoftLabelLogisticRegression
from ._source_aware_influence import SourceAwareInfluence

__all__ = ["InfluenceResult", "SoftLabelLogisticRegression", "SourceAwareInfluence"]
