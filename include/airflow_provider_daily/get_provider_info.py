"""Provider metadata Airflow reads through the ``apache_airflow_provider`` entry point.

Declares the ``daily`` connection type and its form: the API key in the password field
(relabelled), the API base URL in the host field (placeholder: Daily's URL), login/schema/port
hidden, and the client settings (retries, timeout, pacing) as extra fields.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_daily import __version__


def _field(label: str, description: str, json_type: str) -> dict[str, Any]:
    return {"label": label, "description": description, "schema": {"type": [json_type, "null"]}}


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
                "conn-fields": {
                    "timeout": _field("Request timeout (s)", "Seconds to wait for one answer.", "number"),
                    "max_attempts": _field(
                        "Max attempts", "Tries per request on 429/5xx/no answer, first included.", "integer"
                    ),
                    "retry_deadline": _field(
                        "Retry deadline (s)", "Stop retrying one request after this long.", "number"
                    ),
                    "rate_limit_safety": _field(
                        "Rate limit safety factor",
                        "Fraction (0-1] of Daily's documented rate limits the client paces itself to.",
                        "number",
                    ),
                    "default_dialin_number": _field(
                        "Fallback dial-in number",
                        "E.164 number for dial strings when Daily reports none (default US +12095038039).",
                        "string",
                    ),
                },
            }
        ],
    }
