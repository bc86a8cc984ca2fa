"""The examples in the docstrings of the model, training and evaluation modules run."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = (
    "chalicelib.decisions",
    "chalicelib.explain",
    "chalicelib.model.plain",
    "chalicelib.model.scorer",
    "fraudctl.evaluation.metrics",
    "fraudctl.evaluation.protocol",
    "fraudctl.training.estimators",
    "fraudctl.training.featuresets",
    "fraudctl.training.thresholds",
)


@pytest.mark.parametrize("module_name", MODULES)
def test_doctests(module_name: str) -> None:
    result = doctest.testmod(importlib.import_module(module_name))

    assert result.attempted > 0
    assert result.failed == 0
