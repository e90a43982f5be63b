"""PersistentVolumeClaims with podbay's built-in local provisioner (storage class ``podbay-local``).

Like the local-path provisioners, a claim is bound to a fresh directory ``<root>/pv/pvc-<claim uid>``
(0777, so any container user can write): when the scheduler places its first pod
(``podbay-local`` is WaitForFirstConsumer; ``LocalProvisioner`` is the scheduler's PreBind), or at
creation for a class of this provisioner with ``volumeBindingMode: Immediate``. The PersistentVolume
controller (``agent.controllers.volumes``) records the volume as a PersistentVolume object. Data outlives pods and is
removed when the claim is deleted. Deletion honours the ``kubernetes.io/pvc-protection``
finalizer: while a pod object references the claim it only gets a deletionTimestamp
(Terminating, ``strategies.claims``); ``release_unused_claims`` finishes it once the last such pod
is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path
from typing import Any

from podbay.agent.hub import Event, Hub
from podbay.api import storage
from podbay.api.meta import parse_time
from podbay.api.pvc import PROTECTION_FINALIZER, requested_storage
from podbay.errors import Conflict, MountFailure, NotFound, PermanentError
from podbay.ports import ObjectSource
from podbay.store.repository import Repository
from podbay.sys import mount as sysmount
from podbay.volumes.fsutil import ensure_dir, remove_tree
from podbay.volumes.plan import setup_failed

KIND = "PersistentVolumeClaim"
PV_DIR = "pv"
PLUGIN_DIR = "kubernetes.io~pvc"   # read-only views of claims live here, under the pod dir
PV_MODE = 0o777
PROVISIONER = storage.PROVISIONER
SELECTED_NODE = "volume.kubernetes.io/selected-node"

Obj = dict[str, Any]


def volume_name(claim: Obj) -> str:
    return f"pvc-{claim['metadata']['uid']}"


def claim_dir(root: Path, claim: Obj) -> Path:
    return root / PV_DIR / volume_name(claim)


def is_claim_volume(volume: Obj) -> bool:
    return volume.get("persistentVolumeClaim") is not None


# --- provisioning ---------------------------------------------------------------------------------

def provision(root: Path, claim: Obj) -> Obj:
    """Create the claim's directory and return the claim bound to it (Bound, capacity = request)."""
    path = claim_dir(root, claim)
    ensure_dir(path.parent, 0o700)
    if not path.is_dir():
        path.mkdir()
        os.chmod(path, PV_MODE)  # the umask would clear group/other bits
    claim["spec"]["volumeName"] = volume_name(claim)
    annotations = claim["metadata"]["annotations"] = dict(claim["metadata"].get("annotations") or {})
    annotations.update({"pv.kubernetes.io/bind-completed": "yes", "pv.kubernetes.io/bound-by-controller": "yes",
                        "volume.kubernetes.io/storage-provisioner": PROVISIONER})
    return set_bound_status(claim)


def provisions_at_creation(claim: Obj, storage_class: Obj | None) -> bool:
    """A class of this provisioner that binds at once (``volumeBindingMode: Immediate``)."""
    return (storage_class is not None and storage_class.get("provisioner") == PROVISIONER
            and storage_class.get("volumeBindingMode") != "WaitForFirstConsumer")


class LocalProvisioner:
    """The controllers' ``Provisioner``: binds a stored claim to its new directory."""

    name = PROVISIONER

    def __init__(self, repo: Repository, root: Path) -> None:
        self.repo = repo
        self.root = root

    def volume_path(self, claim: Obj) -> str:
        return str(claim_dir(self.root, claim))

    def provision(self, claim: Any, node_name: str) -> None:
        def bind(obj: Obj) -> Obj | None:
            if (obj.get("metadata") or {}).get("uid") != claim.uid:
                raise Conflict(f'persistentvolumeclaim "{claim.name}" was replaced')
            if (obj.get("spec") or {}).get("volumeName"):
                return None   # already bound (a concurrent or repeated PreBind)
            provision(self.root, obj)
            if node_name:
                obj["metadata"]["annotations"][SELECTED_NODE] = node_name
            return obj

        if self.repo.mutate(KIND, claim.namespace, claim.name, bind) is None:
            raise NotFound(f'persistentvolumeclaims "{claim.name}" not found')


def set_bound_status(claim: Obj) -> Obj:
    spec = claim["spec"]
    claim["status"] = {
        "phase": "Bound",
        "accessModes": list(spec.get("accessModes") or []),
        "capacity": {"storage": requested_storage(claim) or "0"},
    }
    return claim


# --- deletion with pvc-protection -------------------------------------------------------------------

def uses_claim(pod: Obj, claim_name: str) -> bool:
    vols = (pod.get("spec") or {}).get("volumes") or []
    return any((v.get("persistentVolumeClaim") or {}).get("claimName") == claim_name
               for v in vols if isinstance(v, dict))


def in_use(repo: Repository, namespace: str, claim_name: str) -> bool:
    """Whether a pod object still references the claim (pvc-protection counts terminal pods too)."""
    return any(uses_claim(p.obj, claim_name) for p in repo.list("Pod", namespace))


def release_unused_claims(repo: Repository, namespace: str | None = None) -> list[str]:
    """Finish deleting every Terminating claim no pod references any more; returns "ns/name"s.

    The registry's delete kept such a claim because of its kubernetes.io/pvc-protection finalizer;
    podbay is the controller of that finalizer, so the claim goes as soon as its last pod is gone.
    """
    done = []
    for claim in repo.list(KIND, namespace):
        md = claim.obj.get("metadata") or {}
        if not md.get("deletionTimestamp") or in_use(repo, claim.namespace, claim.name):
            continue
        left = [f for f in md.get("finalizers") or [] if f != PROTECTION_FINALIZER]
        try:
            if left:
                def drop(obj: Obj, left: list[str] = left) -> Obj:
                    obj["metadata"]["finalizers"] = left
                    return obj

                repo.mutate(KIND, claim.namespace, claim.name, drop)
            else:
                repo.delete(KIND, claim.namespace, claim.name, expected_uid=claim.uid)
        except (NotFound, Conflict):
            continue
        done.append(f"{claim.namespace}/{claim.name}")
    return done


class ClaimService:
    """Reacts to stored changes: a deleted pod may release claims; a deleted claim takes its data
    with it (reclaimPolicy Delete; remove_tree refuses to cross a mount)."""

    def __init__(self, repo: Repository, hub: Hub, root: Path) -> None:
        self.repo = repo
        self.root = root
        self._tasks: set[asyncio.Future[Any]] = set()
        hub.add_listener("Pod", self._on_pod)
        hub.add_listener(KIND, self._on_claim)

    def _on_pod(self, ev: Event) -> None:
        if ev.type == "DELETED":
            release_unused_claims(self.repo, ev.namespace)

    def _on_claim(self, ev: Event) -> None:
        if ev.type != "DELETED" or ev.obj is None:
            return
        path = claim_dir(self.root, ev.obj)
        task = asyncio.ensure_future(asyncio.to_thread(remove_tree, path))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


# --- pod volumes -----------------------------------------------------------------------------------

def resolve(objects: ObjectSource, state_root: Path, pod: Obj, volume: Obj) -> Path:
    """The host directory behind a pod's persistentVolumeClaim volume (kubelet's PVC checks)."""
    name = volume["name"]
    ns = pod["metadata"]["namespace"]
    claim_name = str((volume.get("persistentVolumeClaim") or {}).get("claimName", ""))
    claim = objects.get(KIND, ns, claim_name)
    # Wording of the scheduler's volume-binding checks, which is where upstream stops such pods.
    if claim is None:
        raise PermanentError(f'persistentvolumeclaim "{claim_name}" not found')
    deleting = parse_time(claim["metadata"].get("deletionTimestamp"))
    created = parse_time(pod["metadata"].get("creationTimestamp")) or 0.0
    if deleting is not None and created > deleting:
        # Pods that already used the claim keep it (pvc-protection); new ones may not start on it.
        raise PermanentError(f'persistentvolumeclaim "{claim_name}" is being deleted')
    if (claim.get("status") or {}).get("phase") != "Bound" or not (claim.get("spec") or {}).get("volumeName"):
        raise PermanentError(f'persistentvolumeclaim "{claim_name}" is not bound')
    path = claim_dir(state_root, claim)
    if not path.is_dir():
        raise setup_failed(name, f'persistentvolumeclaim "{claim_name}": volume directory {path} is missing')
    return path


def setup_all(objects: ObjectSource, state_root: Path, pod: Obj, pod_dir: Path) -> dict[str, str]:
    """volume name -> host path for every claim volume of the pod (idempotent).

    A readOnly claim source gets a read-only bind of the claim directory under the pod dir; binds
    the runtime makes from it inherit the read-only flag, whatever the volumeMount says.
    """
    out: dict[str, str] = {}
    for vol in (pod.get("spec") or {}).get("volumes") or []:
        if not is_claim_volume(vol):
            continue
        path = resolve(objects, state_root, pod, vol)
        if not vol["persistentVolumeClaim"].get("readOnly"):
            out[vol["name"]] = str(path)
            continue
        view = pod_dir / "volumes" / PLUGIN_DIR / vol["name"]
        ensure_dir(view.parent)
        view.mkdir(exist_ok=True)
        if not sysmount.is_mount_point(str(view)):
            try:
                sysmount.bind(str(path), str(view), readonly=True, recursive=False)
            except MountFailure as exc:
                sysmount.umount(str(view))
                raise setup_failed(vol["name"], str(exc)) from exc
        out[vol["name"]] = str(view)
    return out


def teardown_all(pod_dir: Path) -> None:
    """Unmount the read-only claim views found on disk (works without the pod spec). Data stays."""
    base = pod_dir / "volumes" / PLUGIN_DIR
    if not base.is_dir() or base.is_symlink():
        return
    for entry in base.iterdir():
        sysmount.umount(str(entry))
        with contextlib.suppress(OSError):
            entry.rmdir()
