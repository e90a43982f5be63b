"""The TLS listener: ``--listen ADDR:PORT`` parsing, the server SSL context, the TCP site.

Client certificates are requested but optional (Go's VerifyClientCertIfGiven, as kube-apiserver): a
certificate that is presented must chain to the podbay CA or the handshake fails; a request without
one may still authenticate with a bearer token. HTTP/1.1 only (aiohttp), announced by ALPN.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from podbay.errors import PermanentError
from podbay.host.pki import PkiPaths
from podbay.sys.fileio import atomic_write

DEFAULT_LISTEN = "127.0.0.1:6443"
URL_FILE = "apiserver-url"   # under the run dir: where `podbay kubeconfig` finds the listener
# Where in-cluster clients reach the API: the `kubernetes` Service's endpoint is <bridge address>:this.
IN_CLUSTER_PORT = 6443
IP_FREEBIND, IPV6_FREEBIND = 15, 78   # linux/in.h, in6.h: bind an address the host does not have yet


@dataclass(frozen=True)
class Listen:
    host: str
    port: int


def parse_listen(value: str | None) -> Listen | None:
    """``ADDR:PORT``, ``[v6]:PORT`` or ``none``; PermanentError for anything else."""
    text = (value if value is not None else DEFAULT_LISTEN).strip()
    if text.lower() == "none":
        return None
    host, sep, port_text = text.rpartition(":")
    if not sep or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise PermanentError(f"--listen {text!r}: expected ADDR:PORT (e.g. {DEFAULT_LISTEN}) or none")
    host = host.strip("[]")
    try:
        ipaddress.ip_address(host)
    except ValueError as exc:
        raise PermanentError(f"--listen {text!r}: {host!r} is not an IP address") from exc
    return Listen(host, int(port_text))


def server_context(pki: PkiPaths) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    # TLS 1.2: forward-secret ECDHE suites only (Go's defaults, as kube-apiserver's). SECLEVEL 0 lets
    # a client that offers no signature algorithm (busybox wget in a pod) get the RFC 5246 default
    # (SHA-1) handshake signature, as Go's TLS 1.2 server does; everyone else negotiates SHA-256+.
    ctx.set_ciphers("ECDHE+AESGCM:ECDHE+CHACHA20:ECDHE+AES:!aNULL:!eNULL:!MD5:!DSS:@SECLEVEL=0")
    ctx.load_cert_chain(str(pki.server_crt), str(pki.server_key))
    ctx.load_verify_locations(cafile=str(pki.ca_crt))
    ctx.verify_mode = ssl.CERT_OPTIONAL
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def covers(listen: Listen, other: Listen) -> bool:
    """The first listener already accepts what the second would (same port, same or wildcard address)."""
    if listen.port != other.port:
        return False
    return listen.host == other.host or ipaddress.ip_address(listen.host).is_unspecified


async def start_freebind_site(runner: web.AppRunner, listen: Listen, ctx: ssl.SSLContext) -> None:
    """A TLS site on an address that may not exist yet (the pod bridge appears with the first pod)."""
    family = socket.AF_INET6 if ipaddress.ip_address(listen.host).version == 6 else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, IPV6_FREEBIND, 1)
        else:
            sock.setsockopt(socket.SOL_IP, IP_FREEBIND, 1)
        sock.bind((listen.host, listen.port))
    except OSError:
        sock.close()
        raise
    await web.SockSite(runner, sock, ssl_context=ctx).start()


def client_url(listen: Listen, port: int) -> str:
    """The URL a local client uses: a wildcard address is reached on loopback."""
    ip = ipaddress.ip_address(listen.host)
    host = listen.host
    if ip.is_unspecified:
        host = "::1" if ip.version == 6 else "127.0.0.1"
    if ipaddress.ip_address(host).version == 6:
        host = f"[{host}]"
    return f"https://{host}:{port}"


async def start_tls_site(runner: web.AppRunner, listen: Listen, ctx: ssl.SSLContext, run_dir: Path) -> str:
    """Start the TCP+TLS site; returns its client URL (also written to <run dir>/apiserver-url)."""
    site = web.TCPSite(runner, listen.host, listen.port, ssl_context=ctx, reuse_address=True)
    try:
        await site.start()
    except OSError as exc:
        raise PermanentError(f"cannot listen on {listen.host}:{listen.port}: {exc.strerror or exc} "
                             "(choose another with --listen ADDR:PORT, or --listen none)") from exc
    server = site._server   # aiohttp keeps the asyncio server here; port 0 means "pick one"
    port = listen.port
    sockets = getattr(server, "sockets", None)
    if sockets:
        port = int(sockets[0].getsockname()[1])
    url = client_url(listen, port)
    atomic_write(run_dir / URL_FILE, (url + "\n").encode(), 0o600)
    return url
