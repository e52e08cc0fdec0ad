"""The README's and the docs' commands stay true to Airflow 3: example keys long enough to be masked,
Airflow 3 wording; and the only web addresses in them are Daily's and loopback ones (so no package
index is named: installs go through the ordinary clients and constraints.txt).

A key shorter than ``[logging] min_length_masked_secret`` is not masked: every task log then warns
about it (and would show it). "Trigger DAG w/ config" is Airflow 2's button; Airflow 3 has "Trigger"
with the Params form.
"""

from __future__ import annotations

import re

from tests.support.daily import REPO

DOCS = [REPO / "README.md", REPO / ".env.example", REPO / "CONTRIBUTING.md", *sorted((REPO / "docs").rglob("*.md"))]


def _text() -> str:
    return "\n".join(path.read_text(encoding="utf-8") for path in DOCS if path.exists())


def test_example_api_keys_are_long_enough_to_be_masked():
    from airflow.configuration import conf

    minimum = conf.getint("logging", "min_length_masked_secret", fallback=5)
    keys = re.findall(r"--api-key[ =]([^\s`'\"]+)", _text()) + re.findall(r"DAILY_API_KEY=(\S+)", _text())
    assert keys, "no example key found"
    examples = [key for key in keys if not key.startswith(("<", "...", "$"))]  # placeholders are not keys
    assert examples
    for key in examples:
        assert len(key) >= max(minimum, 12), key


def test_airflow_3_wording():
    text = _text()
    assert "Trigger DAG w/ config" not in text
    assert "Trigger DAG w/" not in text


# the hosts a user doc may name: Daily's own, this machine's, and compose service names (no dot)
ALLOWED_HOSTS = re.compile(r"^(www\.|api\.|docs\.)?daily\.co$|^127\.0\.0\.1$|^localhost$|\.daily\.co$|^[a-z0-9-]+$")


def test_docs_name_no_host_but_dailys_and_loopback():
    text = _text()
    hosts = {host.lower() for host in re.findall(r"https?://([A-Za-z0-9.-]+)", text)}
    # an installer option pointing at another index would name its host: caught here too
    assert {host for host in hosts if not ALLOWED_HOSTS.search(host)} == set()
