"""``podbay describe``: kubectl describe for every served kind.

Pods keep podbay's rich describe (host paths and volume usage from the agent's stats); ConfigMap,
Secret, PersistentVolumeClaim, Service, Endpoints, EndpointSlice, ServiceAccount, Namespace, Node,
Deployment and ReplicaSet have kubectl's specific describers; every other kind the generic one.
``describe TYPE NAME`` describes the objects whose names start with NAME when none is called NAME,
as kubectl does. Events are the object's (``involvedObject``), like ``--show-events``.
"""

from __future__ import annotations

from typing import Any

import click

from podbay.cli.args import resource_args
from podbay.cli.context import common, err, now, out, settings
from podbay.cli.errors import fail
from podbay.client.http import AgentUnreachable, ApiClient, ApiError

Obj = dict[str, Any]
STATS_TIMEOUT = 5.0  # describe's optional volume usage must never hold it up for long


@click.command("describe")
@click.argument("args", nargs=-1)
@click.option("-l", "--selector", default=None, help="Label selector.")
@click.option("-A", "--all-namespaces", is_flag=True)
@click.option("-f", "--filename", "files", multiple=True, help="Describe the objects of these manifests.")
@click.option("--show-events", default="true", help="Show the events of each object (true|false).")
@common
def command(args: tuple[str, ...], selector: str | None, all_namespaces: bool, files: tuple[str, ...],
            show_events: str) -> None:
    """Show details of a resource or group of resources (any served kind)."""
    from podbay.cli.args import bool_flag

    s = settings()
    client = s.client()
    events = bool_flag(show_events, "show-events")
    events_explicit = click.get_current_context().get_parameter_source("show_events") not in (
        click.core.ParameterSource.DEFAULT, None)
    found: list[tuple[Any, Obj]] = []
    prefixed = False
    if files:
        from podbay.cli.manifests import read_manifests, resolve_manifests

        for m in resolve_manifests(read_manifests(files)):
            found.append((m.res, client.get(m.res.path(m.namespace, m.name))))
    else:
        if not args:
            raise fail('You must specify the type of resource to describe. Use "podbay api-resources" for a '
                       "complete list of supported resources.")
        targets = resource_args(s.discovery(), args, "describe")
        for t in targets:
            ns = None if all_namespaces else s.namespace
            if t.names:
                for name in t.names:
                    hits, by_prefix = _by_name(client, t.res, s.namespace, name, prefix=len(args) == 2)
                    found += hits
                    prefixed = prefixed or by_prefix
            else:
                query = {"labelSelector": selector} if selector else None
                for item in client.get(t.res.path(ns), query).get("items") or []:
                    found.append((t.res, {"apiVersion": t.res.api_version, "kind": t.res.kind, **item}))
        if not found:
            err("No resources found" if all_namespaces else f"No resources found in {s.namespace} namespace.")
            return
    if (len(found) > 1 or prefixed) and not events_explicit:
        events = False   # kubectl shows events for one object only, unless --show-events is given
    texts = [describe_one(client, res, obj, events) for res, obj in found]
    out("".join(t + "\n" for t in texts) if prefixed else "\n\n".join(texts))


def _by_name(client: ApiClient, res: Any, ns: str, name: str, *,
             prefix: bool) -> tuple[list[tuple[Any, Obj]], bool]:
    """The object NAME, else (``describe TYPE PREFIX``) those whose names start with it."""
    try:
        return [(res, client.get(res.path(ns, name)))], False
    except ApiError as e:
        if e.code != 404 or not prefix:
            raise
        items = [{"apiVersion": res.api_version, "kind": res.kind, **o}
                 for o in client.get(res.path(ns)).get("items") or []
                 if str((o.get("metadata") or {}).get("name", "")).startswith(name)]
        if not items:
            raise
        return [(res, o) for o in items], True


def events_for(client: ApiClient, res: Any, obj: Obj) -> list[Obj]:
    """searchEvents: the events whose involvedObject is ``obj`` (by namespace, name, kind, uid); [] if
    the server will not say."""
    meta = obj.get("metadata") or {}
    name, ns, uid = meta.get("name", ""), meta.get("namespace"), meta.get("uid")
    selector = f"involvedObject.name={name}"
    path = f"/api/v1/namespaces/{ns}/events" if ns else "/api/v1/events"
    try:
        items = client.get(path, {"fieldSelector": selector}).get("items") or []
    except ApiError:
        return []
    out_ = []
    for e in items:
        ref = e.get("involvedObject") or {}
        if ref.get("kind") not in (None, "", res.kind):
            continue
        if uid and ref.get("uid") and ref.get("uid") != uid and ref.get("uid") != name:
            continue
        out_.append(e)
    return out_


def _list(client: ApiClient, path: str, query: dict[str, Any] | None = None) -> list[Obj]:
    try:
        return list(client.get(path, query).get("items") or [])
    except ApiError:
        return []


def describe_one(client: ApiClient, res: Any, obj: Obj, show_events: bool) -> str:
    from podbay.cli import describe, describe_objects, describers

    meta = obj.get("metadata") or {}
    ns, name = meta.get("namespace") or "default", meta.get("name", "")
    ev = events_for(client, res, obj) if show_events else None
    key = (res.group, res.kind)
    t = now()
    if key == ("", "Pod"):
        summary = _stats_summary(client.socket_path) if (obj.get("spec") or {}).get("volumes") else {}
        return describe.describe_pod(obj, ev, t, describe.volume_stats(summary, obj))
    if key == ("", "ConfigMap"):
        return describe_objects.describe_configmap(obj, ev, t)
    if key == ("", "Secret"):
        return describe_objects.describe_secret(obj)
    if key == ("", "PersistentVolumeClaim"):
        pods = _list(client, f"/api/v1/namespaces/{ns}/pods")
        return describe_objects.describe_pvc(obj, describe_objects.pods_using_claim(name, pods), ev, t)
    if key == ("", "Service"):
        slices = _list(client, f"/apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices",
                       {"labelSelector": f"kubernetes.io/service-name={name}"})
        return describers.describe_service(obj, slices, ev, t)
    if key == ("", "Endpoints"):
        return describers.describe_endpoints(obj, ev, t)
    if key == ("discovery.k8s.io", "EndpointSlice"):
        return describers.describe_endpoint_slice(obj, ev, t)
    if key == ("", "ServiceAccount"):
        return describers.describe_service_account(obj, ev, t)
    if key == ("", "Namespace"):
        return describers.describe_namespace(obj)
    if key == ("", "Node"):
        return _describe_node(client, obj, ev)
    if key == ("apps", "Deployment"):
        return _describe_deployment(client, obj, ev)
    if key == ("apps", "ReplicaSet"):
        pods = [p for p in _list(client, f"/api/v1/namespaces/{ns}/pods") if _owned_by(p, meta.get("uid"))]
        return describers.describe_replica_set(obj, pods, ev, t)
    return describers.describe_generic(obj, ev, t)


def _owned_by(obj: Obj, uid: Any) -> bool:
    return any(r.get("uid") == uid and r.get("controller")
               for r in (obj.get("metadata") or {}).get("ownerReferences") or [])


def _describe_node(client: ApiClient, node: Obj, ev: list[Obj] | None) -> str:
    from podbay.cli import describers

    name = (node.get("metadata") or {}).get("name", "")
    try:
        pods: list[Obj] | None = client.get("/api/v1/pods", {"fieldSelector": f"spec.nodeName={name}"}).get(
            "items") or []
    except ApiError:
        pods = None
    try:
        lease: Obj | None = client.get(f"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{name}")
    except ApiError:
        lease = None
    return describers.describe_node(node, pods, lease, ev, now())


def _template_key(template: Obj | None) -> Any:
    """A pod template without the controller's pod-template-hash label (EqualIgnoreHash)."""
    import copy
    import json

    t = copy.deepcopy(template or {})
    labels = (t.get("metadata") or {}).get("labels")
    if isinstance(labels, dict):
        labels.pop("pod-template-hash", None)
    return json.dumps(t, sort_keys=True)


def _describe_deployment(client: ApiClient, d: Obj, ev: list[Obj] | None) -> str:
    from podbay.cli import describers

    meta = d.get("metadata") or {}
    ns = meta.get("namespace") or "default"
    try:
        sets = [rs for rs in client.get(f"/apis/apps/v1/namespaces/{ns}/replicasets").get("items") or []
                if _owned_by(rs, meta.get("uid"))]
    except ApiError:
        return describers.describe_deployment(d, None, None, ev, now())
    want = _template_key((d.get("spec") or {}).get("template"))
    new = [rs for rs in sets if _template_key((rs.get("spec") or {}).get("template")) == want][:1]
    old = [rs for rs in sets if rs not in new and (rs.get("spec") or {}).get("replicas", 1)]
    return describers.describe_deployment(d, old, new, ev, now())


def _stats_summary(socket_path: str) -> dict[str, Any]:
    """The agent's stats/v1alpha1 Summary, or {} when it has none (404, unreachable, bad answer)."""
    try:
        summary = ApiClient(socket_path, timeout=STATS_TIMEOUT).get("/stats/summary")
    except (ApiError, AgentUnreachable, OSError, ValueError):
        return {}
    return summary if isinstance(summary, dict) else {}
