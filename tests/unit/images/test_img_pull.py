"""The pull recipe above the registry port, against the in-memory fake registry and a real store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from podbay.images.fake_registry import FakeRegistry, layer_tar
from podbay.images.keyring import Credential
from podbay.images.platform import DOCKER_LIST, Platform
from podbay.images.pull import Puller
from podbay.images.registries_conf import RegistriesConfig, parse
from podbay.images.registry import PullError
from podbay.images.store import ImageStore

BASE = layer_tar({"etc/os-release": b"podbay\n"})
APP = layer_tar({"app/run": b"#!/bin/sh\n"})
HOST = Platform("linux", "amd64")
HUB = parse('[[registry]]\nprefix = "docker.io"\nlocation = "reg.test:5000"\ninsecure = true\n')


@pytest.fixture
def store(tmp_path: Path) -> ImageStore:
    return ImageStore(tmp_path / "images")


def _puller(store: ImageStore, reg: FakeRegistry, conf: RegistriesConfig = HUB) -> Puller:
    return Puller(store, reg, lambda: conf, HOST)


def test_pull_by_docker_hub_name_through_the_remap(store: ImageStore) -> None:
    reg = FakeRegistry()
    digest = reg.put_image("reg.test:5000/library/nginx:1.25", [BASE, APP], config={"Cmd": ["nginx"]})
    res = _puller(store, reg).pull("nginx:1.25")
    assert res.downloaded and res.repo_digest == f"docker.io/library/nginx@{digest}"
    img = store.resolve("nginx:1.25")
    assert img.refs == ["docker.io/library/nginx:1.25"] and img.config == {"Cmd": ["nginx"]}
    assert img.status_ref("nginx:1.25") == f"docker.io/library/nginx@{digest}"
    assert store.resolve(f"docker.io/library/nginx@{digest}").id == img.id
    # the first pull of a repository copies by tag while the manifest is fetched (its digest is checked)
    assert reg.copies == ["reg.test:5000/library/nginx:1.25"]
    assert not list(store.root.glob(".pull-*"))                         # the work dir is gone


def test_known_digest_is_not_downloaded_again(store: ImageStore) -> None:
    reg = FakeRegistry()
    reg.put_image("reg.test:5000/library/busybox:1.35", [BASE])
    p = _puller(store, reg)
    p.pull("busybox:1.35")
    again = p.pull("busybox:1.35")
    assert not again.downloaded and len(reg.copies) == 1
    assert reg.manifest_requests == ["reg.test:5000/library/busybox:1.35"] * 2   # one cheap request each
    # the same content under another name: tagged, not downloaded
    reg.put_image("reg.test:5000/library/busybox:stable", [BASE])
    assert not p.pull("busybox:stable").downloaded
    assert store.resolve("busybox:stable").id == store.resolve("busybox:1.35").id


def test_a_moved_tag_pulls_the_new_image_and_moves_the_ref(store: ImageStore) -> None:
    reg = FakeRegistry()
    reg.put_image("reg.test:5000/library/app:latest", [BASE])
    p = _puller(store, reg)
    old = p.pull("app").image
    reg.put_image("reg.test:5000/library/app:latest", [BASE, APP])
    new = p.pull("app")
    assert new.downloaded and new.image.id != old.id
    assert store.resolve("app:latest").id == new.image.id
    assert reg.blob_downloads.count(reg.blob_downloads[0]) == 2   # the shared base travels again (no blob cache)
    assert len(list(store.layers.iterdir())) == 2                 # ... but is unpacked once


def test_multi_arch_index_picks_this_platform(store: ImageStore) -> None:
    reg = FakeRegistry()
    arm = reg.put_image("reg.test:5000/test/multi:x", [BASE], architecture="arm64", variant="v8", tag=False)
    v3 = reg.put_image("reg.test:5000/test/multi:x", [BASE], variant="v3", tag=False)
    amd = reg.put_image("reg.test:5000/test/multi:x", [BASE, APP], tag=False)
    index = reg.put_index("reg.test:5000/test/multi:1", [
        (v3, {"os": "linux", "architecture": "amd64", "variant": "v3"}),
        (arm, {"os": "linux", "architecture": "arm64", "variant": "v8"}),
        (amd, {"os": "linux", "architecture": "amd64"})])
    res = _puller(store, reg).pull("reg.test:5000/test/multi:1")
    assert res.repo_digest == f"reg.test:5000/test/multi@{index}"      # imageID: the index digest
    assert set(res.image.digests) == {index, amd} and reg.copies == ["reg.test:5000/test/multi:1"]
    # once the repository is known, a pull copies the chosen instance by digest
    amd2 = reg.put_image("reg.test:5000/test/multi:x", [APP], tag=False)
    reg.put_index("reg.test:5000/test/multi:2", [(amd2, {"os": "linux", "architecture": "amd64"})])
    assert _puller(store, reg).pull("reg.test:5000/test/multi:2").downloaded
    assert reg.copies[-1] == f"reg.test:5000/test/multi@{amd2}"
    assert set(res.image.digests) == {index, amd}
    arm_puller = Puller(store, reg, lambda: RegistriesConfig(), Platform("linux", "arm64", "v8"))
    assert arm_puller.plan("reg.test:5000/test/multi:1").instance == arm


def test_no_instance_for_this_platform(store: ImageStore) -> None:
    reg = FakeRegistry()
    arm = reg.put_image("r.test/m:x", [BASE], architecture="arm64", tag=False)
    reg.put_index("r.test/m:1", [(arm, {"os": "linux", "architecture": "arm64"})], media_type=DOCKER_LIST)
    with pytest.raises(PullError) as exc:
        _puller(store, reg, RegistriesConfig()).pull("r.test/m:1")
    assert exc.value.message == ("choosing an image from manifest list docker://r.test/m:1: no image found in "
                                 'manifest list for architecture amd64, variant "", OS linux')


def test_credentials_in_order_and_no_anonymous_fallback(store: ImageStore) -> None:
    reg = FakeRegistry(auth={"priv.test": ("user", "password")})
    reg.put_image("priv.test/app:1", [BASE])
    p = _puller(store, reg, RegistriesConfig())
    with pytest.raises(PullError) as exc:
        p.pull("priv.test/app:1")
    assert exc.value.message == "reading manifest 1 in priv.test/app: unauthorized: authentication required"
    wrong, right = Credential("user", "nope"), Credential("user", "password")
    with pytest.raises(PullError) as exc:
        p.pull("priv.test/app:1", [wrong])   # a matching credential: no anonymous attempt after it
    assert [u for _, u in reg.creds_seen][-1] == "user"
    with pytest.raises(PullError) as exc:
        p.pull("priv.test/app:1", [wrong, wrong])
    assert exc.value.message.startswith("[reading manifest 1") and exc.value.message.count("unauthorized") == 2
    assert p.pull("priv.test/app:1", [wrong, right]).downloaded


def test_mirrors_then_the_registry_and_their_errors(store: ImageStore) -> None:
    conf = parse('[[registry]]\nprefix = "docker.io"\nlocation = "primary.test"\n'
                 '[[registry.mirror]]\nlocation = "mirror.test"\n')
    reg = FakeRegistry(down={"mirror.test"})
    reg.put_image("primary.test/library/busybox:1", [BASE])
    p = _puller(store, reg, conf)
    assert p.pull("busybox:1").downloaded
    assert reg.manifest_requests[:2] == ["mirror.test/library/busybox:1", "primary.test/library/busybox:1"]
    reg.down.add("primary.test")
    with pytest.raises(PullError) as exc:
        p.pull("busybox:2")
    assert exc.value.unavailable
    assert exc.value.message.startswith("RegistryUnavailable: (Mirrors also failed: [mirror.test/library/busybox:2: "
                                        "RegistryUnavailable: pinging container registry mirror.test")
    assert "): primary.test/library/busybox:2: pinging container registry primary.test" in exc.value.message


def test_blocked_schema1_and_digest_pinning(store: ImageStore) -> None:
    reg = FakeRegistry()
    with pytest.raises(PullError, match="registry evil.test is blocked in"):
        _puller(store, reg, parse('[[registry]]\nprefix = "evil.test"\nblocked = true\n')).pull("evil.test/x:1")
    v1 = json.dumps({"schemaVersion": 1, "name": "old", "fsLayers": []}).encode()
    d = "sha256:" + __import__("hashlib").sha256(v1).hexdigest()
    reg.manifests[d] = v1
    reg.tags["r.test/old:1"] = d
    with pytest.raises(PullError, match="no longer supported since containerd v2.1"):
        _puller(store, reg, RegistriesConfig()).pull("r.test/old:1")
    good = reg.put_image("r.test/app:1", [BASE])
    res = _puller(store, reg, RegistriesConfig()).pull(f"r.test/app@{good}")
    assert res.repo_digest == f"r.test/app@{good}"
    with pytest.raises(PullError, match="manifest unknown"):
        _puller(store, reg, RegistriesConfig()).pull("r.test/app@sha256:" + "0" * 64)


def test_a_failed_copy_leaves_nothing(store: ImageStore) -> None:
    reg = FakeRegistry(fail_copy="writing blob: happened during read: Digest did not match")
    reg.put_image("r.test/app:1", [BASE])
    with pytest.raises(PullError, match="Digest did not match"):
        _puller(store, reg, RegistriesConfig()).pull("r.test/app:1")
    assert store.list() == [] and not list(store.root.glob(".pull-*"))


def test_a_corrupt_blob_is_refused(store: ImageStore) -> None:
    reg = FakeRegistry()
    d = reg.put_image("r.test/app:1", [BASE, APP])
    layer = json.loads(reg.manifests[d])["layers"][1]["digest"]
    reg.blobs[layer] = reg.blobs[layer][:-8] + b"\0" * 8
    with pytest.raises(PullError):
        _puller(store, reg, RegistriesConfig()).pull("r.test/app:1")
    assert store.list() == [] and not (store.layers.exists() and list(store.layers.iterdir()))


def test_layers_are_unpacked_while_they_download(store: ImageStore, monkeypatch: pytest.MonkeyPatch) -> None:
    import podbay.images.store as store_mod

    reg = FakeRegistry(write_delay=0.05)   # the stream opens each blob file before a byte is written
    reg.put_image("reg.test:5000/library/app:1", [BASE, APP])

    def not_again(*a: object, **k: object) -> None:
        raise AssertionError("a streamed layer was unpacked a second time")

    monkeypatch.setattr(store_mod, "unpack_layer", not_again)
    res = _puller(store, reg).pull("app:1")
    assert res.downloaded and (res.image.layer_dirs[1] / "app" / "run").read_bytes() == b"#!/bin/sh\n"
    blobs = [layer["digest"] for layer in json.loads(reg.manifests[reg.tags["reg.test:5000/library/app:1"]])["layers"]]
    assert all(store.has_layer_blob(b) for b in blobs)
    # a new image on the same layers: nothing to stream, nothing to unpack
    reg.put_image("reg.test:5000/library/app:2", [BASE, APP], config={"Cmd": ["x"]})
    assert _puller(store, reg).pull("app:2").downloaded


def test_progress_of_a_speculative_copy_that_ends_before_the_manifest_answers(store: ImageStore) -> None:
    """Regression: a first pull's copy (by tag, beside the manifest request) that finished before the
    plan was known reported its layers to nobody (``podbay image pull`` printed no layer lines)."""
    import threading

    reg = FakeRegistry()
    reg.put_image("reg.test:5000/library/nginx:1.25", [BASE, APP])
    copied = threading.Event()
    copy, manifest = reg.copy, reg.manifest

    def copy_then_tell(*a: object, **kw: object) -> None:
        copy(*a, **kw)  # type: ignore[arg-type]
        copied.set()

    def manifest_after_the_copy(*a: object, **kw: object) -> bytes:
        assert copied.wait(5)
        return manifest(*a, **kw)  # type: ignore[arg-type]

    reg.copy, reg.manifest = copy_then_tell, manifest_after_the_copy  # type: ignore[method-assign]
    seen: list[tuple[str, set[str]]] = []
    _puller(store, reg).pull("nginx:1.25", progress=lambda plan, snap: seen.append(
        (plan.ref, set(snap.finished))))
    assert seen, "the layers were never reported"
    plan_ref, finished = seen[-1]
    assert plan_ref == "docker.io/library/nginx:1.25" and len(finished) >= 2
