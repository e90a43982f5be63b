"""Pod validation (pkg/apis/core/validation) on a *defaulted* v1 Pod dict.

Errors come out in ValidatePodSpec's order with Kubernetes' exact paths and messages (SEMANTICS §5).
Upstream rules only; what podbay does not implement is rejected by the ONE support table
(``api/support.py``), applied after them.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

from podbay.api import names, quantity, seccomp
from podbay.api.defaults import VOLUME_SOURCES
from podbay.api.fielderror import (
    FieldError,
    duplicate,
    forbidden,
    invalid,
    not_found,
    not_supported,
    required,
    too_long,
)

__all__ = [
    "FieldError",
    "validate_object_meta",
    "validate_object_meta_update",
    "validate_pod",
    "validate_pod_update",
]

Errs = list[FieldError]
Obj = dict[str, Any]

MAX_INT32 = 2**31 - 1
NEGATIVE_MSG = "must be greater than or equal to 0"
FILE_MODE_MSG = "must be a number between 0 and 0777 (octal), both inclusive"
ANNOTATIONS_MAX = 256 * 1024
INIT_FORBIDDEN = "may not be set for init containers without restartPolicy=Always"

# Volume sources podbay lets through validation; the agent decides what it can mount.
SUPPORTED_VOLUME_SOURCES = (
    "emptyDir", "hostPath", "configMap", "secret", "downwardAPI", "projected", "persistentVolumeClaim", "nfs",
)  # fmt: skip
HOST_PATH_TYPES = (
    "",
    "BlockDevice",
    "CharDevice",
    "Directory",
    "DirectoryOrCreate",
    "File",
    "FileOrCreate",
    "Socket",
)
PROPAGATIONS = ("Bidirectional", "HostToContainer", "None")
RRO_MODES = ("Disabled", "Enabled", "IfPossible")
PROTOCOLS = ("SCTP", "TCP", "UDP")
ENV_FIELD_PATHS = (
    "metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName", "spec.serviceAccountName",
    "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs",
)  # fmt: skip
VOLUME_FIELD_PATHS = (
    "metadata.annotations",
    "metadata.labels",
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
)
STANDARD_RESOURCES = ("cpu", "memory", "ephemeral-storage")
UPDATABLE_SPEC_FIELDS = (
    "`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,"
    "`spec.tolerations` (only additions to existing tolerations),"
    "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)"
)


# ---------------------------------------------------------------------------------------------- helpers


def _dict(v: Any) -> Obj:
    return v if isinstance(v, dict) else {}


def _items(v: Any) -> list[tuple[int, Obj]]:
    """(index, item) of a list of objects; wrong shapes are handled as empty objects."""
    if not isinstance(v, list):
        return []
    return [(i, x if isinstance(x, dict) else {}) for i, x in enumerate(v)]


def _str(v: Any) -> str:
    return v if isinstance(v, str) else ("" if v is None else str(v))


def _int_field(obj: Obj, key: str, path: str, errs: Errs) -> int | None:
    """An optional integer; non-integers are reported (Go's decoder would reject them)."""
    v = obj.get(key)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int):
        errs.append(invalid(path, v, "must be an integer"))
        return None
    return v


def _label_errs(value: str, path: str) -> Errs:
    return [invalid(path, value, m) for m in names.is_dns1123_label(value)]


def _path_no_backsteps(p: str, path: str) -> Errs:
    if ".." in p.split("/"):
        return [invalid(path, p, "must not contain '..'")]
    return []


def _local_descending_path(p: str, path: str) -> Errs:
    errs = []
    if p.startswith("/"):
        errs.append(invalid(path, p, "must be a relative path"))
    return errs + _path_no_backsteps(p, path)


def _local_non_reserved_path(p: str, path: str) -> Errs:
    errs = _local_descending_path(p, path)
    if p.startswith(".."):
        errs.append(invalid(path, p, "must not start with '..'"))
    return errs


def _file_mode(obj: Obj, key: str, path: str) -> Errs:
    errs: Errs = []
    mode = _int_field(obj, key, path, errs)
    if mode is not None and not 0 <= mode <= 0o777:
        errs.append(invalid(path, mode, FILE_MODE_MSG))
    return errs


def _is_true(v: Any) -> bool:
    return v is True


# ---------------------------------------------------------------------------------------------- metadata


def _validate_string_map(m: Any, path: str) -> tuple[Obj, Errs]:
    if m is None:
        return {}, []
    if not isinstance(m, dict):
        return {}, [invalid(path, m, "must be a map of strings")]
    errs = [invalid(f"{path}[{k}]", v, "must be a string") for k, v in m.items() if not isinstance(v, str)]
    return {str(k): v for k, v in m.items() if isinstance(v, str)}, errs


def validate_labels(labels: Any, path: str) -> Errs:
    m, errs = _validate_string_map(labels, path)
    for k, v in m.items():
        errs += [invalid(path, k, msg) for msg in names.is_qualified_name(k)]
        errs += [invalid(f"{path}[{k}]", v, msg) for msg in names.is_label_value(v)]
    return errs


def validate_annotations(annotations: Any, path: str) -> Errs:
    m, errs = _validate_string_map(annotations, path)
    total = 0
    for k, v in m.items():
        errs += [invalid(path, k, msg) for msg in names.is_qualified_name(k.lower())]
        total += len(k.encode()) + len(v.encode())
    if total > ANNOTATIONS_MAX:
        errs.append(too_long(path, ANNOTATIONS_MAX))
    return errs


def validate_object_meta(meta: Any, *, namespaced: bool = True, path: str = "metadata",
                         name_check: Callable[[str], list[str]] = names.is_dns1123_subdomain) -> Errs:
    """ValidateObjectMeta; names are DNS subdomains (Pod, ConfigMap, Secret) unless name_check says
    otherwise (Service: DNS-1035 labels)."""
    meta = _dict(meta)
    errs: Errs = []
    gen = _str(meta.get("generateName"))
    if gen:
        # prefix names may end in '-' (maskTrailingDash)
        masked = gen[:-1] + "a" if gen.endswith("-") else gen
        errs += [invalid(f"{path}.generateName", gen, m) for m in name_check(masked)]
    name = _str(meta.get("name"))
    if not name:
        errs.append(required(f"{path}.name", "name or generateName is required"))
    else:
        errs += [invalid(f"{path}.name", name, m) for m in name_check(name)]
    if namespaced:
        ns = _str(meta.get("namespace"))
        if not ns:
            errs.append(required(f"{path}.namespace"))
        else:
            errs += _label_errs(ns, f"{path}.namespace")
    gen_no = meta.get("generation")
    if isinstance(gen_no, int) and gen_no < 0:
        errs.append(invalid(f"{path}.generation", gen_no, NEGATIVE_MSG))
    errs += validate_labels(meta.get("labels"), f"{path}.labels")
    errs += validate_annotations(meta.get("annotations"), f"{path}.annotations")
    return errs


def validate_object_meta_update(new: Any, old: Any, path: str = "metadata") -> Errs:
    """ValidateObjectMetaUpdate for what a client can send: the registry has already taken uid and
    creationTimestamp from the stored object when the update left them out (rest.BeforeUpdate)."""
    new, old = _dict(new), _dict(old)
    errs: Errs = []
    for key in ("name", "namespace", "uid"):
        if old.get(key) and new.get(key) != old.get(key):
            errs.append(invalid(f"{path}.{key}", new.get(key), "field is immutable"))
    return errs


# ---------------------------------------------------------------------------------------------- volumes


def _validate_key_to_path(item: Obj, path: str) -> Errs:
    errs: Errs = []
    if not _str(item.get("key")):
        errs.append(required(f"{path}.key"))
    p = _str(item.get("path"))
    if not p:
        errs.append(required(f"{path}.path"))
    errs += _local_non_reserved_path(p, f"{path}.path")
    return errs + _file_mode(item, "mode", f"{path}.mode")


def _validate_object_field_selector(ref: Obj, allowed: tuple[str, ...], path: str) -> Errs:
    if not _str(ref.get("apiVersion")):
        return [required(f"{path}.apiVersion")]
    fp = _str(ref.get("fieldPath"))
    if not fp:
        return [required(f"{path}.fieldPath")]
    if ref.get("apiVersion") != "v1":
        return [
            invalid(f"{path}.fieldPath", fp, f"error converting fieldPath: field label not supported: {fp}")
        ]
    base, sep, rest = fp.partition("[")
    if sep and rest.endswith("]"):
        sub = rest[:-1].strip("'")
        if base == "metadata.annotations":
            return [invalid(path, sub, m) for m in names.is_qualified_name(sub.lower())]
        if base == "metadata.labels":
            return [invalid(path, sub, m) for m in names.is_qualified_name(sub)]
        return [invalid(path, base, "does not support subscript")]
    if fp not in allowed:
        return [not_supported(f"{path}.fieldPath", fp, allowed)]
    return []


def _validate_downward_items(items: Any, path: str) -> Errs:
    errs: Errs = []
    for i, item in _items(items):
        ip = f"{path}[{i}]"
        p = _str(item.get("path"))
        if not p:
            errs.append(required(f"{ip}.path"))
        errs += _local_non_reserved_path(p, f"{ip}.path")
        ref, rref = item.get("fieldRef"), item.get("resourceFieldRef")
        if ref is not None:
            errs += _validate_object_field_selector(_dict(ref), VOLUME_FIELD_PATHS, f"{ip}.fieldRef")
            if rref is not None:
                errs.append(
                    invalid(
                        ip, "resource", "fieldRef and resourceFieldRef can not be specified simultaneously"
                    )
                )
        elif rref is None:
            errs.append(required(ip, "one of fieldRef and resourceFieldRef is required"))
        errs += _file_mode(item, "mode", f"{ip}.mode")
    return errs


def _validate_source(name: str, src: Obj, path: str) -> Errs:
    errs: Errs = []
    if name == "emptyDir":
        limit = src.get("sizeLimit")
        if limit is not None:
            try:
                if quantity.parse_quantity(limit) < 0:
                    errs.append(
                        forbidden(f"{path}.sizeLimit", "SizeLimit field must be a valid resource quantity")
                    )
            except ValueError as e:
                errs.append(invalid(f"{path}.sizeLimit", _str(limit), str(e)))
    elif name == "hostPath":
        p = _str(src.get("path"))
        if not p:
            return [required(f"{path}.path")]
        errs += _path_no_backsteps(p, f"{path}.path")
        t = src.get("type")
        if t is not None and t not in HOST_PATH_TYPES:
            errs.append(not_supported(f"{path}.type", t, HOST_PATH_TYPES))
    elif name in ("secret", "configMap"):
        key = "secretName" if name == "secret" else "name"
        if not _str(src.get(key)):
            errs.append(required(f"{path}.{key}"))
        errs += _file_mode(src, "defaultMode", f"{path}.defaultMode")
        for i, item in _items(src.get("items")):
            errs += _validate_key_to_path(item, f"{path}.items[{i}]")
    elif name == "downwardAPI":
        errs += _file_mode(src, "defaultMode", f"{path}.defaultMode")
        errs += _validate_downward_items(src.get("items"), f"{path}.items")
    elif name == "projected":
        errs += _validate_projected(src, path)
    elif name == "persistentVolumeClaim":
        if not _str(src.get("claimName")):
            errs.append(required(f"{path}.claimName"))
    elif name == "nfs":
        if not _str(src.get("server")):
            errs.append(required(f"{path}.server"))
        p = _str(src.get("path"))
        if not p:
            errs.append(required(f"{path}.path"))
        elif not p.startswith("/"):
            errs.append(invalid(f"{path}.path", p, "must be an absolute path"))
    return errs


def _validate_projected(src: Obj, path: str) -> Errs:
    errs = _file_mode(src, "defaultMode", f"{path}.defaultMode")
    kinds = (
        "secret",
        "downwardAPI",
        "configMap",
        "serviceAccountToken",
        "clusterTrustBundle",
        "podCertificate",
    )
    for i, s in _items(src.get("sources")):
        sp = f"{path}.sources[{i}]"
        present = [k for k in kinds if s.get(k) is not None]
        if not present:
            errs.append(
                required(sp, "must specify exactly 1 of: secret, downwardAPI, configMap, serviceAccountToken")
            )
        for k in present[1:]:
            errs.append(forbidden(f"{sp}.{k}", "may not specify more than 1 volume type per source"))
        if not present:
            continue
        kind, body = present[0], _dict(s.get(present[0]))
        if kind in ("secret", "configMap"):
            for j, item in _items(body.get("items")):
                errs += _validate_key_to_path(item, f"{sp}.{kind}.items[{j}]")
        elif kind == "downwardAPI":
            errs += _validate_downward_items(body.get("items"), f"{sp}.downwardAPI.items")
        elif kind == "serviceAccountToken":
            errs += _validate_token_projection(body, f"{sp}.serviceAccountToken", path)
    return errs


def _validate_token_projection(src: Obj, path: str, projected_path: str) -> Errs:
    """validateProjectionSources' serviceAccountToken part (the missing path is reported on the
    projected volume's path, as upstream does)."""
    errs: Errs = []
    exp = _int_field(src, "expirationSeconds", f"{path}.expirationSeconds", errs)
    if exp is not None and exp < 10 * 60:
        errs.append(invalid(f"{path}.expirationSeconds", exp, "may not specify a duration less than 10 minutes"))
    if exp is not None and exp > 1 << 32:
        errs.append(invalid(f"{path}.expirationSeconds", exp, "may not specify a duration larger than 2^32 seconds"))
    p = _str(src.get("path"))
    if not p:
        errs.append(required(f"{projected_path}.path"))
    else:
        errs += _local_non_reserved_path(p, f"{projected_path}.path")
    aud = src.get("audience")
    if aud is not None and not isinstance(aud, str):
        errs.append(invalid(f"{path}.audience", aud, "must be a string"))
    return errs


def validate_volumes(volumes: Any, path: str = "spec.volumes") -> tuple[dict[str, Obj], Errs]:
    """ValidateVolumes: returns the lookup table of *valid* volumes and the errors."""
    vols: dict[str, Obj] = {}
    errs: Errs = []
    if volumes is not None and not isinstance(volumes, list):
        return vols, [invalid(path, volumes, "must be a list")]
    for i, vol in _items(volumes):
        ip = f"{path}[{i}]"
        el: Errs = []
        count = 0
        for src in VOLUME_SOURCES:
            if vol.get(src) is None:
                continue
            if count:
                el.append(forbidden(f"{ip}.{src}", "may not specify more than 1 volume type"))
                continue
            count += 1
            if src in SUPPORTED_VOLUME_SOURCES:   # the others are the support table's (api/support.py)
                el += _validate_source(src, _dict(vol.get(src)), f"{ip}.{src}")
        if count == 0:
            el.append(required(ip, "must specify a volume type"))
        name = _str(vol.get("name"))
        if not name:
            el.append(required(f"{ip}.name"))
        else:
            el += _label_errs(name, f"{ip}.name")
        if name in vols:
            el.append(duplicate(f"{ip}.name", name))
        if el:
            errs += el
        else:
            vols[name] = vol
    return vols, errs


# ---------------------------------------------------------------------------------------------- containers


def _validate_mounts(c: Obj, vols: dict[str, Obj], path: str) -> Errs:
    errs: Errs = []
    seen: set[str] = set()
    privileged = _is_true(_dict(c.get("securityContext")).get("privileged"))
    for i, m in _items(c.get("volumeMounts")):
        ip = f"{path}[{i}]"
        name = _str(m.get("name"))
        if not name:
            errs.append(required(f"{ip}.name"))
        if name not in vols:
            errs.append(not_found(f"{ip}.name", name))
        mp = _str(m.get("mountPath"))
        if not mp:
            errs.append(required(f"{ip}.mountPath"))
        if mp in seen:
            errs.append(invalid(f"{ip}.mountPath", mp, "must be unique"))
        seen.add(mp)
        # Upstream reports subPath / propagation / RRO errors without the mount index (§4.4).
        sub, expr = _str(m.get("subPath")), _str(m.get("subPathExpr"))
        if sub:
            errs += _local_descending_path(sub, f"{path}.subPath")
        if expr:
            if sub:
                errs.append(
                    invalid(f"{ip}.subPathExpr", expr, "subPathExpr and subPath are mutually exclusive")
                )
            errs += _local_descending_path(expr, f"{path}.subPathExpr")
        prop = m.get("mountPropagation")
        if prop is not None:
            if prop not in PROPAGATIONS:
                errs.append(not_supported(f"{path}.mountPropagation", prop, PROPAGATIONS))
            if prop == "Bidirectional" and not privileged:
                errs.append(
                    forbidden(
                        f"{path}.mountPropagation",
                        "Bidirectional mount propagation is available only to privileged containers",
                    )
                )
        rro = m.get("recursiveReadOnly")
        if rro is not None:
            if rro in ("Enabled", "IfPossible"):
                if not _is_true(m.get("readOnly")):
                    errs.append(
                        forbidden(f"{path}.recursiveReadOnly", "may only be specified when readOnly is true")
                    )
                if prop is not None and prop != "None":
                    errs.append(
                        forbidden(
                            f"{path}.recursiveReadOnly",
                            "may only be specified when mountPropagation is None or not specified",
                        )
                    )
            elif rro != "Disabled":
                errs.append(not_supported(f"{path}.recursiveReadOnly", rro, RRO_MODES))
    return errs


def _validate_ports(c: Obj, path: str) -> Errs:
    errs: Errs = []
    seen: set[str] = set()
    for i, p in _items(c.get("ports")):
        ip = f"{path}[{i}]"
        pname = _str(p.get("name"))
        if pname:
            msgs = names.is_valid_port_name(pname)
            if msgs:
                errs += [invalid(f"{ip}.name", pname, m) for m in msgs]
            elif pname in seen:
                errs.append(duplicate(f"{ip}.name", pname))
            else:
                seen.add(pname)
        cp = _int_field(p, "containerPort", f"{ip}.containerPort", errs)
        if not cp:
            if p.get("containerPort") in (None, 0):
                errs.append(required(f"{ip}.containerPort"))
        else:
            errs += [invalid(f"{ip}.containerPort", cp, m) for m in names.is_valid_port_num(cp)]
        hp = _int_field(p, "hostPort", f"{ip}.hostPort", errs)
        if hp:
            errs += [invalid(f"{ip}.hostPort", hp, m) for m in names.is_valid_port_num(hp)]
        proto = _str(p.get("protocol"))
        if not proto:
            errs.append(required(f"{ip}.protocol"))
        elif proto not in PROTOCOLS:
            errs.append(not_supported(f"{ip}.protocol", proto, PROTOCOLS))
    return errs


def _host_port_conflicts(containers: list[tuple[int, Obj]], path: str, seen: set[str]) -> Errs:
    errs: Errs = []
    for ci, c in containers:
        for pi, p in _items(c.get("ports")):
            hp = p.get("hostPort")
            if not hp:
                continue
            key = f"{_str(p.get('protocol'))}/{_str(p.get('hostIP'))}/{hp}"
            if key in seen:
                errs.append(duplicate(f"{path}[{ci}].ports[{pi}].hostPort", key))
            else:
                seen.add(key)
    return errs


def _validate_env(c: Obj, cpath: str) -> Errs:
    path = f"{cpath}.env"
    errs: Errs = []
    for i, ev in _items(c.get("env")):
        ip = f"{path}[{i}]"
        name = _str(ev.get("name"))
        if not name:
            errs.append(required(f"{ip}.name"))
        errs += [invalid(f"{ip}.name", name, m) for m in names.is_relaxed_env_var_name(name)]
        vf = ev.get("valueFrom")
        if vf is None:
            continue
        vf = _dict(vf)
        vp = f"{ip}.valueFrom"
        n = 0
        if vf.get("fieldRef") is not None:
            n += 1
            errs += _validate_object_field_selector(_dict(vf["fieldRef"]), ENV_FIELD_PATHS, f"{vp}.fieldRef")
        if vf.get("resourceFieldRef") is not None:
            n += 1
            if not _str(_dict(vf["resourceFieldRef"]).get("resource")):
                errs.append(required(f"{vp}.resourceFieldRef.resource"))
        for ref in ("configMapKeyRef", "secretKeyRef"):
            if vf.get(ref) is None:
                continue
            n += 1
            sel = _dict(vf[ref])
            rname = _str(sel.get("name"))
            errs += [invalid(f"{vp}.{ref}.name", rname, m) for m in names.is_dns1123_subdomain(rname)]
            key = _str(sel.get("key"))
            if not key:
                errs.append(required(f"{vp}.{ref}.key"))
            else:
                errs += [invalid(f"{vp}.{ref}.key", key, m) for m in names.is_config_map_key(key)]
        if vf.get("fileKeyRef") is not None:
            n += 1
        if n == 0:
            errs.append(
                invalid(
                    vp,
                    "",
                    "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`",
                )
            )
        elif _str(ev.get("value")):
            errs.append(invalid(vp, "", "may not be specified when `value` is not empty"))
        elif n > 1:
            errs.append(invalid(vp, "", "may not have more than one field specified at a time"))
    for i, ef in _items(c.get("envFrom")):
        ip = f"{cpath}.envFrom[{i}]"
        prefix = _str(ef.get("prefix"))
        if prefix:
            errs += [invalid(f"{ip}.prefix", prefix, m) for m in names.is_relaxed_env_var_name(prefix)]
        n = 0
        for ref in ("configMapRef", "secretRef"):
            if ef.get(ref) is None:
                continue
            n += 1
            rname = _str(_dict(ef[ref]).get("name"))
            if not rname:
                errs.append(required(f"{ip}.{ref}.name"))
            else:
                masked = rname[:-1] + "a" if rname.endswith("-") else rname
                errs += [invalid(f"{ip}.{ref}.name", rname, m) for m in names.is_dns1123_subdomain(masked)]
        if n == 0:
            errs.append(invalid(f"{cpath}.envFrom", "", "must specify one of: `configMapRef` or `secretRef`"))
        elif n > 1:
            errs.append(
                invalid(f"{cpath}.envFrom", "", "may not have more than one field specified at a time")
            )
    return errs


def _is_hugepages(name: str) -> bool:
    return name.startswith("hugepages-")


def _validate_resources(res: Obj, path: str) -> Errs:
    errs: Errs = []
    parsed: dict[str, dict[str, Any]] = {"limits": {}, "requests": {}}
    cpu_or_mem = hugepages = False
    for kind in ("limits", "requests"):
        kp = f"{path}.{kind}"
        rl = res.get(kind)
        if rl is not None and not isinstance(rl, dict):
            errs.append(invalid(kp, rl, "must be a map of resource quantities"))
            continue
        for rname, raw in _dict(rl).items():
            rp = f"{kp}[{rname}]"
            if "/" in rname:
                continue     # extended resources: the support table's
            if rname not in STANDARD_RESOURCES and not _is_hugepages(rname):
                errs.append(invalid(rp, rname, "must be a standard resource for containers"))
                continue
            try:
                value, fmt = quantity.parse_with_format(raw)
            except ValueError as e:
                errs.append(invalid(rp, _str(raw), str(e)))
                continue
            text = quantity.format_quantity(value, fmt)
            parsed[kind][rname] = (value, text)
            if value < 0:
                errs.append(invalid(rp, text, NEGATIVE_MSG))
            if kind == "requests" and rname in parsed["limits"]:
                lv, lt = parsed["limits"][rname]
                if _is_hugepages(rname):
                    if value != lv:
                        errs.append(invalid(kp, text, f"must be equal to {rname} limit of {lt}"))
                elif value > lv:
                    errs.append(invalid(kp, text, f"must be less than or equal to {rname} limit of {lt}"))
            elif kind == "requests" and _is_hugepages(rname):
                errs.append(required(f"{path}.limits", "Limit must be set for non overcommitable resources"))
            if _is_hugepages(rname):
                hugepages = True
                if not _hugepage_divisible(rname, value):
                    errs.append(invalid(rp, text, f"{text} is not positive integer multiple of {rname}"))
            if rname in ("cpu", "memory"):
                cpu_or_mem = True
    if hugepages and not cpu_or_mem:
        errs.append(forbidden(path, "HugePages require cpu or memory"))
    return errs


def _hugepage_divisible(rname: str, value: Any) -> bool:
    try:
        page = quantity.parse_quantity(rname[len("hugepages-") :])
    except ValueError:
        return False
    if page <= 0 or page.denominator != 1:
        return False
    return int(value) % int(page) == 0


def _validate_security_context(sc: Any, path: str) -> Errs:
    errs: Errs = []
    sc = _dict(sc)
    for key in ("runAsUser", "runAsGroup"):
        v = _int_field(sc, key, f"{path}.{key}", errs)
        if v is not None:
            errs += [invalid(f"{path}.{key}", v, m) for m in names.is_valid_id(v)]
    pm = sc.get("procMount")
    if pm is not None and pm not in ("Default", "Unmasked"):
        errs.append(not_supported(f"{path}.procMount", pm, ["Default", "Unmasked"]))
    errs += seccomp.validate_profile(sc.get("seccompProfile"), f"{path}.seccompProfile")
    return errs


def _validate_handler(h: Obj, path: str, kinds: tuple[str, ...], grace: int | None = None) -> Errs:
    errs: Errs = []
    n = 0
    for kind in kinds:
        if h.get(kind) is None:
            continue
        kp = f"{path}.{kind}"
        if n:
            errs.append(forbidden(kp, "may not specify more than 1 handler type"))
            continue
        n += 1
        body = _dict(h.get(kind))
        if kind == "exec":
            if not body.get("command"):
                errs.append(required(f"{kp}.command"))
        elif kind in ("httpGet", "tcpSocket"):
            if kind == "httpGet" and not _str(body.get("path")):
                errs.append(required(f"{kp}.path"))
            errs += _port_num_or_name(body.get("port"), f"{kp}.port")
            if kind == "httpGet":
                scheme = body.get("scheme")
                if scheme not in ("HTTP", "HTTPS"):
                    errs.append(not_supported(f"{kp}.scheme", scheme, ["HTTP", "HTTPS"]))
        elif kind == "grpc":
            port = body.get("port")
            if not isinstance(port, int) or isinstance(port, bool):
                errs.append(required(f"{kp}.port"))
            else:
                errs += [invalid(f"{kp}.port", port, m) for m in names.is_valid_port_num(port)]
        elif kind == "sleep":
            secs = body.get("seconds")
            if isinstance(secs, int) and not isinstance(secs, bool) and grace is not None and (secs < 0 or secs > grace):
                errs.append(invalid(f"{kp}.seconds", secs,
                                    f"must be non-negative and less than terminationGracePeriodSeconds ({grace})"))
    if n == 0:
        errs.append(required(path, "must specify a handler type"))
    return errs


def _port_num_or_name(port: Any, path: str) -> Errs:
    if isinstance(port, int) and not isinstance(port, bool):
        return [invalid(path, port, m) for m in names.is_valid_port_num(port)]
    if isinstance(port, str) and port:
        if port.isdigit():
            return [invalid(path, int(port), m) for m in names.is_valid_port_num(int(port))]
        return [invalid(path, port, m) for m in names.is_valid_port_name(port)]
    return [required(path)]


def _validate_probe(probe: Any, path: str, which: str) -> Errs:
    if probe is None:
        return []
    p = _dict(probe)
    errs = _validate_handler(p, path, ("exec", "httpGet", "tcpSocket", "grpc"))
    for key in (
        "initialDelaySeconds",
        "timeoutSeconds",
        "periodSeconds",
        "successThreshold",
        "failureThreshold",
    ):
        v = _int_field(p, key, f"{path}.{key}", errs)
        if v is not None and v < 0:
            errs.append(invalid(f"{path}.{key}", v, NEGATIVE_MSG))
    tgps = _int_field(p, "terminationGracePeriodSeconds", f"{path}.terminationGracePeriodSeconds", errs)
    if tgps is not None and tgps <= 0:
        errs.append(invalid(f"{path}.terminationGracePeriodSeconds", tgps, "must be greater than 0"))
    st = p.get("successThreshold")
    if which in ("livenessProbe", "startupProbe") and st != 1:
        errs.append(invalid(f"{path}.successThreshold", st, "must be 1"))
    if which == "readinessProbe" and p.get("terminationGracePeriodSeconds") is not None:
        errs.append(
            invalid(f"{path}.terminationGracePeriodSeconds", tgps, "must not be set for readinessProbes")
        )
    return errs


LIFECYCLE_HANDLERS = ("exec", "httpGet", "tcpSocket", "sleep")


def _validate_lifecycle(lc: Any, path: str, spec: Obj) -> Errs:
    """validateLifecycle: one handler per hook (tcpSocket passes and then fails at run time, as upstream),
    sleep within the grace period; stopSignal only with spec.os.name and a Linux signal name."""
    if lc is None:
        return []
    lc = _dict(lc)
    errs: Errs = []
    grace = spec.get("terminationGracePeriodSeconds")
    grace = grace if isinstance(grace, int) and not isinstance(grace, bool) else None
    for hook in ("postStart", "preStop"):
        if lc.get(hook) is not None:
            errs += _validate_handler(_dict(lc[hook]), f"{path}.{hook}", LIFECYCLE_HANDLERS, grace)
    sig = lc.get("stopSignal")
    if sig is not None:
        os_name = _str(_dict(spec.get("os")).get("name"))
        if not os_name:
            errs.append(forbidden(f"{path}.stopSignal", "may not be set for containers with empty `spec.os.name`"))
        elif os_name == "linux" and not _linux_signal(_str(sig)):
            errs.append(not_supported(f"{path}.stopSignal", sig, sorted(LINUX_SIGNAL_NAMES) + ["SIGRTMIN+n",
                                                                                             "SIGRTMAX-n"]))
    return errs


LINUX_SIGNAL_NAMES = (
    "SIGABRT", "SIGALRM", "SIGBUS", "SIGCHLD", "SIGCLD", "SIGCONT", "SIGFPE", "SIGHUP", "SIGILL", "SIGINT",
    "SIGIO", "SIGIOT", "SIGKILL", "SIGPIPE", "SIGPOLL", "SIGPROF", "SIGPWR", "SIGQUIT", "SIGSEGV", "SIGSTKFLT",
    "SIGSTOP", "SIGSYS", "SIGTERM", "SIGTRAP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG", "SIGUSR1", "SIGUSR2",
    "SIGVTALRM", "SIGWINCH", "SIGXCPU", "SIGXFSZ",
)  # fmt: skip


def _linux_signal(name: str) -> bool:
    if name in LINUX_SIGNAL_NAMES or name in ("SIGRTMIN", "SIGRTMAX"):
        return True
    for base in ("SIGRTMIN+", "SIGRTMAX-"):
        if name.startswith(base) and name[len(base):].isdigit():
            return 0 < int(name[len(base):]) <= 30
    return False


def _validate_probes_and_lifecycle(c: Obj, path: str, spec: Obj | None = None) -> Errs:
    errs: Errs = _validate_lifecycle(c.get("lifecycle"), f"{path}.lifecycle", spec or {})
    for which in ("livenessProbe", "readinessProbe", "startupProbe"):
        errs += _validate_probe(c.get(which), f"{path}.{which}", which)
    return errs


def _validate_container_common(c: Obj, vols: dict[str, Obj], path: str) -> Errs:
    errs: Errs = []
    name = _str(c.get("name"))
    if not name:
        errs.append(required(f"{path}.name"))
    else:
        errs += _label_errs(name, f"{path}.name")
    if not _str(c.get("image")):
        errs.append(required(f"{path}.image"))
    tmp = _str(c.get("terminationMessagePolicy"))
    if not tmp:
        errs.append(required(f"{path}.terminationMessagePolicy"))
    elif tmp not in ("File", "FallbackToLogsOnError"):
        errs.append(not_supported(f"{path}.terminationMessagePolicy", tmp, ["File", "FallbackToLogsOnError"]))
    errs += _validate_ports(c, f"{path}.ports")
    errs += _validate_env(c, path)
    errs += _validate_mounts(c, vols, f"{path}.volumeMounts")
    pull = _str(c.get("imagePullPolicy"))
    if not pull:
        errs.append(required(f"{path}.imagePullPolicy"))
    elif pull not in ("Always", "IfNotPresent", "Never"):
        errs.append(not_supported(f"{path}.imagePullPolicy", pull, ["Always", "IfNotPresent", "Never"]))
    errs += _validate_resources(_dict(c.get("resources")), f"{path}.resources")
    errs += _validate_security_context(c.get("securityContext"), f"{path}.securityContext")
    return errs


def _validate_containers(spec: Obj, vols: dict[str, Obj]) -> Errs:
    path = "spec.containers"
    containers = _items(spec.get("containers"))
    errs: Errs = []
    if not containers:
        errs.append(required(path))
    seen: set[str] = set()
    for i, c in containers:
        ip = f"{path}[{i}]"
        errs += _validate_container_common(c, vols, ip)
        name = _str(c.get("name"))
        if name in seen:
            errs.append(duplicate(f"{ip}.name", name))
        else:
            seen.add(name)
        errs += _validate_probes_and_lifecycle(c, ip, spec)
        if c.get("restartPolicy") is not None:
            errs.append(forbidden(f"{ip}.restartPolicy", "may not be set for non-init containers"))
    errs += _host_port_conflicts(containers, path, set())
    return errs


def _validate_init_containers(spec: Obj, vols: dict[str, Obj]) -> Errs:
    path = "spec.initContainers"
    errs: Errs = []
    seen = {_str(c.get("name")) for _, c in _items(spec.get("containers"))}
    for i, c in _items(spec.get("initContainers")):
        ip = f"{path}[{i}]"
        errs += _validate_container_common(c, vols, ip)
        rp = c.get("restartPolicy")
        if rp is not None and rp != "Always":
            errs.append(not_supported(f"{ip}.restartPolicy", rp, ["Always"]))
        name = _str(c.get("name"))
        if name in seen:
            errs.append(duplicate(f"{ip}.name", name))
        elif name:
            seen.add(name)
        # init containers run one at a time, so host ports only clash within one container
        errs += _host_port_conflicts([(i, c)], path, set())
        if rp == "Always":
            errs += _validate_probes_and_lifecycle(c, ip, spec)
        else:
            for key in ("lifecycle", "livenessProbe", "readinessProbe", "startupProbe"):
                if c.get(key) is not None:
                    errs.append(forbidden(f"{ip}.{key}", INIT_FORBIDDEN))
    return errs


# ---------------------------------------------------------------------------------------------- pod spec


def _validate_pod_security_context(spec: Obj) -> Errs:
    path = "spec.securityContext"
    sc = _dict(spec.get("securityContext"))
    errs: Errs = []
    for key in ("fsGroup", "runAsUser", "runAsGroup"):
        v = _int_field(sc, key, f"{path}.{key}", errs)
        if v is not None:
            errs += [invalid(f"{path}.{key}", v, m) for m in names.is_valid_id(v)]
    groups = sc.get("supplementalGroups")
    for i, g in enumerate(groups if isinstance(groups, list) else []):
        if isinstance(g, int) and not isinstance(g, bool):
            errs += [invalid(f"{path}.supplementalGroups[{i}]", g, m) for m in names.is_valid_id(g)]
        else:
            errs.append(invalid(f"{path}.supplementalGroups[{i}]", g, "must be an integer"))
    # hostPID lives in the internal PodSecurityContext, hence this path (§5.3)
    if _is_true(spec.get("shareProcessNamespace")) and _is_true(spec.get("hostPID")):
        errs.append(
            invalid(
                f"{path}.shareProcessNamespace",
                True,
                "ShareProcessNamespace and HostPID cannot both be enabled",
            )
        )
    policy = sc.get("fsGroupChangePolicy")
    if policy is not None and policy not in ("OnRootMismatch", "Always"):
        errs.append(not_supported(f"{path}.fsGroupChangePolicy", policy, ["OnRootMismatch", "Always"]))
    errs += seccomp.validate_profile(sc.get("seccompProfile"), f"{path}.seccompProfile")
    return errs


def _validate_dns(spec: Obj) -> Errs:
    errs: Errs = []
    policy = _str(spec.get("dnsPolicy"))
    allowed = ["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"]
    if not policy:
        errs.append(required("spec.dnsPolicy"))
    elif policy not in allowed:
        errs.append(not_supported("spec.dnsPolicy", policy, allowed))
    cfg = spec.get("dnsConfig")
    if policy == "None":
        if cfg is None:
            errs.append(required("spec.dnsConfig", "must provide `dnsConfig` when `dnsPolicy` is None"))
        elif not _dict(cfg).get("nameservers"):
            errs.append(
                required(
                    "spec.dnsConfig.nameservers",
                    "must provide at least one DNS nameserver when `dnsPolicy` is None",
                )
            )
    ns = _dict(cfg).get("nameservers") or []
    if isinstance(ns, list) and len(ns) > 3:
        errs.append(invalid("spec.dnsConfig.nameservers", ns, "must not have more than 3 nameservers"))
    return errs


def _validate_pod_spec(spec: Obj) -> Errs:
    errs: Errs = []
    tgps = _int_field(spec, "terminationGracePeriodSeconds", "spec.terminationGracePeriodSeconds", errs)
    if spec.get("terminationGracePeriodSeconds") is None:
        errs.append(required("spec.terminationGracePeriodSeconds"))
    elif tgps is not None and tgps < 0:
        errs.append(invalid("spec.terminationGracePeriodSeconds", tgps, NEGATIVE_MSG))
    vols, verrs = validate_volumes(spec.get("volumes"))
    errs += verrs
    errs += _validate_containers(spec, vols)
    errs += _validate_init_containers(spec, vols)
    rp = _str(spec.get("restartPolicy"))
    if not rp:
        errs.append(required("spec.restartPolicy"))
    elif rp not in ("Always", "OnFailure", "Never"):
        errs.append(not_supported("spec.restartPolicy", rp, ["Always", "OnFailure", "Never"]))
    errs += _validate_dns(spec)
    errs += validate_labels(spec.get("nodeSelector"), "spec.nodeSelector")
    errs += _validate_pod_security_context(spec)
    ads = _int_field(spec, "activeDeadlineSeconds", "spec.activeDeadlineSeconds", errs)
    if ads is not None and not 1 <= ads <= MAX_INT32:
        errs.append(invalid("spec.activeDeadlineSeconds", ads, names.inclusive_range_error(1, MAX_INT32)))
    for key in ("hostname", "subdomain"):
        v = _str(spec.get(key))
        if v:
            errs += _label_errs(v, f"spec.{key}")
    for i, alias in _items(spec.get("hostAliases")):
        for j, hn in enumerate(alias.get("hostnames") or []):
            hn = _str(hn)
            errs += [
                invalid(f"spec.hostAliases[{i}].hostnames[{j}]", hn, m)
                for m in names.is_dns1123_subdomain(hn)
            ]
    os_ = spec.get("os")
    if os_ is not None:
        osname = _str(_dict(os_).get("name"))
        if not osname:
            errs.append(required("spec.os.name"))
        elif osname not in ("linux", "windows"):
            errs.append(not_supported("spec.os.name", osname, ["linux", "windows"]))
    for i, gate in _items(spec.get("readinessGates")):
        ctype = _str(gate.get("conditionType"))
        errs += [invalid(f"spec.readinessGates[{i}].conditionType", ctype, m) for m in names.is_qualified_name(ctype)]
    return errs


def _validate_pod_metadata_and_spec(pod: Obj) -> Errs:
    errs = validate_object_meta(pod.get("metadata"))
    errs += seccomp.validate_annotations(_dict(pod.get("metadata")).get("annotations"))
    spec = pod.get("spec")
    if not isinstance(spec, dict):
        return [*errs, required("spec")]
    errs += _validate_pod_spec(spec)
    sa_name = _str(spec.get("serviceAccountName"))
    if sa_name:   # ValidateServiceAccountName
        errs += [invalid("spec.serviceAccountName", sa_name, m) for m in names.is_dns1123_subdomain(sa_name)]
    if spec.get("automountServiceAccountToken") is not None and not isinstance(
            spec.get("automountServiceAccountToken"), bool):
        errs.append(invalid("spec.automountServiceAccountToken", spec["automountServiceAccountToken"],
                            "must be a boolean"))
    if not sa_name:
        for vi, vol in _items(spec.get("volumes")):
            for si, src in _items(_dict(vol.get("projected")).get("sources")):
                if src.get("serviceAccountToken") is not None:
                    errs.append(
                        forbidden(
                            f"spec.volumes[{vi}].projected.sources[{si}].serviceAccountToken",
                            "must not be specified when serviceAccountName is not set",
                        )
                    )
    for key in ("containers", "initContainers"):
        for i, c in _items(spec.get(key)):
            image = _str(c.get("image"))
            if image.strip() != image:
                errs.append(
                    invalid(f"spec.{key}[{i}].image", image, "must not have leading or trailing whitespace")
                )
    return errs


def validate_pod(pod: Obj) -> Errs:
    """ValidatePodCreate on a defaulted Pod (the registry applies podbay's support table,
    api/support.py, after it)."""
    errs = _validate_pod_metadata_and_spec(pod)
    if _dict(pod.get("spec")).get("ephemeralContainers"):
        errs.append(forbidden("spec.ephemeralContainers", "cannot be set on create"))
    return errs


# ---------------------------------------------------------------------------------------------- update


def _container_updates(new: Any, old: Any, path: str) -> tuple[Errs, bool]:
    new_l = new if isinstance(new, list) else []
    old_l = old if isinstance(old, list) else []
    if len(new_l) != len(old_l):
        return [forbidden(path, "pod updates may not add or remove containers")], True
    errs: Errs = []
    for i, c in _items(new_l):
        image = _str(c.get("image"))
        if not image:
            errs.append(required(f"{path}[{i}].image"))
        if image.strip() != image:
            errs.append(invalid(f"{path}[{i}].image", image, "must not have leading or trailing whitespace"))
    return errs, False


def _spec_diff(old: Any, new: Any, path: str = "") -> list[str]:
    """A short ``-``/``+`` listing of what differs (upstream prints a cmp.Diff here)."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for k in sorted(set(old) | set(new), key=str):
            out += _spec_diff(old.get(k), new.get(k), f"{path}.{k}" if path else str(k))
        return out
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        out = []
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            out += _spec_diff(a, b, f"{path}[{i}]")
        return out
    if old == new:
        return []
    return [f"  {path}:", f"-\t{json.dumps(old, sort_keys=True)}", f"+\t{json.dumps(new, sort_keys=True)}"]


def _without_seconds(t: Obj) -> Obj:
    return {k: v for k, v in t.items() if k != "tolerationSeconds" and v not in (None, "")}


def _tolerations_only_added(new: Any, old: Any) -> Errs:
    new_l = [_without_seconds(t) for _, t in _items(new)]
    for _, o in _items(old):
        if _without_seconds(o) not in new_l:
            return [
                forbidden(
                    "spec.tolerations", "existing toleration can not be modified except its tolerationSeconds"
                )
            ]
    return []


def validate_pod_update(old: Obj, new: Obj) -> Errs:
    """ValidatePodUpdate (the registry applies podbay's support table, api/support.py, after it)."""
    return _validate_pod_update(old, new)


def _validate_pod_update(old: Obj, new: Obj) -> Errs:
    """ValidatePodUpdate (§4.7): metadata rules, the new pod's own validity, spec immutability."""
    errs = validate_object_meta_update(new.get("metadata"), old.get("metadata"))
    errs += _validate_pod_metadata_and_spec(new)
    new_spec, old_spec = _dict(new.get("spec")), _dict(old.get("spec"))
    for key in ("containers", "initContainers"):
        cerrs, stop = _container_updates(new_spec.get(key), old_spec.get(key), f"spec.{key}")
        errs += cerrs
        if stop:
            return errs
    new_ads, old_ads = new_spec.get("activeDeadlineSeconds"), old_spec.get("activeDeadlineSeconds")
    if new_ads is not None:
        if isinstance(new_ads, int) and not 0 <= new_ads <= MAX_INT32:
            return [
                *errs,
                invalid("spec.activeDeadlineSeconds", new_ads, names.inclusive_range_error(0, MAX_INT32)),
            ]
        if isinstance(old_ads, int) and isinstance(new_ads, int) and old_ads < new_ads:
            return [
                *errs,
                invalid(
                    "spec.activeDeadlineSeconds", new_ads, "must be less than or equal to previous value"
                ),
            ]
    elif old_ads is not None:
        errs.append(
            invalid(
                "spec.activeDeadlineSeconds", None, "must not update from a positive integer to nil value"
            )
        )
    errs += _tolerations_only_added(new_spec.get("tolerations"), old_spec.get("tolerations"))
    if new_spec == old_spec:
        return errs
    munged = copy.deepcopy(new_spec)
    for key in ("containers", "initContainers"):
        for (_, c), (_, oc) in zip(_items(munged.get(key)), _items(old_spec.get(key)), strict=True):
            if "image" in oc:
                c["image"] = oc["image"]
            else:
                c.pop("image", None)
    for key in ("activeDeadlineSeconds", "tolerations"):
        if key in old_spec:
            munged[key] = old_spec[key]
        else:
            munged.pop(key, None)
    old_g, new_g = old_spec.get("terminationGracePeriodSeconds"), munged.get("terminationGracePeriodSeconds")
    if isinstance(old_g, int) and old_g < 0 and new_g == 1:
        munged["terminationGracePeriodSeconds"] = old_g
    if munged != old_spec:
        diff = "\n".join(_spec_diff(old_spec, munged))
        errs.append(
            forbidden("spec", f"pod updates may not change fields other than {UPDATABLE_SPEC_FIELDS}\n{diff}")
        )
    return errs
