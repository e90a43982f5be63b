import gzip
import io
import json
import os
import tarfile
from pathlib import Path

import pytest
from imgtest_helpers import digest, docker_archive, layer, oci_layout

from podbay.errors import Conflict, NotFound, PermanentError
from podbay.images import cli_ops
from podbay.images.store import ImageStore

BASE = layer([("bin", "dir", 0o755), ("bin/sh", "file", "#!fake"), ("etc", "dir", 0o755),
              ("etc/passwd", "file", "root:x:0:0::/root:/bin/sh\n")])
TOP = layer([("app", "dir", 0o755), ("app/run", "file", "run")])


@pytest.fixture
def store(tmp_path: Path) -> ImageStore:
    return ImageStore(tmp_path / "root" / "images")


def test_oci_layout_dir_gzip_two_layers(store: ImageStore, tmp_path: Path) -> None:
    src = oci_layout(tmp_path / "layout", [BASE, TOP], "quay.io/a/app:v1", cfg={"Env": ["A=1"], "Cmd": ["run"]})
    [img] = store.load(src)
    assert img.refs == ["quay.io/a/app:v1"]
    assert img.config == {"Env": ["A=1"], "Cmd": ["run"]}
    assert [p.name for p in img.layer_dirs] == [digest(BASE)[7:], digest(TOP)[7:]]  # lowest first
    assert (img.layer_dirs[0] / "etc/passwd").exists() and (img.layer_dirs[1] / "app/run").read_text() == "run"
    assert img.size > len(BASE) + len(TOP)
    assert store.resolve("quay.io/a/app:v1") == img
    assert store.resolve(img.id).id == img.id
    assert store.resolve(img.id[7:19]).id == img.id  # short id
    assert store.resolve(f"quay.io/a/app@{img.digests[0]}").id == img.id


def test_oci_archive_uncompressed(store: ImageStore, tmp_path: Path) -> None:
    src = oci_layout(tmp_path / "oci.tar", [BASE], "busybox:1.35", gz=False, as_tar=True)
    [img] = store.load(src)
    assert img.refs == ["docker.io/library/busybox:1.35"]
    assert store.resolve("busybox:1.35").id == img.id


def test_docker_archive_and_layer_dedup(store: ImageStore, tmp_path: Path) -> None:
    [a] = store.load(docker_archive(tmp_path / "a.tar", [BASE], ["busybox:latest", "other/x:1"]))
    assert a.refs == ["docker.io/library/busybox:latest", "docker.io/other/x:1"]
    [b] = store.load(docker_archive(tmp_path / "b.tar", [BASE, TOP], ["app:1"], cfg={"Cmd": ["b"]}))
    assert a.layer_dirs[0] == b.layer_dirs[0]  # shared base unpacked once
    assert len(list(store.layers.iterdir())) == 2
    assert store.resolve("busybox").id == a.id


def test_digest_mismatch_leaves_nothing(store: ImageStore, tmp_path: Path) -> None:
    src = oci_layout(tmp_path / "layout", [BASE], "x:1")
    blob = next(p for p in (src / "blobs/sha256").iterdir() if p.read_bytes()[:2] == b"\x1f\x8b")
    blob.write_bytes(gzip.compress(TOP, mtime=0))  # same name, other content
    with pytest.raises(PermanentError, match="mismatch"):
        store.load(src)
    assert store.list() == []
    assert list(store.layers.iterdir()) == []


def test_docker_archive_diff_id_mismatch(store: ImageStore, tmp_path: Path) -> None:
    path = docker_archive(tmp_path / "a.tar", [BASE], ["x:1"])
    with tarfile.open(path) as t:
        members = {m.name: t.extractfile(m).read() for m in t.getmembers()}  # type: ignore[union-attr]
    layer_name = next(n for n in members if n.endswith("layer.tar"))
    members[layer_name] = TOP
    with tarfile.open(path, "w") as t:
        for name, data in members.items():
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
    with pytest.raises(PermanentError, match="diff id mismatch"):
        store.load(path)


def test_not_an_archive(store: ImageStore, tmp_path: Path) -> None:
    (tmp_path / "junk").write_text("hello")
    with pytest.raises(PermanentError):
        store.load(tmp_path / "junk")
    with pytest.raises(NotFound):
        store.load(tmp_path / "missing.tar")


def test_import_tar_with_changes(store: ImageStore, tmp_path: Path) -> None:
    tar = tmp_path / "rootfs.tar.gz"
    tar.write_bytes(gzip.compress(BASE))
    img = store.import_tar(tar, "localhost/mine", ["ENV PATH=/bin", "CMD sh -c 'echo hi'", "WORKDIR /etc", "USER 65534"])
    assert img.refs == ["localhost/mine:latest"]
    assert img.config == {"Env": ["PATH=/bin"], "Cmd": ["/bin/sh", "-c", "sh -c 'echo hi'"],
                          "WorkingDir": "/etc", "User": "65534"}
    assert (img.layer_dirs[0] / "bin/sh").read_text() == "#!fake"
    with pytest.raises(PermanentError, match="invalid instruction"):
        store.import_tar(tar, "x", ["RUN true"])
    with pytest.raises(PermanentError, match="lowercase"):
        store.import_tar(tar, "Bad", [])


def test_resolve_not_found_message(store: ImageStore) -> None:
    with pytest.raises(NotFound) as exc:
        store.resolve("nope:1")
    assert str(exc.value) == 'image "docker.io/library/nope:1" not found in the local store'


def test_remove_untag_then_delete(store: ImageStore, tmp_path: Path) -> None:
    [a] = store.load(docker_archive(tmp_path / "a.tar", [BASE], ["busybox:1", "busybox:2"]))
    [b] = store.load(docker_archive(tmp_path / "b.tar", [BASE, TOP], ["app:1"]))
    with pytest.raises(Conflict, match="multiple repositories"):
        store.remove(a.id)
    r = store.remove("busybox:1")
    assert (r.untagged, r.deleted) == (["docker.io/library/busybox:1"], None)
    assert store.resolve("busybox:2").id == a.id
    r = store.remove("busybox:2")
    assert r.deleted == a.id
    assert a.layer_dirs[0].exists()  # still used by b
    assert not (store.blobs / a.id[7:]).exists()
    store.remove(b.id)
    assert list(store.layers.iterdir()) == [] and store.list() == []
    with pytest.raises(NotFound):
        store.remove("app:1")


def test_state_file_is_json_and_no_tmp_left(store: ImageStore, tmp_path: Path) -> None:
    store.load(docker_archive(tmp_path / "a.tar", [BASE], ["busybox:1"]))
    state = json.loads((store.root / "refs.json").read_text())
    assert state["refs"] == {"docker.io/library/busybox:1": store.list()[0].id[7:]}
    assert not [p for p in store.root.iterdir() if p.name.startswith(".")]
    (store.layers / ".tmp-crashed").mkdir()
    store.load(docker_archive(tmp_path / "b.tar", [TOP], ["top:1"]))
    assert not (store.layers / ".tmp-crashed").exists()  # swept under the lock


def test_cli_ops(tmp_path: Path) -> None:
    root = tmp_path / "state"
    src = docker_archive(tmp_path / "a.tar", [BASE], ["busybox:1.35"])
    assert cli_ops.load_images(root, src) == ["Loaded image: docker.io/library/busybox:1.35"]
    tar = tmp_path / "r.tar"
    tar.write_bytes(TOP)
    image_id = cli_ops.import_image(root, tar, None, [])
    rows = cli_ops.list_rows(root)
    assert ("<none>", "<none>", "<none>", image_id[7:19],
            cli_ops.human_size(ImageStore(root / "images").resolve(image_id).size)) in rows
    assert [r[:2] for r in rows if r[0] != "<none>"] == [("docker.io/library/busybox", "1.35")]
    out = cli_ops.remove_image(root, "busybox:1.35")
    assert out.startswith("Untagged: docker.io/library/busybox:1.35\nDeleted: ")
    assert os.path.isdir(root / "images" / "layers")


@pytest.mark.parametrize("n,want", [(0, "0 B"), (999, "999 B"), (2_140_547, "2.14 MB"), (1_500_000_000, "1.5 GB")])
def test_human_size(n: int, want: str) -> None:
    assert cli_ops.human_size(n) == want


def test_gc_candidates_and_execute(tmp_path: Path) -> None:
    import time

    from podbay.core.image_gc import prune
    from podbay.images import gc

    store = ImageStore(tmp_path / "images")
    [a] = store.load(docker_archive(tmp_path / "a.tar", [BASE], ["a:1"]))
    [b] = store.load(docker_archive(tmp_path / "b.tar", [BASE, TOP], ["b:1", "b:2"], cfg={"Cmd": ["b"]}))
    store.mark_used(a.id, 50.0)
    cands = {c.id: c for c in gc.candidates(store, in_use=["docker.io/library/a:1"])}
    assert cands[a.id].in_use and cands[a.id].last_used == 50.0 and not cands[b.id].in_use
    assert cands[b.id].first_detected > 0
    removed = gc.execute(store, prune(list(cands.values()), time.time()))
    assert [(r.id, r.refs) for r in removed] == [(b.id, ("docker.io/library/b:1", "docker.io/library/b:2"))]
    assert [i.id for i in store.list()] == [a.id]
    assert len(list(store.layers.iterdir())) == 1        # the shared base stays with a
