"""Process argv, environment and working directory of a container, the way kubelet + a CRI runtime do.

* argv: Kubernetes command/args over the image Entrypoint/Cmd (containerd's rules), with kubelet's
  ``$(VAR)`` expansion (third_party/forked/golang/expansion): ``$$`` is a literal ``$``, unresolved
  references stay as written.
* env: image env, then ``HOSTNAME``, then the container env (downward API resolved, ``$(VAR)``
  expanded against the variables defined before it); ``PATH`` is always present.
* subPathExpr: the stricter expansion of ``ExpandContainerVolumeMounts`` (empty counts as missing).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from podbay.api.names import is_relaxed_env_var_name
from podbay.api.quantity import parse_quantity
from podbay.errors import NotSupported, PermanentError

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# (kind, name, key) -> value, or None when the object/key does not exist.
Lookup = Callable[[str, str, str], "str | None"]
# (kind, name) -> the object's data as strings ("configmap": data + binaryData, "secret": decoded data),
# or None when the object does not exist.
ObjectLookup = Callable[[str, str], "Mapping[str, str] | None"]
Warn = Callable[[str, str], None]      # (reason, message): a Warning event on the pod


# --- $(VAR) expansion ----------------------------------------------------------------------------


def expand(text: str, mapping: Callable[[str], str]) -> str:
    """kubelet's expansion.Expand: ``$(NAME)`` -> mapping(NAME), ``$$`` -> ``$``, else copied."""
    out: list[str] = []
    checkpoint = 0
    cursor = 0
    n = len(text)
    while cursor < n:
        if text[cursor] == "$" and cursor + 1 < n:
            out.append(text[checkpoint:cursor])
            nxt = text[cursor + 1]
            if nxt == "$":
                out.append("$")
                advance = 1
            elif nxt == "(":
                close = text.find(")", cursor + 2)
                if close < 0:
                    out.append("$(")  # incomplete reference stays literal
                    advance = 1
                else:
                    out.append(mapping(text[cursor + 2 : close]))
                    advance = close - cursor
            else:
                out.append("$" + nxt)
                advance = 1
            cursor += advance
            checkpoint = cursor + 1
        cursor += 1
    out.append(text[checkpoint:])
    return "".join(out)


def mapping_for(*contexts: Mapping[str, str]) -> Callable[[str], str]:
    """MappingFuncFor: first context that defines the name wins; unknown names stay ``$(NAME)``."""

    def lookup(name: str) -> str:
        for ctx in contexts:
            if name in ctx:
                return ctx[name]
        return f"$({name})"

    return lookup


# --- argv ----------------------------------------------------------------------------------------


def resolve_argv(container: Mapping[str, Any], image_config: Mapping[str, Any],
                 env: Mapping[str, str] | None = None) -> list[str]:
    """Kubernetes command/args over the image: command wins over Entrypoint, args over Cmd.

    ``env`` is the container's own env (as from :func:`container_env`), not the image env.
    """
    mapping = mapping_for(env or {})
    command = [expand(str(c), mapping) for c in container.get("command") or []]
    args = [expand(str(a), mapping) for a in container.get("args") or []]
    if not command:
        if not args:
            args = [str(c) for c in image_config.get("Cmd") or []]
        entrypoint = [str(e) for e in image_config.get("Entrypoint") or []]
        if entrypoint != [""]:  # Docker's way of clearing the entrypoint
            command = entrypoint
    argv = command + args
    if not argv:
        raise PermanentError("no command specified")
    return argv


def resolve_cwd(container: Mapping[str, Any], image_config: Mapping[str, Any]) -> str:
    return str(container.get("workingDir") or image_config.get("WorkingDir") or "/")


# --- env -----------------------------------------------------------------------------------------


def pod_hostname(pod: Mapping[str, Any]) -> str:
    """spec.hostname or the pod name, cut to 63 characters without a trailing '-' or '.'."""
    spec = pod.get("spec") or {}
    name = str(spec.get("hostname") or (pod.get("metadata") or {}).get("name") or "")
    return name[:63].rstrip("-.") if len(name) > 63 else name


_SUBSCRIPT = re.compile(r"^metadata\.(labels|annotations)\['(.*)'\]$")


def field_ref_value(pod: Mapping[str, Any], path: str, pod_ip: str, node_name: str, host_ip: str) -> str:
    """Downward API fieldRef.fieldPath (v1) -> string, as ExtractFieldPathAsString + kubelet's podIP/hostIP."""
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    if m := _SUBSCRIPT.match(path):
        return str((meta.get(m.group(1)) or {}).get(m.group(2), ""))
    simple: dict[str, Callable[[], str]] = {
        "metadata.name": lambda: str(meta.get("name", "")),
        "metadata.namespace": lambda: str(meta.get("namespace", "")),
        "metadata.uid": lambda: str(meta.get("uid", "")),
        "spec.nodeName": lambda: str(spec.get("nodeName") or node_name),
        "spec.serviceAccountName": lambda: str(spec.get("serviceAccountName", "")),
        "status.podIP": lambda: pod_ip,
        "status.podIPs": lambda: pod_ip,
        "status.hostIP": lambda: host_ip,
        "status.hostIPs": lambda: host_ip,
    }
    if path in simple:
        return simple[path]()
    if path in ("metadata.labels", "metadata.annotations"):
        items = meta.get(path.split(".")[1]) or {}
        return "\n".join(f'{k}="{v}"' for k, v in sorted(items.items()))
    raise NotSupported(f"fieldRef {path!r} is not supported by podbay yet")


def resource_field_value(
    pod: Mapping[str, Any],
    container: Mapping[str, Any],
    ref: Mapping[str, Any],
    allocatable: Mapping[str, str] | None = None,
) -> str:
    """resourceFieldRef -> string (kubelet ExtractContainerResourceValue, ceil(value / divisor))."""
    target = container
    if ref.get("containerName"):
        spec = pod.get("spec") or {}
        named = [c for c in (spec.get("containers") or []) + (spec.get("initContainers") or [])
                 if c.get("name") == ref["containerName"]]
        if not named:
            raise PermanentError(f"container {ref['containerName']!r} not found for resourceFieldRef")
        target = named[0]
    resource = str(ref.get("resource", ""))
    kind, _, res = resource.partition(".")
    if kind not in ("limits", "requests") or res not in ("cpu", "memory", "ephemeral-storage"):
        raise NotSupported(f"resourceFieldRef {resource!r} is not supported by podbay yet")
    values = (target.get("resources") or {}).get(kind) or {}
    raw = values.get(res)
    if raw is None and kind == "limits":
        # An unset limit reads as node allocatable, as the kubelet does.
        if allocatable is None or res not in allocatable:
            raise NotSupported(f"resourceFieldRef {resource!r} without a limit is not supported by podbay yet")
        raw = allocatable[res]
    value = parse_quantity(raw) if raw is not None else parse_quantity(0)
    divisor = parse_quantity(ref.get("divisor") or "1")
    if divisor <= 0:
        raise PermanentError(f"invalid divisor {ref.get('divisor')!r} in resourceFieldRef")
    if res == "cpu":
        # MilliValue() of both, then ceil of the ratio.
        return str(math.ceil(math.ceil(value * 1000) / math.ceil(divisor * 1000)))
    return str(math.ceil(math.ceil(value) / math.ceil(divisor)))


def container_env(
    pod: Mapping[str, Any],
    container: Mapping[str, Any],
    pod_ip: str,
    node_name: str,
    host_ip: str = "",
    lookup: Lookup | None = None,
    allocatable: Mapping[str, str] | None = None,
    objects: ObjectLookup | None = None,
    warn: Warn | None = None,
    service_env: Mapping[str, str] | None = None,
) -> list[tuple[str, str]]:
    """The container's own variables (envFrom, then env), resolved and expanded (``$(VAR)`` sees the
    variables defined before it, then the service variables); later names win but keep the
    position of their first definition."""
    env: dict[str, str] = {}
    ns = str((pod.get("metadata") or {}).get("namespace") or "default")
    svc_env = service_env or {}
    for source in container.get("envFrom") or []:
        for k, v in _env_from(source, objects, ns, warn):
            env[k] = v
    for var in container.get("env") or []:
        name = str(var["name"])
        if "valueFrom" in var and var["valueFrom"] is not None:
            value = _value_from(pod, container, name, var["valueFrom"], pod_ip, node_name, host_ip, lookup,
                                allocatable, objects)
            if value is None:  # optional ref that does not exist: the variable is not set
                continue
        else:
            value = expand(str(var.get("value") or ""), mapping_for(env, svc_env))
        env[name] = value
    return list(env.items())


def resolve_env(
    pod: Mapping[str, Any],
    container: Mapping[str, Any],
    image_env: Iterable[str],
    pod_ip: str,
    node_name: str,
    host_ip: str = "",
    lookup: Lookup | None = None,
    *,
    hostname: str | None = None,
    allocatable: Mapping[str, str] | None = None,
    objects: ObjectLookup | None = None,
    warn: Warn | None = None,
    service_env: Mapping[str, str] | None = None,
) -> list[str]:
    """Final ``K=V`` list for the OCI spec: image env, HOSTNAME, container env, then the service
    variables the container env does not define (kubelet makeEnvironmentVariables); PATH guaranteed."""
    merged: dict[str, str] = {}
    for item in image_env:
        k, sep, v = item.partition("=")
        if k:
            merged[k] = v if sep else ""
    merged["HOSTNAME"] = hostname if hostname is not None else pod_hostname(pod)
    own = container_env(pod, container, pod_ip, node_name, host_ip, lookup, allocatable, objects, warn,
                        service_env)
    merged.update(own)
    defined = {k for k, _ in own}
    merged.update((k, v) for k, v in (service_env or {}).items() if k not in defined)
    out = [f"{k}={v}" for k, v in merged.items()]
    if "PATH" not in merged:
        out.insert(0, f"PATH={DEFAULT_PATH}")
    return out


def _value_from(
    pod: Mapping[str, Any],
    container: Mapping[str, Any],
    name: str,
    source: Mapping[str, Any],
    pod_ip: str,
    node_name: str,
    host_ip: str,
    lookup: Lookup | None,
    allocatable: Mapping[str, str] | None,
    objects: ObjectLookup | None = None,
) -> str | None:
    if "fieldRef" in source:
        return field_ref_value(pod, str(source["fieldRef"].get("fieldPath", "")), pod_ip, node_name, host_ip)
    if "resourceFieldRef" in source:
        return resource_field_value(pod, container, source["resourceFieldRef"], allocatable)
    for field, kind in (("configMapKeyRef", "configmap"), ("secretKeyRef", "secret")):
        if field in source:
            ref = source[field]
            if lookup is None:
                raise NotSupported(f"env {name}: {field} is not supported by podbay yet")
            value = lookup(kind, str(ref.get("name", "")), str(ref.get("key", "")))
            if value is None:
                if ref.get("optional"):
                    return None
                if objects is not None and objects(kind, str(ref.get("name", ""))) is None:
                    # makeEnvironmentVariables: the object itself is missing
                    raise PermanentError(f'{kind} "{ref.get("name")}" not found')
                obj = "ConfigMap" if kind == "configmap" else "Secret"
                ns = (pod.get("metadata") or {}).get("namespace", "default")
                raise PermanentError(f"couldn't find key {ref.get('key')} in {obj} {ns}/{ref.get('name')}")
            return value
    raise NotSupported(f"env {name}: valueFrom {sorted(source)} is not supported by podbay yet")


def _env_from(source: Mapping[str, Any], objects: ObjectLookup | None, namespace: str,
              warn: Warn | None) -> list[tuple[str, str]]:
    """makeEnvironmentVariables' envFrom: every key with the prefix, in key order; a missing object
    fails the start unless optional; keys that are no variable names are skipped with an event."""
    for field, kind, label in (("configMapRef", "configmap", "configMap"), ("secretRef", "secret", "secret")):
        ref = source.get(field)
        if ref is None:
            continue
        name = str(ref.get("name", ""))
        data = objects(kind, name) if objects is not None else None
        if data is None:
            if ref.get("optional"):
                return []
            raise PermanentError(f'{kind} "{name}" not found')
        prefix = str(source.get("prefix") or "")
        out, invalid = [], []
        for key in sorted(data):
            var = prefix + key
            if is_relaxed_env_var_name(var):
                invalid.append(var)
                continue
            out.append((var, data[key]))
        if invalid and warn is not None:
            warn("InvalidEnvironmentVariableNames",
                 f"Keys [{', '.join(invalid)}] from the EnvFrom {label} {namespace}/{name} were skipped since "
                 "they are considered invalid environment variable names.")
        return out
    return []


# --- subPathExpr ---------------------------------------------------------------------------------


def expand_subpath_expr(expr: str, env: Mapping[str, str]) -> str:
    """ExpandContainerVolumeMounts: undefined or empty variables are errors, sorted in the message."""
    missing: set[str] = set()

    def lookup(name: str) -> str:
        value = env.get(name, "")
        if not value:
            missing.add(name)
        return value

    expanded = expand(expr, lookup)
    if missing:
        raise ValueError("missing value for " + ", ".join(sorted(missing)))
    return expanded
