"""Labeling functions: write sources as Python functions and apply them.

:func:`labeling_function` turns ``f(record) -> class index or -1`` into a
named, picklable :class:`LabelingFunction`; :func:`keyword_lf`,
:func:`regex_lf` and :func:`model_lf` build common ones; :class:`LFApplier`
(a scikit-learn transformer) applies them to records, in parallel if asked,
and returns the label matrix ``L``. :func:`preprocessor` builds the
functions of a record that labeling functions read through ``pre=``.
"""

from ._applier import LFApplier
from ._helpers import keyword_lf, model_lf, regex_lf
from ._labeling_function import (
    LabelingFunction,
    LabelingFunctionError,
    labeling_function,
)
from ._preprocessor import Preprocessor, preprocessor

__all__ = [
    "LFApplier",
    "LabelingFunction",
    "LabelingFunctionError",
    "Preprocessor",
    "keyword_lf",
    "labeling_function",
    "model_lf",
    "preprocessor",
    "regex_lf",
]
