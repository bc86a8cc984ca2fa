"""Errors of training and evaluation, shown to the user by the command line."""

from __future__ import annotations


class TrainingError(ValueError):
    """Training cannot proceed (no labels, no rows in a window, a single class)."""
