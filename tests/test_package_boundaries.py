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


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(INCLUDE).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_only(tree: ast.AST) -> set[int]:
    """The nodes under ``if TYPE_CHECKING:``: imports that never run, so they make no circle."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(child) for statement in node.body for child in ast.walk(statement))
    return skipped


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool, modules: set[str]) -> set[str]:
    """The modules of ``modules`` an import statement loads by name (its submodule when it names one)."""

    def known(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:
            package = module.split(".") if is_package else module.split(".")[:-1]
            base = ".".join([*package[: len(package) - node.level + 1], *([node.module] if node.module else [])])
        names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
    return {target for target in map(known, names) if target and target != module}


def import_graph(packages: tuple[str, ...] = ("airflow_provider_daily", "daily_dialin")) -> dict[str, set[str]]:
    """Module -> the modules of ``packages`` it imports: module-level AND function-level imports
    (a lazy import is still a floor crossed at run time), ``if TYPE_CHECKING:`` imports left out."""
    paths = {_module_name(path): path for package in packages for path in (INCLUDE / package).rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for module, path in paths.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skipped = _type_checking_only(tree)
        graph[module] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom) and id(node) not in skipped:
                graph[module] |= _targets(node, module, path.name == "__init__.py", set(paths))
    return graph


def import_circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative): each is a circle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = stack[stack.index(node) :]
                del stack[stack.index(node) :]
                if len(component) > 1:
                    circles.append(sorted(component))
    return circles


def test_import_circles_are_found():
    """The finder itself: a circle through a function-level import is one, a TYPE_CHECKING one is not."""
    assert import_circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert import_circles({"a": {"b"}, "b": set()}) == []


def test_no_import_circles_in_the_provider_and_the_application():
    """No module of ``include/airflow_provider_daily`` or ``include/daily_dialin`` reaches itself
    through imports - module-level and function-level imports both count (a lazy import hides a
    circle, it does not remove it), ``if TYPE_CHECKING:`` imports do not (they never run). The
    floors are listed in docs/architecture.md ("What may import what")."""
    graph = import_graph()
    assert "daily_dialin.rows" in graph and "airflow_provider_daily.hooks.daily" in graph
    assert import_circles(graph) == []


def test_the_freshness_watcher_imports_nothing_from_the_dag_wiring():
    """The watcher (triggerer) sits below the DAG factories: the settings ranking it needs lives
    in ``daily_dialin.settings_layers``, not in ``daily_dialin.dags``."""
    imported = import_graph()["daily_dialin.freshness.trigger"]
    assert {target for target in imported if target.startswith("daily_dialin.dags")} == set()


def test_the_row_model_is_a_ground_floor():
    """``daily_dialin.rows`` imports only the settings (and the standard library): every other
    module may import it."""
    assert import_graph()["daily_dialin.rows"] <= {"daily_dialin.provisioning.config"}


# -- installable parts: the provider without the application's dependencies ------------------------
# What only the application imports (pyproject's [app] extra); blocked below as if not installed.
APP_ONLY_MODULES = ("icalendar", "tabulate", "jwt", "daily_dialin", *DEV_ONLY)
APP_ONLY_DISTRIBUTIONS = {
    "icalendar",
    "tabulate",
    "pyjwt",
    "apache-airflow-providers-common-sql",
    "apache-airflow-providers-standard",
}
# import name -> the distribution a core dependency names
PROVIDER_IMPORTS = {
    "airflow": "apache-airflow",
    "pydantic": "pydantic",
    "pendulum": "pendulum",
    "tenacity": "tenacity",
    "requests": "requests",
}

_WITHOUT_THE_APPLICATION = r"""
import importlib.abc, json, sys

BLOCKED = {blocked!r}


class NotInstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}} (blocked: not installed)", name=name)
        return None


sys.meta_path.insert(0, NotInstalled())

from airflow_provider_daily.bulk import BulkRoomCreator
from airflow_provider_daily.hooks.daily import DailyHook
from airflow_provider_daily.links import DailyRoomLink
from airflow_provider_daily.models import RoomCreate
from airflow_provider_daily.operators.daily import (
    DailyAssignPinDialinNumberOperator,
    DailyCreateDialinRoomOperator,
    DailyDeleteRoomOperator,
)
from airflow_provider_daily.plugins.macros import DailyDialinMacrosPlugin
import time

created = DailyCreateDialinRoomOperator(
    task_id="create", room_name="solo-room", exp=int(time.time()) + 7200, display_name="Solo"
).execute(context={{}})
deleted = DailyDeleteRoomOperator(task_id="delete", room_name="solo-room").execute(context={{}})
loaded = sorted(name for name in sys.modules if name.split(".")[0] in BLOCKED)
print(json.dumps({{"created": created["outcome"], "deleted": deleted, "loaded": loaded}}))
"""


def test_the_provider_works_without_the_applications_dependencies(daily_conn):
    """Issue 22 item 6: a user of the hook and operators alone needs none of the application's
    dependencies. In a fresh interpreter where they (and the application itself) cannot be
    imported, the provider loads, and its operators create and delete a room on the emulator."""
    import json
    import subprocess
    import sys

    script = _WITHOUT_THE_APPLICATION.format(blocked=set(APP_ONLY_MODULES))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"created": "created", "deleted": True, "loaded": []}


def _requirement_name(requirement: str) -> str:
    import re

    return re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0].lower()


def test_the_core_dependencies_are_the_providers_and_the_application_is_an_extra():
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    core = {_requirement_name(requirement) for requirement in project["dependencies"]}
    extras = project["optional-dependencies"]
    assert core & APP_ONLY_DISTRIBUTIONS == set(), "the application's dependencies belong in the [app] extra"
    assert {_requirement_name(requirement) for requirement in extras["app"]} >= APP_ONLY_DISTRIBUTIONS
    for extra in ("sqlite", "postgres", "demo", "dev", "docs"):  # the README's, .ci's and docs' install lines
        assert "airflow-provider-daily[app]" in extras[extra], extra
    third_party = set().union(*_imports("airflow_provider_daily").values()) - {"airflow_provider_daily", "__future__"}
    third_party -= set(__import__("sys").stdlib_module_names)
    assert third_party <= set(PROVIDER_IMPORTS), f"the provider imports {sorted(third_party - set(PROVIDER_IMPORTS))}"
    assert {PROVIDER_IMPORTS[name] for name in third_party} <= core


_PLUGINS_WITHOUT_ICALENDAR = r"""
import importlib.abc, sys


class NotInstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "icalendar":
            raise ModuleNotFoundError("No module named 'icalendar' (blocked: not installed)", name=name)
        return None


sys.meta_path.insert(0, NotInstalled())
import daily_dialin.calls.plugin, daily_dialin.ui.plugin  # noqa: E401
print("icalendar" in sys.modules)
"""


def test_the_applications_plugins_load_in_a_provider_only_install():
    """The wheel registers the application's plugins (``airflow.plugins`` entry points), which every
    Airflow component loads, with or without ``[app]``. Of ``[app]``, only icalendar is not also a
    dependency of Airflow itself (tabulate, pyjwt, common-sql and standard are): the plugins must load
    without it, or a provider-only install would show plugin import errors."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", _PLUGINS_WITHOUT_ICALENDAR], capture_output=True, text=True, timeout=240, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "False"
