"""skweak_e2e: programmatic weak supervision, native to scikit-learn.

Label models (:class:`MajorityVote`, :class:`DawidSkene`, :class:`Snorkel`,
:class:`LinearizedApprox`) turn a label matrix ``L`` (``-1`` = abstain) into
probabilistic labels; :class:`LabelModelClassifier` trains any classifier on
them; :class:`WeaSELClassifier` learns the labels and the classifier end to
end; :class:`SourceAwareInfluence` explains and repairs two-stage pipelines
source by source.
"""

from ._version import __version__
from .labeling import LabelingFunction, LFApplier, labeling_function
from .label_model import DawidSkene, LinearizedApprox, MajorityVote, Snorkel
from .end_to_end import WeaSELClassifier
from .inspection import SourceAwareInfluence
from .two_stage import LabelModelClassifier, LabelModelClassifierCV, sample_training_rows

__all__ = [
    "DawidSkene",
    "LFApplier",
    "LabelModelClassifier",
    "LabelModelClassifierCV",
    "LabelingFunction",
    "LinearizedApprox",
    "MajorityVote",
    "Snorkel",
    "SourceAwareInfluence",
    "WeaSELClassifier",
    "labeling_function",
    "sample_training_rows",
    "__version__",
]
