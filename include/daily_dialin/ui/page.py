"""The dial-in page's HTML: one server-rendered document with a small inline script and CSS (kept
next to this module as ``page.js`` and ``page.css``, read once and inlined: one request, no static route).

Why no React bundle: the page is tiles, a bar chart and a table fed by two JSON endpoints; a
server-rendered page needs no npm build, no bundle in the wheel and no version coupling with
Airflow's UI, and paints at once. It follows Airflow's look: its brand blue and state colours, the
UI's light/dark choice where it can be read (the same-origin ``chakra-ui-color-mode`` in local
storage, the frame's ``dark`` class), else ``prefers-color-scheme``.

The server puts in only the user's permissions and the DAG id (escaped, JSON); everything else is
fetched by the script and inserted as text (``textContent``), never as HTML.

May import: the standard library.
"""

from __future__ import annotations

import html
import json
from importlib import resources
from typing import Any

__all__ = ["render_no_table", "render_page"]


def _asset(name: str) -> str:
    return resources.files("daily_dialin.ui").joinpath(name).read_text(encoding="utf-8")


_CSS = _asset("page.css")
_SCRIPT = _asset("page.js")

_BODY = """<h1>Dial-in <small class="note">{dag}</small></h1>
<div id="tiles" class="tiles"></div>
<div id="risk" class="note"></div>
<svg id="chart" role="img" aria-label="meetings per day, ready vs not" height="110" width="100%"
 preserveAspectRatio="xMinYMin meet"></svg>
<div class="note">Coming days: <span style="color:var(--ok)">■</span> ready
 <span style="color:var(--warn)">■</span> not ready</div>
<div class="bar"><input id="q" placeholder="meeting id or title" aria-label="search">
<select id="status" aria-label="state"><option value="">all</option><option>ready</option><option>pending</option>
<option>problems</option><option>missed</option><option>deferred</option><option value="given_up">given up</option>
<option>cancelled</option></select>
<button id="provision" class="primary" disabled>Provision now</button>
<a id="approval" href="/required_actions" target="_top" hidden></a>
<span id="msg" role="status"></span><span id="err" class="note" role="alert"></span></div>
<div class="scroll"><table><thead><tr id="head"><th></th><th data-sort="meeting_id">meeting</th><th>title</th>
<th data-sort="starts_at">starts (meeting's zone)</th><th data-sort="status">state</th><th>series</th><th>room</th>
<th>number</th><th>PIN</th><th>last error</th></tr></thead><tbody id="rows"></tbody></table></div>
<div class="bar"><button id="prev">&lsaquo; prev</button><span id="pageinfo"></span>
<button id="next">next &rsaquo;</button></div>"""


def render_page(*, dag_id: str, can_edit: bool, can_trigger: bool, docs: str) -> str:
    """The whole document for the provisioning DAG ``dag_id`` and the user's permissions."""
    context: dict[str, Any] = {"dag_id": dag_id, "can_edit": can_edit, "can_trigger": can_trigger, "docs": docs}
    # JSON in a <script type=application/json>: "</" escaped so no value can close the element
    data = json.dumps(context).replace("</", "<\\/")
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1"><title>Dial-in</title>'
        f"<style>{_CSS}</style></head><body>{_BODY.format(dag=html.escape(dag_id))}"
        f'<script id="ctx" type="application/json">{data}</script><script>{_SCRIPT}</script></body></html>'
    )


def render_no_table(*, dag_id: str, tables: list[str]) -> str:
    """The Dial-in tab of a DAG that serves no meetings table (Airflow shows a plugin's DAG tab on
    every DAG): says so, and links the pages of ``tables`` (the DAG ids the user may read)."""
    links = "".join(
        f'<li><a href="./?table={html.escape(other, quote=True)}">{html.escape(other)}</a></li>' for other in tables
    )
    listing = (
        f"<p>The Dial-in pages you may open:</p><ul>{links}</ul>" if tables else "<p>You may open no Dial-in page.</p>"
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1"><title>Dial-in</title>'
        f'<style>{_CSS}</style></head><body><h1>Dial-in</h1><p id="no-table">DAG <b>{html.escape(dag_id)}</b> '
        "provisions no dial-in meetings: it serves no meetings table, so it has nothing to show here. "
        "(Airflow shows this tab on every DAG.)</p>"
        f"{listing}</body></html>"
    )
