"""The Daily connection form declares every client setting, generated from the settings model.

Before, the form listed 5 of the 8 extras the hook reads (``retry_min_wait``, ``retry_max_wait`` and
``rate_limits`` were missing). Now ``conn-fields`` come from ``DailyClientSettings``: the same names,
JSON types, titles, descriptions, bounds and defaults, as Airflow's ProvidersManager serves them to the UI.
"""

from __future__ import annotations

from airflow_provider_daily.client_settings import DailyClientSettings
from airflow_provider_daily.get_provider_info import conn_fields, get_provider_info

JSON_TYPES = {float: "number", int: "integer", str: "string", bool: "boolean", dict: "object", list: "array"}


def test_conn_fields_cover_every_setting_with_type_description_and_default():
    fields = conn_fields()
    defaults = DailyClientSettings().model_dump(mode="json")
    assert list(fields) == list(DailyClientSettings.model_fields)
    for name, info in DailyClientSettings.model_fields.items():
        field = fields[name]
        origin = getattr(info.annotation, "__origin__", info.annotation)
        assert field["schema"]["type"] == [JSON_TYPES[origin], "null"], name
        assert field["schema"]["default"] == defaults[name], name
        assert field["description"] == info.description, name
        assert field["label"]
    assert fields["max_attempts"]["schema"]["minimum"] == 1 and fields["max_attempts"]["schema"]["maximum"] == 50
    assert get_provider_info()["connection-types"][0]["conn-fields"] == fields


def test_providers_manager_serves_every_extra_to_the_form():
    from airflow.providers_manager import ProvidersManager

    widgets = ProvidersManager().connection_form_widgets
    daily = {key.removeprefix("extra__daily__"): w for key, w in widgets.items() if key.startswith("extra__daily__")}
    assert set(daily) == set(DailyClientSettings.model_fields)
    assert daily["rate_limits"].field["value"] == DailyClientSettings().model_dump(mode="json")["rate_limits"]
    described = DailyClientSettings.model_fields["retry_min_wait"].description
    assert daily["retry_min_wait"].field["description"] == described


def test_form_defaults_round_trip_through_the_settings():
    """What the form saves (its defaults, under either spelling) is read back as the defaults."""
    saved = {f"extra__daily__{name}": field["schema"]["default"] for name, field in conn_fields().items()}
    assert DailyClientSettings.from_extra(saved) == DailyClientSettings()
