"""Tests of skweak_e2e.label_model."""
