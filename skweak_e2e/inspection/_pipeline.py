"""The pipeline around the influence computation: reading the inspector's
``model``, names, target validation, and the vote-level mislabel scores."""

import numpy as np
from sklearn.base import clone
from sklearn.frozen import FrozenEstimator
from sklearn.utils import indexable
from sklearn.utils.validation import check_array, column_or_1d

from ..label_model import LinearizedApprox, MajorityVote
from ..label_model._tensor_form import tensor_scores
from ..utils._label_matrix import is_covered
from ..utils._sklearn_compat import _num_samples

__all__ = [
    "check_target",
    "check_votes_fit",
    "class_labels",
    "leave_one_out_scores",
    "linearize",
    "linearize_if_needed",
    "source_names",
    "fit_model",
    "input_abstain",
    "split_model",
    "training_rows",
]


def linearize(label_model, L):
    """Fit LinearizedApprox to an already fitted exp label model."""
    lin = LinearizedApprox(
        FrozenEstimator(label_model),
        n_classes=int(np.asarray(label_model.W_).shape[2]),
        abstain=-1,  # L is already validated (abstain mapped to -1)
    )
    return lin.fit(L)


def linearize_if_needed(label_model, L, W, wants_identity, option):
    """``(W, activation, linearized_model)`` of the terms.

    An exp label model is replaced by its :class:`LinearizedApprox` when
    ``option`` is True, or "auto" and the analysis needs an identity model
    (``wants_identity``: RW or RelatIF).
    """
    activation = label_model.activation
    if activation != "exp":
        return W, activation, None
    if option is True or (option == "auto" and wants_identity):
        lin = linearize(label_model, L)
        return np.asarray(lin.W_, dtype=np.float64), "identity", lin
    if wants_identity:
        raise ValueError(
            f"{type(label_model).__name__} has an exp activation: reweighting "
            "and RelatIF need an identity label model. Use linearize='auto' "
            "(fit LinearizedApprox), or method='wm' with relative=False."
        )
    return W, activation, None


def split_model(model):
    """``(label_model, end_model, classifier)`` of the inspector's ``model``.

    Nothing is fitted here, so that ``L`` is validated first:
    ``classifier`` is an unfitted :class:`~skweak_e2e.LabelModelClassifier`
    that :func:`fit_model` fits on ``(X, L)`` (None otherwise), and
    ``label_model`` may be unfitted.
    """
    if model is None:
        return MajorityVote(), None, None
    if isinstance(model, (tuple, list)):
        if len(model) != 2:
            raise ValueError(
                "model as a sequence must be (label_model, end_model); got "
                f"{len(model)} items."
            )
        return model[0], model[1], None
    if hasattr(model, "label_model") and hasattr(model, "estimator"):
        if not hasattr(model, "label_model_"):
            return None, None, model
        return model.label_model_, model.estimator_, None
    if hasattr(model, "activation") and (
        hasattr(model, "W_") or hasattr(model, "fit")
    ):
        return model, None, None
    raise TypeError(
        "model must be None, a label model, a (label_model, end_model) pair or "
        f"a LabelModelClassifier; got {type(model).__name__}."
    )


def input_abstain(label_model, classifier):
    """The abstain code of the user's ``L``."""
    owner = classifier if label_model is None else label_model
    return getattr(owner, "abstain", -1)


def fit_model(label_model, end_model, classifier, X, L):
    """``(label_model, end_model)``, fitted on ``(X, L)`` where needed."""
    if classifier is not None:
        classifier = clone(classifier).fit(X, L)
        classes = np.asarray(getattr(classifier, "classes_", []))
        if classes.dtype.kind not in "iu" or not np.array_equal(
            classes, np.arange(len(classes))
        ):
            raise ValueError(
                "The LabelModelClassifier must use the class indices 0..C-1 "
                f"(got classes_={classes.tolist()}); pass L encoded that way."
            )
        return classifier.label_model_, classifier.estimator_
    if not hasattr(label_model, "W_"):
        label_model = clone(label_model).fit(L)
    return label_model, end_model


def check_votes_fit(L, W):
    """Whether validated votes ``L`` fit the tensor form ``W`` of the label model."""
    n_sources, _, n_classes = W.shape
    if L.shape[1] != n_sources:
        raise ValueError(
            f"L has {L.shape[1]} sources but the label model was fitted on "
            f"{n_sources}."
        )
    if L.ndim == 3 and L.shape[2] != n_classes:
        raise ValueError(
            f"The soft votes of L have {L.shape[2]} classes but the label model "
            f"has {n_classes}."
        )
    if L.ndim == 2 and L.size and L.max() >= n_classes:
        raise ValueError(
            f"L contains the vote {int(L.max())} but the label model has "
            f"{n_classes} classes; votes must be in [-1, {n_classes - 1}]."
        )


def training_rows(L, W, activation):
    """``(rows, scores)``: the training rows and ``tensor_scores(L, W)``.

    Training rows are covered and, under an identity label model, carry
    label mass. The scores of every row are returned so that the term
    decomposition does not compute them again.
    """
    scores = tensor_scores(L, W)
    rows = is_covered(L)
    if activation == "identity":
        rows &= scores.sum(axis=1) > 0
    if not rows.any():
        raise ValueError("No training row carries label mass: every row is uncovered.")
    return rows, scores


def source_names(names, frame_names, n_sources):
    """Names of the sources: given, a DataFrame's columns, or "source j"."""
    if names is None and frame_names is not None:
        names = list(frame_names)
    if names is None:
        return np.array([f"source {j}" for j in range(n_sources)], dtype=object)
    names = np.asarray([str(n) for n in names], dtype=object)
    if names.shape != (n_sources,):
        raise ValueError(
            f"source_names has {names.size} names but L has {n_sources} sources."
        )
    return names

def class_labels(class_names, label_model, n_classes):
    """Labels of the class indices: given, the label model's, or 0..C-1."""
    classes = class_names
    if classes is None:
        classes = getattr(label_model, "classes_", None)
    if classes is None or len(classes) != n_classes:
        if class_names is not None:
            raise ValueError(
                f"class_names has {len(class_names)} entries but the label "
                f"model has {n_classes} classes."
            )
        classes = np.arange(n_classes)
    return np.asarray(classes)


def check_target(X, y, n_features, n_classes):
    """Validated target inputs and gold class indices.

    ``n_features`` None: raw inputs of a network or a pipeline.
    """
    if n_features is None:
        X = indexable(X)[0]
    else:
        X = check_array(X, accept_sparse="csr", dtype=np.float64)
        if X.shape[1] != n_features:
            raise ValueError(
                f"X has {X.shape[1]} features but the end model has "
                f"{n_features}."
            )
    y = column_or_1d(np.asarray(y), warn=True)
    n_x = _num_samples(X)
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y)) or not np.array_equal(y, np.round(y)):
            raise ValueError("y must hold integer class indices.")
    elif y.dtype.kind not in "iu":
        raise ValueError(f"y must hold integer class indices; got dtype {y.dtype}.")
    y = y.astype(np.intp)
    if len(y) != n_x:
        raise ValueError(f"X has {n_x} rows but y has {len(y)}.")
    if len(y) == 0:
        raise ValueError("The target set is empty.")
    if y.min() < 0 or y.max() >= n_classes:
        raise ValueError(
            f"y holds a class outside 0..{n_classes - 1} (gold labels of "
            "the target must be known)."
        )
    return X, y


def leave_one_out_scores(backend, decomposition, train_index, n_samples, method):
    """``1 - p_i^(-ij)[L_ij]`` for every vote (see ``mislabel_scores``)."""
    if not hasattr(backend, "leave_out_proba"):
        raise ValueError(
            "score='leave_one_out' needs the closed-form end model or a "
            "network's last layer (network='last_layer')."
        )
    out = np.full((n_samples, decomposition.n_sources), np.nan)
    for j in range(decomposition.n_sources):
        rows, vote, delta = decomposition.vote_removals(j, method)
        proba = backend.leave_out_proba(rows, delta)
        out[train_index[rows], j] = 1.0 - proba[np.arange(rows.size), vote]
    return out
