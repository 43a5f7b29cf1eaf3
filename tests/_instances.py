"""Estimator instances for the common tests, and their expected failures.

Kept apart from the estimators (as scikit-learn's ``instance_generator``):
add each new estimator here with small, fast, seeded parameters.
"""

from skweak_e2e import (
    DawidSkene,
    LabelModelClassifier,
    LabelModelClassifierCV,
    LinearizedApprox,
    MajorityVote,
    Snorkel,
    WeaSELClassifier,
)
from skweak_e2e.inspection import SoftLabelLogisticRegression

LABEL_MODEL_NEGATIVE_INPUT = (
    "votes below -1 are invalid by the label-matrix convention (-1 = abstain), "
    "and this check feeds arbitrary negative integers"
)


LABEL_MODEL_SPARSE_FLOATS = (
    "label models take sparse label matrices (stored value = class + 1); the "
    "check feeds random floats and refuses the clear 'non-integer stored "
    "values' error (tests/utils/test_crowd.py covers sparse input)"
)
LABEL_MODEL_FLOAT_INPUT = (
    "this check fits on continuous float features, which are no votes; "
    "tests/two_stage/test_sample_weight.py checks the same equivalences (weight 2 = a "
    "repeated row, weight 0 = a removed row) on label matrices"
)


SEARCH_FOLDS = (
    "without validation data the candidates are compared by k-fold "
    "cross-validation, whose folds split a repeated row but not a weighted one "
    "(as for GridSearchCV); with validation data the equivalence holds"
)


SNORKEL_TWO_SOURCES = (
    "Snorkel needs at least 3 sources (its objective has no off-diagonal "
    "overlap to fit with fewer), and this check fits on 2-feature data"
)
SNORKEL_TWO_SOURCE_CHECKS = (
    "check_estimators_overwrite_params",
    "check_estimators_fit_returns_self",
    "check_readonly_memmap_input",
    "check_fit_idempotent",
    "check_fit_check_is_fitted",
    "check_n_features_in",
    "check_sample_weights_pandas_series",
    "check_sample_weights_not_an_array",
    "check_sample_weights_shape",
    "check_sample_weights_not_overwritten",
)


def label_model_instances():
    """One small, seeded instance of every label model."""
    instances = [MajorityVote(), MajorityVote(method="argmax", tie_break="lowest")]
    instances += [DawidSkene(max_iter=50), DawidSkene(model_abstain=False, max_iter=50)]
    instances += [Snorkel(n_epochs=50, random_state=0)]
    instances += [LinearizedApprox(MajorityVote())]
    instances += [
        LinearizedApprox(DawidSkene(max_iter=50), init="shift", max_iter=200)
    ]
    return instances


WEASEL_ABSTAIN = (
    "y == -1 means abstain (sklearn exempts its semi-supervised estimators by "
    "name in _choose_check_classifiers_labels); the abstain=None instance passes"
)


def end_to_end_instances():
    """Small WeaSEL instances: float64 (float32 GEMMs depend on the batch
    composition, which check_methods_subset_invariance detects), a high lr
    and few epochs so that check_classifiers_train learns the blobs."""
    params = dict(
        hidden_layer_sizes=(16,),
        encoder_hidden=(8,),
        lr=1e-2,
        max_epochs=8,
        dtype="float64",
        n_threads=1,
        random_state=0,
    )
    return [WeaSELClassifier(**params), WeaSELClassifier(abstain=None, **params)]


def inspection_instances():
    """The public end model of the influence functions."""
    return [SoftLabelLogisticRegression(), SoftLabelLogisticRegression(l2=0.1)]


def estimator_instances():
    """Every estimator of the library, for parametrize_with_checks."""
    return (
        label_model_instances()
        + end_to_end_instances()
        + two_stage_instances()
        + inspection_instances()
    )


def two_stage_instances():
    """LabelModelClassifier(CV) with the -1 abstain sentinel and without one."""
    # Two candidates and two folds: the checks fit many times.
    search = dict(param_grid={"estimator__C": [0.1, 1.0]}, cv=2, random_state=0)
    return [
        LabelModelClassifier(),
        LabelModelClassifier(abstain=None),
        LabelModelClassifierCV(**search),
        LabelModelClassifierCV(abstain=None, **search),
    ]


def expected_failed_checks(estimator):
    """Map check name -> reason for the checks an estimator is known to fail."""
    failed = {}
    if hasattr(estimator, "W_") or type(estimator).__module__.startswith(
        "skweak_e2e.label_model"
    ):
        failed["check_positive_only_tag_during_fit"] = LABEL_MODEL_NEGATIVE_INPUT
        failed["check_sample_weight_equivalence_on_dense_data"] = LABEL_MODEL_FLOAT_INPUT
        for check in ("check_estimator_sparse_array", "check_estimator_sparse_matrix",
                      "check_sample_weight_equivalence_on_sparse_data"):
            failed[check] = LABEL_MODEL_SPARSE_FLOATS
    if type(estimator).__name__ == "WeaSELClassifier" and estimator.abstain == -1:
        failed["check_classifiers_classes"] = WEASEL_ABSTAIN
    if type(estimator).__name__ == "LabelModelClassifierCV":
        for check in (
            "check_sample_weight_equivalence_on_dense_data",
            "check_sample_weight_equivalence_on_sparse_data",
        ):
            failed[check] = SEARCH_FOLDS
    if isinstance(estimator, LabelModelClassifier) and estimator.abstain == -1:
        failed["check_classifiers_classes"] = WEASEL_ABSTAIN  # same reason
    if type(estimator).__name__ == "Snorkel":
        failed.update(dict.fromkeys(SNORKEL_TWO_SOURCE_CHECKS, SNORKEL_TWO_SOURCES))
    return failed
