"""What LabelModelClassifier makes of the models and data it is given.

Module-level functions, so that LabelModelClassifierCV (``_search.py``)
prepares its candidates exactly as LabelModelClassifier does, through plain
names rather than the classifier's private methods.
"""

import numpy as np
from sklearn.base import clone
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import Pipeline
from sklearn.utils.metadata_routing import get_routing_for_object
from sklearn.utils.validation import check_random_state, has_fit_parameter

from ..label_model import MajorityVote
from ..utils._routing import default_weight_requests
from ..utils._sklearn_compat import _routing_enabled
from ..utils._targets import encode_vote_target

__all__ = [
    "derived_seed",
    "encode_for_label_model",
    "make_label_model",
    "sample_weight_key",
    "scale_out_advice",
    "seed_random_states",
    "with_positive_weight",
]


def with_positive_weight(index, labels, sample_weight):
    """Training rows, their labels and weights, without zero-weight rows."""
    if sample_weight is None:
        return index, labels, None
    weight = sample_weight[index]
    positive = weight > 0
    return index[positive], labels[positive], weight[positive]


def scale_out_advice(method):
    """What to do instead of passing dask collections to ``method``.

    The ``how`` of ``utils._dask.refuse_dask`` for the two-stage classifiers.
    """
    if method in ("predict", "predict_proba", "decision_function"):
        how = f"map {method} over the blocks, e.g. X.map_blocks(clf.{method}, ...)"
    else:
        how = (
            "train on a weighted sample of the rows (sample_training_rows) or "
            "block by block with partial_fit"
        )
    return f"{how} (see the user guide, 'Scaling out')"


def seed_random_states(estimator, seed):
    """Give every ``random_state`` left at None in ``estimator`` the seed ``seed``.

    A meta-estimator's seed reaches what it wraps; seeds the user set on the
    wrapped estimators themselves are kept.
    """
    if seed is None or estimator is None or not hasattr(estimator, "get_params"):
        return
    unset = {
        key: seed
        for key, value in estimator.get_params(deep=True).items()
        if (key == "random_state" or key.endswith("__random_state")) and value is None
    }
    if unset:
        estimator.set_params(**unset)


def derived_seed(random_state):
    """An int seed drawn from ``random_state``, or None when it is None."""
    if random_state is None:
        return None
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


def make_label_model(label_model):
    """A clone of ``label_model`` (MajorityVote when None) that reads vote codes.

    The label model (and any label model nested in it, such as the base
    model of LinearizedApprox) reads the encoded votes: -1 = abstain. A
    FrozenEstimator is fitted already and used as is.
    """
    if label_model is None:
        return MajorityVote()
    label_model = clone(label_model)
    if isinstance(label_model, FrozenEstimator):
        return label_model
    updates = {
        key: -1
        for key, value in label_model.get_params(deep=True).items()
        if (key == "abstain" or key.endswith("__abstain")) and value != -1
    }
    if updates:
        label_model.set_params(**updates)
    return label_model


def encode_for_label_model(Y, label_model, abstain):
    """Codes of the checked votes ``Y`` for ``label_model``, and the classes.

    The label model's declared ``n_classes`` is the class count (see
    ``utils._targets.encode_vote_target``); classes None means the votes
    are class indices and the label model's count decides.
    """
    declared = None
    if not isinstance(label_model, FrozenEstimator):
        declared = label_model.get_params(deep=False).get("n_classes")
    return encode_vote_target(
        Y,
        abstain=abstain,
        n_classes=declared,
        declare=(
            "n_classes= on the label model (e.g. "
            "LabelModelClassifier(MajorityVote(n_classes=...)))"
        ),
    )


def sample_weight_key(estimator):
    """Name of the fit parameter that takes sample weights, or None."""
    if has_fit_parameter(estimator, "sample_weight"):
        return "sample_weight"
    if not isinstance(estimator, Pipeline):
        return None
    if _routing_enabled():
        # The pipeline routes sample_weight to the steps that request it.
        default_weight_requests(estimator)
        consumed = get_routing_for_object(estimator).consumes(
            "fit", ["sample_weight"]
        )
        return "sample_weight" if consumed else None
    name, final = estimator.steps[-1]
    if final not in (None, "passthrough") and has_fit_parameter(
        final, "sample_weight"
    ):
        return f"{name}__sample_weight"
    return None
