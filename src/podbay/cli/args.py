"""Arguments as kubectl reads them: resource type/name arguments, Go durations, boolean flags.

``resource_args`` is kubectl's ``ResourceTypeOrNameArgs``: ``TYPE[,TYPE...] [NAME...]`` or
``TYPE/NAME...`` (every argument in that form once one is), each type resolved through discovery
(a category such as ``all`` expands to its resources).
"""

from __future__ import annotations

import re
from typing import Any

from podbay.cli.errors import CliError, fail


class Target:
    """One resource type of a command and the names given for it (empty: the whole collection)."""

    def __init__(self, res: Any, names: list[str], from_category: bool = False) -> None:
        self.res = res
        self.names = names
        self.from_category = from_category

    def __repr__(self) -> str:
        return f"Target({self.res!r}, {self.names!r})"


def _resolve(discovery: Any, type_arg: str) -> tuple[list[Any], bool]:
    from podbay.cli.discovery import NoResourceType

    if not type_arg:
        raise fail('arguments in resource/name form must have a single resource and name')
    try:
        found = discovery.resolve(type_arg)
    except NoResourceType as e:
        raise fail(str(e)) from None
    members = list(found)
    single = len(members) == 1 and type_arg.lower() not in members[0].categories
    return members, not single


def resource_args(discovery: Any, args: tuple[str, ...] | list[str], verb: str = "get", *,
                  names_required: bool = False, allow_categories: bool = True) -> list[Target]:
    """The command's targets in argument order (types in the order given, names in the order given)."""
    if not args:
        raise fail(f'You must specify the type of resource to {verb}. Use "podbay api-resources" for a complete '
                   "list of supported resources.")
    targets: list[Target] = []
    if any("/" in a for a in args):
        if "/" not in args[0]:
            raise fail("there is no need to specify a resource type as a separate argument when passing arguments "
                       f"in resource/name form (e.g. 'podbay {verb} resource/<resource_name>' instead of "
                       f"'podbay {verb} resource resource/<resource_name>'")
        for a in args:
            type_arg, _, name = a.partition("/")
            if not name or "/" not in a:
                raise fail(f'arguments in resource/name form must have a single resource and name: "{a}"')
            members, category = _resolve(discovery, type_arg)
            if category:
                raise fail(f'arguments in resource/name form must have a single resource and name: "{a}"')
            res = members[0]
            if targets and targets[-1].res is res:
                targets[-1].names.append(name)
            else:
                targets.append(Target(res, [name]))
        return targets
    names = list(args[1:])
    for type_arg in args[0].split(","):
        members, category = _resolve(discovery, type_arg)
        if category and not allow_categories:
            raise fail(f'the server doesn\'t have a resource type "{type_arg}"')
        for res in members:
            if not any(t.res is res for t in targets):
                targets.append(Target(res, list(names), category))
    if names_required and not names:
        raise fail("resource(s) were provided, but no name was specified")
    return targets


def single_target(discovery: Any, args: tuple[str, ...] | list[str], verb: str) -> tuple[Any, list[str]]:
    """Commands of one resource type (scale, rollout, label...): (resource, names)."""
    targets = resource_args(discovery, args, verb, allow_categories=False)
    if len(targets) != 1:
        raise fail(f"podbay {verb} works on one resource type at a time")
    return targets[0].res, targets[0].names


def parse_duration(text: str) -> float:
    """Go duration (``30s``, ``1m30s``, ``500ms``, ``0``) -> seconds; a bare number is seconds."""
    text = text.strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    units = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise fail(f'invalid duration "{text}"')
    return sum(float(n) * units[u] for n, u in parts)


def bool_flag(value: str, name: str) -> bool:
    v = value.lower()
    if v in ("true", "1", "t", "yes"):
        return True
    if v in ("false", "0", "f", "no"):
        return False
    raise fail(f'invalid argument "{value}" for "--{name}" flag: strconv.ParseBool: parsing "{value}": invalid syntax')


def key_values(pairs: tuple[str, ...] | list[str], what: str) -> tuple[dict[str, str], list[str]]:
    """``k=v`` and ``k-`` arguments of label/annotate -> (to set, to remove)."""
    set_: dict[str, str] = {}
    remove: list[str] = []
    for p in pairs:
        if p.endswith("-") and "=" not in p:
            remove.append(p[:-1])
        elif "=" in p:
            k, _, v = p.partition("=")
            if not k:
                raise fail(f"invalid {what} spec: {p}")
            set_[k] = v
        else:
            raise fail(f"invalid {what} spec: {p}")
    for k in remove:
        if k in set_:
            raise fail(f"can not both modify and remove {what} in the same command")
    return set_, remove


__all__ = ["CliError", "Target", "bool_flag", "key_values", "parse_duration", "resource_args", "single_target"]
