"""PersistentVolumeClaims end to end through the REST API and the sandbox volume set-up (real Store in
tmp, no agent), plus nfs volumes against this host's mount(8) and kernel."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from aiohttp.test_utils import TestClient, TestServer

from podbay.agent import claims, sandbox
from podbay.agent.config import AgentConfig
from podbay.agent.deps import Deps
from podbay.agent.hub import Hub
from podbay.agent.namespaces import NamespaceController
from podbay.agent.wiring import build_registry
from podbay.errors import MountFailure, PermanentError
from podbay.server.app import AUTHENTICATOR, build_app
from podbay.server.rest import Api
from podbay.store.db import Store
from podbay.sys import mount as sysmount
from podbay.volumes import nfs

CLAIMS = "/api/v1/namespaces/default/persistentvolumeclaims"


@pytest.fixture
def deps(tmp_path: Path) -> Iterator[Deps]:
    store = Store(tmp_path / "state.db")
    d = Deps(cfg=AgentConfig(root=tmp_path / "root", run_dir=tmp_path / "run"), store=store, hub=Hub(),
             images=cast(Any, None), network=cast(Any, None), runtime=cast(Any, None),
             node_allocatable=1 << 30, host_ip="127.0.0.1", nofile=(1024, 1024))
    yield d
    store.close()


@pytest.fixture
def claim_service(deps: Deps) -> claims.ClaimService:
    return claims.ClaimService(deps.repo, deps.hub, deps.cfg.root)


@pytest.fixture
async def client(deps: Deps, claim_service: claims.ClaimService) -> AsyncIterator[TestClient[Any, Any]]:
    registry = build_registry(deps.repo, "node1", deps.cfg.root)
    NamespaceController(registry, deps.hub).ensure()
    app = build_app(Api(registry, deps.hub))

    async def trusted(_: Any) -> Any:
        return {"username": "test"}

    app[AUTHENTICATOR] = trusted
    async with TestClient(TestServer(app)) as c:
        yield c


def manifest(name: str = "data", storage: str = "1Gi") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": storage}}}}


def bind(deps: Deps, name: str) -> dict[str, Any]:
    """What the scheduler does for a claim's first pod (podbay-local is WaitForFirstConsumer)."""
    from podbay.core.controllers.plan import ref_of

    claims.LocalProvisioner(deps.repo, deps.cfg.root).provision(
        ref_of(deps.repo.get("PersistentVolumeClaim", "default", name) or {}), "node1")
    return deps.repo.get("PersistentVolumeClaim", "default", name) or {}


def pod(name: str, claim: str, created: str = "2026-01-01T00:00:00Z", read_only: bool = False) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}", "creationTimestamp": created},
            "spec": {"containers": [{"name": "c", "image": "busybox"}],
                     "volumes": [{"name": "vol", "persistentVolumeClaim": {"claimName": claim,
                                                                            "readOnly": read_only}}]}}


async def test_claim_lifecycle_with_pvc_protection(client: TestClient[Any, Any], deps: Deps,
                                                   claim_service: claims.ClaimService) -> None:
    resp = await client.post(CLAIMS, json=manifest())
    assert resp.status == 201, await resp.text()
    created = await resp.json()
    uid = created["metadata"]["uid"]
    assert created["spec"]["storageClassName"] == "podbay-local"
    assert created["metadata"]["finalizers"] == ["kubernetes.io/pvc-protection"]
    assert created["status"] == {"phase": "Pending"} and "volumeName" not in created["spec"]
    pv = deps.cfg.root / "pv" / f"pvc-{uid}"
    assert not pv.exists()
    bound = bind(deps, "data")
    assert bound["spec"]["volumeName"] == f"pvc-{uid}"
    assert bound["metadata"]["annotations"]["volume.kubernetes.io/selected-node"] == "node1"
    assert bound["status"] == {"phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"}}
    assert pv.is_dir() and pv.stat().st_mode & 0o777 == 0o777

    listed = await (await client.get("/api/v1/persistentvolumeclaims")).json()
    assert listed["kind"] == "PersistentVolumeClaimList" and [i["metadata"]["name"] for i in listed["items"]] == ["data"]

    # A pod's claim volume is the claim's directory; data written there outlives the pod.
    user = pod("web", "data")
    deps.repo.create(user)
    paths = sandbox.setup_volumes(deps, user)
    assert paths == {"vol": str(pv)}
    (pv / "kept").write_text("state")

    # In use: DELETE answers 200 with the Terminating claim; the data stays.
    resp = await client.delete(f"{CLAIMS}/data")
    assert resp.status == 200
    terminating = await resp.json()
    assert terminating["kind"] == "PersistentVolumeClaim" and terminating["metadata"]["deletionTimestamp"]
    assert (pv / "kept").read_text() == "state"
    assert (await client.get(f"{CLAIMS}/data")).status == 200
    assert claims.release_unused_claims(deps.repo) == []

    # Pods that already used it keep it (set-up is idempotent); a newer pod may not start on it.
    assert sandbox.setup_volumes(deps, user) == {"vol": str(pv)}
    late = pod("late", "data", created="2999-01-01T00:00:00Z")
    with pytest.raises(PermanentError, match='persistentvolumeclaim "data" is being deleted'):
        sandbox.setup_volumes(deps, late)

    sandbox.teardown_volumes(deps, "uid-web")
    assert (pv / "kept").read_text() == "state"
    deps.repo.delete("Pod", "default", "web")   # the claim service releases the claim it protected
    await claim_service.drain()
    assert deps.repo.get("PersistentVolumeClaim", "default", "data") is None
    assert not pv.exists()
    resp = await client.get(f"{CLAIMS}/data")
    assert resp.status == 404
    assert (await resp.json())["message"] == 'persistentvolumeclaims "data" not found'


async def test_unused_claim_is_deleted_at_once(client: TestClient[Any, Any], deps: Deps,
                                               claim_service: claims.ClaimService) -> None:
    created = await (await client.post(CLAIMS, json=manifest("scratch"))).json()
    bind(deps, "scratch")
    pv = deps.cfg.root / "pv" / f"pvc-{created['metadata']['uid']}"
    assert pv.is_dir()
    resp = await client.delete(f"{CLAIMS}/scratch")
    body = await resp.json()
    assert resp.status == 200 and body["kind"] == "Status" and body["status"] == "Success"
    await claim_service.drain()
    assert not pv.exists()
    assert deps.store.get_object("PersistentVolumeClaim", "default", "scratch") is None


async def test_update_expands_but_never_shrinks_or_changes_spec(client: TestClient[Any, Any], deps: Deps) -> None:
    await client.post(CLAIMS, json=manifest("grow"))
    bind(deps, "grow")
    grown = await client.put(f"{CLAIMS}/grow", json=manifest("grow", storage="5Gi"))
    assert grown.status == 200, await grown.text()
    body = await grown.json()
    assert body["status"]["capacity"] == {"storage": "5Gi"} and body["spec"]["volumeName"].startswith("pvc-")

    shrink = await client.put(f"{CLAIMS}/grow", json=manifest("grow", storage="1Gi"))
    assert shrink.status == 422
    assert "spec.resources.requests.storage: Forbidden: field can not be less than status.capacity" in (
        await shrink.json())["message"]
    other = manifest("grow", storage="5Gi")
    other["spec"]["accessModes"] = ["ReadWriteMany"]
    resp = await client.put(f"{CLAIMS}/grow", json=other)
    assert resp.status == 422
    assert "spec: Forbidden: spec is immutable after creation" in (await resp.json())["message"]


async def test_invalid_claims_are_rejected_in_api_words(client: TestClient[Any, Any]) -> None:
    bad = manifest("bad")
    bad["spec"] = {"storageClassName": "Gold"}
    resp = await client.post(CLAIMS, json=bad)
    assert resp.status == 422
    msg = (await resp.json())["message"]
    assert msg.startswith('PersistentVolumeClaim "bad" is invalid: [spec.accessModes: Required value: at least 1 '
                          'access mode is required, spec.resources[storage]: Required value, spec.storageClassName: '
                          'Invalid value: "Gold": a lowercase RFC 1123 subdomain')
    assert (await client.post(CLAIMS, json=manifest("dup"))).status == 201
    assert (await client.post(CLAIMS, json=manifest("dup"))).status == 409


def test_missing_claim_fails_the_mount(deps: Deps) -> None:
    with pytest.raises(PermanentError, match='^persistentvolumeclaim "nope" not found$'):
        sandbox.setup_volumes(deps, pod("p", "nope"))


@pytest.mark.root
def test_read_only_claim_is_a_read_only_view(deps: Deps, tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root")
    registry = build_registry(deps.repo, "node1", deps.cfg.root)
    NamespaceController(registry, deps.hub).ensure()
    registry.create(registry.kind("PersistentVolumeClaim"), "default", manifest("ro"))
    pv = claims.claim_dir(deps.cfg.root, bind(deps, "ro"))
    (pv / "seed").write_text("x")
    reader = pod("reader", "ro", read_only=True)
    deps.repo.create(reader)
    runtime_bind = tmp_path / "ctr-view"
    runtime_bind.mkdir()
    try:
        view = Path(sandbox.setup_volumes(deps, reader)["vol"])
        assert view != pv and (view / "seed").read_text() == "x"
        assert sandbox.setup_volumes(deps, reader)["vol"] == str(view)   # idempotent, one mount
        # What the runtime does with a volume: rbind it into the container. It stays read-only.
        sysmount.bind(str(view), str(runtime_bind))
        for target in (view, runtime_bind):
            with pytest.raises(OSError) as info:
                (target / "new").write_text("y")
            assert info.value.errno == errno.EROFS
        sysmount.umount(str(runtime_bind))
        sandbox.teardown_volumes(deps, "uid-reader")
        assert not view.exists() and (pv / "seed").read_text() == "x"
    finally:
        sysmount.unmount_all_under(str(tmp_path.resolve()))
    assert sysmount.mounts_under(str(tmp_path.resolve())) == []


# --- nfs ----------------------------------------------------------------------------------------------

def _kernel_filesystems() -> set[str]:
    with open("/proc/filesystems") as f:
        return {line.split()[-1] for line in f if line.strip()}


NO_NFS_CLIENT = "nfs" not in _kernel_filesystems()
NO_NFSD = "nfsd" not in _kernel_filesystems() or shutil.which("rpc.nfsd") is None


@pytest.mark.root
@pytest.mark.skipif(not NO_NFS_CLIENT, reason="the kernel has an nfs client: mount would try the network")
def test_nfs_mount_failure_on_this_kernel_has_kubelet_wording(tmp_path: Path) -> None:
    """This host's kernel has no nfs filesystem (CONFIG_NFS_FS unset, no modules): real mount(8) fails."""
    if os.geteuid() != 0:
        pytest.skip("needs root")
    pod_dir = tmp_path / "pods" / "uid"
    with pytest.raises(MountFailure) as info:
        nfs.setup_nfs(pod_dir, "share", {"server": "127.0.0.1", "path": "/export", "readOnly": True})
    target = nfs.volume_dir(pod_dir, "share")
    msg = str(info.value)
    assert msg.startswith('MountVolume.SetUp failed for volume "share" : mount failed: exit status 32\n'
                          f"Mounting command: mount\nMounting arguments: -t nfs -o ro 127.0.0.1:/export {target}\n"
                          "Output: mount: ")
    assert "unknown filesystem type 'nfs'" in msg
    assert not target.exists() and sysmount.mounts_under(str(tmp_path.resolve())) == []


@pytest.mark.root
@pytest.mark.skipif(NO_NFSD or NO_NFS_CLIENT,
                    reason="kernel cannot serve or mount NFS: no nfsd/nfs in /proc/filesystems "
                           "(CONFIG_NFSD and CONFIG_NFS_FS unset, CONFIG_MODULES unset; "
                           "'mount -t nfsd nfsd /proc/fs/nfsd' -> unknown filesystem type 'nfsd')")
def test_nfs_volume_against_a_loopback_server(tmp_path: Path) -> None:  # pragma: no cover - needs nfsd
    """Export a tmp dir to 127.0.0.1 only (NFSv4), mount it as a pod volume, tear everything down."""
    export = tmp_path / "export"
    export.mkdir()
    (export / "hello").write_text("from nfs")
    pod_dir = tmp_path / "pods" / "uid"
    started: list[subprocess.Popen[bytes]] = []
    nfsd_mounted = False
    spec = f"127.0.0.1:{export}"
    try:
        if not sysmount.is_mount_point("/proc/fs/nfsd"):
            sysmount.mount("nfsd", "/proc/fs/nfsd", "nfsd")
            nfsd_mounted = True
        subprocess.run(["exportfs", "-o", "rw,no_root_squash,insecure,fsid=0,no_subtree_check", spec], check=True)
        started.append(subprocess.Popen(["rpc.mountd", "-F", "-N", "2", "-N", "3"]))
        subprocess.run(["rpc.nfsd", "-N", "3", "-V", "4", "1"], check=True)
        path = Path(nfs.setup_nfs(pod_dir, "share", {"server": "127.0.0.1", "path": "/"}, options=["vers=4.2"]))
        assert (path / "hello").read_text() == "from nfs"
        nfs.teardown_all(pod_dir)
        assert not path.exists() and (export / "hello").exists()
    finally:
        sysmount.unmount_all_under(str(tmp_path.resolve()))
        subprocess.run(["rpc.nfsd", "0"], check=False)     # stops the kernel threads this test started
        for proc in started:
            proc.terminate()
            proc.wait(10)
        subprocess.run(["exportfs", "-u", spec], check=False)
        if nfsd_mounted:
            sysmount.umount("/proc/fs/nfsd")
