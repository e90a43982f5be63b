"""The offline test bed: Debian's docker-registry on loopback (plain, TLS + htpasswd, Bearer token),
the test images pushed under their Docker Hub names, and a registries.conf sending docker.io there.

Every listener binds 127.0.0.1 on a random free port (the registry reports it in its log), so
parallel runs never collide. Used by the tests (the Python API) and by ``make demo`` / users::

    python -m podbay.images.testregistry up DIR [--images _work/images] [--variants plain,tls,token]
    python -m podbay.images.testregistry down DIR

``up`` starts detached processes, pushes the images and writes ``DIR/bed.json`` (ports, pids),
``DIR/registries.conf``, ``DIR/certs.d/<host:port>/ca.crt`` and ``DIR/auth.json`` (the test
credentials ``podbay:s3cret`` for the TLS and token registries); ``down`` stops them by pid.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import datetime
import gzip
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from podbay.images import spawn

USER, PASSWORD = "podbay", "s3cret"
# bcrypt of s3cret (the registry only accepts bcrypt); a fixed line needs no apache2-utils at test time.
HTPASSWD = "podbay:$2y$05$WfmjUDKrFbzGA7x/xSp2x.y1kKirpBkuGsqWBVaKIF3.kFolXuytO\n"
ISSUER, SERVICE = "podbay-test-issuer", "podbay-test-registry"
REGISTRY_BIN = "docker-registry"
_LISTEN = re.compile(r"msg=\"listening on 127\.0\.0\.1:(\d+)")

# image archive (in the images dir) -> the Docker Hub names it is pushed under
HUB_NAMES: dict[str, tuple[str, ...]] = {
    "busybox-1.35.tar": ("docker.io/library/busybox:1.35", "docker.io/library/busybox:1.36",
                         "docker.io/library/busybox:latest"),
}


def find_archive(images_dir: Path, archive: str) -> Path | None:
    """``images_dir/archive``, or next to it (``make test-image`` writes busybox to _work/)."""
    for d in (images_dir, images_dir.parent):
        if (d / archive).exists():
            return d / archive
    return None


def hub_names() -> dict[str, tuple[str, ...]]:
    from podbay.images.debimage import IMAGES

    out = dict(HUB_NAMES)
    for spec in IMAGES.values():
        out[f"{spec.name}.tar"] = spec.tags
    return out


# ----------------------------------------------------------------------------------------- certificates
@dataclass(frozen=True)
class Tls:
    ca: Path
    cert: Path
    key: Path


def make_tls(d: Path, names: tuple[str, ...] = ("127.0.0.1", "localhost")) -> Tls:
    """A throw-away CA and a server certificate for ``names`` (IPs and DNS names), valid two days."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    d.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "podbay-test-ca")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=2))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = []
    for n in names:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(n)))
        except ValueError:
            sans.append(x509.DNSName(n))
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    (d / "ca.crt").write_bytes(ca.public_bytes(pem))
    (d / "server.crt").write_bytes(cert.public_bytes(pem))
    fd = os.open(d / "server.key", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return Tls(d / "ca.crt", d / "server.crt", d / "server.key")


# ----------------------------------------------------------------------------------------- token server
def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenServer:
    """A Docker registry token server (distribution docs/spec/auth/token.md): ``GET /token?service=&scope=``
    with Basic auth; ``podbay:s3cret`` gets pull/push on every scope, anonymous callers get no access.
    Tokens are RS256 JWTs whose ``x5c`` header carries the self-signed signer certificate."""

    def __init__(self, d: Path, users: dict[str, str] | None = None) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.x509.oid import NameOID

        d.mkdir(parents=True, exist_ok=True)
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        now = datetime.datetime.now(datetime.UTC)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "podbay-test-token-signer")])
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(self.key.public_key())
                .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
                .not_valid_after(now + datetime.timedelta(days=2)).sign(self.key, hashes.SHA256()))
        self.bundle = d / "signer.crt"
        self.bundle.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        self.x5c = [base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()]
        self.users = users if users is not None else {USER: PASSWORD}
        self.requests: list[dict[str, Any]] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def token(self, user: str | None, scopes: list[str], service: str) -> str:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        access = []
        for scope in scopes:
            for s in scope.split(" "):
                typ, _, rest = s.partition(":")
                repo, _, actions = rest.rpartition(":")
                if user:
                    access.append({"type": typ, "name": repo,
                                   "actions": [a for a in actions.split(",") if a in ("pull", "push")]})
        now = int(time.time())
        claims = {"iss": ISSUER, "sub": user or "", "aud": service, "exp": now + 300, "nbf": now - 5, "iat": now,
                  "jti": secrets.token_hex(8), "access": access}
        head = _b64url(json.dumps({"alg": "RS256", "typ": "JWT", "x5c": self.x5c}).encode())
        body = _b64url(json.dumps(claims).encode())
        sig = self.key.sign(f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{head}.{body}.{_b64url(sig)}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: object) -> None:
                pass

            def do_GET(self) -> None:
                u = urlparse(self.path)
                q = parse_qs(u.query)
                if u.path != "/token":
                    self.send_error(404)
                    return
                user = None
                auth = self.headers.get("Authorization", "")
                if auth.startswith("Basic "):
                    name, _, pw = base64.b64decode(auth[6:]).decode(errors="replace").partition(":")
                    if server.users.get(name) != pw:
                        server.requests.append({"account": name, "ok": False})
                        self._send(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}')
                        return
                    user = name
                server.requests.append({"account": user, "scope": q.get("scope", []), "ok": True,
                                        "query_account": q.get("account", [None])[0]})
                tok = server.token(user, q.get("scope", []), q.get("service", [SERVICE])[0])
                self._send(200, json.dumps({"token": tok, "access_token": tok, "expires_in": 300}).encode())

            def _send(self, code: int, body: bytes) -> None:
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler

    def start(self, port: int = 0) -> int:
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True, name="token-server")
        self._thread.start()
        return self.port

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


# ----------------------------------------------------------------------------------------- registry
@dataclass
class Registry:
    """One docker-registry process on 127.0.0.1 (random port, fixed after the first start)."""

    base: Path
    name: str = "plain"
    tls: Tls | None = None
    htpasswd: bool = False
    token_realm: str | None = None
    token_bundle: Path | None = None
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    pid: int | None = None
    log_offset: int = 0
    users: dict[str, str] = field(default_factory=lambda: {USER: PASSWORD})

    @property
    def dir(self) -> Path:
        return self.base / self.name

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.dir / "registry.log"

    def _config(self) -> str:
        lines = ["version: 0.1", "log:", "  level: info", "  formatter: text", "  accesslog:", "    disabled: false",
                 "storage:", "  filesystem:", f"    rootdirectory: {self.dir / 'data'}", "  delete:",
                 "    enabled: true", "http:", f"  addr: 127.0.0.1:{self.port}", f"  secret: {secrets.token_hex(8)}"]
        if self.tls:
            lines += ["  tls:", f"    certificate: {self.tls.cert}", f"    key: {self.tls.key}"]
        if self.htpasswd:
            (self.dir / "htpasswd").write_text(HTPASSWD)
            lines += ["auth:", "  htpasswd:", "    realm: podbay-test", f"    path: {self.dir / 'htpasswd'}"]
        elif self.token_realm:
            lines += ["auth:", "  token:", f"    realm: {self.token_realm}", f"    service: {SERVICE}",
                      f"    issuer: {ISSUER}", f"    rootcertbundle: {self.token_bundle}"]
        return "\n".join(lines) + "\n"

    def start(self, timeout: float = 20.0) -> Registry:
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "config.yml").write_text(self._config())
        self.log_offset = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as logf:
            self.proc = spawn.start([REGISTRY_BIN, "serve", str(self.dir / "config.yml")], stdout=logf,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        self.pid = self.proc.pid
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = _LISTEN.search(self._new_log())
            if m:
                self.port = int(m.group(1))
                if self._answers():
                    return self
            if self.proc.poll() is not None:
                raise RuntimeError(f"docker-registry exited: {self._new_log()[-2000:]}")
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"docker-registry did not start: {self._new_log()[-2000:]}")

    def _new_log(self) -> str:
        with contextlib.suppress(OSError), self.log.open("rb") as f:
            f.seek(self.log_offset)
            return f.read().decode(errors="replace")
        return ""

    def _answers(self) -> bool:
        import ssl

        ctx = ssl.create_default_context(cafile=str(self.tls.ca)) if self.tls else None
        url = f"{'https' if self.tls else 'http'}://{self.host}/v2/"
        try:
            with urllib.request.urlopen(url, timeout=2, context=ctx):
                return True
        except urllib.error.HTTPError:
            return True    # 401 from an auth registry: it answers
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc is not None:
            _terminate(self.proc.pid, self.proc)
            spawn.done(self.proc)
            self.proc = None
        elif self.pid is not None:
            _terminate(self.pid, None)
        self.pid = None

    def requests(self, pattern: str = "") -> list[str]:
        """Access-log request lines (``GET /v2/... HTTP/1.1``) matching ``pattern`` since the first start."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        lines = re.findall(r'"((?:GET|HEAD|PUT|POST|PATCH|DELETE) [^"]*)"', text)
        return [ln for ln in lines if re.search(pattern, ln)]

    def blob_gets(self, repo: str) -> list[str]:
        return self.requests(rf"^GET /v2/{re.escape(repo)}/blobs/sha256:")

    # ---- content ---------------------------------------------------------------------------------
    def push(self, source: str, name: str, *, creds: tuple[str, str] | None = None, all_: bool = False) -> None:
        """skopeo copy SOURCE (``oci-archive:…``/``oci:…``) to ``<this registry>/<name>``."""
        argv = ["skopeo", "copy", "-q", "--retry-times=2", "--preserve-digests"]
        if all_:
            argv.append("--all")
        if self.tls:
            certs = self.dir / "certs" / self.host
            certs.mkdir(parents=True, exist_ok=True)
            shutil.copy(self.tls.ca, certs / "ca.crt")
            argv.append(f"--dest-cert-dir={certs}")
        else:
            argv.append("--dest-tls-verify=false")
        argv += [f"--dest-creds={creds[0]}:{creds[1]}"] if creds else ["--dest-no-creds"]
        argv += [source, f"docker://{self.host}/{name}"]
        env = {"PATH": "/usr/bin:/bin", "HOME": str(self.dir), "XDG_RUNTIME_DIR": str(self.dir)}
        rc, _, err = spawn.capture(argv, env=env, timeout=300)
        if rc != 0:
            raise RuntimeError(f"push of {source} to {name} failed: {err.decode(errors='replace').strip()[-1000:]}")

    def push_hub_images(self, images_dir: Path, creds: tuple[str, str] | None = None,
                        only: tuple[str, ...] = ()) -> list[str]:
        """Every test image found in ``images_dir`` under its Docker Hub names (docker.io/ stripped)."""
        pushed = []
        for archive, names in hub_names().items():
            path = find_archive(images_dir, archive)
            if path is None or (only and archive not in only):
                continue
            for n in names:
                self.push(f"oci-archive:{path}", n.removeprefix("docker.io/"), creds=creds)
                pushed.append(n)
        return pushed


def _terminate(pid: int, proc: subprocess.Popen[bytes] | None, timeout: float = 5.0) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None:
            if proc.poll() is not None:
                return
        elif not _alive(pid):
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    if proc is not None:
        proc.wait(timeout=5)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[-1][:1] != "Z"
    except OSError:
        return False


# ----------------------------------------------------------------------------------------- fixtures
def registries_conf(docker_io: str, extra: dict[str, str] | None = None, certs_dir: Path | None = None,
                    secure: tuple[str, ...] = ()) -> str:
    """docker.io remapped to ``docker_io`` (``location``, never a mirror that could fall back to the
    internet), plus ``extra`` prefix -> location; hosts in ``secure`` must use verified TLS."""
    from podbay.images.registries_conf import builder

    b = builder().registry("docker.io", docker_io)
    for prefix, location in (extra or {}).items():
        b.registry(prefix, location)
    for host in secure:
        b.registry(host, host, insecure=False)
    return b.text(str(certs_dir) if certs_dir else None)


def docker_config(hosts: list[str], user: str = USER, password: str = PASSWORD) -> str:
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    return json.dumps({"auths": {h: {"auth": auth} for h in hosts}}, indent=1)


def _layout_from_archive(archive: Path, out: Path) -> tuple[dict[str, Any], dict[str, Any], str]:
    """Unpack an oci-archive into the layout dir ``out``; returns (manifest, config, layer digest list json)."""
    out.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive) as t:
        t.extractall(out, filter="data")
    index = json.loads((out / "index.json").read_text())
    md = index["manifests"][0]["digest"]
    manifest = json.loads((out / "blobs/sha256" / md[7:]).read_bytes())
    config = json.loads((out / "blobs/sha256" / manifest["config"]["digest"][7:]).read_bytes())
    return manifest, config, md


def _put(out: Path, data: bytes) -> str:
    d = "sha256:" + hashlib.sha256(data).hexdigest()
    (out / "blobs/sha256" / d[7:]).write_bytes(data)
    return d


def _canon(obj: object) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def variant_layout(archive: Path, out: Path, *, env: str | None = None, extra_kib: int = 0,
                   architecture: str | None = None, variant: str | None = None) -> str:
    """A new image derived from ``archive``: another Env entry, an extra random layer of ``extra_kib``
    KiB (incompressible, for transfer timing) and/or another platform; returns its manifest digest."""
    manifest, config, _ = _layout_from_archive(archive, out)
    if env:
        config.setdefault("config", {}).setdefault("Env", []).append(env)
    if architecture:
        config["architecture"] = architecture
    if variant:
        config["variant"] = variant
    if extra_kib:
        import io

        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as t:
            data = os.urandom(extra_kib * 1024)
            ti = tarfile.TarInfo("padding.bin")
            ti.size, ti.mtime = len(data), 1_650_000_000
            t.addfile(ti, io.BytesIO(data))
        raw = buf.getvalue()
        blob = gzip.compress(raw, compresslevel=1, mtime=0)
        manifest["layers"].append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                                   "digest": _put(out, blob), "size": len(blob)})
        config["rootfs"]["diff_ids"].append("sha256:" + hashlib.sha256(raw).hexdigest())
    cfg = _canon(config)
    manifest["config"] = dict(manifest["config"], digest=_put(out, cfg), size=len(cfg))
    mb = _canon(manifest)
    md = _put(out, mb)
    (out / "index.json").write_bytes(_canon({"schemaVersion": 2, "manifests": [
        {"mediaType": manifest.get("mediaType", "application/vnd.oci.image.manifest.v1+json"),
         "digest": md, "size": len(mb)}]}))
    return md


def multiarch_layout(archive: Path, out: Path) -> dict[str, str]:
    """An OCI index over the image of ``archive``: linux/amd64/v3 (listed first, which containers/image
    skips on amd64), linux/arm64/v8 and linux/amd64; returns {"index": digest, "<platform>": digest}."""
    manifest, config, _ = _layout_from_archive(archive, out)
    found: dict[str, str] = {}
    entries = []
    for arch, variant in (("amd64", "v3"), ("arm64", "v8"), ("amd64", "")):
        c = dict(config, architecture=arch)
        if variant:
            c["variant"] = variant
        cb = _canon(c)
        m = dict(manifest, config=dict(manifest["config"], digest=_put(out, cb), size=len(cb)))
        mb = _canon(m)
        md = _put(out, mb)
        plat = {"architecture": arch, "os": "linux", **({"variant": variant} if variant else {})}
        found["/".join(p for p in ("linux", arch, variant) if p)] = md
        entries.append({"mediaType": manifest.get("mediaType", "application/vnd.oci.image.manifest.v1+json"),
                        "digest": md, "size": len(mb), "platform": plat})
    index = _canon({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": entries})
    found["index"] = _put(out, index)
    (out / "index.json").write_bytes(_canon({"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": found["index"], "size": len(index)}]}))
    return found


# ----------------------------------------------------------------------------------------- throttling proxy
class Proxy:
    """A loopback TCP proxy to a registry, optionally throttled, that can cut every connection and stop
    listening (the registry "goes away" mid-pull) and come back on the same port."""

    def __init__(self, upstream_port: int, rate: int = 0) -> None:
        self.upstream_port = upstream_port
        self.rate = rate                      # bytes/s per direction and connection (0: unthrottled)
        self.port = 0
        self.bytes_down = 0
        self._sock: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()

    def start(self) -> int:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        s.listen(64)
        self.port = s.getsockname()[1]
        self._sock = s
        self._stopping.clear()
        threading.Thread(target=self._accept, args=(s,), daemon=True, name="proxy-accept").start()
        return self.port

    def _accept(self, s: socket.socket) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = s.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns += [client, upstream]
            threading.Thread(target=self._pipe, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, True), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, down: bool) -> None:
        try:
            while True:
                data = src.recv(16384)
                if not data:
                    break
                dst.sendall(data)
                if down:
                    with self._lock:
                        self.bytes_down += len(data)
                if self.rate:
                    time.sleep(len(data) / self.rate)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        """Stop listening and reset every open connection."""
        self._stopping.set()
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_RDWR)   # wakes accept(); then the port is free again
            self._sock.close()
            self._sock = None
        with self._lock:
            conns, self._conns = self._conns, []
        for c in conns:   # shutdown wakes the pipe threads blocked in recv(); close alone would not
            with contextlib.suppress(OSError):
                c.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                c.close()

    def stop(self) -> None:
        self.cut()


# ----------------------------------------------------------------------------------------- the whole bed
@dataclass
class Bed:
    """The registries of one test run and the files podbay is configured with."""

    dir: Path
    plain: Registry | None = None
    tls: Registry | None = None
    token: Registry | None = None
    token_server: TokenServer | None = None
    token_pid: int | None = None

    @property
    def registries_conf(self) -> Path:
        return self.dir / "registries.conf"

    @property
    def certs_dir(self) -> Path:
        return self.dir / "certs.d"

    @property
    def auth_file(self) -> Path:
        return self.dir / "auth.json"

    def write_config(self) -> None:
        assert self.plain is not None
        secure = (self.tls.host,) if self.tls else ()
        self.registries_conf.write_text(registries_conf(self.plain.host, certs_dir=self.certs_dir, secure=secure))
        hosts = [r.host for r in (self.tls, self.token) if r is not None]
        fd = os.open(self.auth_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(docker_config(hosts))

    def stop(self) -> None:
        for r in (self.plain, self.tls, self.token):
            if r is not None:
                r.stop()
        if self.token_server is not None:
            self.token_server.stop()
        if self.token_pid is not None:
            _terminate(self.token_pid, None)


def start_bed(d: Path, images_dir: Path | None, variants: tuple[str, ...] = ("plain", "tls", "token"),
              *, token_in_thread: bool = True) -> Bed:
    """Start the chosen registries under ``d`` and push the test images (all of them to ``plain``,
    busybox to the authenticated ones); on a failure everything started so far is stopped."""
    d.mkdir(parents=True, exist_ok=True)
    bed = Bed(d)
    try:
        if "plain" in variants:
            bed.plain = Registry(d, "plain").start()
            if images_dir is not None:
                bed.plain.push_hub_images(images_dir)
        busybox = find_archive(images_dir, "busybox-1.35.tar") if images_dir is not None else None
        if "tls" in variants:
            tls = make_tls(d / "tls")
            bed.tls = Registry(d, "tls", tls=tls, htpasswd=True).start()
            certs = bed.certs_dir / bed.tls.host
            certs.mkdir(parents=True, exist_ok=True)
            shutil.copy(tls.ca, certs / "ca.crt")
            if busybox is not None:
                bed.tls.push(f"oci-archive:{busybox}", "library/busybox:1.35", creds=(USER, PASSWORD))
        if "token" in variants:
            if token_in_thread:
                ts = TokenServer(d / "token")
                port = ts.start()
                bed.token_server = ts
                bundle = ts.bundle
            else:
                port, bundle, bed.token_pid = _spawn_token_server(d / "token")
            bed.token = Registry(d, "token", token_realm=f"http://127.0.0.1:{port}/token", token_bundle=bundle).start()
            if busybox is not None:
                bed.token.push(f"oci-archive:{busybox}", "library/busybox:1.35", creds=(USER, PASSWORD))
        if bed.plain is not None:
            bed.write_config()
    except BaseException:
        bed.stop()
        raise
    return bed


def _spawn_token_server(d: Path) -> tuple[int, Path, int]:
    d.mkdir(parents=True, exist_ok=True)
    port_file = d / "port"
    port_file.unlink(missing_ok=True)
    log = (d / "token.log").open("ab")
    src = str(Path(__file__).resolve().parents[2])
    proc = spawn.start([sys.executable, "-m", "podbay.images.testregistry", "token-server", str(d)],
                       stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                       env={**os.environ, "PYTHONPATH": src})
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if port_file.exists() and port_file.read_text().strip():
            spawn.done(proc)   # tracked by pid from here on (stopped by `down`)
            return int(port_file.read_text()), d / "signer.crt", proc.pid
        if proc.poll() is not None:
            raise RuntimeError(f"token server exited: {(d / 'token.log').read_text()[-1000:]}")
        time.sleep(0.05)
    raise RuntimeError("token server did not start")


@contextlib.contextmanager
def bed(d: Path, images_dir: Path | None, variants: tuple[str, ...] = ("plain", "tls", "token")) -> Iterator[Bed]:
    b = start_bed(d, images_dir, variants)
    try:
        yield b
    finally:
        b.stop()


# ----------------------------------------------------------------------------------------- CLI
def _up(args: argparse.Namespace) -> int:
    d = Path(args.dir).resolve()
    b = start_bed(d, Path(args.images).resolve() if args.images else None, tuple(args.variants.split(",")),
                  token_in_thread=False)
    state = {"dir": str(d), "registries_conf": str(b.registries_conf), "certs_dir": str(b.certs_dir),
             "auth_file": str(b.auth_file),
             "registries": {r.name: {"host": r.host, "pid": r.pid, "log": str(r.log)}
                            for r in (b.plain, b.tls, b.token) if r is not None},
             "token_pid": b.token_pid}
    (d / "bed.json").write_text(json.dumps(state, indent=1))
    print(json.dumps(state, indent=1))
    return 0


def _down(args: argparse.Namespace) -> int:
    state_file = Path(args.dir) / "bed.json"
    if not state_file.exists():
        return 0
    state = json.loads(state_file.read_text())
    for r in state.get("registries", {}).values():
        if r.get("pid"):
            _terminate(int(r["pid"]), None)
    if state.get("token_pid"):
        _terminate(int(state["token_pid"]), None)
    state_file.unlink()
    return 0


def _token_server(args: argparse.Namespace) -> int:
    d = Path(args.dir)
    ts = TokenServer(d)
    port = ts.start()
    tmp = d / "port.tmp"
    tmp.write_text(str(port))
    tmp.replace(d / "port")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    ts.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="testregistry", description=(__doc__ or "").splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("up", help="start the registries and push the test images")
    up.add_argument("dir")
    up.add_argument("--images", default=None, help="dir with busybox-1.35.tar, nginx.tar, redis.tar, mariadb.tar")
    up.add_argument("--variants", default="plain,tls,token")
    down = sub.add_parser("down", help="stop what `up` started in DIR")
    down.add_argument("dir")
    tok = sub.add_parser("token-server", help="(internal) run a token server, port written to DIR/port")
    tok.add_argument("dir")
    args = ap.parse_args(argv)
    return {"up": _up, "down": _down, "token-server": _token_server}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
