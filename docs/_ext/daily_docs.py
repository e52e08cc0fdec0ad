"""Sphinx directives that render reference tables from the code, so the docs cannot drift from it.

* ``daily-connection-form`` - the ``daily`` connection form as the provider declares it to Airflow
  (:func:`airflow_provider_daily.get_provider_info.get_provider_info`): the standard fields it keeps,
  relabels or hides, then one row per extra field. Those extra fields are generated from the client
  settings model (:class:`~airflow_provider_daily.client_settings.DailyClientSettings`), so this
  table is the model.
* ``daily-settings-table <dotted.path.to.Model>`` - one row per field of a pydantic settings model
  (type, default, bounds, description). Options: ``:exclude:`` / ``:only:`` (comma-separated names).

A model that cannot be imported, or a name in ``:only:``/``:exclude:`` that is no field of it, is
an error of the build (the build runs with ``-W``), not a silently shorter table.
"""

from __future__ import annotations

import importlib
import json
import types
import typing
from collections.abc import Iterable, Sequence
from typing import Any

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.util.docutils import SphinxDirective

_BOUNDS = (
    ("minimum", ">= {}"),
    ("exclusiveMinimum", "> {}"),
    ("maximum", "<= {}"),
    ("exclusiveMaximum", "< {}"),
    ("minLength", "at least {} characters"),
    ("maxLength", "at most {} characters"),
    ("minItems", "at least {} item(s)"),
    ("pattern", "matches {}"),
)

Cell = str | nodes.Node | Sequence[nodes.Node]


def _import(path: str) -> Any:
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def _type_text(annotation: Any) -> str:
    if isinstance(annotation, type) and not typing.get_args(annotation):
        return annotation.__name__
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return " | ".join(_type_text(arg) for arg in typing.get_args(annotation))
    if annotation is type(None):
        return "None"
    return str(annotation).replace("typing.", "").replace("NoneType", "None")


def _json(value: Any) -> str:
    if hasattr(value, "model_dump"):
        value = value.model_dump(mode="json")
    return json.dumps(value, default=str)


def _bounds(prop: dict[str, Any]) -> list[str]:
    found = [text.format(prop[key]) for key, text in _BOUNDS if key in prop]
    for option in prop.get("anyOf", ()):  # Optional[...] fields keep their bounds one level down
        found += [text.format(option[key]) for key, text in _BOUNDS if key in option]
    return found


def _cell(content: Cell) -> nodes.entry:
    entry = nodes.entry()
    if isinstance(content, str):
        entry += nodes.paragraph(text=content)
    elif isinstance(content, nodes.Node):
        entry += content
    else:
        paragraph = nodes.paragraph()
        paragraph.extend(content)
        entry += paragraph
    return entry


def _code(text: str) -> nodes.paragraph:
    paragraph = nodes.paragraph()
    paragraph += nodes.literal(text=text)
    return paragraph


def _table(headers: Sequence[str], rows: Iterable[Sequence[Cell]], widths: Sequence[int]) -> nodes.table:
    table = nodes.table(classes=["daily-generated"])
    group = nodes.tgroup(cols=len(headers))
    table += group
    group.extend(nodes.colspec(colwidth=width) for width in widths)
    head = nodes.thead()
    head += nodes.row("", *(_cell(h) for h in headers))
    group += head
    body = nodes.tbody()
    body.extend(nodes.row("", *(_cell(c) for c in row)) for row in rows)
    group += body
    return table


def _names(value: str | None) -> list[str]:
    return [name.strip() for name in (value or "").split(",") if name.strip()]


class SettingsTable(SphinxDirective):
    """``daily-settings-table``: the fields of a pydantic model, from the model."""

    required_arguments = 1
    option_spec = {"exclude": directives.unchanged, "only": directives.unchanged}

    def run(self) -> list[nodes.Node]:
        model = _import(self.arguments[0])
        fields = model.model_fields
        only, exclude = _names(self.options.get("only")), _names(self.options.get("exclude"))
        unknown = sorted(set(only + exclude) - set(fields))
        if unknown:
            raise self.error(f"{self.arguments[0]} has no field(s) {unknown}")
        schema = model.model_json_schema().get("properties", {})
        rows = []
        for name, field in fields.items():
            if (only and name not in only) or name in exclude:
                continue
            default = field.get_default(call_default_factory=True)
            meaning = " ".join(filter(None, [field.description or "", "; ".join(_bounds(schema.get(name, {})))]))
            rows.append([_code(name), _type_text(field.annotation), _code(_json(default)), meaning or "-"])
        return [_table(["setting", "type", "default", "meaning"], rows, [18, 14, 22, 46])]


class ConnectionForm(SphinxDirective):
    """``daily-connection-form``: the ``daily`` connection type's form, from the provider's metadata."""

    def run(self) -> list[nodes.Node]:
        from airflow_provider_daily.get_provider_info import get_provider_info

        (conn_type,) = [c for c in get_provider_info()["connection-types"] if c["connection-type"] == "daily"]
        behaviour = conn_type["ui-field-behaviour"]
        relabel, placeholders = behaviour.get("relabeling", {}), behaviour.get("placeholders", {})
        rows: list[list[Cell]] = [
            [_code("conn_id"), "Connection Id", "-", "-", "The id tasks use; default daily_default."]
        ]
        rows.append([_code("conn_type"), "Connection Type", "-", "-", "Daily (the provider registers it)."])
        for field in ("host", "password"):
            shown = placeholders.get(field)
            meaning = {
                "host": "Daily's REST API; empty means Daily's own. Point it at the emulator in tests and demos.",
                "password": "Your domain's API key. Sent only in the Authorization header; never logged.",
            }[field]
            rows.append([_code(field), relabel.get(field, field), "str", _code(shown) if shown else "-", meaning])
        for key, spec in conn_type["conn-fields"].items():
            schema = spec["schema"]
            types_ = [t for t in schema.get("type", []) if t != "null"]
            meaning = " ".join(filter(None, [spec.get("description", ""), "; ".join(_bounds(schema))]))
            rows.append(
                [
                    _code(f"extra.{key}"),
                    spec.get("label", key),
                    " | ".join(types_) or "-",
                    _code(_json(schema.get("default"))),
                    meaning,
                ]
            )
        hidden = ", ".join(behaviour.get("hidden-fields", []))
        note = nodes.paragraph(text=f"Hidden in the form (not used): {hidden}." if hidden else "")
        return [_table(["field", "label in the form", "type", "default", "meaning"], rows, [18, 18, 8, 20, 36]), note]


def setup(app: Any) -> dict[str, Any]:
    app.add_directive("daily-settings-table", SettingsTable)
    app.add_directive("daily-connection-form", ConnectionForm)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
