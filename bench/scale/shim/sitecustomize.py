"""Timing probes for the scale benchmark's subprocesses (on their ``PYTHONPATH`` only; provider code unchanged).

With ``DAILY_BENCH_TIMINGS`` set, ``steps.plan``, ``provision_chunk`` (and ``run_chunk``), ``retire_cancelled``
(and ``retire``), ``summarize`` and ``DailyHook.request`` (as ``api``) are wrapped as their modules are imported;
each call appends ``{"what", "seconds", "end", "index"?, "pid"}`` to that file. A missing function is not timed.
May import: the standard library only.
"""

from __future__ import annotations

import functools
import importlib.abc
import importlib.machinery
import json
import os
import sys
import time
from typing import Any

_OUT = os.environ.get("DAILY_BENCH_TIMINGS")


def _record(what: str, seconds: float, **extra: Any) -> None:
    line = json.dumps({"what": what, "seconds": seconds, "end": time.time(), "pid": os.getpid(), **extra}) + "\n"
    fd = os.open(_OUT, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def _timed(what: str, func: Any) -> Any:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return func(*args, **kwargs)
        finally:
            extra = {"index": kwargs["index"]} if isinstance(kwargs.get("index"), int) else {}
            _record(what, time.perf_counter() - started, **extra)

    wrapper.__bench_timed__ = True
    return wrapper


def _patch_steps(module: Any) -> None:
    # the DAG's task bodies call the typed run_chunk / retire (their JSON twins provision_chunk /
    # retire_cancelled are what direct callers use): each is timed under the JSON twin's name
    for name, what in (
        ("plan", "plan"),
        ("provision_chunk", "provision_chunk"),
        ("run_chunk", "provision_chunk"),
        ("retire_cancelled", "retire_cancelled"),
        ("retire", "retire_cancelled"),
        ("summarize", "summarize"),
    ):
        func = getattr(module, name, None)
        if callable(func) and not getattr(func, "__bench_timed__", False):
            setattr(module, name, _timed(what, func))


def _patch_hook(module: Any) -> None:
    hook = getattr(module, "DailyHook", None)
    request = getattr(hook, "request", None)
    if callable(request) and not getattr(request, "__bench_timed__", False):
        hook.request = _timed("api", request)


_PATCHES = {
    "daily_dialin.provisioning.steps": _patch_steps,
    "airflow_provider_daily.hooks.daily": _patch_hook,
}


class _Loader(importlib.abc.Loader):
    def __init__(self, inner: Any, patch: Any) -> None:
        self._inner, self._patch = inner, patch

    def create_module(self, spec: Any) -> Any:
        return self._inner.create_module(spec)

    def exec_module(self, module: Any) -> None:
        self._inner.exec_module(module)
        self._patch(module)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        patch = _PATCHES.get(fullname)
        if patch is None:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return None
        spec.loader = _Loader(spec.loader, patch)
        return spec


if _OUT:
    sys.meta_path.insert(0, _Finder())
