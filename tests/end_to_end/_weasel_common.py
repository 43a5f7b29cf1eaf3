"""Shared data and settings of the WeaSELClassifier tests."""

import warnings

from skweak_e2e.datasets import make_weak_supervision


# Small networks and a high learning rate keep every fit well under a second.
FAST = dict(
    hidden_layer_sizes=(16,),
    encoder_hidden=(16,),
    lr=1e-2,
    max_epochs=3,
    warmup_epochs=0,
    dtype="float64",
    random_state=0,
)


def _data(n=300, m=5, n_classes=2, seed=0, **kwargs):
    kwargs.setdefault("accuracy", 0.8)
    kwargs.setdefault("class_sep", 3.0)
    kwargs.setdefault("n_features", 6)
    return make_weak_supervision(n, m, n_classes, random_state=seed, **kwargs)


def _quiet_fit(clf, X, L, **fit_params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return clf.fit(X, L, **fit_params)


def _split(n=600, seed=0, **kwargs):
    X, L, y = _data(n=n, seed=seed, **kwargs)
    cut = n - 150
    return X[:cut], L[:cut], X[cut:], y[cut:]

