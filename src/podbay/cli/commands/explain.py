"""``podbay explain TYPE[.field...]``: field documentation from the server's OpenAPI v3, in the layout
of kubectl explain's plaintext template (pkg/explain/v2/templates/plaintext.tmpl): KIND/VERSION, the
FIELD line with its type guess, DESCRIPTION wrapped at 76 columns, FIELDS with ``-required-``
markers (``--recursive``: the field tree, one line each).
"""

from __future__ import annotations

from typing import Any

import click

from podbay.cli.context import common, out, settings
from podbay.cli.errors import fail

Obj = dict[str, Any]
_REF = "#/components/schemas/"


def word_wrap(s: str, lim: int) -> str:
    """mitchellh/go-wordwrap WrapString: break at whitespace so lines stay within ``lim`` where a word
    allows; newlines and runs of spaces inside lines are kept."""
    out_: list[str] = []
    current = 0
    word: list[str] = []
    space: list[str] = []
    for ch in s:
        if ch == "\n":
            if not word:
                if current + len(space) <= lim:
                    out_ += space
            else:
                out_ += space + word
                word = []
            space = []
            out_.append(ch)
            current = 0
        elif ch.isspace() and ch != "\u00a0":
            if not space or word:
                current += len(space) + len(word)
                out_ += space + word
                space, word = [], []
            space.append(ch)
        else:
            word.append(ch)
            if current + len(space) + len(word) > lim and len(word) < lim:
                out_.append("\n")
                current = 0
                space = []
    if not word:
        if current + len(space) <= lim:
            out_ += space
    else:
        out_ += space + word
    return "".join(out_)


def indent(s: str, n: int) -> str:
    pad = " " * n
    return pad + s.replace("\n", "\n" + pad)


class Explainer:
    def __init__(self, doc: Obj) -> None:
        self.doc = doc
        self.schemas: Obj = (doc.get("components") or {}).get("schemas") or {}

    def resolve(self, ref: str | None) -> Obj | None:
        if ref and ref.startswith(_REF):
            found = self.schemas.get(ref[len(_REF):])
            return found if isinstance(found, dict) else None
        return None

    def type_guess(self, schema: Obj) -> str:
        if schema.get("items"):
            return "[]" + self.type_guess(schema["items"])
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict) and extra:
            return "map[string]" + self.type_guess(extra)
        if schema.get("allOf") and not schema.get("properties") and len(schema["allOf"]) == 1:
            return self.type_guess(schema["allOf"][0])
        ref = schema.get("$ref")
        if ref:
            target = self.resolve(ref)
            if not target or not target.get("type") or target.get("type") == "object":
                name = ref.rsplit("/", 1)[-1]
                return name.rsplit(".", 1)[-1] or "Object"
            return str(target.get("type") or "Object")
        if schema.get("type") == "object":
            return "Object"
        return str(schema.get("type") or "Object")

    def enum(self, schema: Obj, *, long: bool, limit: int = -1, indent_amount: int = 0) -> str:
        values = schema.get("enum")
        if not values:
            return ""
        text = "ENUM:" if long else "\n" + " " * indent_amount + "enum: "
        for i, v in enumerate(values):
            if limit > -1 and i >= limit:
                text += ", ...."
                break
            if i > 0 and not long:
                text += ", "
            elif long:
                text += "\n    "
            text += '""' if v == "" else str(v)
        return text

    def description(self, schema: Obj) -> str:
        s = self.resolve(schema.get("$ref")) or schema
        text = f"{s['description']}\n" if s.get("description") else ""
        for sub in s.get("allOf") or []:
            text += self.description(sub)
        if s.get("items"):
            text += self.description(s["items"])
        extra = s.get("additionalProperties")
        if isinstance(extra, dict) and extra:
            text += self.description(extra)
        return text

    def external_docs(self, schema: Obj) -> str:
        docs = schema.get("externalDocs")
        if not docs:
            return ""
        text = "EXTERNAL DOCS:\n"
        if docs.get("description"):
            text += indent(word_wrap(docs["description"], 76), 4) + "\n"
        if docs.get("url"):
            text += indent(f"URL: {docs['url']}", 4) + "\n"
        return text

    def field_detail(self, name: str, schema: Obj, *, short: bool, level: int) -> str:
        amount = level * 2
        field = (schema.get("properties") or {})[name]
        text = indent(name, amount) + f"\t<{self.type_guess(field)}>"
        if name in (schema.get("required") or []):
            text += " -required-"
        text += self.enum(field, long=False, limit=4, indent_amount=amount) + "\n"
        if not short:
            text += indent(word_wrap(field.get("description") or "<no description>", 78 - amount), amount + 2) + "\n"
            docs = field.get("externalDocs")
            if docs:
                text += "\n" + indent("EXTERNAL DOCS:", amount + 2) + "\n"
                if docs.get("description"):
                    text += indent(word_wrap(docs["description"], 76 - amount), amount + 4) + "\n"
                if docs.get("url"):
                    text += indent(f"URL: {docs['url']}", amount + 4) + "\n"
            text += "\n"
        return text

    def field_list(self, schema: Obj, level: int, recursive: bool, history: set[str]) -> str:
        ref = schema.get("$ref") or ""
        if ref and ref in history:
            return ""
        seen = history | {ref}
        s = self.resolve(ref) or schema
        text = ""
        for name in sorted(s.get("properties") or {}):
            text += self.field_detail(name, s, short=recursive, level=level)
            if recursive:
                text += self.field_list(s["properties"][name], level + 1, recursive, seen)
        for sub in s.get("allOf") or []:
            text += self.field_list(sub, level, recursive, seen)
        if s.get("items"):
            text += self.field_list(s["items"], level, recursive, seen)
        extra = s.get("additionalProperties")
        if isinstance(extra, dict) and extra:
            text += self.field_list(extra, level, recursive, seen)
        return text

    def output(self, schema: Obj, path: list[str], recursive: bool, history: set[str]) -> str:
        ref = schema.get("$ref") or ""
        seen = history | {ref}
        s = self.resolve(ref) or schema
        if not path:
            text = "DESCRIPTION:\n" + indent(word_wrap(self.description(s) or "<empty>", 76), 4) + "\n"
            docs = self.external_docs(s)
            if docs:
                text += "\n" + docs
            fields = self.field_list(s, 1, recursive, set())
            if fields:
                text += "FIELDS:\n" + fields
            return text
        if ref and ref in history:
            return ""
        props = s.get("properties") or {}
        if path[0] in props:
            sub = props[path[0]]
            text = ""
            if len(path) == 1:
                text = f"FIELD: {path[0]} <{self.type_guess(sub)}>\n" + self.enum(sub, long=True) + "\n\n"
            return text + self.output(sub, path[1:], recursive, set())
        if s.get("items"):
            return self.output(s["items"], path, recursive, seen)
        extra = s.get("additionalProperties")
        if isinstance(extra, dict) and extra:
            return self.output(extra, path, recursive, seen)
        for sub in s.get("allOf") or []:
            text = self.output(sub, path, recursive, seen)
            if text:
                return text
        return ""


def _openapi(group: str, version: str) -> Obj:
    client = settings().client()
    index = client.get("/openapi/v3")
    key = f"api/{version}" if not group else f"apis/{group}/{version}"
    entry = (index.get("paths") or {}).get(key)
    if not entry:
        raise fail(f"couldn't find resource for \"{key}\" in the server's OpenAPI v3")
    return client.get(str(entry.get("serverRelativeURL") or f"/openapi/v3/{key}"))


@click.command("explain")
@click.argument("target")
@click.option("--recursive", is_flag=True, help="Print the fields of fields.")
@click.option("--api-version", default=None, help="group/version of the resource.")
@common
def command(target: str, recursive: bool, api_version: str | None) -> None:
    """Describe the fields of a resource: podbay explain pods.spec.containers."""
    s = settings()
    type_arg, *path = target.split(".")
    res = s.discovery().resolve_one(type_arg)
    group, version = res.group, res.version
    if api_version:
        group, _, version = api_version.rpartition("/")
    doc = _openapi(group, version)
    ex = Explainer(doc)
    want = {"group": group, "version": version, "kind": res.kind}
    schema = next((v for v in ex.schemas.values()
                   if isinstance(v, dict) and want in (v.get("x-kubernetes-group-version-kind") or [])), None)
    if schema is None:
        raise fail(f"GVK {group}/{version}, Kind={res.kind} not found in OpenAPI schema")
    head = (f"GROUP:      {group}\n" if group else "") + f"KIND:       {res.kind}\nVERSION:    {version}\n\n"
    body = ex.output(schema, path, recursive, set())
    if not body:
        out(head)   # kubectl's template has printed these lines before it fails
        raise fail(f'field "{path[-1]}" does not exist')
    out(head + body + "\n")
