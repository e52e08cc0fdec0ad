"""Sphinx configuration of the airflow-provider-daily docs (markdown pages through MyST).

Build (fails on any warning, a broken internal link or a missing include): ``bash docs/build.sh``.
Tables of settings are rendered from the pydantic models at build time (``_ext/daily_docs.py``),
code samples are included from the example DAGs between ``[START ...]``/``[END ...]`` markers.
Diagrams (``{graphviz}`` blocks, e.g. the pipeline in architecture.md) are rendered by
``sphinx.ext.graphviz`` with Graphviz's ``dot`` (Debian's ``graphviz`` package; ``.ci/setup`` installs it).
"""

from __future__ import annotations

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
REPO = DOCS.parent
sys.path[:0] = [str(DOCS / "_ext"), str(REPO / "include")]

from airflow_provider_daily import __version__  # noqa: E402

project = "airflow-provider-daily"
author = "airflow-provider-daily contributors"
copyright = "the airflow-provider-daily contributors, Apache-2.0"
version = release = __version__

extensions = ["myst_parser", "sphinx.ext.graphviz", "daily_docs"]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "examples/*.py", "build.sh"]
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3
nitpicky = True
suppress_warnings: list[str] = []
html_theme = "alabaster"
html_title = f"airflow-provider-daily {release}"
html_static_path: list[str] = []
graphviz_output_format = "svg"
