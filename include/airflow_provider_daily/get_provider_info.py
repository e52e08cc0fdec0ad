"""Provider metadata Airflow reads through the ``apache_airflow_provider`` entry point.

Declares the ``daily`` connection type and its form: the API key in the password field
(relabelled), the API base URL in the host field (placeholder: Daily's URL), login/schema/port
hidden, and one extra field per client setting. The extra fields are generated from the settings
model (:class:`~airflow_provider_daily.client_settings.DailyClientSettings`): names, types, titles,
descriptions, bounds and defaults come from there, so the form cannot drift from what the hook reads.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_daily import __version__

# JSON-schema keywords Airflow's connection form accepts (provider.yaml schema, ``conn-fields``)
_SCHEMA_KEYWORDS = ("minimum", "maximum", "pattern", "minLength", "maxLength", "enum", "format")


def conn_fields() -> dict[str, dict[str, Any]]:
    """The ``conn-fields`` of the ``daily`` connection type, one per field of the settings model."""
    from airflow_provider_daily.client_settings import DailyClientSettings

    schema = DailyClientSettings.model_json_schema()["properties"]
    defaults = DailyClientSettings().model_dump(mode="json")
    fields: dict[str, dict[str, Any]] = {}
    for name in DailyClientSettings.model_fields:
        prop = schema[name]
        field_schema: dict[str, Any] = {"type": [prop["type"], "null"], "default": defaults[name]}
        field_schema.update({key: prop[key] for key in _SCHEMA_KEYWORDS if key in prop})
        field: dict[str, Any] = {"label": prop.get("title", name), "schema": field_schema}
        if prop.get("description"):
            field["description"] = prop["description"]
        fields[name] = field
    return fields


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "airflow-provider-daily",
        "name": "Daily",
        "description": "Daily video rooms with PSTN dial-in (PIN): hook, operators and provisioning.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": "Daily",
                "external-doc-url": "https://docs.daily.co/reference/rest-api",
                "tags": ["service"],
            }
        ],
        "hooks": [{"integration-name": "Daily", "python-modules": ["airflow_provider_daily.hooks.daily"]}],
        "operators": [{"integration-name": "Daily", "python-modules": ["airflow_provider_daily.operators.daily"]}],
        "extra-links": ["airflow_provider_daily.links.DailyRoomLink"],
        "connection-types": [
            {
                "hook-class-name": "airflow_provider_daily.hooks.daily.DailyHook",
                "hook-name": "Daily",
                "connection-type": "daily",
                "ui-field-behaviour": {
                    "hidden-fields": ["login", "schema", "port"],
                    "relabeling": {"password": "Daily API key", "host": "API base URL"},
                    "placeholders": {"host": "https://api.daily.co/v1"},
                },
                "conn-fields": conn_fields(),
            }
        ],
    }
