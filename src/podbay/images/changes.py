"""``--change`` instructions of ``podman import`` applied to an image config (pure).

Supported: ENV, CMD, ENTRYPOINT, WORKDIR, USER, LABEL, STOPSIGNAL, EXPOSE. Others raise ValueError
instead of being silently dropped.
"""

from __future__ import annotations

import copy
import json
import shlex
from collections.abc import Iterable
from typing import Any

SUPPORTED = ("ENV", "CMD", "ENTRYPOINT", "WORKDIR", "USER", "LABEL", "STOPSIGNAL", "EXPOSE")


def parse_change(change: str) -> tuple[str, str]:
    """``"ENV A=1"`` -> ``("ENV", "A=1")``; raises ValueError for unknown/empty instructions."""
    text = change.strip()
    instr, _, value = text.partition(" ")
    instr = instr.upper()
    value = value.strip()
    if instr not in SUPPORTED:
        raise ValueError(f'invalid change "{change}" - invalid instruction {instr or "(empty)"}'
                         f" (supported: {', '.join(SUPPORTED)})")
    if not value:
        raise ValueError(f'invalid change "{change}" - {instr} requires a value')
    return instr, value


def _command(value: str) -> list[str]:
    """JSON (exec) form as is; shell form wrapped in ``/bin/sh -c`` as Docker does."""
    if value.startswith("["):
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            parsed = None
        if isinstance(parsed, list) and all(isinstance(x, str) for x in parsed):
            return parsed
    return ["/bin/sh", "-c", value]


def _pairs(instr: str, value: str) -> list[tuple[str, str]]:
    """``k=v k2="v 2"`` pairs, or the legacy ``k v`` form (one pair, rest of the line is the value)."""
    try:
        words = shlex.split(value)
    except ValueError as exc:
        raise ValueError(f"invalid {instr} {value!r}: {exc}") from exc
    if words and "=" not in words[0]:
        key, _, rest = value.partition(" ")
        if not rest.strip():
            raise ValueError(f"{instr} names must have a value: {value!r}")
        return [(key, rest.strip())]
    pairs = []
    for w in words:
        key, eq, val = w.partition("=")
        if not eq or not key:
            raise ValueError(f"invalid {instr} {value!r}: {w!r} is not key=value")
        pairs.append((key, val))
    return pairs


def _set_env(env: list[str], key: str, val: str) -> list[str]:
    out = [e for e in env if e.partition("=")[0] != key]
    out.append(f"{key}={val}")
    return out


def apply_changes(config: dict[str, Any], changes: Iterable[str]) -> dict[str, Any]:
    """Return a new OCI ``config`` object (Env, Cmd, ...) with the changes applied in order."""
    out = copy.deepcopy(config)
    for change in changes:
        instr, value = parse_change(change)
        if instr == "ENV":
            env = list(out.get("Env") or [])
            for k, v in _pairs(instr, value):
                env = _set_env(env, k, v)
            out["Env"] = env
        elif instr == "LABEL":
            labels = dict(out.get("Labels") or {})
            labels.update(_pairs(instr, value))
            out["Labels"] = labels
        elif instr == "CMD":
            out["Cmd"] = _command(value)
        elif instr == "ENTRYPOINT":
            out["Entrypoint"] = _command(value)
        elif instr == "WORKDIR":
            out["WorkingDir"] = value
        elif instr == "USER":
            out["User"] = value
        elif instr == "STOPSIGNAL":
            out["StopSignal"] = value
        elif instr == "EXPOSE":
            ports = dict(out.get("ExposedPorts") or {})
            for p in value.split():
                ports[p if "/" in p else p + "/tcp"] = {}
            out["ExposedPorts"] = ports
    return out
