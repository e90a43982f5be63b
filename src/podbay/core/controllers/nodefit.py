"""Does a pod fit this node? The default scheduler's filter plugins a single node needs, in the
framework's order (NodeUnschedulable, NodeName, TaintToleration, NodeAffinity, NodePorts,
NodeResourcesFit), and ``FitError.Error()``'s message for the FailedScheduling event and the
PodScheduled condition — including the PostFilter part that v1.34+ schedulers append (the
DynamicResources plugin's ``no new claims to deallocate`` before DefaultPreemption's verdict).

Also the helpers the DaemonSet controller shares: toleration and node-selector matching.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any

from podbay.api.quantity import parse_quantity
from podbay.core.controllers import objects as o

Obj = dict[str, Any]

UNSCHEDULABLE = "Unschedulable"
UNRESOLVABLE = "UnschedulableAndUnresolvable"

ERR_UNSCHEDULABLE = "node(s) were unschedulable"
ERR_NODE_NAME = "node(s) didn't match the requested node name"
ERR_TAINT = "node(s) had untolerated taint(s)"
ERR_AFFINITY = "node(s) didn't match Pod's node affinity/selector"
ERR_PORTS = "node(s) didn't have free ports for the requested pod ports"
ERR_TOO_MANY_PODS = "Too many pods"
PREEMPTION_NOT_HELPFUL = "Preemption is not helpful for scheduling"
NO_VICTIMS = "No preemption victims found for incoming pod"
NO_CLAIMS = "no new claims to deallocate"
UNSCHEDULABLE_TAINT = "node.kubernetes.io/unschedulable"


@dataclasses.dataclass(frozen=True)
class Fit:
    """The filter verdict for one node: ``code`` "" when the pod fits."""

    code: str = ""
    reasons: tuple[str, ...] = ()

    @property
    def fits(self) -> bool:
        return not self.code


# ---------------------------------------------------------------------------------------------- matching


def tolerates(toleration: Mapping[str, Any], taint: Mapping[str, Any]) -> bool:
    """``Toleration.ToleratesTaint``: empty effect/key match any; operator Exists ignores the value."""
    if toleration.get("effect") and toleration.get("effect") != taint.get("effect"):
        return False
    if toleration.get("key") and toleration.get("key") != taint.get("key"):
        return False
    op = toleration.get("operator") or "Equal"
    if op == "Equal":
        return (toleration.get("value") or "") == (taint.get("value") or "")
    return op == "Exists"


def untolerated_taint(taints: Sequence[Mapping[str, Any]], tolerations: Sequence[Mapping[str, Any]],
                      effects: tuple[str, ...] = ("NoSchedule", "NoExecute")) -> Mapping[str, Any] | None:
    """``FindMatchingUntoleratedTaint`` with ``DoNotScheduleTaintsFilterFunc``."""
    for taint in taints:
        if taint.get("effect") not in effects:
            continue
        if not any(tolerates(t, taint) for t in tolerations):
            return taint
    return None


def _requirement_matches(req: Mapping[str, Any], value: str | None) -> bool:
    op = req.get("operator")
    values = [str(v) for v in req.get("values") or []]
    if op == "In":
        return value is not None and value in values
    if op == "NotIn":
        return value is None or value not in values
    if op == "Exists":
        return value is not None
    if op == "DoesNotExist":
        return value is None
    if op in ("Gt", "Lt"):
        if value is None or len(values) != 1:
            return False
        try:
            have, want = int(value), int(values[0])
        except ValueError:
            return False
        return have > want if op == "Gt" else have < want
    return False


def _term_matches(term: Mapping[str, Any], node: Mapping[str, Any]) -> bool:
    exprs = term.get("matchExpressions") or []
    fields = term.get("matchFields") or []
    if not exprs and not fields:
        return False  # an empty term matches no objects
    labels = o.labels(node)
    if not all(_requirement_matches(r, labels.get(str(r.get("key")))) for r in exprs):
        return False
    for r in fields:
        if r.get("key") != "metadata.name" or not _requirement_matches(r, o.name(node)):
            return False
    return True


def node_selector_terms_match(terms: Sequence[Mapping[str, Any]], node: Mapping[str, Any]) -> bool:
    """A NodeSelector: the terms are ORed."""
    return any(_term_matches(t, node) for t in terms)


def matches_node_selector_and_affinity(pod: Mapping[str, Any], node: Mapping[str, Any]) -> bool:
    """``RequiredNodeAffinity.Match``: ``spec.nodeSelector`` and the required node affinity."""
    spec = o.spec(pod)
    labels = o.labels(node)
    for k, v in (spec.get("nodeSelector") or {}).items():
        if labels.get(k) != v:
            return False
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution"))
    if required is not None:
        return node_selector_terms_match(required.get("nodeSelectorTerms") or [], node)
    return True


# ---------------------------------------------------------------------------------------------- resources


def _container_requests(c: Mapping[str, Any]) -> dict[str, Fraction]:
    req = (c.get("resources") or {}).get("requests") or {}
    out: dict[str, Fraction] = {}
    for k, v in req.items():
        try:
            out[str(k)] = parse_quantity(v)
        except ValueError:
            continue
    return out


def _add(a: dict[str, Fraction], b: Mapping[str, Fraction]) -> None:
    for k, v in b.items():
        a[k] = a.get(k, Fraction(0)) + v


def pod_requests(pod: Mapping[str, Any]) -> dict[str, Fraction]:
    """``resourcehelper.PodRequests``: Σ containers (+ restartable init containers), at least each
    init container's peak, plus the overhead."""
    spec = o.spec(pod)
    reqs: dict[str, Fraction] = {}
    for c in spec.get("containers") or []:
        _add(reqs, _container_requests(c))
    sidecars: dict[str, Fraction] = {}
    init_peak: dict[str, Fraction] = {}
    for c in spec.get("initContainers") or []:
        r = _container_requests(c)
        if c.get("restartPolicy") == "Always":
            _add(reqs, r)
            _add(sidecars, r)
            continue
        peak = dict(r)
        _add(peak, sidecars)
        for k, v in peak.items():
            init_peak[k] = max(init_peak.get(k, Fraction(0)), v)
    for k, v in init_peak.items():
        reqs[k] = max(reqs.get(k, Fraction(0)), v)
    _add(reqs, {k: parse_quantity(v) for k, v in (spec.get("overhead") or {}).items()})
    return reqs


def resource_fit(pod: Mapping[str, Any], node: Mapping[str, Any], pods_on_node: Sequence[Mapping[str, Any]]) -> Fit:
    """``NodeResourcesFit``'s ``fitsRequest``: pod count, then every requested resource against
    allocatable minus what the node's pods request."""
    alloc_raw = o.status(node).get("allocatable") or {}
    alloc = {str(k): parse_quantity(v) for k, v in alloc_raw.items()}
    reasons = []
    allowed_pods = int(alloc.get("pods", Fraction(110)))
    if len(pods_on_node) + 1 > allowed_pods:
        reasons.append(ERR_TOO_MANY_PODS)
    want = pod_requests(pod)
    used: dict[str, Fraction] = {}
    for p in pods_on_node:
        _add(used, pod_requests(p))
    for rname in ("cpu", "memory", "ephemeral-storage"):
        w = want.get(rname, Fraction(0))
        if w == 0:
            continue
        if w > alloc.get(rname, Fraction(0)) - used.get(rname, Fraction(0)):
            reasons.append(f"Insufficient {rname}")
    for rname, w in sorted(want.items()):
        if rname in ("cpu", "memory", "ephemeral-storage", "pods") or w == 0:
            continue
        if w > alloc.get(rname, Fraction(0)) - used.get(rname, Fraction(0)):
            reasons.append(f"Insufficient {rname}")
    return Fit(UNSCHEDULABLE, tuple(reasons)) if reasons else Fit()


# ---------------------------------------------------------------------------------------------- ports


def host_ports(pod: Mapping[str, Any]) -> list[tuple[str, str, int]]:
    """(hostIP, protocol, hostPort) of every container port with a hostPort, sanitized as upstream."""
    out = []
    for c in o.spec(pod).get("containers") or []:
        for p in c.get("ports") or []:
            hp = p.get("hostPort")
            if isinstance(hp, int) and hp > 0:
                out.append((str(p.get("hostIP") or "0.0.0.0"), str(p.get("protocol") or "TCP"), hp))
    return out


def ports_conflict(want: Sequence[tuple[str, str, int]], used: Sequence[tuple[str, str, int]]) -> bool:
    """``HostPortInfo.CheckConflict``: 0.0.0.0 conflicts with every address on the same protocol/port."""
    for ip, proto, port in want:
        for uip, uproto, uport in used:
            if proto != uproto or port != uport:
                continue
            if ip == "0.0.0.0" or uip == "0.0.0.0" or ip == uip:
                return True
    return False


# ---------------------------------------------------------------------------------------------- the filter


def assigned_pods(pods: Sequence[Mapping[str, Any]], node_name: str, exclude_uid: str = "") -> list[Mapping[str, Any]]:
    """The pods the scheduler's cache holds for the node: assigned to it and not terminal."""
    return [p for p in pods if o.spec(p).get("nodeName") == node_name and not o.is_terminal(p)
            and o.uid(p) != exclude_uid]


def filter_pod(pod: Mapping[str, Any], node: Mapping[str, Any], pods_on_node: Sequence[Mapping[str, Any]]) -> Fit:
    """The filter plugins in the default profile's order; the first that fails decides."""
    spec = o.spec(pod)
    nspec = o.spec(node)
    tolerations = spec.get("tolerations") or []
    if nspec.get("unschedulable") and not any(
        tolerates(t, {"key": UNSCHEDULABLE_TAINT, "effect": "NoSchedule"}) for t in tolerations
    ):
        return Fit(UNRESOLVABLE, (ERR_UNSCHEDULABLE,))
    if spec.get("nodeName") and spec["nodeName"] != o.name(node):
        return Fit(UNRESOLVABLE, (ERR_NODE_NAME,))
    if untolerated_taint(nspec.get("taints") or [], tolerations) is not None:
        return Fit(UNRESOLVABLE, (ERR_TAINT,))
    if not matches_node_selector_and_affinity(pod, node):
        return Fit(UNRESOLVABLE, (ERR_AFFINITY,))
    used = [hp for p in pods_on_node for hp in host_ports(p)]
    if ports_conflict(host_ports(pod), used):
        return Fit(UNSCHEDULABLE, (ERR_PORTS,))
    return resource_fit(pod, node, pods_on_node)


def fit_error_message(fits: Sequence[Fit], prefilter: str = "") -> str:
    """``FitError.Error()`` over every node's verdict, with the PostFilter plugins' messages.

    ``prefilter``: a PreFilter plugin's message (VolumeBinding's ``persistentvolumeclaim "x" not
    found``); then every node carries that status and the per-node reasons are not listed.
    """
    n = len(fits)
    counts: Counter[str] = Counter()
    for f in fits:
        counts.update(f.reasons)
    msg = f"0/{n} nodes are available:"
    parts = sorted(f"{v} {k}" for k, v in counts.items())
    if prefilter:
        msg += f" {prefilter}."
    elif parts:
        msg += f" {', '.join(parts)}."
    preempt: Counter[str] = Counter()
    for f in fits:
        preempt[PREEMPTION_NOT_HELPFUL if f.code == UNRESOLVABLE else NO_VICTIMS] += 1
    pparts = sorted(f"{v} {k}" for k, v in preempt.items())
    msg += f" {NO_CLAIMS}, preemption: 0/{n} nodes are available: {', '.join(pparts)}."
    return msg


def scheduled_condition(message: str, now: float) -> Obj:
    """The PodScheduled condition an unschedulable pod carries."""
    return {"type": "PodScheduled", "status": "False", "lastProbeTime": None,
            "lastTransitionTime": o.rfc3339(now), "reason": "Unschedulable", "message": message}


# ---------------------------------------------------------------------------------------------- volume binding

ERR_PVC_NOT_FOUND = 'persistentvolumeclaim "{}" not found'
ERR_PVC_DELETING = 'persistentvolumeclaim "{}" is being deleted'
ERR_UNBOUND_IMMEDIATE = "pod has unbound immediate PersistentVolumeClaims"
ERR_BIND_CONFLICT = "node(s) didn't find available persistent volumes to bind"


@dataclasses.dataclass(frozen=True)
class VolumeBinding:
    """The VolumeBinding plugin's verdict for one pod on this node.

    ``prefilter``: PreFilter's message (the pod cannot be scheduled anywhere; every node then
    carries an unresolvable status); ``fit``: Filter's verdict; ``provision``: the WaitForFirstConsumer claims podbay's provisioner makes at PreBind.
    """

    prefilter: str = ""
    fit: Fit = Fit()
    provision: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.prefilter and self.fit.fits


def claim_names(pod: Mapping[str, Any]) -> list[str]:
    out = []
    for v in o.spec(pod).get("volumes") or []:
        if isinstance(v, Mapping) and isinstance(v.get("persistentVolumeClaim"), Mapping):
            out.append(str(v["persistentVolumeClaim"].get("claimName") or ""))
    return out


def claim_bound(claim: Mapping[str, Any]) -> bool:
    return bool(o.spec(claim).get("volumeName")) and o.status(claim).get("phase") == "Bound"


def volume_binding(pod: Mapping[str, Any], claims: Mapping[str, Mapping[str, Any]],
                   classes: Mapping[str, Mapping[str, Any]], provisioner: str) -> VolumeBinding:
    """``VolumeBinding`` PreFilter + Filter: every claim must exist and not be deleting; an unbound
    claim of an Immediate class (or of none, or of a class that does not exist) waits for the
    PersistentVolume controller; one of a WaitForFirstConsumer class is provisioned for this node
    when ``provisioner`` serves its class — podbay has no static volumes, so any other such claim
    can never bind here."""
    delayed: list[str] = []
    immediate = False
    for name in dict.fromkeys(claim_names(pod)):
        claim = claims.get(name)
        if claim is None:
            return VolumeBinding(ERR_PVC_NOT_FOUND.format(name), Fit(UNRESOLVABLE))
        if o.deleting(claim):
            return VolumeBinding(ERR_PVC_DELETING.format(name), Fit(UNRESOLVABLE))
        if claim_bound(claim):
            continue
        sc = classes.get(str(o.spec(claim).get("storageClassName") or ""))
        if sc is None or sc.get("volumeBindingMode") != "WaitForFirstConsumer":
            immediate = True
        else:
            delayed.append(name)
    if immediate:
        return VolumeBinding(ERR_UNBOUND_IMMEDIATE, Fit(UNRESOLVABLE))
    for name in delayed:
        sc = classes[str(o.spec(claims[name]).get("storageClassName") or "")]
        if sc.get("provisioner") != provisioner:
            return VolumeBinding(fit=Fit(UNRESOLVABLE, (ERR_BIND_CONFLICT,)))
    return VolumeBinding(provision=tuple(delayed))
