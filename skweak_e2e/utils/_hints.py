"""Friendly errors for snorkel's argument names.

A snorkel user's first reflex is snorkel's API (``LabelModel(cardinality=2)``,
``fit(L, n_epochs=500, seed=1)``...). Python's "unexpected keyword argument"
does not say where the equivalent lives; these hints do.
"""

import functools
import inspect

# snorkel argument -> where it lives in skweak_e2e.
SNORKEL_ARGUMENTS = {
    "cardinality": "the number of classes is the constructor parameter n_classes "
    "(inferred from L when omitted)",
    "n_epochs": "training settings are constructor parameters: Snorkel(n_epochs=...)",
    "lr": "training settings are constructor parameters: Snorkel(lr=...)",
    "l2": "training settings are constructor parameters: Snorkel(l2=...); note that "
    "snorkel applies l2 twice and skweak_e2e once",
    "optimizer": "training settings are constructor parameters: "
    "Snorkel(optimizer='sgd' or 'adam')",
    "seed": "the seed is the constructor parameter random_state",
    "class_balance": "the class prior is the constructor parameter class_prior (an "
    "array, or 'estimate' to estimate it from the votes)",
    "Y_dev": "estimate the prior from dev labels with "
    "class_prior=skweak_e2e.label_model.estimate_class_prior(L_dev, y_dev)",
    "progress_bar": "fitting prints nothing; there is no progress bar to turn off",
    "log_freq": "fitting prints nothing; the loss of every epoch is in loss_history_",
    "tie_break_policy": "ties are resolved by the constructor parameter tie_break "
    "('abstain', 'random' or 'lowest'), e.g. set_params(tie_break='random')",
    "metrics": "score(L, y) is accuracy; for other metrics apply any "
    "sklearn.metrics function to predict(L)",
    "return_probs": "probabilities come from predict_proba(L)",
    "device": "the models run in numpy on the CPU; there is no device",
}


def snorkel_hints(method):
    """Decorate ``method`` so that snorkel's argument names get a pointer.

    Only keyword arguments that ``method`` does not accept and that snorkel
    uses are intercepted, before the call; everything else goes through.
    The signature (``inspect.signature``) is that of ``method``.
    """
    accepted = set(inspect.signature(method).parameters)
    owner = method.__qualname__.split(".")[0]
    verb = method.__name__

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        for key in kwargs:
            if key not in accepted and key in SNORKEL_ARGUMENTS:
                where = (
                    type(self).__name__ + "(...)"
                    if verb == "__init__"
                    else f"{type(self).__name__}.{verb}()"
                )
                raise TypeError(
                    f"{where} got an unexpected keyword argument {key!r} (a snorkel "
                    f"argument); in skweak_e2e {SNORKEL_ARGUMENTS[key]}."
                )
        return method(self, *args, **kwargs)

    wrapper.__qualname__ = f"{owner}.{verb}"
    return wrapper
