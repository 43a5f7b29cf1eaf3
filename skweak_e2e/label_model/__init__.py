"""Label models: transformers that turn a label matrix into probabilistic labels."""

from ._dawid_skene import DawidSkene
from ._linearized import LinearizedApprox
from ._majority_vote import MajorityVote
from ._prior import estimate_class_prior
from ._snorkel import Snorkel
from ._tensor_form import apply_tensor_form, expected_vote_counts, tensor_scores

__all__ = [
    "DawidSkene",
    "LinearizedApprox",
    "MajorityVote",
    "Snorkel",
    "apply_tensor_form",
    "estimate_class_prior",
    "expected_vote_counts",
    "tensor_scores",
]
