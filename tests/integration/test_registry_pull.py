"""Pulls through skopeo from real docker-registry processes on loopback (plain, TLS + htpasswd, Bearer),
and the registry port's contract, held by the skopeo client and the fake alike."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from podbay.images import archive, testimage, testregistry
from podbay.images.fake_registry import FakeRegistry
from podbay.images.keyring import Credential
from podbay.images.platform import Platform
from podbay.images.pull import Puller, RegistriesConfFile
from podbay.images.registries_conf import RegistriesConfig, parse
from podbay.images.registry import PullError, Target
from podbay.images.skopeo import SkopeoClient
from podbay.images.store import ImageStore

REPO = Path(__file__).resolve().parents[2]
BUSYBOX = REPO / "_work" / "busybox-1.35.tar"
GOOD, BAD = Credential("podbay", "s3cret"), Credential("podbay", "wrong")
pytestmark = pytest.mark.skipif(not (shutil.which("docker-registry") and shutil.which("skopeo")),
                                reason="needs Debian's docker-registry and skopeo")


@pytest.fixture(scope="module")
def bed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[testregistry.Bed]:
    if not BUSYBOX.exists():
        subprocess.run([sys.executable, "-m", "podbay.images.testimage", str(BUSYBOX)], check=True,
                       env={**os.environ, "PYTHONPATH": str(REPO / "src")})
    d = tmp_path_factory.mktemp("bed")
    b = testregistry.start_bed(d, None)
    try:
        for r in (b.plain, b.tls, b.token):
            assert r is not None
            r.push(f"oci-archive:{BUSYBOX}", "library/busybox:1.35",
                   creds=None if r is b.plain else (testregistry.USER, testregistry.PASSWORD))
        yield b
    finally:
        b.stop()


@pytest.fixture
def store(tmp_path: Path) -> ImageStore:
    return ImageStore(tmp_path / "images")


def _puller(store: ImageStore, bed: testregistry.Bed, conf: RegistriesConfig | None = None,
            skopeo: SkopeoClient | None = None) -> Puller:
    loader = (lambda: conf) if conf is not None else RegistriesConfFile(bed.registries_conf).load
    return Puller(store, skopeo or SkopeoClient(store.root), loader, archive.host_platform())


# ------------------------------------------------------------------------------------ the port's contract
@pytest.fixture(params=["skopeo", "fake"])
def port(request: pytest.FixtureRequest, bed: testregistry.Bed, tmp_path: Path) -> tuple[Any, str, str]:
    """(client, host of an open registry, host of a Basic-auth registry)."""
    assert bed.plain is not None and bed.tls is not None
    if request.param == "skopeo":
        return SkopeoClient(tmp_path / "work"), bed.plain.host, bed.tls.host
    fake = FakeRegistry(auth={bed.tls.host: (testregistry.USER, testregistry.PASSWORD)})
    for host in (bed.plain.host, bed.tls.host):
        fake.put_archive(BUSYBOX, f"{host}/library/busybox:1.35")
    return fake, bed.plain.host, bed.tls.host


def _certs(bed: testregistry.Bed) -> str:
    assert bed.tls is not None
    return str(bed.certs_dir / bed.tls.host)


def test_contract_manifest_and_copy(port: tuple[Any, str, str], tmp_path: Path) -> None:
    client, open_host, _ = port
    raw = client.manifest(Target(f"{open_host}/library/busybox:1.35", insecure=True), None)
    digest = "sha256:" + __import__("hashlib").sha256(raw).hexdigest()
    layout = tmp_path / "layout"
    client.copy(Target(f"{open_host}/library/busybox@{digest}", insecure=True), layout, None)
    [img] = archive.read_images(archive.Source(layout))
    assert img.manifest_digest == digest            # --preserve-digests: the registry's digest is kept
    assert json.loads(img.config)["rootfs"]["diff_ids"]


def test_contract_errors(port: tuple[Any, str, str], bed: testregistry.Bed) -> None:
    client, open_host, auth_host = port
    with pytest.raises(PullError) as exc:
        client.manifest(Target(f"{open_host}/library/busybox:nope", insecure=True), None)
    assert exc.value.not_found
    assert exc.value.message == (f"reading manifest nope in {open_host}/library/busybox: manifest unknown: "
                                 "manifest unknown")
    with pytest.raises(PullError) as exc:
        client.manifest(Target(f"{auth_host}/library/busybox:1.35", cert_dir=_certs(bed)), None)
    assert exc.value.message == (f"reading manifest 1.35 in {auth_host}/library/busybox: unauthorized: "
                                 "authentication required")
    assert client.manifest(Target(f"{auth_host}/library/busybox:1.35", cert_dir=_certs(bed)), GOOD)
    if isinstance(client, FakeRegistry):
        client.down.add("127.0.0.1:1")
    with pytest.raises(PullError) as exc:
        client.manifest(Target("127.0.0.1:1/x/y:1", insecure=True), None)
    assert exc.value.unavailable and "connect: connection refused" in exc.value.message


# ------------------------------------------------------------------------------------ pulls over skopeo
def test_pull_by_docker_hub_name_through_the_remap(bed: testregistry.Bed, store: ImageStore) -> None:
    assert bed.plain is not None
    res = _puller(store, bed).pull("busybox:1.35")
    assert res.downloaded and res.repo_digest.startswith("docker.io/library/busybox@sha256:35f685ad")
    img = store.resolve("busybox:1.35")
    assert img.refs == ["docker.io/library/busybox:1.35"]                # never the layout's bare "pulled"
    assert (img.layer_dirs[0] / "bin" / "busybox").exists()
    assert bed.plain.requests(r"^GET /v2/library/busybox/manifests/1\.35")   # it went to the loopback registry


def test_tls_basic_needs_the_ca_and_the_credential(bed: testregistry.Bed, store: ImageStore, tmp_path: Path) -> None:
    assert bed.tls is not None
    ref = f"{bed.tls.host}/library/busybox:1.35"
    p = _puller(store, bed)
    with pytest.raises(PullError, match="unauthorized: authentication required"):
        p.pull(ref)
    with pytest.raises(PullError, match="unauthorized: authentication required"):
        p.pull(ref, [BAD])
    assert p.pull(ref, [BAD, GOOD]).downloaded
    no_ca = parse(testregistry.registries_conf(bed.plain.host if bed.plain else "", secure=(bed.tls.host,)))
    with pytest.raises(PullError, match="x509: certificate signed by unknown authority"):
        Puller(ImageStore(tmp_path / "other"), SkopeoClient(tmp_path / "w"), lambda: no_ca,
               archive.host_platform()).pull(ref, [GOOD])


def test_bearer_token_registry(bed: testregistry.Bed, store: ImageStore) -> None:
    assert bed.token is not None and bed.token_server is not None
    ref = f"{bed.token.host}/library/busybox:1.35"
    p = _puller(store, bed)
    with pytest.raises(PullError, match="denied: requested access to the resource is denied"):
        p.pull(ref)
    with pytest.raises(PullError, match="unable to retrieve auth token: invalid username/password"):
        p.pull(ref, [BAD])
    assert p.pull(ref, [GOOD]).downloaded
    assert any(r.get("query_account") == "podbay" and r["ok"] for r in bed.token_server.requests)


def test_multi_arch_index_picks_linux_amd64(bed: testregistry.Bed, store: ImageStore, tmp_path: Path) -> None:
    assert bed.plain is not None
    found = testregistry.multiarch_layout(BUSYBOX, tmp_path / "multi")
    bed.plain.push(f"oci:{tmp_path / 'multi'}", "test/multi:1", all_=True)
    p = Puller(store, SkopeoClient(store.root), lambda: RegistriesConfig(), Platform("linux", "amd64"))
    res = p.pull(f"{bed.plain.host}/test/multi:1")
    assert res.repo_digest == f"{bed.plain.host}/test/multi@{found['index']}"
    assert set(res.image.digests) == {found["index"], found["linux/amd64"]}   # not the amd64/v3 entry listed first
    assert json.loads((store.blobs / res.image.id[7:]).read_bytes())["architecture"] == "amd64"
    arm = Puller(ImageStore(tmp_path / "arm"), SkopeoClient(tmp_path / "w"), lambda: RegistriesConfig(),
                 Platform("linux", "arm64", "v8")).plan(f"{bed.plain.host}/test/multi:1")
    assert arm.instance == found["linux/arm64/v8"]


def test_always_unchanged_downloads_nothing_moved_tag_pulls(bed: testregistry.Bed, store: ImageStore,
                                                             tmp_path: Path) -> None:
    assert bed.plain is not None
    reg = bed.plain
    reg.push(f"oci-archive:{BUSYBOX}", "test/moving:1")
    ref = f"{reg.host}/test/moving:1"
    p = _puller(store, bed)
    first = p.pull(ref)
    blobs = len(reg.blob_gets("test/moving"))
    manifests = len(reg.requests(r"^GET /v2/test/moving/manifests/"))
    again = p.pull(ref)
    assert not again.downloaded and again.image.id == first.image.id
    assert len(reg.blob_gets("test/moving")) == blobs                                  # no blob fetched
    assert len(reg.requests(r"^GET /v2/test/moving/manifests/")) == manifests + 1        # one manifest request
    testregistry.variant_layout(BUSYBOX, tmp_path / "v2", env="VERSION=2")
    reg.push(f"oci:{tmp_path / 'v2'}", "test/moving:1")
    moved = p.pull(ref)
    assert moved.downloaded and moved.image.id != first.image.id
    assert store.resolve(ref).id == moved.image.id and "VERSION=2" in moved.image.config["Env"]


def test_skopeo_runs_isolated_with_a_private_0600_authfile(bed: testregistry.Bed, store: ImageStore,
                                                            tmp_path: Path) -> None:
    assert bed.tls is not None
    log = tmp_path / "calls.jsonl"
    wrapper = tmp_path / "skopeo"
    wrapper.write_text(f"""#!{sys.executable}
import json, os, stat, sys
auth = [a.split("=", 1)[1] for a in sys.argv if a.startswith(("--authfile=", "--src-authfile="))]
info = {{"argv": sys.argv[1:], "env": dict(os.environ),
        "auth_mode": [oct(stat.S_IMODE(os.stat(a).st_mode)) for a in auth],
        "dir_mode": [oct(stat.S_IMODE(os.stat(os.path.dirname(a)).st_mode)) for a in auth],
        "auth": [json.load(open(a)) for a in auth]}}
open({str(log)!r}, "a").write(json.dumps(info) + "\\n")
os.execv({shutil.which("skopeo")!r}, ["skopeo", *sys.argv[1:]])
""")
    wrapper.chmod(0o755)
    p = _puller(store, bed, skopeo=SkopeoClient(store.root, binary=str(wrapper)))
    p.pull(f"{bed.tls.host}/library/busybox:1.35", [GOOD])
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    # a first pull: the copy (by tag) runs next to the manifest request
    assert sorted(c["argv"][c["argv"].index("--tmpdir") + 2] for c in calls) == ["copy", "inspect"]
    for c in calls:
        assert "s3cret" not in " ".join(c["argv"])                       # never on the command line
        assert c["auth_mode"] == ["0o600"] and c["dir_mode"] == ["0o700"]
        assert list(c["auth"][0]["auths"]) == [bed.tls.host]
        env = c["env"]
        env.pop("LC_CTYPE", None)   # added by the Python wrapper itself (PEP 538), not by podbay
        assert set(env) == {"PATH", "HOME", "XDG_RUNTIME_DIR", "XDG_CONFIG_HOME", "DOCKER_CONFIG", "TMPDIR"}
        assert env["HOME"] != os.environ.get("HOME") and env["DOCKER_CONFIG"].startswith(env["HOME"])
        assert "--policy" in c["argv"] and "--registries-conf" in c["argv"]
    assert not list(store.root.glob(".skopeo-*"))                        # the private dirs are gone


def test_agent_gc_run_removes_only_unused_images(bed: testregistry.Bed, store: ImageStore, tmp_path: Path) -> None:
    from podbay.agent.image_gc import collect_once
    from podbay.core.records import ContainerRecord
    from podbay.store.db import Store

    p = _puller(store, bed)
    used = p.pull("busybox:1.35")
    testregistry.variant_layout(BUSYBOX, tmp_path / "unused", env="UNUSED=1")
    assert bed.plain is not None
    bed.plain.push(f"oci:{tmp_path / 'unused'}", "test/unused:1")
    unused = p.pull(f"{bed.plain.host}/test/unused:1")
    db = Store(":memory:")
    db.put_container(ContainerRecord(id="c1", pod_uid="u", name="c", kind="regular", attempt=0, spec_hash="h",
                                     image="busybox:1.35", image_id=used.image.status_ref("busybox:1.35"),
                                     state="exited"))
    cfg = SimpleNamespace(image_gc_high_threshold=1, image_gc_low_threshold=0, image_minimum_gc_age=0.0)
    deps = SimpleNamespace(cfg=cfg, store=db, images=store, image_manager=None)
    plan, removed = collect_once(deps, now=unused.image.first_detected + 1)   # type: ignore[arg-type]
    assert [r.id for r in removed] == [unused.image.id]
    assert [i.id for i in store.list()] == [used.image.id]
    young = SimpleNamespace(cfg=SimpleNamespace(image_gc_high_threshold=1, image_gc_low_threshold=0,
                                                image_minimum_gc_age=120.0), store=Store(":memory:"),
                            images=store, image_manager=None)
    assert collect_once(young, now=used.image.first_detected + 60)[1] == []   # too young to collect
    assert testimage.DEFAULT_REF  # the busybox image is the shared test image
