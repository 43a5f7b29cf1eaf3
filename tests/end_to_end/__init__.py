"""Tests of skweak_e2e.end_to_end."""
