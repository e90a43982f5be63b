"""Build the offline test image ``docker.io/library/busybox:1.35`` from Debian's busybox-static.

Writes an oci-archive (a tarred OCI image layout) with one gzip'd layer. Only the stdlib is used,
and every timestamp is fixed, so the same busybox binary always gives the same image id.

    python -m podbay.images.testimage OUT.tar [--busybox /bin/busybox] [--ref REF]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import shutil
import struct
import subprocess
import sys
import tarfile
from pathlib import Path

from podbay.images.archive import REF_NAME, host_arch

DEFAULT_REF = "docker.io/library/busybox:1.35"
EPOCH = 1_650_000_000  # fixed mtime (2022-04-15) for reproducible layers
CREATED = "2022-04-15T05:20:00Z"
PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

FILES: dict[str, tuple[str, int]] = {
    "etc/passwd": ("root:x:0:0:root:/root:/bin/sh\n"
                   "daemon:x:1:1:daemon:/usr/sbin:/bin/false\n"
                   "user:x:1001:1001:user:/home/user:/bin/sh\n"
                   "nobody:x:65534:65534:nobody:/home:/bin/false\n", 0o644),
    "etc/group": ("root:x:0:\ndaemon:x:1:\nuser:x:1001:\nnogroup:x:65534:\nnobody:x:65534:\n", 0o644),
    "etc/shadow": ("root:*:10933:0:99999:7:::\nuser:*:10933:0:99999:7:::\nnobody:*:10933:0:99999:7:::\n", 0o600),
    "etc/hosts": ("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n", 0o644),
    "etc/hostname": ("busybox\n", 0o644),
    "etc/resolv.conf": ("", 0o644),
    "etc/nsswitch.conf": ("hosts: files dns\n", 0o644),
}
DIRS: dict[str, int] = {
    "bin": 0o755, "dev": 0o755, "etc": 0o755, "home": 0o755, "home/user": 0o755, "proc": 0o555,
    "root": 0o700, "sys": 0o555, "tmp": 0o1777, "usr": 0o755, "usr/bin": 0o755, "usr/sbin": 0o755,
    "sbin": 0o755, "var": 0o755, "var/tmp": 0o1777, "var/log": 0o755, "var/spool": 0o755,
}


def is_static_elf(data: bytes) -> bool:
    """True for a 64-bit little-endian ELF without a PT_INTERP program header (pure)."""
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        return False
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    for i in range(phnum):
        p_type, = struct.unpack_from("<I", data, phoff + i * phentsize)
        if p_type == 3:  # PT_INTERP
            return False
    return True


def _applets(busybox: Path) -> list[str]:
    out = subprocess.run([str(busybox), "--list"], capture_output=True, check=True, timeout=30).stdout.decode()
    return sorted({a for a in out.split() if a and "/" not in a and a != "busybox"})


def _info(name: str, kind: bytes, mode: int, uid: int = 0, gid: int = 0) -> tarfile.TarInfo:
    ti = tarfile.TarInfo(name)
    ti.type, ti.mode, ti.mtime, ti.uid, ti.gid = kind, mode, EPOCH, uid, gid
    ti.uname = ti.gname = ""
    return ti


def layer_tar(busybox: Path) -> bytes:
    """The uncompressed rootfs tar of the image."""
    binary = busybox.read_bytes()
    if not is_static_elf(binary):
        raise SystemExit(f"{busybox} is not a static 64-bit ELF; install Debian's busybox-static")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for d, mode in sorted(DIRS.items()):
            uid = 1001 if d == "home/user" else 0
            tar.addfile(_info(d, tarfile.DIRTYPE, mode, uid, uid))
        bb = _info("bin/busybox", tarfile.REGTYPE, 0o755)
        bb.size = len(binary)
        tar.addfile(bb, io.BytesIO(binary))
        for applet in _applets(busybox):
            link = _info(f"bin/{applet}", tarfile.SYMTYPE, 0o777)
            link.linkname = "busybox"
            tar.addfile(link)
        for name, (text, mode) in sorted(FILES.items()):
            data = text.encode()
            ti = _info(name, tarfile.REGTYPE, mode)
            ti.size = len(data)
            tar.addfile(ti, io.BytesIO(data))
        mtab = _info("etc/mtab", tarfile.SYMTYPE, 0o777)
        mtab.linkname = "/proc/mounts"
        tar.addfile(mtab)
    return buf.getvalue()


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    ti = _info(name, tarfile.REGTYPE, 0o644)
    ti.size = len(data)
    tar.addfile(ti, io.BytesIO(data))


def find_busybox() -> Path:
    return Path("/bin/busybox") if Path("/bin/busybox").exists() else Path(shutil.which("busybox") or "")


def build(out: Path, busybox: Path | None = None, ref: str = DEFAULT_REF) -> str:
    """Write the oci-archive to ``out``; returns the image id (config digest)."""
    layer = layer_tar(busybox or find_busybox())
    blob = gzip.compress(layer, compresslevel=6, mtime=0)
    config = json.dumps({
        "created": CREATED, "architecture": host_arch(), "os": "linux",
        "config": {"Env": [PATH_ENV], "Cmd": ["sh"]},
        "rootfs": {"type": "layers", "diff_ids": [_digest(layer)]},
        "history": [{"created": CREATED, "created_by": "podbay build-test-image (busybox-static)"}],
    }, sort_keys=True, separators=(",", ":")).encode()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": _digest(config),
                   "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": _digest(blob),
                    "size": len(blob)}],
    }, sort_keys=True, separators=(",", ":")).encode()
    index = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": _digest(manifest),
                       "size": len(manifest), "annotations": {REF_NAME: ref}}],
    }, sort_keys=True, separators=(",", ":")).encode()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as tar:
        tar.addfile(_info("blobs", tarfile.DIRTYPE, 0o755))
        tar.addfile(_info("blobs/sha256", tarfile.DIRTYPE, 0o755))
        _add(tar, "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        _add(tar, "index.json", index)
        for data in (config, manifest, blob):
            _add(tar, "blobs/sha256/" + _digest(data).removeprefix("sha256:"), data)
    tmp.replace(out)
    return _digest(config)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="build-test-image", description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("out", type=Path)
    ap.add_argument("--busybox", type=Path, default=None)
    ap.add_argument("--ref", default=DEFAULT_REF)
    args = ap.parse_args(argv)
    image_id = build(args.out, args.busybox, args.ref)
    print(f"{args.out}: {args.ref} {image_id}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
