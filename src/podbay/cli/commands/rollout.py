"""``podbay rollout status|restart|undo|history|pause|resume`` for Deployments, DaemonSets and
StatefulSets, written against the API only (the controllers behind it are the agent's).

- ``status``: kubectl's status viewers (``polymorphichelpers``: DeploymentStatusViewer,
  DaemonSetStatusViewer, StatefulSetStatusViewer), printed each time the message changes while
  watching the object, until it is rolled out or ``--timeout`` passes;
- ``restart``: the pod template annotation ``kubectl.kubernetes.io/restartedAt``;
- ``history`` / ``undo``: a Deployment's revisions are its ReplicaSets' ``deployment.kubernetes.io/
  revision`` annotations; undo copies a revision's pod template (without ``pod-template-hash``) back
  into the Deployment, as kubectl's DeploymentRollbacker;
- ``pause`` / ``resume``: ``spec.paused``.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime
from typing import Any

import click

from podbay.cli.args import parse_duration, single_target
from podbay.cli.context import FOREVER, common, err, out, settings
from podbay.cli.errors import CliError, fail
from podbay.client.http import ApiClient, ApiError

Obj = dict[str, Any]
REVISION = "deployment.kubernetes.io/revision"
CHANGE_CAUSE = "kubernetes.io/change-cause"
HASH_LABEL = "pod-template-hash"
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
STRATEGIC = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"
SKIP_ANNOTATIONS = {"kubectl.kubernetes.io/last-applied-configuration", REVISION,
                    "deployment.kubernetes.io/revision-history", "deployment.kubernetes.io/desired-replicas",
                    "deployment.kubernetes.io/max-replicas", "deprecated.deployment.rollback.to"}
SUPPORTED = {("apps", "Deployment"), ("apps", "DaemonSet"), ("apps", "StatefulSet")}


@click.group("rollout")
def group() -> None:
    """Manage the rollout of a Deployment, DaemonSet or StatefulSet."""


def _targets(args: tuple[str, ...], verb: str) -> list[tuple[Any, str]]:
    s = settings()
    res, names = single_target(s.discovery(), args, f"rollout {verb}")
    if (res.group, res.kind) not in SUPPORTED:
        raise fail(f"no {verb} has been implemented for {res.kind_group!r}" if verb != "status"
                   else f"no status viewer has been implemented for {res.kind}")
    if not names:
        raise fail("required resource not specified")
    return [(res, n) for n in names]


# --- status --------------------------------------------------------------------------------------------

def status_message(res: Any, obj: Obj, revision: int = 0) -> tuple[str, bool]:
    """(message, done) of kubectl's status viewers; CliError when the rollout cannot finish."""
    meta, spec, st = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
    name = meta.get("name", "")
    generation, observed = int(meta.get("generation") or 0), int(st.get("observedGeneration") or 0)
    if res.kind == "Deployment":
        if revision > 0:
            have = int((meta.get("annotations") or {}).get(REVISION) or 0)
            if have != revision:
                raise CliError(f"error: desired revision ({revision}) is different from the running revision "
                               f"({have})")
        if generation > observed:
            return "Waiting for deployment spec update to be observed...\n", False
        for c in st.get("conditions") or []:
            if c.get("type") == "Progressing" and c.get("reason") == "ProgressDeadlineExceeded":
                raise CliError(f'error: deployment "{name}" exceeded its progress deadline')
        want = int(spec.get("replicas", 1))
        updated, total = int(st.get("updatedReplicas") or 0), int(st.get("replicas") or 0)
        available = int(st.get("availableReplicas") or 0)
        if updated < want:
            return (f'Waiting for deployment "{name}" rollout to finish: {updated} out of {want} new replicas have '
                    "been updated...\n", False)
        if total > updated:
            return (f'Waiting for deployment "{name}" rollout to finish: {total - updated} old replicas are pending '
                    "termination...\n", False)
        if available < updated:
            return (f'Waiting for deployment "{name}" rollout to finish: {available} of {updated} updated replicas '
                    "are available...\n", False)
        return f'deployment "{name}" successfully rolled out\n', True
    if res.kind == "DaemonSet":
        if (spec.get("updateStrategy") or {}).get("type", "RollingUpdate") != "RollingUpdate":
            raise CliError("error: rollout status is only available for RollingUpdate strategy type")
        if generation > observed:
            return "Waiting for daemon set spec update to be observed...\n", False
        desired = int(st.get("desiredNumberScheduled") or 0)
        updated, available = int(st.get("updatedNumberScheduled") or 0), int(st.get("numberAvailable") or 0)
        if updated < desired:
            return (f'Waiting for daemon set "{name}" rollout to finish: {updated} out of {desired} new pods have '
                    "been updated...\n", False)
        if available < desired:
            return (f'Waiting for daemon set "{name}" rollout to finish: {available} of {desired} updated pods are '
                    "available...\n", False)
        return f'daemon set "{name}" successfully rolled out\n', True
    strategy = spec.get("updateStrategy") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        raise CliError("error: rollout status is only available for RollingUpdate strategy type")
    if observed == 0 or generation > observed:
        return "Waiting for statefulset spec update to be observed...\n", False
    want, ready = int(spec.get("replicas", 1)), int(st.get("readyReplicas") or 0)
    if ready < want:
        return f"Waiting for {want - ready} pods to be ready...\n", False
    partition = (strategy.get("rollingUpdate") or {}).get("partition")
    updated = int(st.get("updatedReplicas") or 0)
    if partition is not None:
        if updated < want - int(partition):
            return (f"Waiting for partitioned roll out to finish: {updated} out of {want - int(partition)} new pods "
                    "have been updated...\n", False)
        return f"partitioned roll out complete: {updated} new pods have been updated...\n", True
    if st.get("updateRevision") != st.get("currentRevision"):
        return (f"waiting for statefulset rolling update to complete {updated} pods at revision "
                f"{st.get('updateRevision', '')}...\n", False)
    return (f"statefulset rolling update complete {int(st.get('currentReplicas') or 0)} pods at revision "
            f"{st.get('currentRevision', '')}...\n", True)


@group.command("status")
@click.argument("args", nargs=-1, required=True)
@click.option("-w", "--watch", default="true", help="Watch the status until the rollout finishes.")
@click.option("--revision", type=int, default=0, help="Pin to a revision (Deployments).")
@click.option("--timeout", default="0s", help="How long to watch (0: forever).")
@common
def status_cmd(args: tuple[str, ...], watch: str, revision: int, timeout: str) -> None:
    """Show the status of a rollout: podbay rollout status deployment/NAME."""
    from podbay.cli.args import bool_flag
    from podbay.cli.waiting import wait_for

    s = settings()
    client = s.client()
    watching = bool_flag(watch, "watch")
    limit = parse_duration(timeout) or FOREVER
    deadline = time.monotonic() + limit
    for res, name in _targets(args, "status"):
        obj = client.get(res.path(s.namespace, name))
        message, done = status_message(res, obj, revision)
        out(message)
        if done or not watching:
            continue
        last = [message]

        def check(o: Obj | None, res: Any = res, name: str = name, last: list[str] = last) -> bool:
            if o is None:
                raise CliError(f'error: object has been deleted: {res.group_resource} "{name}"')
            msg, finished = status_message(res, o, revision)
            if msg != last[0]:
                out(msg)
                last[0] = msg
            return finished

        if not wait_for(client, res, s.namespace, name, deadline, check):
            raise CliError("error: timed out waiting for the condition")


# --- restart / pause / resume --------------------------------------------------------------------------

def _patch(client: ApiClient, res: Any, ns: str, name: str, body: Any, ctype: str = STRATEGIC) -> Obj:
    return client.patch(res.path(ns, name), json.dumps(body).encode(), ctype, {"fieldManager": "podbay-rollout"})


@group.command("restart")
@click.argument("args", nargs=-1, required=True)
@common
def restart_cmd(args: tuple[str, ...]) -> None:
    """Restart a rollout: new pods from an unchanged template (the restartedAt annotation)."""
    s = settings()
    client = s.client()
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    for res, name in _targets(args, "restart"):
        obj = client.get(res.path(s.namespace, name))
        if (obj.get("spec") or {}).get("paused"):
            raise fail(f"can't restart paused {res.kind.lower()} (run rollout resume first)")
        _patch(client, res, s.namespace, name,
               {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: stamp}}}}})
        out(f"{res.name_of(name)} restarted\n")


def _set_paused(args: tuple[str, ...], paused: bool) -> None:
    s = settings()
    client = s.client()
    verb = "paused" if paused else "resumed"
    for res, name in _targets(args, "pause" if paused else "resume"):
        if res.kind != "Deployment":
            raise fail(f"{res.kind_group} is not supported: only deployments can be {verb}")
        obj = client.get(res.path(s.namespace, name))
        if bool((obj.get("spec") or {}).get("paused")) == paused:
            out(f"{res.name_of(name)} {'already paused' if paused else 'is not paused'}\n")
            continue
        _patch(client, res, s.namespace, name, {"spec": {"paused": paused}})
        out(f"{res.name_of(name)} {verb}\n")


@group.command("pause")
@click.argument("args", nargs=-1, required=True)
@common
def pause_cmd(args: tuple[str, ...]) -> None:
    """Pause a Deployment's rollout (spec.paused)."""
    _set_paused(args, True)


@group.command("resume")
@click.argument("args", nargs=-1, required=True)
@common
def resume_cmd(args: tuple[str, ...]) -> None:
    """Resume a paused Deployment."""
    _set_paused(args, False)


# --- history / undo ------------------------------------------------------------------------------------

def revisions(client: ApiClient, d: Obj) -> dict[int, Obj]:
    """A Deployment's ReplicaSets (controlled by it) by revision."""
    meta = d.get("metadata") or {}
    ns, uid = meta.get("namespace") or "default", meta.get("uid")
    out_: dict[int, Obj] = {}
    for rs in client.get(f"/apis/apps/v1/namespaces/{ns}/replicasets").get("items") or []:
        rmeta = rs.get("metadata") or {}
        if not any(r.get("uid") == uid and r.get("controller") for r in rmeta.get("ownerReferences") or []):
            continue
        try:
            rev = int((rmeta.get("annotations") or {}).get(REVISION) or 0)
        except ValueError:
            continue
        out_[rev] = rs
    return out_


def _template_without_hash(template: Obj | None) -> Obj:
    import copy

    t = copy.deepcopy(template or {})
    labels = (t.get("metadata") or {}).get("labels")
    if isinstance(labels, dict):
        labels.pop(HASH_LABEL, None)
    return t


@group.command("history")
@click.argument("args", nargs=-1, required=True)
@click.option("--revision", type=int, default=0, help="Show this revision's pod template.")
@common
def history_cmd(args: tuple[str, ...], revision: int) -> None:
    """Show a Deployment's rollout history (its ReplicaSets' revisions)."""
    s = settings()
    client = s.client()
    for res, name in _targets(args, "history"):
        if res.kind != "Deployment":
            raise fail(f"podbay rollout history supports deployments, not {res.kind_group}")
        d = client.get(res.path(s.namespace, name))
        revs = revisions(client, d)
        if revision:
            rs = revs.get(revision)
            if rs is None:
                raise fail(f"unable to find the specified revision {revision}")
            from podbay.cli.describe import _Out, describe_pod_template

            o = _Out()
            describe_pod_template(o, _template_without_hash((rs.get("spec") or {}).get("template")))
            out(f"{res.name_of(name)} with revision #{revision}\n{o.text()}\n")
            continue
        from podbay.cli.tabwriter import TabWriter

        tw = TabWriter(minwidth=0, padding=2)
        tw.write("REVISION\tCHANGE-CAUSE\n")
        for rev in sorted(revs):
            cause = ((revs[rev].get("metadata") or {}).get("annotations") or {}).get(CHANGE_CAUSE) or "<none>"
            tw.write(f"{rev}\t{cause}\n")
        out(f"{res.name_of(name)} \n{tw.flush()}\n")


@group.command("undo")
@click.argument("args", nargs=-1, required=True)
@click.option("--to-revision", type=int, default=0, help="The revision to go back to (default: the previous).")
@common
def undo_cmd(args: tuple[str, ...], to_revision: int) -> None:
    """Roll a Deployment back to a previous revision."""
    s = settings()
    client = s.client()
    for res, name in _targets(args, "undo"):
        if res.kind != "Deployment":
            raise fail(f"podbay rollout undo supports deployments, not {res.kind_group}")
        d = client.get(res.path(s.namespace, name))
        if (d.get("spec") or {}).get("paused"):
            raise fail(f"you cannot rollback a paused deployment; resume it first with 'podbay rollout resume "
                       f"{res.name_of(name)}' and try again")
        revs = revisions(client, d)
        if to_revision:
            rs = revs.get(to_revision)
            if rs is None:
                raise fail(f"unable to find specified revision {to_revision} in history")
        else:
            if len(revs) < 2:
                raise fail("no rollout history found for " + res.name_of(name))
            rs = revs[sorted(revs)[-2]]
        template = _template_without_hash((rs.get("spec") or {}).get("template"))
        if template == _template_without_hash((d.get("spec") or {}).get("template")):
            rev = (rs.get("metadata") or {}).get("annotations", {}).get(REVISION)
            out(f"{res.name_of(name)} skipped rollback (current template already matches revision {rev})\n")
            continue
        annotations = {k: v for k, v in ((d.get("metadata") or {}).get("annotations") or {}).items()
                       if k in SKIP_ANNOTATIONS}
        annotations.update({k: v for k, v in ((rs.get("metadata") or {}).get("annotations") or {}).items()
                            if k not in SKIP_ANNOTATIONS})
        ops = [{"op": "replace", "path": "/spec/template", "value": template},
               {"op": "replace", "path": "/metadata/annotations", "value": annotations}]
        try:
            _patch(client, res, s.namespace, name, ops, JSON_PATCH)
        except ApiError as e:
            err(f"error: {e.message}")
            sys.exit(1)
        out(f"{res.name_of(name)} rolled back\n")


command = group
