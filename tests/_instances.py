"""Estimator instances for the common tests, and their expected failures.

Kept apart from the estimators (as scikit-learn's ``instance_generator``):
add each new estimator here with small, fast, seeded parameters.
"""

from skweak_e2e import MajorityVote

LABEL_MODEL_NEGATIVE_INPUT = (
    "votes below -1 are invalid by the label-matrix convention (-1 = abstain), "
    "and this check feeds arbitrary negative integers"
)


def label_model_instances():
    """One small, seeded instance of every label model."""
    instances = [MajorityVote(), MajorityVote(method="argmax", tie_break="lowest")]
    return instances


def estimator_instances():
    """Every estimator of the library, for parametrize_with_checks."""
    return label_model_instances()


def expected_failed_checks(estimator):
    """Map check name -> reason for the checks an estimator is known to fail."""
    failed = {}
    if hasattr(estimator, "W_") or type(estimator).__module__.startswith(
        "skweak_e2e.label_model"
    ):
        failed["check_positive_only_tag_during_fit"] = LABEL_MODEL_NEGATIVE_INPUT
    return failed
