"""Which pod and container a pod verb (logs, exec, attach, port-forward) talks to.

``NAME`` and ``pod/NAME`` name a pod; ``TYPE/NAME`` of a workload (deployment, replicaset, job,
statefulset, daemonset, service...) picks the first of the pods its selector matches, as kubectl's
``AttachablePodForObject`` does. The container is ``-c``, the only one, the
``kubectl.kubernetes.io/default-container`` annotation, or kubectl's error listing the choices.
"""

from __future__ import annotations

from typing import Any

from podbay.cli.context import err, settings
from podbay.cli.errors import fail
from podbay.client.http import pods_path

Obj = dict[str, Any]


def _selector_of(obj: Obj) -> str:
    spec = obj.get("spec") or {}
    sel = spec.get("selector")
    if isinstance(sel, dict) and ("matchLabels" in sel or "matchExpressions" in sel):
        from podbay.cli.describers import label_selector_text

        text = label_selector_text(sel)
        return "" if text == "<none>" else text
    if isinstance(sel, dict):   # Service / ReplicationController: a plain map
        return ",".join(f"{k}={v}" for k, v in sorted(sel.items()))
    return ""


def resolve_pod(arg: str, verb: str) -> Obj:
    """The pod an argument names (see the module doc)."""
    s = settings()
    client = s.client()
    if "/" not in arg:
        return client.get(pods_path(s.namespace, arg))
    type_arg, _, name = arg.partition("/")
    if not name:
        raise fail(f'arguments in resource/name form must have a single resource and name: "{arg}"')
    res = s.discovery().resolve_one(type_arg)
    if (res.group, res.kind) == ("", "Pod"):
        return client.get(pods_path(s.namespace, name))
    obj = client.get(res.path(s.namespace, name))
    selector = _selector_of(obj)
    if not selector:
        raise fail(f"cannot {verb} into {res.kind_group}/{name}: it has no pod selector")
    pods = sorted(client.get(pods_path(s.namespace), {"labelSelector": selector}).get("items") or [],
                  key=lambda p: ((p.get("status") or {}).get("phase") != "Running",
                                 (p.get("metadata") or {}).get("creationTimestamp") or ""))
    if not pods:
        raise fail(f"no pods found for {res.kind_group}/{name} (selector {selector})")
    if len(pods) > 1:
        err(f"Found {len(pods)} pods, using pod/{pods[0]['metadata']['name']}")
    return {"apiVersion": "v1", "kind": "Pod", **pods[0]}


def choose_container(pod: Obj, container: str | None, verb: str) -> str:
    """The container to use: -c, the only one, the default-container annotation, or kubectl's error."""
    spec = pod.get("spec") or {}
    containers = [c["name"] for c in spec.get("containers") or []]
    inits = [c["name"] for c in spec.get("initContainers") or []]
    name = pod["metadata"]["name"]
    if container:
        if container not in containers + inits:
            raise fail(f"container {container} is not valid for pod {name}")
        return str(container)
    if len(containers) == 1:
        return str(containers[0])
    default = ((pod.get("metadata") or {}).get("annotations") or {}).get("kubectl.kubernetes.io/default-container")
    if default in containers:
        return str(default)
    if verb in ("exec", "attach"):
        err(f'Defaulted container "{containers[0]}" out of: {", ".join(containers + inits)}')
        return str(containers[0])
    msg = f"a container name must be specified for pod {name}, choose one of: [{' '.join(containers)}]"
    if inits:
        msg += f" or one of the init containers: [{' '.join(inits)}]"
    raise fail(msg)
