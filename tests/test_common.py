"""scikit-learn's common estimator checks, plus the ones outside the generator."""

import pytest
from sklearn.utils.estimator_checks import (
    check_dataframe_column_names_consistency,
    check_get_feature_names_out_error,
    check_param_validation,
    check_set_output_transform,
    check_set_output_transform_pandas,
    check_transformer_get_feature_names_out,
    check_transformer_get_feature_names_out_pandas,
    parametrize_with_checks,
)

from ._instances import (
    estimator_instances,
    expected_failed_checks,
    label_model_instances,
)


@parametrize_with_checks(
    estimator_instances(), expected_failed_checks=expected_failed_checks
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


@pytest.mark.parametrize(
    "estimator", estimator_instances(), ids=lambda est: type(est).__name__
)
def test_param_validation(estimator):
    check_param_validation(type(estimator).__name__, estimator)


@pytest.mark.parametrize(
    "estimator", estimator_instances(), ids=lambda est: type(est).__name__
)
def test_dataframe_column_names_consistency(estimator):
    pytest.importorskip("pandas")
    check_dataframe_column_names_consistency(type(estimator).__name__, estimator)


@pytest.mark.parametrize(
    "check",
    [
        check_set_output_transform,
        check_set_output_transform_pandas,
        check_transformer_get_feature_names_out,
        check_transformer_get_feature_names_out_pandas,
        check_get_feature_names_out_error,
    ],
    ids=lambda check: check.__name__,
)
@pytest.mark.parametrize(
    "estimator", label_model_instances(), ids=lambda est: type(est).__name__
)
def test_transformer_output_checks(estimator, check):
    if "pandas" in check.__name__:
        pytest.importorskip("pandas")
    check(type(estimator).__name__, estimator)
