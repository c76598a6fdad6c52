"""Tests of the Home Assistant component (run with the Home Assistant test venv)."""
