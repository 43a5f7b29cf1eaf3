"""Data sets: synthetic generators, the embedded default and a WRENCH loader."""

from ._synthetic import make_weak_supervision, planted_posterior

__all__ = ["make_weak_supervision", "planted_posterior"]
