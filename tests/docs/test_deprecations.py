"""Deprecations triggered by our code are errors (``filterwarnings`` in pyproject.toml), Airflow's own
deprecation classes included; third-party ones raised inside third-party code are not."""

from __future__ import annotations

import warnings

import pytest


def test_our_deprecation_is_an_error():
    with pytest.raises(DeprecationWarning):
        warnings.warn("old call", DeprecationWarning, stacklevel=1)


@pytest.mark.parametrize(
    "category",
    [
        "airflow.exceptions.RemovedInAirflow4Warning",
        "airflow.sdk.exceptions.RemovedInAirflow4Warning",
        "airflow.exceptions.AirflowProviderDeprecationWarning",
        "airflow.utils.deprecation_tools.DeprecatedImportWarning",
    ],
)
def test_airflow_deprecations_at_our_call_sites_are_errors(category):
    import importlib

    module, _, name = category.rpartition(".")
    warning = getattr(importlib.import_module(module), name)
    with pytest.raises(warning):
        warnings.warn("deprecated in Airflow", warning, stacklevel=1)


def test_a_third_party_deprecation_is_not_an_error():
    namespace = {"__name__": "somebody_elses_package.module", "warnings": warnings}
    with warnings.catch_warnings(record=True) as caught:  # the filters in force, recording what passes them
        exec("warnings.warn('theirs', DeprecationWarning, stacklevel=1)", namespace)
    assert [str(w.message) for w in caught] == ["theirs"]
