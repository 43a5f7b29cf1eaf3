"""Sample-weight routing of a pipeline end model (used by LabelModelClassifier).

Soft labels reach an end model as sample weights. Without metadata routing a
``Pipeline`` gives them to its final step; with routing enabled, only the
steps that request them get them, so a private clone of the pipeline is given
the requests that reproduce the behaviour without routing.
"""

from sklearn.utils.metadata_routing import get_routing_for_object
from sklearn.utils.validation import has_fit_parameter

__all__ = ["default_weight_requests"]


def _unset_weight_request(step):
    """Whether ``step`` takes sample weights but has no request for them yet."""
    if step in (None, "passthrough") or not hasattr(step, "set_fit_request"):
        return False
    if not has_fit_parameter(step, "sample_weight"):
        return False
    requests = get_routing_for_object(step).fit.requests
    return requests.get("sample_weight", None) is None


def default_weight_requests(pipeline):
    """Give a cloned pipeline the weight routing it has without routing.

    Without metadata routing, soft-label weights go to the final step only.
    With routing, a step gets them only if it requests them, and a step that
    takes them but was never asked is an error; so the final step is asked
    for them and the earlier steps are told not to take them, wherever the
    user has not decided. Only this private clone is changed.
    """
    *head, (_, final) = pipeline.steps
    if _unset_weight_request(final):
        final.set_fit_request(sample_weight=True)
    for _, step in head:
        if _unset_weight_request(step):
            step.set_fit_request(sample_weight=False)
