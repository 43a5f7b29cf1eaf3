"""Tests of skweak_e2e.two_stage."""
