"""The troubleshooting page names every error class the provider and the application define."""

from __future__ import annotations

import importlib
import inspect

import pytest

from tests.support.paths import REPO

PAGE = REPO / "docs" / "troubleshooting.md"
MODULES = ("airflow_provider_daily.errors", "daily_dialin.errors", "daily_dialin.settings_files")


@pytest.mark.parametrize("module", MODULES)
def test_every_error_class_is_on_the_page(module):
    text = PAGE.read_text(encoding="utf-8")
    loaded = importlib.import_module(module)
    classes = [
        name
        for name, value in vars(loaded).items()
        if inspect.isclass(value) and issubclass(value, Exception) and value.__module__ == module
    ]
    assert classes, module
    missing = [name for name in classes if f"`{name}`" not in text and f"{name}:" not in text and name not in text]
    assert not missing, f"docs/troubleshooting.md does not name {missing}"
