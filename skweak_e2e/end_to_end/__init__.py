"""End-to-end weak supervision: WeaSEL.

:class:`WeaSELClassifier` imports torch and skorch only when it is fitted,
so importing this package stays cheap. The torch building blocks
(:class:`MLP`, :class:`WeaSELModule`, :class:`WeaSELLoss`,
:func:`weasel_loss`) are loaded on first access.
"""

from ._scoring import best_f1_threshold
from ._weasel import WeaSELClassifier

_TORCH_EXPORTS = {
    "MLP": "._modules",
    "WeaSELModule": "._modules",
    "WeaSELLoss": "._losses",
    "weasel_loss": "._losses",
}

__all__ = [
    "MLP",
    "WeaSELClassifier",
    "WeaSELLoss",
    "WeaSELModule",
    "best_f1_threshold",
    "weasel_loss",
]


def __getattr__(name):
    if name in _TORCH_EXPORTS:
        import importlib

        module = importlib.import_module(_TORCH_EXPORTS[name], __name__)
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
