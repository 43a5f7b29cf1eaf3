"""Utilities: label-matrix validation and encodings."""

from ._crowd import CrowdLabels, label_matrix_from_long
from ._label_matrix import is_covered, silent_sources, unique_rows, vote_indicator
from ._validation import check_class_prior, check_label_matrix, infer_n_classes

__all__ = [
    "CrowdLabels",
    "label_matrix_from_long",
    "check_class_prior",
    "check_label_matrix",
    "infer_n_classes",
    "is_covered",
    "silent_sources",
    "unique_rows",
    "vote_indicator",
]
