"""The docs' generated reference: made from the code at build time, never kept in git.

Used two ways:

- as an MkDocs hook (``hooks:`` in mkdocs.yml): a page's ``<!-- generated: NAME -->`` line is
  replaced by what :data:`GENERATORS` makes for NAME, while ``mkdocs build`` runs;
- from the command line, to read what a page will show: ``python scripts/docs_reference.py
  settings`` (or ``control-plane``, ``modules``).

The generators:

``settings``
    The table of every setting, its ``serve`` flag, its ``EMULATOR_*`` variable, its default
    and its description, from the fields of :class:`emulator.settings.Settings` (the one source
    of all of them; tests/test_settings.py checks this table against the fields and the
    flags).
``control-plane``
    Every ``/_emulator`` operation, its parameters, request body and answers, and the JSON
    schemas, from the OpenAPI document the control plane's FastAPI app serves.
``modules``
    The ``emulator`` package's modules, each with the first sentence of its docstring (read
    from the source, nothing imported), for the architecture page.
"""

from __future__ import annotations

import ast
import asyncio
import importlib.util
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

MARKER = re.compile(r"^<!-- generated: ([a-z-]+) -->$", re.M)


# --- settings ---------------------------------------------------------------------------------


def _without_none(annotation: Any) -> tuple[Any, bool]:
    """``int | None`` -> (``int``, True)."""
    if get_origin(annotation) in (Union, UnionType):
        kinds = [k for k in get_args(annotation) if k is not type(None)]
        if len(kinds) == 1:
            return kinds[0], True
    return annotation, False


def setting_rows() -> list[dict[str, str]]:
    """One row per field of ``Settings``: setting, flag, variable, default, what."""
    from emulator.settings import Metavar, Settings

    prefix = Settings.model_config.get("env_prefix", "")
    rows = []
    for name, field in Settings.model_fields.items():
        kind, _ = _without_none(field.annotation)
        flag = "--" + name.replace("_", "-")
        variable = f"`{prefix}{name.upper()}`"
        metavar = next((m.name for m in field.metadata if isinstance(m, Metavar)), None)
        if get_origin(kind) is list:
            shown_metavar = metavar or name.upper()
            flag_cell = f"`{flag} {shown_metavar} [{shown_metavar} ...]`"
            variable += " (comma-separated)"
        else:
            flag_cell = f"`{flag}`"
        default = field.get_default(call_default_factory=True)
        if isinstance(default, list):
            default_cell = f"`{','.join(default)}`" if default else "empty"
        elif default is None or isinstance(default, bool):
            default_cell = f"`{str(default).lower()}`"
        else:
            default_cell = f"`{default}`"
        what = (field.description or "").strip()
        facts = []
        if get_origin(kind) is Literal:
            facts.append("one of " + ", ".join(f"`{v}`" for v in get_args(kind)))
        bounds = {type(m).__name__: m for m in field.metadata}
        low = getattr(bounds.get("Ge"), "ge", None)
        if low is None and "Gt" in bounds:
            low = f"more than {bounds['Gt'].gt}"
        high = getattr(bounds.get("Le"), "le", None)
        if low is not None and high is not None:
            facts.append(f"from {low} to {high}")
        elif low is not None:
            facts.append(f"at least {low}" if not str(low).startswith("more") else str(low))
        elif high is not None:
            facts.append(f"at most {high}")
        if kind is bool:
            facts.append("a flag without a value; the variable takes `true` or `false`")
        if facts:
            what += f" ({'; '.join(facts)})"
        rows.append(
            {
                "setting": name,
                "flag": flag_cell,
                "variable": variable,
                "default": default_cell,
                "what": what.replace("|", "\\|"),
            }
        )
    return rows


def settings_markdown() -> str:
    lines = [
        "| setting | flag | variable | default | what |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in setting_rows():
        lines.append(
            f"| {row['setting']} | {row['flag']} | {row['variable']} | {row['default']} "
            f"| {row['what']} |"
        )
    return "\n".join(lines) + "\n"


# --- the control plane, from its OpenAPI document ---------------------------------------------


def control_plane_openapi() -> dict[str, Any]:
    """The OpenAPI document the control plane serves at ``/openapi.json``, read through the
    app as a client would (an in-memory database; nothing listens)."""
    import httpx

    from emulator.app import create_app
    from emulator.settings import Settings

    app = create_app(Settings(database="sqlite://"))

    async def fetch() -> dict[str, Any]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            response = await client.get("/openapi.json")
            response.raise_for_status()
            document: dict[str, Any] = response.json()
            return document

    return asyncio.run(fetch())


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _anchor(name: str) -> str:
    return "schema-" + name.lower()


def _type_of(schema: dict[str, Any]) -> str:
    """A schema as a short type: ``string``, ``integer or null``, ``array of Fault``..."""
    if "$ref" in schema:
        name = _ref_name(schema["$ref"])
        return f"[{name}](#{_anchor(name)})"
    if "anyOf" in schema or "oneOf" in schema:
        return " or ".join(_type_of(s) for s in schema.get("anyOf", schema.get("oneOf", [])))
    if "allOf" in schema:
        return " and ".join(_type_of(s) for s in schema["allOf"])
    if "enum" in schema:
        return " \\| ".join(f"`{json.dumps(v)}`" for v in schema["enum"])
    if "const" in schema:
        return f"`{json.dumps(schema['const'])}`"
    kind = schema.get("type")
    if kind == "array":
        return f"array of {_type_of(schema.get('items', {}))}"
    if kind == "object" and "additionalProperties" in schema:
        extra = schema["additionalProperties"]
        values = _type_of(extra) if isinstance(extra, dict) and extra else "any"
        return f"object of {values}"
    if isinstance(kind, list):
        return " or ".join(kind)
    return str(kind or "any")


def _cell(text: object) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _schema_table(schema: dict[str, Any]) -> list[str]:
    properties: dict[str, Any] = schema.get("properties", {})
    if not properties:
        return [f"{_type_of(schema)}", ""]
    required = set(schema.get("required", []))
    lines = [
        "| field | type | required | default | description |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, prop in properties.items():
        default = f"`{json.dumps(prop['default'])}`" if "default" in prop else ""
        lines.append(
            f"| `{name}` | {_type_of(prop)} | {'yes' if name in required else ''} | {default} "
            f"| {_cell(prop.get('description', ''))} |"
        )
    return [*lines, ""]


def _body_schema(content: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    for media, value in content.items():
        if "schema" in value:
            return media, value["schema"]
    return None


def control_plane_markdown(document: dict[str, Any] | None = None) -> str:
    document = document if document is not None else control_plane_openapi()
    out: list[str] = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            out += [f"### `{method.upper()} {path}`", ""]
            summary = operation.get("summary", "")
            description = operation.get("description", "")
            if description:
                out += [description.strip(), ""]
            elif summary:
                out += [summary + ".", ""]
            parameters = operation.get("parameters", [])
            if parameters:
                out += [
                    "| parameter | in | type | required | default |",
                    "| --- | --- | --- | --- | --- |",
                ]
                for p in parameters:
                    schema = p.get("schema", {})
                    default = f"`{json.dumps(schema['default'])}`" if "default" in schema else ""
                    out.append(
                        f"| `{p['name']}` | {p['in']} | {_type_of(schema)} "
                        f"| {'yes' if p.get('required') else ''} | {default} |"
                    )
                out.append("")
            body = operation.get("requestBody")
            if body:
                found = _body_schema(body.get("content", {}))
                if found:
                    media, schema = found
                    needed = "required" if body.get("required") else "optional"
                    out += [f"Request body ({media}, {needed}): {_type_of(schema)}", ""]
            answers = []
            for status, response in operation.get("responses", {}).items():
                found = _body_schema(response.get("content", {}))
                shape = f": {_type_of(found[1])}" if found and found[1] else ""
                answers.append(f"`{status}` {_cell(response.get('description', ''))}{shape}")
            if answers:
                out += ["Answers: " + "; ".join(answers) + ".", ""]
    schemas = document.get("components", {}).get("schemas", {})
    if schemas:
        out += ["## Schemas", ""]
        for name, schema in schemas.items():
            out += [f"### {name} {{ #{_anchor(name)} }}", ""]
            if schema.get("description"):
                out += [_cell(schema["description"]), ""]
            out += _schema_table(schema)
    return "\n".join(out)


# --- the package's modules ----------------------------------------------------------------------


def _package_dir() -> Path:
    spec = importlib.util.find_spec("emulator")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the emulator package is not importable")
    return Path(next(iter(spec.submodule_search_locations)))


def _first_sentence(docstring: str | None) -> str:
    if not docstring:
        return ""
    paragraph = " ".join(docstring.strip().split("\n\n", 1)[0].split())
    match = re.match(r"(.+?\.)(\s|$)", paragraph)
    sentence = match.group(1) if match else paragraph
    return sentence if sentence.endswith((".", ":")) else sentence + "."


def modules_markdown() -> str:
    """The package's modules floor by floor, top down (the one table of scripts/floors.py),
    each with the first sentence of its docstring."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    try:
        import floors
    finally:
        sys.path.pop(0)
    root = _package_dir()
    by_floor: dict[str, list[str]] = {floor: [] for floor in floors.FLOORS}
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if any(part.startswith(("_", ".")) for part in relative.parts[:-1]):
            continue
        if relative.name.startswith("_") and relative.name not in ("__init__.py", "__main__.py"):
            continue
        parts = ["emulator", *relative.with_suffix("").parts]
        if parts[-1] == "__init__":
            parts = parts[:-1]
        name = ".".join(parts)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        summary = _first_sentence(ast.get_docstring(tree))
        floor = floors.floor_of(name) or "?"
        by_floor.setdefault(floor, []).append(f"- `{name}`" + (f": {summary}" if summary else ""))
    lines = []
    for floor in reversed(floors.FLOORS):
        lines += [f"**{floor}**", "", *by_floor[floor], ""]
    return "\n".join(lines)


GENERATORS: dict[str, Callable[[], str]] = {
    "settings": settings_markdown,
    "control-plane": control_plane_markdown,
    "modules": modules_markdown,
}


def expand(markdown: str) -> str:
    """A page's markdown with each ``<!-- generated: NAME -->`` line replaced."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in GENERATORS:
            raise ValueError(f"no generator named {name!r} (known: {', '.join(GENERATORS)})")
        return GENERATORS[name]().rstrip("\n")

    return MARKER.sub(replace, markdown)


# --- the MkDocs hook ------------------------------------------------------------------------------


def on_page_markdown(markdown: str, **_: Any) -> str:
    return expand(markdown)


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in GENERATORS:
        sys.exit(f"usage: python scripts/docs_reference.py {{{','.join(GENERATORS)}}}")
    print(GENERATORS[sys.argv[1]](), end="")
