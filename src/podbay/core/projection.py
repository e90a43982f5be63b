"""Payloads of the atomic-writer volumes (configMap, secret, downwardAPI, projected), as data.

Mirrors the kubelet's MakePayload/CollectData functions (pkg/volume/{configmap,secret,downwardapi,
projected}) and the path rules of pkg/volume/util/atomic_writer.go. Pure: objects come in as dicts
(ConfigMap/Secret exactly as the API serves them: secret `data` base64, `stringData` already merged).
Errors are PermanentError in the kubelet's words; the agent reports them as FailedMount events
(wrapped by volumes.plan.setup_failed). Not-found messages are the modern kubelet's (its watch-based
configMap/secret managers use the singular resource: `configmap "x" not found`, `secret "x" not found`).
"""

from __future__ import annotations

import base64
import binascii
import math
import posixpath
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from podbay.api.quantity import parse_quantity
from podbay.errors import NotSupported, PermanentError

DEFAULT_MODE = 0o644
MAX_FILE_NAME_LENGTH = 255
MAX_PATH_LENGTH = 4096

# Plugin directory names under pods/<uid>/volumes/ and the medium of the emptyDir each one wraps
# (configMap stays on disk upstream; secret, downwardAPI and projected are on tmpfs).
CONFIGMAP = "kubernetes.io~configmap"
SECRET = "kubernetes.io~secret"
DOWNWARD_API = "kubernetes.io~downward-api"
PROJECTED = "kubernetes.io~projected"
WRAPPER_MEDIUM = {CONFIGMAP: "", SECRET: "Memory", DOWNWARD_API: "Memory", PROJECTED: "Memory"}
SOURCE_PLUGIN = {"configMap": CONFIGMAP, "secret": SECRET, "downwardAPI": DOWNWARD_API, "projected": PROJECTED}

Obj = dict[str, Any]
Lookup = Callable[[str], Obj | None]  # name -> object in the pod's namespace, None when absent


@dataclass(frozen=True)
class FileProjection:
    data: bytes
    mode: int
    fs_user: int | None = None


Payload = dict[str, FileProjection]


# --- paths (atomic_writer.go validatePath) ---------------------------------------------------------

def validate_path(target: str) -> str:
    """Return the cleaned path or raise PermanentError with the kubelet's message."""
    if target == "":
        raise PermanentError(f'invalid path: must not be empty: "{target}"')
    if target.startswith("/"):
        raise PermanentError(f"invalid path: must be relative path: {target}")
    if len(target) > MAX_PATH_LENGTH:
        raise PermanentError(f"invalid path: must be less than or equal to {MAX_PATH_LENGTH} characters")
    items = target.split("/")
    for item in items:
        if item == "..":
            raise PermanentError(f"invalid path: must not contain '..': {target}")
        if len(item) > MAX_FILE_NAME_LENGTH:
            raise PermanentError(
                f"invalid path: filenames must be less than or equal to {MAX_FILE_NAME_LENGTH} characters"
            )
    if items[0].startswith("..") and len(items[0]) > 2:
        raise PermanentError(f"invalid path: must not start with '..': {target}")
    cleaned = posixpath.normpath(target)
    if cleaned in (".", "") or cleaned.split("/")[0].startswith(".."):
        # "./..data" cleans to a reserved name; "." would be the volume root itself.
        raise PermanentError(f"invalid path: must not start with '..': {target}")
    return cleaned


def validate_payload(payload: Mapping[str, FileProjection]) -> Payload:
    return {validate_path(k): v for k, v in payload.items()}


# --- configMap / secret ----------------------------------------------------------------------------

def _mode(item: Mapping[str, Any], default: int) -> int:
    m = item.get("mode")
    return default if m is None else int(m)


def _source_default_mode(source: Mapping[str, Any], default_mode: int) -> int:
    m = source.get("defaultMode")
    return default_mode if m is None else int(m)


def _b64(value: Any, what: str) -> bytes:
    try:
        return base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise PermanentError(f"illegal base64 data in {what}") from exc


def _configmap_data(cm: Mapping[str, Any]) -> dict[str, bytes]:
    out = {k: str(v).encode() for k, v in (cm.get("data") or {}).items()}
    for k, v in (cm.get("binaryData") or {}).items():
        out.setdefault(k, _b64(v, f"binaryData[{k}]"))  # data wins, as in MakePayload's lookup order
    return out


def _secret_data(secret: Mapping[str, Any]) -> dict[str, bytes]:
    return {k: _b64(v, f"data[{k}]") for k, v in (secret.get("data") or {}).items()}


def _make_payload(
    items: list[Any] | None, data: dict[str, bytes], mode: int, optional: bool, missing_key: str,
) -> Payload:
    payload: Payload = {}
    if not items:
        for key, value in data.items():
            payload[validate_path(key)] = FileProjection(value, mode)
        return payload
    for ktp in items:
        key = ktp.get("key", "")
        if key not in data:
            if optional:
                continue
            raise PermanentError(f"{missing_key}: {key}")
        payload[validate_path(ktp.get("path", ""))] = FileProjection(data[key], _mode(ktp, mode))
    return payload


def configmap_payload(
    source: Mapping[str, Any], configmap: Mapping[str, Any] | None, default_mode: int = DEFAULT_MODE,
) -> Payload:
    """configMap volume source (or projected configMap projection) -> payload."""
    optional = bool(source.get("optional"))
    if configmap is None:
        if not optional:
            raise PermanentError(f'configmap "{source.get("name", "")}" not found')
        configmap = {}
    return _make_payload(
        source.get("items"), _configmap_data(configmap), _source_default_mode(source, default_mode),
        optional, "configmap references non-existent config key",
    )


def secret_payload(
    source: Mapping[str, Any], secret: Mapping[str, Any] | None, default_mode: int = DEFAULT_MODE,
) -> Payload:
    """secret volume source (`secretName`) or projected secret projection (`name`) -> payload."""
    optional = bool(source.get("optional"))
    if secret is None:
        if not optional:
            name = source.get("secretName", source.get("name", ""))
            raise PermanentError(f'secret "{name}" not found')
        secret = {}
    return _make_payload(
        source.get("items"), _secret_data(secret), _source_default_mode(source, default_mode),
        optional, "references non-existent secret key",
    )


# --- downwardAPI (pkg/fieldpath) -------------------------------------------------------------------

def go_quote(s: str) -> str:
    """Go's %q / strconv.Quote for the characters labels and annotations can hold."""
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch in _GO_ESCAPES:
            out.append(_GO_ESCAPES[ch])
        elif o < 0x20 or o == 0x7F:
            out.append(f"\\x{o:02x}")
        elif ch.isprintable() or ch == " ":
            out.append(ch)
        elif o < 0x10000:
            out.append(f"\\u{o:04x}")
        else:
            out.append(f"\\U{o:08x}")
    out.append('"')
    return "".join(out)


_GO_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def format_map(m: Mapping[str, str] | None) -> str:
    """fieldpath.FormatMap: `key="value"` lines in key order, no trailing newline."""
    return "\n".join(f"{k}={go_quote(str(v))}" for k, v in sorted((m or {}).items()))


_SUBSCRIPT = re.compile(r"^(.+?)\['(.*)'\]$", re.S)


def field_value(pod: Mapping[str, Any], field_path: str) -> str:
    """fieldpath.ExtractFieldPathAsString for the metadata fields a downwardAPI volume may use."""
    meta = pod.get("metadata") or {}
    m = _SUBSCRIPT.match(field_path)
    if m:
        path, key = m.group(1), m.group(2)
        if path == "metadata.annotations":
            return str((meta.get("annotations") or {}).get(key, ""))
        if path == "metadata.labels":
            return str((meta.get("labels") or {}).get(key, ""))
        raise PermanentError(f'fieldPath "{field_path}" does not support subscript')
    if field_path == "metadata.annotations":
        return format_map(meta.get("annotations"))
    if field_path == "metadata.labels":
        return format_map(meta.get("labels"))
    if field_path in ("metadata.name", "metadata.namespace", "metadata.uid"):
        return str(meta.get(field_path.split(".", 1)[1], ""))
    raise PermanentError(f"unsupported fieldPath: {field_path}")


def _find_container(pod: Mapping[str, Any], name: str) -> Obj:
    spec = pod.get("spec") or {}
    for c in [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]:
        if c.get("name") == name:
            return dict(c)
    raise PermanentError(f"container {name} not found")


_MERGED = ("cpu", "memory", "ephemeral-storage")


def resource_value(
    selector: Mapping[str, Any], pod: Mapping[str, Any], node_allocatable: Mapping[str, Any],
) -> str:
    """fieldpath.ExtractResourceValueByContainerNameAndNodeAllocatable (limits default to allocatable)."""
    container = _find_container(pod, str(selector.get("containerName", "")))
    res = container.get("resources") or {}
    limits = dict(res.get("limits") or {})
    requests = dict(res.get("requests") or {})
    for r in _MERGED:
        if (r not in limits or parse_quantity(limits[r]) == 0) and r in node_allocatable:
            limits[r] = node_allocatable[r]
    resource = str(selector.get("resource", ""))
    divisor_raw = selector.get("divisor")
    divisor = parse_quantity(divisor_raw) if divisor_raw not in (None, "") else Fraction(0)
    if divisor == 0:
        divisor = Fraction(1)  # an unset (zero) divisor means 1, as in ExtractContainerResourceValue
    kind, _, name = resource.partition(".")
    if kind not in ("limits", "requests") or not (name in _MERGED or name.startswith("hugepages-")):
        raise PermanentError(f"unsupported container resource : {resource}")
    value = parse_quantity((limits if kind == "limits" else requests).get(name, 0))
    if name == "cpu":
        milli, div = math.ceil(value * 1000), math.ceil(divisor * 1000)
    else:
        milli, div = math.ceil(value), math.ceil(divisor)
    if div == 0:
        raise PermanentError(f"invalid divisor for {resource}")
    return str(math.ceil(Fraction(milli, div)))


def downward_payload(
    source: Mapping[str, Any], pod: Mapping[str, Any], default_mode: int = DEFAULT_MODE,
    node_allocatable: Mapping[str, Any] | None = None,
) -> Payload:
    """downwardapi.CollectData: every item is evaluated, the errors are aggregated."""
    mode = _source_default_mode(source, default_mode)
    payload: Payload = {}
    errors: list[str] = []
    for item in source.get("items") or []:
        try:
            path = validate_path(str(item.get("path", "")))
            if item.get("fieldRef") is not None:
                text = field_value(pod, str(item["fieldRef"].get("fieldPath", "")))
            elif item.get("resourceFieldRef") is not None:
                text = resource_value(item["resourceFieldRef"], pod, node_allocatable or {})
            else:
                text = ""
        except PermanentError as exc:
            errors.append(str(exc))
            continue
        payload[path] = FileProjection(text.encode(), _mode(item, mode))
    if errors:
        raise PermanentError(_aggregate(errors))
    return payload


def _aggregate(errors: list[str]) -> str:
    """utilerrors.NewAggregate(...).Error(): one message alone, several as `[a, b]` (deduplicated)."""
    uniq = list(dict.fromkeys(errors))
    return uniq[0] if len(uniq) == 1 else "[" + ", ".join(uniq) + "]"


# --- projected -------------------------------------------------------------------------------------

TokenLookup = Callable[[str, int], str]  # (audience, expirationSeconds) -> a token bound to the pod


def fs_user_from(pod: Mapping[str, Any]) -> int | None:
    """volumeutil.FsUserFrom: the one effective runAsUser all init and app containers share, else None."""
    spec = pod.get("spec") or {}
    pod_user = (spec.get("securityContext") or {}).get("runAsUser")
    fs_user: int | None = None
    for c in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
        user = (c.get("securityContext") or {}).get("runAsUser", pod_user)
        if user is None or (fs_user is not None and fs_user != int(user)):
            return None
        fs_user = int(user)
    return fs_user


def token_projection(proj: Mapping[str, Any], pod: Mapping[str, Any], lookup_token: TokenLookup | None,
                     mode: int) -> Payload:
    """The serviceAccountToken projection: a token from the kubelet's token manager at `path`.

    As projected.collectData: mode 0600 (owned by the pod's common runAsUser) when the pod has an
    fsGroup or such a user, else the volume's defaultMode.
    """
    if lookup_token is None:
        raise PermanentError("service account tokens are not available on this agent")
    fs_user = fs_user_from(pod)
    fs_group = ((pod.get("spec") or {}).get("securityContext") or {}).get("fsGroup")
    if fs_user is not None or fs_group is not None:
        mode = 0o600
    token = lookup_token(str(proj.get("audience") or ""), int(proj.get("expirationSeconds") or 3600))
    return {validate_path(str(proj.get("path", ""))): FileProjection(token.encode(), mode, fs_user)}


def projected_payload(
    source: Mapping[str, Any], pod: Mapping[str, Any], lookup_configmap: Lookup, lookup_secret: Lookup,
    default_mode: int = DEFAULT_MODE, node_allocatable: Mapping[str, Any] | None = None,
    lookup_token: TokenLookup | None = None,
) -> Payload:
    """projected.collectData: sources in order, later ones overwrite earlier paths; errors aggregated."""
    mode = _source_default_mode(source, default_mode)
    payload: Payload = {}
    errors: list[str] = []
    for proj in source.get("sources") or []:
        try:
            if proj.get("serviceAccountToken") is not None:
                part = token_projection(proj["serviceAccountToken"], pod, lookup_token, mode)
            elif proj.get("secret") is not None:
                s = proj["secret"]
                part = secret_payload({**s, "defaultMode": mode}, lookup_secret(str(s.get("name", ""))))
            elif proj.get("configMap") is not None:
                c = proj["configMap"]
                part = configmap_payload({**c, "defaultMode": mode}, lookup_configmap(str(c.get("name", ""))))
            elif proj.get("downwardAPI") is not None:
                d = proj["downwardAPI"]
                part = downward_payload({**d, "defaultMode": mode}, pod, mode, node_allocatable)
            else:
                kinds = ", ".join(sorted(proj)) or "empty"
                raise NotSupported(f"projected volume source {kinds} is not supported by podbay")
        except PermanentError as exc:
            errors.append(str(exc))
            continue
        payload.update(part)
    if errors:
        raise PermanentError(_aggregate(errors))
    return payload


def projected_has_secret(source: Mapping[str, Any]) -> bool:
    return any(p.get("secret") is not None for p in source.get("sources") or [])


def plugin_for(volume: Mapping[str, Any]) -> str | None:
    """The plugin dir name of an atomic-writer volume, None for other volume types."""
    for key, plugin in SOURCE_PLUGIN.items():
        if volume.get(key) is not None:
            return plugin
    return None
