"""The registry port backed by Debian's skopeo (containers/image, the library CRI-O pulls with).

Isolation (IMAGES.md §3.4): every run gets ``env -i`` with PATH only, HOME/XDG_*/DOCKER_CONFIG in
a private 0700 dir, credentials in a 0600 ``auth.json`` there (``--authfile``; never on argv) or
``--no-creds``; podbay's own policy (accept anything: signatures are not a kubelet concept), an
empty registries.conf (podbay resolves mirrors itself) and an empty registries.d. So nothing in
root's ``~/.docker``, ``/run/containers/0/auth.json`` or ``/etc/containers/registries.conf`` is
read. (containers/image still keeps its blob-info cache in /var/lib/containers/cache as root.)

Progress: the ``oci:`` destination writes each blob to ``<layout>/oci-put-blob*`` and renames it to
``blobs/sha256/<hex>`` once verified; a poll of those files gives bytes so far.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from podbay.images import spawn
from podbay.images.keyring import Credential
from podbay.images.registry import UNAVAILABLE_PREFIX, BlobFn, CopyProgress, ProgressFn, PullError, Target

_FATAL = re.compile(r'level=fatal msg="((?:[^"\\]|\\.)*)"')
_GO_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "a": "\a", "b": "\b", "f": "\f", "v": "\v"}
_PREFIXES = (re.compile(r'^Error parsing image name "[^"]*": '), re.compile(r"^initializing source [^ ]+: "))
MANIFEST_TIMEOUT = 120.0
STALL_TIMEOUT = 300.0        # containerd's image_pull_progress_timeout


def _unquote(text: str) -> str:
    def one(m: re.Match[str]) -> str:
        esc = m.group(1)
        if esc[0] in _GO_ESCAPES:
            return _GO_ESCAPES[esc[0]]
        return chr(int(esc[1:], 16))
    return re.sub(r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|.)", one, text)


def error_message(stderr: str) -> str:
    """The fatal message of a failed skopeo run, without skopeo's own ``initializing source`` prefix."""
    found = _FATAL.findall(stderr)
    msg = _unquote(found[-1]) if found else (stderr.strip().splitlines() or ["skopeo failed"])[-1]
    for prefix in _PREFIXES:
        msg = prefix.sub("", msg, count=1)
    return msg


def classify(msg: str) -> PullError:
    """CRI-O's mapping: a refused connection is RegistryUnavailable; ``manifest unknown`` is not-found."""
    if "connect: connection refused" in msg:
        return PullError(f"{UNAVAILABLE_PREFIX}: {msg}")
    return PullError(msg, not_found="manifest unknown" in msg)


class SkopeoClient:
    """RegistryClient over ``skopeo inspect --raw`` and ``skopeo copy --preserve-digests``."""

    def __init__(self, work_dir: Path, binary: str = "skopeo", *, stall_timeout: float = STALL_TIMEOUT,
                 poll_interval: float = 0.25) -> None:
        self.work_dir = Path(work_dir)
        self.binary = shutil.which(binary) or binary
        self.stall_timeout = stall_timeout
        self.poll_interval = poll_interval
        self._base: Path | None = None
        self._lock = threading.Lock()

    # ---- isolation -----------------------------------------------------------------------------
    def _shared(self) -> Path:
        """policy.json, an empty registries.conf and registries.d: identical for every run."""
        with self._lock:
            if self._base is None or not (self._base / "policy.json").exists():
                base = self.work_dir / ".skopeo"
                (base / "registries.d").mkdir(parents=True, exist_ok=True, mode=0o700)
                for name, text in (("policy.json", '{"default":[{"type":"insecureAcceptAnything"}]}\n'),
                                   ("registries.conf", "# podbay resolves registries itself\n")):
                    if not (base / name).exists():
                        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", dir=base)
                        with os.fdopen(fd, "w") as f:
                            f.write(text)
                        os.chmod(tmp, 0o644)
                        os.replace(tmp, base / name)
                self._base = base
            return self._base

    def _private(self, target: Target, cred: Credential | None) -> Path:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        d = Path(tempfile.mkdtemp(prefix=".skopeo-", dir=self.work_dir))   # 0700
        for sub in ("run", "cfg", "docker"):
            (d / sub).mkdir(mode=0o700)
        if cred is not None:
            auth = base64.b64encode(f"{cred.username}:{cred.password}".encode()).decode()
            fd = os.open(d / "auth.json", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                json.dump({"auths": {target.host: {"auth": auth}}}, f)
        return d

    def _env(self, d: Path) -> dict[str, str]:
        return {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": str(d), "XDG_RUNTIME_DIR": str(d / "run"),
                "XDG_CONFIG_HOME": str(d / "cfg"), "DOCKER_CONFIG": str(d / "docker"), "TMPDIR": str(d)}

    def _global(self) -> list[str]:
        base = self._shared()
        return [self.binary, "--policy", str(base / "policy.json"), "--registries.d", str(base / "registries.d"),
                "--registries-conf", str(base / "registries.conf"), "--tmpdir", str(self.work_dir)]

    @staticmethod
    def _src_flags(target: Target, d: Path, cred: Credential | None, prefix: str) -> list[str]:
        flags = [f"--{prefix}tls-verify={'false' if target.insecure else 'true'}"]
        if target.cert_dir:
            flags.append(f"--{prefix}cert-dir={target.cert_dir}")
        if cred is None:
            flags.append(f"--{prefix}no-creds")
        else:
            flags.append(f"--{'src-' if prefix else ''}authfile={d / 'auth.json'}")
        return flags

    # ---- the port ------------------------------------------------------------------------------
    def manifest(self, target: Target, cred: Credential | None) -> bytes:
        d = self._private(target, cred)
        try:
            argv = [*self._global(), "inspect", "--raw", "--retry-times=0",
                    *self._src_flags(target, d, cred, ""), f"docker://{target.name}"]
            try:
                rc, out, err = spawn.capture(argv, env=self._env(d), timeout=MANIFEST_TIMEOUT)
            except subprocess.TimeoutExpired as exc:
                raise PullError(f"reading manifest of {target.name}: no answer in {MANIFEST_TIMEOUT:.0f}s") from exc
            except OSError as exc:
                raise PullError(f"cannot run skopeo ({self.binary}): {exc.strerror}") from exc
            if rc != 0:
                raise classify(error_message(err.decode(errors="replace")))
            return out
        finally:
            shutil.rmtree(d, ignore_errors=True)

    def copy(self, target: Target, layout: Path, cred: Credential | None, progress: ProgressFn | None = None,
             cancel: threading.Event | None = None, on_blob: BlobFn | None = None) -> None:
        d = self._private(target, cred)
        try:
            argv = [*self._global(), "copy", "-q", "--remove-signatures", "--preserve-digests", "--retry-times=0",
                    *self._src_flags(target, d, cred, "src-"), f"docker://{target.name}", f"oci:{layout}:pulled"]
            errf = (d / "stderr").open("w+b")
            try:
                proc = spawn.start(argv, env=self._env(d), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=errf, start_new_session=True)
            except OSError as exc:
                raise PullError(f"cannot run skopeo ({self.binary}): {exc.strerror}") from exc
            with errf:
                try:
                    self._watch(proc, layout, progress, cancel, on_blob)
                finally:
                    if proc.returncode is None:
                        proc.kill()
                        proc.wait()
                    spawn.done(proc)
                if proc.returncode != 0:
                    errf.seek(0)
                    raise classify(error_message(errf.read().decode(errors="replace")))
            if progress is not None:
                progress(snapshot(layout))
        finally:
            shutil.rmtree(d, ignore_errors=True)

    def _watch(self, proc: subprocess.Popen[bytes], layout: Path, progress: ProgressFn | None,
               cancel: threading.Event | None, on_blob: BlobFn | None) -> None:
        # With on_blob, look for new blob files often (a streamed unpack should start at once);
        # progress and stall checks keep their own pace.
        tick = 0.005 if on_blob is not None else self.poll_interval
        seen: set[int] = set()   # inodes reported (a rename into blobs/ keeps the inode)
        last_bytes, last_change, last_report = -1, time.monotonic(), 0.0
        while True:
            try:
                proc.wait(timeout=tick)
                return
            except subprocess.TimeoutExpired:
                pass
            if on_blob is not None:
                # Blobs being written, then finished ones never seen being written (a small layer
                # can be fetched and renamed within one tick): each is reported once.
                for path in _fresh_blobs(layout, seen):
                    on_blob(path)
            now = time.monotonic()
            if now - last_report < self.poll_interval:
                continue
            last_report = now
            snap = snapshot(layout)
            if snap.bytes != last_bytes:
                last_bytes, last_change = snap.bytes, now
                if progress is not None:
                    progress(snap)
            why = None
            if cancel is not None and cancel.is_set():
                why = "pull cancelled"
            elif now - last_change > self.stall_timeout:
                why = f"pull cancelled: no progress for {self.stall_timeout:.0f}s"
            if why is not None:
                proc.kill()
                proc.wait()
                raise PullError(why)


def _fresh_blobs(layout: Path, seen: set[int]) -> list[Path]:
    fresh = []
    for d, temp_only in ((layout, True), (layout / "blobs" / "sha256", False)):
        try:
            with os.scandir(d) as it:
                for e in it:
                    if (e.name.startswith("oci-put-blob") if temp_only else not e.name.startswith(".")) \
                            and e.inode() not in seen:
                        seen.add(e.inode())
                        fresh.append(d / e.name)
        except OSError:
            pass
    return fresh


def snapshot(layout: Path) -> CopyProgress:
    """Finished blobs and in-flight temp files of an ``oci:`` destination being written."""
    finished: dict[str, int] = {}
    partial: list[tuple[int, int]] = []
    try:
        with os.scandir(layout / "blobs" / "sha256") as it:
            for e in it:
                if not e.name.startswith("."):
                    finished["sha256:" + e.name] = e.stat().st_size
    except OSError:
        pass
    try:
        with os.scandir(layout) as it:
            for e in it:
                if e.name.startswith("oci-put-blob"):
                    st = e.stat()
                    partial.append((e.inode(), st.st_size))
    except OSError:
        pass
    return CopyProgress(finished, tuple(size for _, size in sorted(partial)))
