"""The three houses stay apart: the provider never imports the application, neither imports the
dev-only packages, and the wheel holds exactly the provider and the application."""

from __future__ import annotations

import ast
import zipfile
from pathlib import Path

import pytest

from tests.support.daily import REPO

INCLUDE = REPO / "include"
DEV_ONLY = ("daily_emulator", "daily_demo", "daily_devtools")


def _imports(package: str) -> dict[str, set[str]]:
    """Top-level package names each module of ``package`` imports (at any depth of the file)."""
    found: dict[str, set[str]] = {}
    for path in sorted((INCLUDE / package).rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(INCLUDE))] = names
    return found


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [("airflow_provider_daily", ("daily_dialin", *DEV_ONLY)), ("daily_dialin", DEV_ONLY)],
)
def test_installed_packages_never_import_what_they_must_not(package, forbidden):
    offenders = {module: sorted(names & set(forbidden)) for module, names in _imports(package).items()}
    assert {module: names for module, names in offenders.items() if names} == {}


def test_the_provider_never_imports_fastapi():
    """The receiver belongs to the application: a provider-only user loads no web framework."""
    offenders = {
        module for module, names in _imports("airflow_provider_daily").items() if names & {"fastapi", "starlette"}
    }
    assert offenders == set()


def test_every_package_says_what_it_may_import():
    for package in ("airflow_provider_daily", "daily_dialin", *DEV_ONLY):
        init = INCLUDE / package / "__init__.py"
        if not init.exists():
            continue
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
        assert "import" in doc.lower(), f"{package}/__init__.py does not say what it may import"


@pytest.mark.slow
def test_the_wheel_holds_the_provider_and_the_application_only(tmp_path):
    from hatchling.builders.wheel import WheelBuilder

    (wheel,) = WheelBuilder(str(REPO)).build(directory=str(tmp_path), versions=["standard"])
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert tops == {"airflow_provider_daily", "daily_dialin"}
    assert "daily_dialin/sql/meetings.sqlite.sql" in names
    assert "daily_dialin/airflow_settings/connections.json" in names
    assert "airflow_provider_daily/plugins/macros.py" in names
    assert "daily_dialin/calls/plugin.py" in names
    meta = next(n for n in names if n.endswith(".dist-info/METADATA"))
    metadata = zipfile.ZipFile(wheel).read(meta).decode()
    requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:") and "extra ==" not in line]
    assert not any(word in line for line in requires for word in ("fastapi", "uvicorn")), requires
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    registered = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "daily_emulator" not in registered
    assert "daily_dialin_calls = daily_dialin.calls.plugin:DailyCallsPlugin" in registered
    assert Path(wheel).name.startswith("airflow_provider_daily-")
