"""Two-stage weak supervision: a label model, then any classifier.

:class:`LabelModelClassifier` trains any classifier on a label model's
probabilistic labels, and :class:`LabelModelClassifierCV` selects its settings
on a few gold validation rows; :func:`sample_training_rows` draws a stratified,
weighted sample of the covered rows to train it on when the features do not
fit in memory.
"""

from ._classifier import LabelModelClassifier
from ._search import LabelModelClassifierCV
from ._sampling import sample_training_rows

__all__ = ["LabelModelClassifier", "LabelModelClassifierCV", "sample_training_rows"]
