"""Every private scikit-learn name the package uses, imported in one place.

scikit-learn does not promise the names below across releases (they start
with an underscore, or live in a private module). Importing them here, and
nowhere else, means that a release that moves one breaks one module, whose
tests (``tests/test_sklearn_compat.py``) say which name moved; a fallback
for the new location then goes here. All of them exist, with the behaviour
tested, from scikit-learn 1.6 (the oldest supported) to the current release.
"""

from sklearn.base import _fit_context
from sklearn.utils import _safe_indexing
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils._set_output import _get_output_config, _wrap_data_with_container
from sklearn.utils.metadata_routing import _routing_enabled
from sklearn.utils.validation import (
    _check_method_params,
    _check_sample_weight,
    _num_samples,
)

__all__ = [
    "HasMethods",
    "Interval",
    "StrOptions",
    "_check_method_params",
    "_check_sample_weight",
    "_fit_context",
    "_get_output_config",
    "_num_samples",
    "_routing_enabled",
    "_safe_indexing",
    "_wrap_data_with_container",
]
