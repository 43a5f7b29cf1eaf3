"""Data sets: synthetic generators, the embedded default and a WRENCH loader."""

from ._crowd import make_crowd
from ._synthetic import make_weak_supervision, planted_posterior
from ._tabular import load_tabular_weak_supervision
from ._wrench import load_wrench

__all__ = [
    "load_tabular_weak_supervision",
    "load_wrench",
    "make_crowd",
    "make_weak_supervision",
    "planted_posterior",
]
