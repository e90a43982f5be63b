"""What podbay rejects, in ONE table (applied after upstream validation).

Every v1 Pod field is either *implemented* (``IMPLEMENTED``, with what it does where that is not
obvious) or *rejected* here with a "not supported by podbay" error; nothing is accepted and
ignored. ``tests/unit/api/test_support.py`` walks the v1.37 schemas (kubernetes-validate) and fails
on a field that is in neither list; ``scripts/support_table.py`` writes the README's list from
``UNSUPPORTED``.

A rule is (field path, condition, what): ``[*]`` matches every list item; the condition says when a
present value is rejected (any non-empty value, true, false, or a predicate on the value).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from podbay.api.fielderror import FieldError, too_many, unsupported

Obj = dict[str, Any]
Cond = Callable[[Any], bool]


def _set(v: Any) -> bool:
    return v not in (None, "", [], {}, False)


def _true(v: Any) -> bool:
    return v is True


def _false(v: Any) -> bool:
    return v is False


@dataclass(frozen=True)
class Rule:
    path: str              # spec.containers[*].resizePolicy
    what: str              # "<what> not supported by podbay" ("" -> "not supported by podbay")
    when: Cond = _set
    doc: str = ""          # the README's wording when ``what`` reads badly alone
    keys: Callable[[Obj], list[str]] | None = None   # a map whose offending keys are reported one by one


CONTAINERS = ("spec.containers[*]", "spec.initContainers[*]")
UNSUPPORTED_VOLUMES = (
    "awsElasticBlockStore", "azureDisk", "azureFile", "cephfs", "cinder", "csi", "ephemeral", "fc",
    "flexVolume", "flocker", "gcePersistentDisk", "gitRepo", "glusterfs", "image", "iscsi",
    "photonPersistentDisk", "portworxVolume", "quobyte", "rbd", "scaleIO", "storageos", "vsphereVolume",
)  # fmt: skip
APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"


def _extended(limits: Any) -> list[str]:
    return [k for k in limits if "/" in str(k)] if isinstance(limits, dict) else []


def _apparmor_annotations(annotations: Any) -> list[str]:
    if not isinstance(annotations, dict):
        return []
    return [k for k, v in annotations.items() if str(k).startswith(APPARMOR_ANNOTATION) and v != "unconfined"]


def _apparmor(v: Any) -> bool:
    return isinstance(v, dict) and v.get("type") not in (None, "Unconfined")


UNSUPPORTED: tuple[Rule, ...] = (
    Rule("spec.hostNetwork", "", _true, "hostNetwork: true"),
    Rule("spec.hostPID", "", _true, "hostPID: true"),
    Rule("spec.hostIPC", "", _true, "hostIPC: true"),
    Rule("spec.hostUsers", "user namespaces are", _false, "hostUsers: false (user namespaces)"),
    Rule("spec.hostnameOverride", "hostnameOverride is"),
    Rule("spec.os.name", "os windows is", lambda v: v == "windows", "os.name: windows"),
    Rule("spec.runtimeClassName", "runtime classes are"),
    Rule("spec.resources", "pod-level resources are"),
    Rule("spec.resourceClaims", "dynamic resource allocation is"),
    Rule("spec.schedulingGates", "scheduling gates are"),
    Rule("spec.schedulingGroup", "scheduling groups are"),
    Rule("spec.evictionResponders", "eviction responders are"),
    Rule("spec.securityContext.sysctls", "sysctls are"),
    Rule("spec.securityContext.supplementalGroupsPolicy", "supplementalGroupsPolicy Strict is",
         lambda v: v == "Strict", "supplementalGroupsPolicy: Strict"),
    Rule("spec.securityContext.windowsOptions", ""),
    Rule("spec.securityContext.appArmorProfile", "AppArmor is", _apparmor,
         "AppArmor profiles other than Unconfined (this kernel has no AppArmor)"),
    Rule("metadata.annotations", "AppArmor is", _set, "the container.apparmor.security.beta.kubernetes.io/ "
         "annotation with a value other than unconfined", keys=_apparmor_annotations),
    *(r for c in CONTAINERS for r in (
        Rule(f"{c}.resizePolicy", "in-place resize is"),
        Rule(f"{c}.restartPolicyRules", "container restart rules are"),
        Rule(f"{c}.volumeDevices", "raw block volumes are"),
        Rule(f"{c}.resources.claims", "resource claims are"),
        Rule(f"{c}.resources.limits", "extended resources are", _set, "extended resources (limits)",
             keys=_extended),
        Rule(f"{c}.resources.requests", "extended resources are", _set, "extended resources (requests)",
             keys=_extended),
        Rule(f"{c}.env[*].valueFrom.fileKeyRef", ""),
        Rule(f"{c}.securityContext.procMount", "procMount Unmasked is", lambda v: v == "Unmasked",
             "procMount: Unmasked"),
        Rule(f"{c}.securityContext.windowsOptions", ""),
        Rule(f"{c}.securityContext.appArmorProfile", "AppArmor is", _apparmor,
             "AppArmor profiles other than Unconfined"),
    )),
    *(Rule(f"spec.volumes[*].{src}", f"{src} volumes are") for src in UNSUPPORTED_VOLUMES),
    Rule("spec.volumes[*].projected.defaultUser", "projected defaultUser is"),
    *(Rule(f"spec.volumes[*].projected.sources[*].{src}", "")
      for src in ("clusterTrustBundle", "podCertificate")),
)

# Everything else podbay accepts does something: these are the pod fields it implements. A field
# below a listed path is covered by it. Scheduling fields have no decision to make on one node.
IMPLEMENTED: dict[str, str] = {
    "metadata": "names, labels, annotations, uid, timestamps, ownerReferences, finalizers (stored as given)",
    "spec.activeDeadlineSeconds": "the pod fails with DeadlineExceeded",
    "spec.affinity": "single node: every pod is scheduled on it",
    "spec.automountServiceAccountToken": "the ServiceAccount admission mounts kube-api-access unless false",
    "spec.containers": "",
    "spec.initContainers": "in order; restartPolicy Always makes a native sidecar",
    "spec.ephemeralContainers": "rejected on create by validation (kubectl debug is not available)",
    "spec.dnsConfig": "", "spec.dnsPolicy": "", "spec.enableServiceLinks": "Service variables in the environment",
    "spec.hostAliases": "", "spec.hostname": "", "spec.subdomain": "", "spec.setHostnameAsFQDN": "",
    "spec.imagePullSecrets": "credentials for registry pulls",
    "spec.nodeName": "", "spec.nodeSelector": "single node", "spec.os": "linux",
    "spec.overhead": "accounted by admission only upstream; no RuntimeClass here",
    "spec.preemptionPolicy": "single node", "spec.priority": "single node",
    "spec.priorityClassName": "single node", "spec.schedulerName": "single node",
    "spec.tolerations": "single node", "spec.topologySpreadConstraints": "single node",
    "spec.readinessGates": "Ready waits for the gate conditions",
    "spec.restartPolicy": "", "spec.serviceAccount": "", "spec.serviceAccountName": "",
    "spec.shareProcessNamespace": "", "spec.terminationGracePeriodSeconds": "", "spec.volumes[*].name": "",
    "spec.hostIPC": "false only", "spec.hostNetwork": "false only", "spec.hostPID": "false only",
    "spec.hostUsers": "true only",
    "status": "written by the agent",
}
for _f in ("appArmorProfile", "fsGroup", "fsGroupChangePolicy", "runAsGroup", "runAsNonRoot", "runAsUser",
           "seccompProfile", "supplementalGroups", "supplementalGroupsPolicy"):
    IMPLEMENTED[f"spec.securityContext.{_f}"] = ""
for _f in ("seLinuxOptions", "seLinuxChangePolicy"):
    IMPLEMENTED[f"spec.securityContext.{_f}"] = "no SELinux on this host: no effect, as on any such node"
for _v in ("configMap", "downwardAPI", "emptyDir", "hostPath", "nfs", "persistentVolumeClaim", "secret"):
    IMPLEMENTED[f"spec.volumes[*].{_v}"] = ""
for _v in ("configMap", "downwardAPI", "secret", "serviceAccountToken"):
    IMPLEMENTED[f"spec.volumes[*].projected.sources[*].{_v}"] = ""
IMPLEMENTED["spec.volumes[*].projected.defaultMode"] = ""
for _c in CONTAINERS:
    for _f in ("args", "command", "env", "envFrom", "image", "imagePullPolicy", "lifecycle", "livenessProbe",
               "name", "ports", "readinessProbe", "resources", "restartPolicy", "startupProbe",
               "stdin", "stdinOnce", "terminationMessagePath", "terminationMessagePolicy", "tty", "volumeMounts",
               "workingDir"):
        IMPLEMENTED[f"{_c}.{_f}"] = ""
    for _f in ("allowPrivilegeEscalation", "appArmorProfile", "capabilities", "privileged", "procMount",
               "readOnlyRootFilesystem", "runAsGroup", "runAsNonRoot", "runAsUser", "seccompProfile"):
        IMPLEMENTED[f"{_c}.securityContext.{_f}"] = ""
    IMPLEMENTED[f"{_c}.securityContext.seLinuxOptions"] = "no SELinux on this host: no effect"


def covered(path: str) -> bool:
    """Whether a schema field path is implemented (itself or a parent listed) or in the table."""
    if any(r.path == path for r in UNSUPPORTED):
        return True
    parts = path.split(".")
    return any(".".join(parts[:i]) in IMPLEMENTED for i in range(1, len(parts) + 1))


def _walk(obj: Any, parts: list[str], at: str) -> Iterator[tuple[str, Any]]:
    if not parts:
        yield at, obj
        return
    head, rest = parts[0], parts[1:]
    if head.endswith("[*]"):
        key = head[:-3]
        value = obj.get(key) if isinstance(obj, dict) else None
        if isinstance(value, list):
            for i, item in enumerate(value):
                yield from _walk(item, rest, f"{at}.{key}[{i}]" if at else f"{key}[{i}]")
        return
    if isinstance(obj, dict) and head in obj:
        yield from _walk(obj[head], rest, f"{at}.{head}" if at else head)


# Sane limits (issue 11): a pod larger than this is refused at admission, before anything is created.
LIMITS: tuple[tuple[str, int], ...] = (
    ("spec.containers", 64), ("spec.initContainers", 64), ("spec.volumes", 256),
    *((f"{c}.{f}", n) for c in CONTAINERS for f, n in (("env", 1024), ("envFrom", 64), ("volumeMounts", 256),
                                                     ("ports", 256))),
)


def check(pod: Obj) -> list[FieldError]:
    """The support errors of a validated pod, in table order, then the limits."""
    errs: list[FieldError] = []
    for path, maximum in LIMITS:
        for at, value in _walk(pod, path.split("."), ""):
            if isinstance(value, list) and len(value) > maximum:
                errs.append(too_many(at, len(value), maximum))
    for rule in UNSUPPORTED:
        for path, value in _walk(pod, rule.path.split("."), ""):
            if rule.keys is not None:
                errs += [unsupported(f"{path}[{k}]", rule.what) for k in rule.keys(value)]
            elif rule.when(value):
                errs.append(unsupported(path, rule.what))
    return errs


def readme_lines() -> list[str]:
    """The README's "not supported" list, one line per rule (container rules once)."""
    seen: dict[str, None] = {}
    for rule in UNSUPPORTED:
        path = rule.path.replace("spec.initContainers[*]", "spec.containers[*]")
        text = f"`{path}`" + (f": {rule.doc}" if rule.doc else "")
        seen.setdefault(text, None)
    return [f"- {t}" for t in seen]
