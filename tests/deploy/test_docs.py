"""The README's and the docs' commands stay true to Airflow 3: example keys long enough to be masked,
Airflow 3 wording; and no package index is named in them.

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


def test_no_package_index_is_named():
    text = _text().lower()
    for host in ("pypi.org", "files.pythonhosted", "--index-url", "--extra-index-url"):
        assert host not in text, host
