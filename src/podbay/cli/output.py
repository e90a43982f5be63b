"""``-o`` formats other than tables: json, yaml, name, jsonpath, jsonpath-as-json, custom-columns.

kubectl's printers (cli-runtime ``printers``): JSON is Go's ``json.MarshalIndent`` of the object
(4 spaces, sorted keys, HTML characters escaped), YAML the same object through sigs.k8s.io/yaml
(sorted keys), ``-o name`` is ``kind.group/name``, custom columns print one row per object with
the given headers, joining several values with commas and ``<none>`` for none.
"""

from __future__ import annotations

import json
from typing import Any

from podbay.cli.errors import fail

Obj = dict[str, Any]
FORMATS = ("custom-columns", "custom-columns-file", "json", "jsonpath", "jsonpath-as-json", "jsonpath-file",
           "name", "wide", "yaml")
LIST_META = {"resourceVersion": ""}


class OutputFormat:
    """A parsed ``-o`` value: ``kind`` is "" (table), wide, json, yaml, name, jsonpath, custom-columns."""

    def __init__(self, spec: str, *, allowed: tuple[str, ...] = FORMATS) -> None:
        self.spec = spec
        kind, _, arg = spec.partition("=")
        if kind in ("jsonpath-file", "custom-columns-file"):
            try:
                with open(arg, encoding="utf-8") as f:
                    arg = f.read().strip() if kind == "jsonpath-file" else _columns_file(f.read())
            except OSError as e:
                raise fail(f"error reading {kind} {arg}: {e.strerror}") from None
            kind = kind.removesuffix("-file")
        if spec and (kind not in allowed or (kind in ("jsonpath", "jsonpath-as-json", "custom-columns") and not arg)
                     or (kind not in ("jsonpath", "jsonpath-as-json", "custom-columns") and arg)):
            if kind in ("jsonpath", "jsonpath-as-json", "custom-columns") and not arg:
                raise fail(f"{kind} format specified but no {'template' if 'json' in kind else 'custom columns'} "
                           "given")
            raise fail(f'unable to match a printer suitable for the output format "{spec}", allowed formats are: '
                       + ",".join(allowed))
        self.kind = kind
        self.arg = arg
        self._template: Any = None
        self._columns: list[tuple[str, Any]] | None = None

    @property
    def human(self) -> bool:
        return self.kind in ("", "wide")

    @property
    def wide(self) -> bool:
        return self.kind == "wide"

    # --- rendering ------------------------------------------------------------------------------------
    def render(self, obj: Obj, name_of: Any = None) -> str:
        """One object or List in this format (not for tables)."""
        if self.kind == "json":
            return dump_json(obj)
        if self.kind == "yaml":
            return dump_yaml(obj)
        if self.kind == "name":
            items = obj["items"] if obj.get("kind") == "List" and "items" in obj else [obj]
            return "".join(name_of(o) + "\n" for o in items)
        if self.kind == "jsonpath":
            return str(self.template().render(without_managed_fields(obj)))
        if self.kind == "jsonpath-as-json":
            results = [v for vs in self.template().results(without_managed_fields(obj)) for v in vs]
            return json.dumps(results, indent=4, ensure_ascii=False) + "\n"
        if self.kind == "custom-columns":
            items = obj["items"] if obj.get("kind") == "List" and "items" in obj else [obj]
            return self.columns_text(items)
        raise AssertionError(self.kind)

    def template(self) -> Any:  # a cli.jsonpath.Template
        if self._template is None:
            from podbay.cli.jsonpath import Template

            self._template = Template(self.arg)
        return self._template

    def columns(self) -> list[tuple[str, Any]]:
        if self._columns is None:
            from podbay.cli.jsonpath import Template, relaxed

            cols: list[tuple[str, Any]] = []
            for part in self.arg.split(","):
                header, sep, expr = part.partition(":")
                if not sep:
                    raise fail(f"unexpected custom-columns spec: {part}, expected <header>:<json-path-expr>")
                cols.append((header, Template(relaxed(expr))))
            self._columns = cols
        return self._columns

    def columns_header(self) -> str:
        return "\t".join(h for h, _ in self.columns()) + "\n"

    def columns_row(self, obj: Obj) -> str:
        from podbay.cli.tableprint import cell_text

        cells = []
        for _, template in self.columns():
            found = [v for vs in template.results(obj) for v in vs]
            cells.append(",".join(cell_text(v) if not isinstance(v, (dict, list)) else _go_print(v) for v in found)
                         if found else "<none>")
        return "\t".join(cells) + "\n"

    def columns_text(self, items: list[Obj], *, header: bool = True) -> str:
        from podbay.cli.tableprint import new_tabwriter

        tw = new_tabwriter()
        if header:
            tw.write(self.columns_header())
        for o in items:
            tw.write(self.columns_row(o))
        return tw.flush()


def _go_print(v: Any) -> str:
    """fmt.Sprint of a decoded JSON map or list: ``map[k:v]``, ``[a b]``."""
    if isinstance(v, dict):
        return "map[" + " ".join(f"{k}:{_go_print(v[k])}" for k in sorted(v)) + "]"
    if isinstance(v, list):
        return "[" + " ".join(_go_print(x) for x in v) + "]"
    from podbay.cli.tableprint import cell_text

    return cell_text(v)


def _columns_file(text: str) -> str:
    """custom-columns-file: a header line and a line of expressions, whitespace separated."""
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) != 2:
        raise fail(f"unexpected custom-columns file format: expected 2 lines, found {len(lines)}")
    headers, exprs = lines[0].split(), lines[1].split()
    if len(headers) != len(exprs):
        raise fail(f"expected {len(headers)} columns, found {len(exprs)}")
    return ",".join(f"{h}:{e}" for h, e in zip(headers, exprs, strict=True))


def as_list(items: list[Obj]) -> Obj:
    """kubectl's -o json/yaml of several objects: a v1 List."""
    return {"apiVersion": "v1", "items": items, "kind": "List", "metadata": dict(LIST_META)}


def without_managed_fields(obj: Any) -> Any:
    """What kubectl prints by default (``--show-managed-fields=false``): no metadata.managedFields."""
    if isinstance(obj, dict):
        if obj.get("kind") == "List" or ("items" in obj and isinstance(obj.get("items"), list)):
            return {**obj, "items": [without_managed_fields(i) for i in obj["items"]]}
        md = obj.get("metadata")
        if isinstance(md, dict) and "managedFields" in md:
            return {**obj, "metadata": {k: v for k, v in md.items() if k != "managedFields"}}
    return obj


def _go_escape(text: str) -> str:
    """encoding/json's HTML-safe escaping (kubectl's JSON is Go's)."""
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def go_json(v: Any) -> str:
    """Go's json.Marshal of decoded JSON: sorted keys, compact, HTML characters escaped."""
    return _go_escape(json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False))


def dump_json(obj: Any) -> str:
    return _go_escape(json.dumps(without_managed_fields(obj), indent=4, sort_keys=True, ensure_ascii=False)) + "\n"


def dump_yaml(obj: Any) -> str:
    import yaml

    class Dumper(yaml.SafeDumper):
        """go-yaml's choice of quotes: double where a plain scalar would be read as something else."""

        def choose_scalar_style(self) -> Any:
            style = super().choose_scalar_style()
            return '"' if style == "'" else style

    def text(dumper: yaml.SafeDumper, value: str) -> Any:
        # go-yaml writes multi-line strings as literal blocks (the emitter falls back to quotes
        # where a block cannot hold the text, as go-yaml's does)
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)

    Dumper.add_representer(str, text)
    return str(yaml.dump(without_managed_fields(obj), Dumper=Dumper, default_flow_style=False, sort_keys=True,
                         allow_unicode=True, width=1 << 30))
