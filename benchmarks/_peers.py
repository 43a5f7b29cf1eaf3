"""Uniform adapters around skweak_e2e's label models and the peer libraries.

Every adapter turns a label matrix ``L`` (``-1`` = abstain, classes
``0..C-1``) into dense class probabilities of shape ``(n_samples, C)`` through
three timed phases:

``prepare(L)``
    Convert ``L`` into the library's native input (a long
    ``task/worker/label`` DataFrame for crowd-kit; nothing for the others).
``fit(data)``
    Learn the model.
``predict_proba(data)``
    Dense probabilities for every row of ``L``, uncovered rows included.

crowd-kit is transductive: its ``fit`` already computes the posteriors of the
tasks it was given, so its ``predict_proba`` only reads ``probas_`` into a
dense array, and tasks with no label at all (absent from the long frame) get
the uniform distribution.

The peers are imported lazily, so that the project venv (without snorkel or
crowd-kit) can still run the skweak_e2e half of the benchmark.
"""

import importlib

import numpy as np

__all__ = ["ADAPTERS", "Unavailable", "make_adapter", "ours_class", "versions"]

# skweak_e2e label model -> private module, for classes that are written but
# not yet exported by skweak_e2e.label_model.
_OURS_MODULES = {
    "MajorityVote": "_majority_vote",
    "DawidSkene": "_dawid_skene",
    "Snorkel": "_snorkel",
    "LinearizedApprox": "_linearized",
}


class Unavailable(Exception):
    """The model cannot be built here (package missing, class not written yet)."""


def _import(module, name=None):
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on the venv
        raise Unavailable(f"cannot import {module}: {exc}") from None
    if name is None:
        return mod
    if not hasattr(mod, name):
        raise Unavailable(f"{module} has no {name} (not implemented yet?)")
    return getattr(mod, name)


def ours_class(name):
    """A skweak_e2e label-model class, exported or not yet exported."""
    try:
        return _import("skweak_e2e.label_model", name)
    except Unavailable:
        return _import(f"skweak_e2e.label_model.{_OURS_MODULES[name]}", name)


def versions():
    """Versions of the libraries the benchmark touches (None when missing)."""
    out = {}
    for mod in (
        "skweak_e2e",
        "snorkel",
        "crowdkit",
        "numpy",
        "scipy",
        "pandas",
        "sklearn",
        "torch",
    ):
        try:
            out[mod] = importlib.import_module(mod).__version__
        except Exception:  # noqa: BLE001 - a missing package is just reported
            out[mod] = None
    if out.get("crowdkit") is None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            out["crowdkit"] = version("crowd-kit")
        except PackageNotFoundError:
            out["crowdkit"] = None
    return out


class _Adapter:
    family = ""
    library = ""
    transductive = False

    def __init__(self, n_classes, seed, **params):
        self.n_classes = n_classes
        self.seed = seed
        self.params = params
        self.info = {}

    def load(self):
        """Import what the model needs (kept out of the timed phases)."""
        return self

    def prepare(self, L):
        return L

    def fit(self, data):
        raise NotImplementedError

    def predict_proba(self, data):
        raise NotImplementedError


# ---------------------------------------------------------------- skweak_e2e
class _Ours(_Adapter):
    library = "skweak_e2e"
    cls_name = ""

    def load(self):
        self.cls = ours_class(self.cls_name)
        return self

    def _build(self):
        return self.cls(n_classes=self.n_classes, **self.params)

    def fit(self, L):
        self.model = self._build().fit(L)
        n_iter = getattr(self.model, "n_iter_", None)
        if n_iter is not None:
            self.info["n_iter"] = int(n_iter)
        return self

    def predict_proba(self, L):
        return np.asarray(self.model.predict_proba(L))


class OursMV(_Ours):
    family = "MV"
    cls_name = "MajorityVote"


class OursDS(_Ours):
    family = "DS"
    cls_name = "DawidSkene"


class OursSnorkel(_Ours):
    family = "Snorkel"
    cls_name = "Snorkel"

    def _build(self):
        return self.cls(n_classes=self.n_classes, random_state=self.seed, **self.params)


# ------------------------------------------------------------------- snorkel
class SnorkelMV(_Adapter):
    family = "MV"
    library = "snorkel"

    def load(self):
        self.cls = _import("snorkel.labeling.model", "MajorityLabelVoter")
        return self

    def fit(self, L):
        self.model = self.cls(cardinality=self.n_classes, verbose=False)
        return self

    def predict_proba(self, L):
        return np.asarray(self.model.predict_proba(L), dtype=np.float64)


class SnorkelLM(_Adapter):
    family = "Snorkel"
    library = "snorkel"

    def load(self):
        self.cls = _import("snorkel.labeling.model", "LabelModel")
        return self

    def fit(self, L):
        self.model = self.cls(cardinality=self.n_classes, verbose=False)
        self.model.fit(L, seed=self.seed, progress_bar=False, **self.params)
        return self

    def predict_proba(self, L):
        return np.asarray(self.model.predict_proba(L), dtype=np.float64)


# ----------------------------------------------------------------- crowd-kit
class _CrowdKit(_Adapter):
    library = "crowd-kit"
    transductive = True
    cls_name = ""

    def load(self):
        self.pd = _import("pandas")
        self.cls = _import("crowdkit.aggregation", self.cls_name)
        return self

    def prepare(self, L):
        pd = self.pd
        self.n_samples = L.shape[0]
        task, worker = np.nonzero(L != -1)
        return pd.DataFrame({"task": task, "worker": worker, "label": L[task, worker]})

    def fit(self, df):
        self.model = self.cls(**self.params).fit(df)
        history = getattr(self.model, "loss_history_", None)
        if history is not None:
            self.info["n_iter"] = len(history)
        return self

    def predict_proba(self, df):
        C = self.n_classes
        probas = self.model.probas_.reindex(columns=range(C), fill_value=0.0)
        out = np.full((self.n_samples, C), 1.0 / C)
        out[probas.index.to_numpy()] = probas.to_numpy(dtype=np.float64)
        return out


class CrowdKitMV(_CrowdKit):
    family = "MV"
    cls_name = "MajorityVote"


class CrowdKitDS(_CrowdKit):
    family = "DS"
    cls_name = "DawidSkene"


# name -> (adapter class, constructor params)
ADAPTERS = {
    "ours MV": (OursMV, {}),
    "ours MV (method='argmax')": (OursMV, {"method": "argmax"}),
    "crowd-kit MV": (CrowdKitMV, {}),
    "snorkel MajorityLabelVoter": (SnorkelMV, {}),
    "ours DS (model_abstain=True)": (OursDS, {"model_abstain": True}),
    "ours DS (model_abstain=False)": (OursDS, {"model_abstain": False}),
    "crowd-kit DS": (CrowdKitDS, {}),
    "ours Snorkel": (OursSnorkel, {}),
    "snorkel LabelModel": (SnorkelLM, {}),
}


def make_adapter(name, n_classes, seed):
    """Build the adapter registered under ``name``."""
    cls, params = ADAPTERS[name]
    return cls(n_classes, seed, **params)
