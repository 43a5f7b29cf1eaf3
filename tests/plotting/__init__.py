"""Tests of skweak_e2e.plotting."""
