"""Label models: transformers that turn a label matrix into probabilistic labels."""

from ._majority_vote import MajorityVote
from ._tensor_form import apply_tensor_form, expected_vote_counts, tensor_scores

__all__ = [
    "MajorityVote",
    "apply_tensor_form",
    "expected_vote_counts",
    "tensor_scores",
]
