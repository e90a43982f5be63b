"""What podbay rejects, in ONE table keyed by kind (applied by the registry after validation).

Every field of every served kind is either *implemented* (``IMPLEMENTED[kind]``, with what it does
where that is not obvious), rejected here with a "not supported by podbay" error
(``UNSUPPORTED[kind]``), or rejected by cross-field code that names the table
(``ELSEWHERE[kind]``, with where); nothing is accepted and ignored. A workload's pod template is
checked with the Pod rules under its prefix (``spec.template``, ``spec.jobTemplate.spec.template``),
so a Deployment is refused at its create for what its pods would be refused for.
``tests/unit/api/test_support*.py`` walk the v1.37 schemas (kubernetes-validate) and fail on a
field in none of the lists; ``scripts/support_table.py`` writes the README's list from them.

A rule is (field path, condition, what): ``[*]`` matches every list item; the condition says when a
present value is rejected (any non-empty value, true, false, or a predicate on the value); a
``scope`` limits a rule to objects it holds for (a StorageClass of podbay's own provisioner).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from podbay.api.fielderror import FieldError, too_many, unsupported
from podbay.api.storage import PROVISIONER

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
    scope: Callable[[Obj], bool] | None = None       # the rule holds only for objects this is true of

    def total(self) -> bool:
        """Rejects any value, so it covers every field below its path."""
        return self.when is _set and self.keys is None and self.scope is None


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


POD_RULES: tuple[Rule, ...] = (
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
# below a listed path is covered by it. Scheduling fields are decided by the scheduler's filters
# for this one node (core/controllers/nodefit.py).
POD_IMPLEMENTED: dict[str, str] = {
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
    POD_IMPLEMENTED[f"spec.securityContext.{_f}"] = ""
for _f in ("seLinuxOptions", "seLinuxChangePolicy"):
    POD_IMPLEMENTED[f"spec.securityContext.{_f}"] = "no SELinux on this host: no effect, as on any such node"
for _v in ("configMap", "downwardAPI", "emptyDir", "hostPath", "nfs", "persistentVolumeClaim", "secret"):
    POD_IMPLEMENTED[f"spec.volumes[*].{_v}"] = ""
for _v in ("configMap", "downwardAPI", "secret", "serviceAccountToken"):
    POD_IMPLEMENTED[f"spec.volumes[*].projected.sources[*].{_v}"] = ""
POD_IMPLEMENTED["spec.volumes[*].projected.defaultMode"] = ""
for _c in CONTAINERS:
    for _f in ("args", "command", "env", "envFrom", "image", "imagePullPolicy", "lifecycle", "livenessProbe",
               "name", "ports", "readinessProbe", "resources", "restartPolicy", "startupProbe",
               "stdin", "stdinOnce", "terminationMessagePath", "terminationMessagePolicy", "tty", "volumeMounts",
               "workingDir"):
        POD_IMPLEMENTED[f"{_c}.{_f}"] = ""
    for _f in ("allowPrivilegeEscalation", "appArmorProfile", "capabilities", "privileged", "procMount",
               "readOnlyRootFilesystem", "runAsGroup", "runAsNonRoot", "runAsUser", "seccompProfile"):
        POD_IMPLEMENTED[f"{_c}.securityContext.{_f}"] = ""
    POD_IMPLEMENTED[f"{_c}.securityContext.seLinuxOptions"] = "no SELinux on this host: no effect"


# Sane limits (issue 11): a pod larger than this is refused at admission, before anything is created.
POD_LIMITS: tuple[tuple[str, int], ...] = (
    ("spec.containers", 64), ("spec.initContainers", 64), ("spec.volumes", 256),
    *((f"{c}.{f}", n) for c in CONTAINERS for f, n in (("env", 1024), ("envFrom", 64), ("volumeMounts", 256),
                                                     ("ports", 256))),
)


# ---------------------------------------------------------------------------------------------- the other kinds
# Each kind's own rules and implemented fields; ``INHERITS`` puts another kind's table under a prefix
# (a pod template, a Job template, a claim template). Decisions come from the code that implements
# the kind (core/controllers, core/services, agent/claims.py); what no code reads is rejected.

def _local_class(sc: Obj) -> bool:
    """A StorageClass of podbay's own provisioner (the rules for other provisioners' classes do not
    apply: their claims wait for that provisioner, as on a cluster without it)."""
    return sc.get("provisioner") == PROVISIONER


def _enforced_mountable(annotations: Any) -> list[str]:
    key = "kubernetes.io/enforce-mountable-secrets"
    return [key] if isinstance(annotations, dict) and annotations.get(key) == "true" else []


JOB_OWN: tuple[Rule, ...] = (
    Rule("spec.backoffLimitPerIndex", "a backoff limit per index is"),
    Rule("spec.maxFailedIndexes", "a maximum of failed indexes is"),
    Rule("spec.scheduling", "workload-aware scheduling is"),
)
PVC_OWN: tuple[Rule, ...] = (
    Rule("spec.volumeMode", "volumeMode Block is", lambda v: v == "Block", "volumeMode: Block (raw block volumes)"),
    Rule("spec.selector", "", doc="selecting a pre-existing PersistentVolume"),
    Rule("spec.dataSource", "", doc="cloning or restoring a volume"),
    Rule("spec.dataSourceRef", "", doc="cloning or restoring a volume"),
    Rule("spec.volumeAttributesClassName", "", doc="volume attributes classes"),
    Rule("spec.resources.limits", "storage limits are", doc="storage limits (a directory has no quota)"),
)
OWN: dict[str, tuple[Rule, ...]] = {
    "Pod": POD_RULES,
    "StatefulSet": (
        Rule("spec.volumeClaimTemplates[*].spec.volumeName", "binding to a pre-existing PersistentVolume is"),
    ),
    "Job": JOB_OWN,
    "Service": (
        # Firewalling the host-address "load balancer" is not something podbay programs; another class
        # means another implementation, and podbay's host-address load balancer is the only one.
        Rule("spec.loadBalancerSourceRanges", "", doc="source ranges (the load balancer is the host's addresses)"),
        Rule("spec.loadBalancerClass", "", doc="another load balancer implementation"),
        Rule("spec.loadBalancerIP", "a requested load balancer IP is", doc="a requested load balancer IP"),
    ),
    "PersistentVolumeClaim": PVC_OWN,
    "PersistentVolume": (
        *(Rule(f"spec.{src}", f"{src} volumes are") for src in (
            "awsElasticBlockStore", "azureDisk", "azureFile", "cephfs", "cinder", "csi", "fc", "flexVolume",
            "flocker", "gcePersistentDisk", "glusterfs", "iscsi", "local", "nfs", "photonPersistentDisk",
            "portworxVolume", "quobyte", "rbd", "scaleIO", "storageos", "vsphereVolume")),
        Rule("spec.mountOptions", "mount options are"),
        Rule("spec.volumeAttributesClassName", "volume attributes classes are"),
        Rule("spec.volumeMode", "volumeMode Block is", lambda v: v == "Block", "volumeMode: Block"),
        # agent/claims.py removes a released claim's directory: nothing retains or recycles it
        Rule("spec.persistentVolumeReclaimPolicy", "reclaim policies other than Delete are",
             lambda v: v != "Delete", "persistentVolumeReclaimPolicy other than Delete"),
    ),
    "StorageClass": (
        Rule("parameters", "parameters of podbay's provisioner are", scope=_local_class,
             doc="parameters (podbay's provisioner takes none)"),
        Rule("mountOptions", "mount options are", scope=_local_class, doc="mountOptions (podbay's provisioner)"),
        Rule("allowedTopologies[*]", "allowed topologies are", scope=_local_class,
             doc="allowedTopologies (podbay's provisioner)"),
        Rule("allowVolumeExpansion", "volume expansion is", _true, scope=_local_class,
             doc="allowVolumeExpansion: true (podbay's provisioner: a directory has no size to grow)"),
        Rule("reclaimPolicy", "reclaimPolicy Retain is", lambda v: v == "Retain", scope=_local_class,
             doc="reclaimPolicy: Retain (podbay's provisioner deletes a released claim's directory)"),
    ),
    "Secret": (
        Rule("type", "service account token Secrets are", lambda v: v == "kubernetes.io/service-account-token",
             "type: kubernetes.io/service-account-token (no token controller: use `kubectl create token`)"),
    ),
    "ServiceAccount": (
        Rule("metadata.annotations", "mountable-secrets enforcement is", _set,
             "the kubernetes.io/enforce-mountable-secrets annotation", keys=_enforced_mountable),
    ),
    "Node": (
        Rule("spec.podCIDR", "a pod CIDR is", doc="podCIDR (the pod subnet is podbay's own configuration)"),
        Rule("spec.podCIDRs", "pod CIDRs are", doc="podCIDRs (the pod subnet is podbay's own configuration)"),
        Rule("spec.providerID", "provider IDs are", doc="providerID (no cloud provider)"),
        Rule("spec.externalID", "", doc="externalID (deprecated, no cloud provider)"),
        Rule("spec.configSource", "dynamic kubelet configuration is"),
        Rule("spec.podPreemptionPolicy", "in-place resize is", doc="podPreemptionPolicy (in-place resize)"),
    ),
}

# Workloads: their pod templates are checked with the Pod rules, a CronJob's Job template with the
# Job's, a StatefulSet's claim templates with the PersistentVolumeClaim's.
TEMPLATE_KINDS = ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "ReplicationController")
INHERITS: dict[str, tuple[tuple[str, str], ...]] = {
    **{k: (("spec.template", "Pod"),) for k in TEMPLATE_KINDS},
    "StatefulSet": (("spec.template", "Pod"), ("spec.volumeClaimTemplates[*]", "PersistentVolumeClaim")),
    "CronJob": (("spec.jobTemplate", "Job"),),
}

# Fields rejected by cross-field code outside the table (path -> the README's wording; the code
# there says why it cannot be a plain rule and points here).
ELSEWHERE: dict[str, dict[str, str]] = {
    "PersistentVolumeClaim": {
        "spec.volumeName": "binding to a pre-existing PersistentVolume (api/pvc.py: the name podbay's "
                           "provisioner bound may come back on an update)",
    },
    "PersistentVolume": {
        "spec": "creating a PersistentVolume (agent/strategies/workloads.py: only podbay's provisioner does)",
    },
}

_DATA = "stored as given; read by the clients that write it"
OWN_IMPLEMENTED: dict[str, dict[str, str]] = {
    "Pod": POD_IMPLEMENTED,
    "Deployment": {
        "metadata": "annotations are copied to the ReplicaSets", "spec.replicas": "", "spec.selector": "",
        "spec.strategy": "Recreate and RollingUpdate (maxSurge, maxUnavailable)", "spec.minReadySeconds": "",
        "spec.revisionHistoryLimit": "", "spec.progressDeadlineSeconds": "the Progressing condition",
        "spec.paused": "no rollout while paused",
    },
    "ReplicaSet": {"metadata": "", "spec.replicas": "", "spec.selector": "", "spec.minReadySeconds": ""},
    "ReplicationController": {"metadata": "", "spec.replicas": "", "spec.selector": "", "spec.minReadySeconds": ""},
    "StatefulSet": {
        "metadata": "", "spec.replicas": "", "spec.selector": "", "spec.serviceName": "the pods' subdomain",
        "spec.podManagementPolicy": "OrderedReady and Parallel",
        "spec.updateStrategy": "RollingUpdate (partition, maxUnavailable) and OnDelete",
        "spec.minReadySeconds": "", "spec.revisionHistoryLimit": "", "spec.ordinals": "",
        "spec.persistentVolumeClaimRetentionPolicy": "owner references on the claims (whenDeleted, whenScaled)",
        "spec.volumeClaimTemplates[*].apiVersion": "", "spec.volumeClaimTemplates[*].kind": "",
        "spec.volumeClaimTemplates[*].status": "not copied to the claims, as upstream",
    },
    "DaemonSet": {
        "metadata": "", "spec.selector": "", "spec.minReadySeconds": "", "spec.revisionHistoryLimit": "",
        "spec.updateStrategy": "RollingUpdate (maxUnavailable, maxSurge) and OnDelete",
    },
    "ControllerRevision": {"metadata": "", "data": "the workloads' history", "revision": ""},
    "Job": {
        "metadata": "", "spec.parallelism": "", "spec.completions": "", "spec.activeDeadlineSeconds": "",
        "spec.backoffLimit": "", "spec.completionMode": "NonIndexed and Indexed", "spec.suspend": "",
        "spec.ttlSecondsAfterFinished": "", "spec.selector": "", "spec.manualSelector": "",
        "spec.podFailurePolicy": "", "spec.successPolicy": "", "spec.podReplacementPolicy": "",
        "spec.managedBy": "a Job managed by another controller is left to it, as upstream",
    },
    "CronJob": {
        "metadata": "", "spec.schedule": "", "spec.timeZone": "", "spec.startingDeadlineSeconds": "",
        "spec.concurrencyPolicy": "", "spec.suspend": "", "spec.successfulJobsHistoryLimit": "",
        "spec.failedJobsHistoryLimit": "",
    },
    "Service": {
        "metadata": "", "spec.ports[*]": "", "spec.selector": "", "spec.type": "ClusterIP, NodePort, LoadBalancer "
        "(the host's addresses), ExternalName", "spec.clusterIP": "", "spec.clusterIPs": "",
        "spec.externalName": "", "spec.externalIPs": "", "spec.sessionAffinity": "", "spec.sessionAffinityConfig": "",
        "spec.externalTrafficPolicy": "", "spec.internalTrafficPolicy": "", "spec.publishNotReadyAddresses": "",
        "spec.ipFamilies": "single stack: dual stack is refused as on a single-stack cluster",
        "spec.ipFamilyPolicy": "single stack: RequireDualStack is refused as on a single-stack cluster",
        "spec.allocateLoadBalancerNodePorts": "",
        "spec.healthCheckNodePort": "allocated and reserved, as upstream",
        "spec.trafficDistribution": "one node: every endpoint is on it, so the preference always holds",
    },
    "Endpoints": {"metadata": "", "subsets[*]": "written by the endpoints controller for Services with a selector"},
    "EndpointSlice": {"metadata": "", "addressType": "", "endpoints[*]": "the proxy's and DNS's endpoints",
                      "ports[*]": ""},
    "PersistentVolumeClaim": {
        "metadata": "", "spec.accessModes": "one node: every mode holds", "spec.storageClassName": "",
        "spec.resources.requests": "the volume's recorded capacity (a directory has no quota)",
    },
    "PersistentVolume": {
        "metadata": "", "spec.capacity": "", "spec.accessModes": "", "spec.claimRef": "", "spec.hostPath": "",
        "spec.nodeAffinity": "", "spec.storageClassName": "", "spec.volumeMode": "Filesystem",
        "spec.persistentVolumeReclaimPolicy": "Delete",
    },
    "StorageClass": {
        "metadata": "", "provisioner": "podbay's own, or another whose claims wait for it (ExternalProvisioning)",
        "volumeBindingMode": "", "reclaimPolicy": "Delete",
        **{k: "another provisioner's: kept for it" for k in ("parameters", "mountOptions", "allowedTopologies[*]",
                                                            "allowVolumeExpansion")},
    },
    "ConfigMap": {"metadata": "", "data": "", "binaryData": "", "immutable": ""},
    "Secret": {"metadata": "", "data": "", "stringData": "", "immutable": "", "type": ""},
    "ServiceAccount": {"metadata": "", "automountServiceAccountToken": "", "imagePullSecrets[*]": "copied to its pods",
                       "secrets[*]": "a list for clients; nothing mounts from it, as upstream"},
    "Namespace": {"metadata": "", "spec.finalizers": "the namespace controller's"},
    "Lease": {"metadata": "", "spec": _DATA},
    "Node": {"metadata": "", "spec.taints[*]": "the scheduler's filters", "spec.unschedulable": "the scheduler's filters"},
    "Event": {k: _DATA for k in (
        "metadata", "action", "count", "eventTime", "firstTimestamp", "involvedObject", "lastTimestamp", "message",
        "reason", "related", "reportingComponent", "reportingInstance", "series", "source", "type")},
}
LIMITS_OWN: dict[str, tuple[tuple[str, int], ...]] = {"Pod": POD_LIMITS}


def _under(prefix: str, rules: tuple[Rule, ...]) -> tuple[Rule, ...]:
    return tuple(dataclasses.replace(r, path=f"{prefix}.{r.path}") for r in rules)


def _rules(kind: str) -> tuple[Rule, ...]:
    out = OWN.get(kind, ())
    for prefix, inner in INHERITS.get(kind, ()):
        out += _under(prefix, _rules(inner))
    return out


def _implemented(kind: str) -> dict[str, str]:
    out = dict(OWN_IMPLEMENTED.get(kind, {}))
    for prefix, inner in INHERITS.get(kind, ()):
        out.update({f"{prefix}.{k}": v for k, v in _implemented(inner).items() if k != "status"})
    return out


def _limits(kind: str) -> tuple[tuple[str, int], ...]:
    out = LIMITS_OWN.get(kind, ())
    for prefix, inner in INHERITS.get(kind, ()):
        out += tuple((f"{prefix}.{p}", n) for p, n in _limits(inner))
    return out


KINDS = tuple(OWN_IMPLEMENTED)
UNSUPPORTED: dict[str, tuple[Rule, ...]] = {k: _rules(k) for k in KINDS}
IMPLEMENTED: dict[str, dict[str, str]] = {k: _implemented(k) for k in KINDS}
LIMITS: dict[str, tuple[tuple[str, int], ...]] = {k: _limits(k) for k in KINDS}


def covered(kind: str, path: str) -> bool:
    """Whether a schema field path of ``kind`` is implemented (itself or a parent listed), in the
    table (a rule at it, or a rule rejecting any value at a parent), or rejected elsewhere."""
    parts = path.split(".")
    prefixes = {".".join(parts[:i]) for i in range(1, len(parts) + 1)}
    if any(r.path == path or (r.total() and r.path in prefixes) for r in UNSUPPORTED.get(kind, ())):
        return True
    return bool(prefixes & set(IMPLEMENTED.get(kind, {}))) or path in ELSEWHERE.get(kind, {})


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


def _offending(kind: str, obj: Obj) -> Iterator[tuple[str, Any, Rule]]:
    for rule in UNSUPPORTED.get(kind, ()):
        if rule.scope is not None and not rule.scope(obj):
            continue
        for path, value in _walk(obj, rule.path.split("."), ""):
            if rule.keys is not None:
                yield from ((f"{path}[{k}]", value.get(k), rule) for k in rule.keys(value))
            elif rule.when(value):
                yield path, value, rule


def check(kind: str, obj: Obj, old: Obj | None = None) -> list[FieldError]:
    """The support errors of a validated object of ``kind``: the limits, then the table's rules in
    order. On an update (``old``) a value the stored object already had is not reported again, so
    an object stored before a rule existed can still be relabelled, finalized and deleted."""
    errs: list[FieldError] = []
    for path, maximum in LIMITS.get(kind, ()):
        for at, value in _walk(obj, path.split("."), ""):
            if isinstance(value, list) and len(value) > maximum:
                errs.append(too_many(at, len(value), maximum))
    had = [] if old is None else [(at, v) for at, v, _r in _offending(kind, old)]
    for at, value, rule in _offending(kind, obj):
        if (at, value) not in had:
            errs.append(unsupported(at, rule.what))
    return errs


def admit(kind: str, obj: Obj, old: Obj | None, errs: list[FieldError]) -> list[FieldError]:
    """Validation's errors, then the support errors at fields validation did not already refuse
    (a field upstream forbids here, e.g. loadBalancerClass without type LoadBalancer, gets
    upstream's error only). The registry's one call site for every kind."""
    refused = [e.field.lower() for e in errs]

    def already(field: str) -> bool:
        f = field.lower()
        return any(f == r or f.startswith((r + ".", r + "[")) for r in refused)

    return errs + [e for e in check(kind, obj, old) if not already(e.field)]


# ---------------------------------------------------------------------------------------------- README
README_ORDER = ("Pod", "Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "ReplicationController", "Job",
                "CronJob", "Service", "PersistentVolumeClaim", "PersistentVolume", "StorageClass", "Secret",
                "ServiceAccount", "Node")


def _rule_line(rule: Rule) -> str:
    path = rule.path.replace("spec.initContainers[*]", "spec.containers[*]")
    return f"`{path}`" + (f": {rule.doc}" if rule.doc else "")


def readme_lines() -> list[str]:
    """The README's "not supported" list, grouped by kind (Pod first); container rules once, a
    template's rules as a reference to the kind they come from."""
    order = [k for k in README_ORDER if k in KINDS] + [k for k in KINDS if k not in README_ORDER]
    out: list[str] = []
    clean: list[str] = []
    for kind in order:
        lines: dict[str, None] = {}
        for prefix, inner in INHERITS.get(kind, ()):
            lines.setdefault(f"the {inner} rules under `{prefix}`", None)
        for rule in OWN.get(kind, ()):
            lines.setdefault(_rule_line(rule), None)
        for path, doc in ELSEWHERE.get(kind, {}).items():
            lines.setdefault(f"`{path}`: {doc}", None)
        if not lines:
            clean.append(kind)
            continue
        out.append(f"- **{kind}**")
        out += [f"  - {t}" for t in lines]
    out.append("- Every field of " + ", ".join(clean) + " is implemented.")
    return out
