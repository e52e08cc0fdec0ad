"""Issue 22's measurable shape of the provider and the application, kept by a test: no function
of cyclomatic complexity 11 or more (radon's grade C or worse; ruff's mccabe limit of 10 says the
same in CI) and no module above 500 lines, in ``include/airflow_provider_daily`` and
``include/daily_dialin``. Each assertion lists every offender (file, line, name, figure), so a
failure says what to split. Measure by hand: ``.venv/bin/python -m radon cc -n C -s include/...``.
"""

from __future__ import annotations

from pathlib import Path

from radon.complexity import cc_visit
from radon.visitors import Function

from tests.support.daily import REPO

ROOTS = ("airflow_provider_daily", "daily_dialin")
MAX_COMPLEXITY = 10  # radon grade B at most: CC 11 is grade C
MAX_LINES = 500


def _modules() -> list[Path]:
    return sorted(path for root in ROOTS for path in (REPO / "include" / root).rglob("*.py"))


def _functions(code: str) -> list[Function]:
    """Every function and method radon grades, as ``radon cc`` lists them (F and M; a closure counts
    in its function's figure, a class is no function)."""
    return [block for block in cc_visit(code) if isinstance(block, Function)]


def complex_functions() -> list[str]:
    offenders = []
    for path in _modules():
        for function in _functions(path.read_text(encoding="utf-8")):
            if function.complexity > MAX_COMPLEXITY:
                offenders.append(
                    f"{path.relative_to(REPO)}:{function.lineno} {function.fullname} CC={function.complexity}"
                )
    return offenders


def long_modules() -> list[str]:
    sizes = {path: len(path.read_text(encoding="utf-8").splitlines()) for path in _modules()}
    return [f"{path.relative_to(REPO)}: {lines} lines" for path, lines in sizes.items() if lines > MAX_LINES]


def test_no_function_has_cyclomatic_complexity_11_or_more():
    offenders = complex_functions()
    assert not offenders, (
        f"{len(offenders)} function(s) with radon CC >= {MAX_COMPLEXITY + 1} (grade C or worse); split them:\n  "
        + "\n  ".join(offenders)
    )


def test_no_module_is_longer_than_500_lines():
    offenders = long_modules()
    assert not offenders, f"{len(offenders)} module(s) above {MAX_LINES} lines; split them:\n  " + "\n  ".join(
        offenders
    )


def test_the_measure_finds_what_it_must():
    """The measure itself, on a function with eleven decisions and one with ten."""
    branches = "".join(f"    if x == {n}:\n        return {n}\n" for n in range(10))
    (graded,) = _functions(f"def f(x):\n{branches}    return -1\n")
    assert graded.complexity == 11
    (method,) = _functions("class A:\n    def m(self, x):\n        return 1 if x else 2\n")
    assert (method.fullname, method.complexity) == ("A.m", 2)
