"""The private scikit-learn names of utils/_sklearn_compat behave as the
package relies on, on the installed scikit-learn (CI runs this file on the
oldest supported release too, through .ci/oldest-deps)."""

import ast
import pathlib
from numbers import Integral

import numpy as np
import pytest
from sklearn.base import BaseEstimator

from skweak_e2e.utils import _sklearn_compat as compat

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "skweak_e2e"


class _Toy(BaseEstimator):
    _parameter_constraints = {
        "k": [compat.Interval(Integral, 1, None, closed="left")],
        "mode": [compat.StrOptions({"a", "b"})],
        "est": [compat.HasMethods(["fit"]), None],
    }

    def __init__(self, k=1, mode="a", est=None):
        self.k, self.mode, self.est = k, mode, est

    @compat._fit_context(prefer_skip_nested_validation=True)
    def fit(self, X=None):
        self.fitted_ = True
        return self


@pytest.mark.parametrize(
    "params, name",
    [({"k": 0}, "'k'"), ({"mode": "c"}, "'mode'"), ({"est": object()}, "'est'")],
)
def test_parameter_constraints_and_fit_context(params, name):
    assert _Toy().fit().fitted_
    with pytest.raises(ValueError, match=name):
        _Toy(**params).fit()


def test_indexing_and_sample_helpers():
    X = [[0, 1], [2, 3], [4, 5]]
    assert compat._num_samples(X) == 3
    assert compat._num_samples(np.zeros((4, 2))) == 4
    assert compat._safe_indexing(X, [2, 0]) == [[4, 5], [0, 1]]
    np.testing.assert_array_equal(
        compat._safe_indexing(np.asarray(X), [1]), [[2, 3]]
    )
    weight = compat._check_sample_weight(None, np.zeros((3, 1)))
    np.testing.assert_array_equal(weight, np.ones(3))
    with pytest.raises(ValueError):
        compat._check_sample_weight(np.ones(2), np.zeros((3, 1)))


def test_method_params_are_sliced_with_the_rows():
    params = {"sample_weight": np.array([1.0, 2.0, 3.0]), "flag": "x"}
    out = compat._check_method_params(np.zeros((3, 1)), params, indices=[0, 2])
    np.testing.assert_array_equal(out["sample_weight"], [1.0, 3.0])
    assert out["flag"] == "x"


def test_routing_enabled_follows_the_config():
    import sklearn

    assert compat._routing_enabled() is False
    with sklearn.config_context(enable_metadata_routing=True):
        assert compat._routing_enabled() is True


def test_output_config_follows_set_output_and_the_global_config():
    import sklearn
    from sklearn.preprocessing import StandardScaler

    assert compat._get_output_config("transform", StandardScaler()) == {
        "dense": "default"
    }
    scaler = StandardScaler().set_output(transform="pandas")
    assert compat._get_output_config("transform", scaler)["dense"] == "pandas"
    with sklearn.config_context(transform_output="pandas"):
        assert compat._get_output_config("transform", StandardScaler()) == {
            "dense": "pandas"
        }


def test_private_sklearn_names_come_only_through_the_compat_module():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "_sklearn_compat.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "sklearn"
            ):
                private_module = any(
                    part.startswith("_") for part in node.module.split(".")
                )
                names = [a.name for a in node.names if a.name.startswith("_")]
                if private_module or names:
                    offenders.append(f"{path.relative_to(PACKAGE)}: {node.module}")
    assert not offenders, offenders
