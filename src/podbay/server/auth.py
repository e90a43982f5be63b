"""Authentication of every request, and the authentication/authorization review endpoints.

The chain is kube-apiserver's (k8s.io/apiserver pkg/authentication, union in this order):
- the root-only Unix socket is trusted as the admin (``podbay-admin``, ``system:masters``);
- on TLS: a client certificate signed by the podbay CA (user = CN, groups = O);
- ``Authorization: Bearer`` (or the WebSocket ``base64url.bearer.authorization.k8s.io.`` subprotocol):
  the token files (``--token-auth-file`` and the tokens ``podbay kubeconfig --token`` issued), then
  ServiceAccount JWTs;
- without credentials only ``system:public-info-viewer``'s paths answer (anonymous limited to
  /healthz, /livez, /readyz, /version, as an AuthenticationConfiguration ``anonymous.conditions``
  does); everything else is 401 Unauthorized. A credential that is presented and wrong is 401.

Authorization is AlwaysAllow: every authenticated user may do everything (a single-node admin API).
Impersonation headers (``kubectl --as``) are honoured accordingly.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import socket
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

from podbay import errors
from podbay.agent.serviceaccounts import ServiceAccounts
from podbay.core import authn
from podbay.core.authn import TokenRejected, UserInfo
from podbay.host.pki import ADMIN_GROUP, ADMIN_USER
from podbay.server.app import USER

log = logging.getLogger("podbay.auth")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# ClusterRole system:public-info-viewer (bound to system:unauthenticated too).
PUBLIC_PATHS = frozenset({"/healthz", "/livez", "/readyz", "/version", "/version/"})
WS_BEARER_PREFIX = "base64url.bearer.authorization.k8s.io."
SOCKET_ADMIN = UserInfo(ADMIN_USER, "", (ADMIN_GROUP, authn.ALL_AUTHENTICATED))
ANONYMOUS = UserInfo(authn.ANONYMOUS_USER, "", (authn.UNAUTHENTICATED_GROUP,))


class Unauthorized(Exception):
    """A credential was presented and is not good (the request gets 401)."""


class TokenFile:
    """A --token-auth-file, re-read when it changes (podbay's own tokens.csv gains lines at runtime)."""

    def __init__(self, path: Path, *, required: bool) -> None:
        self.path = path
        self.required = required
        self._stamp: tuple[float, int] | None = None
        self._tokens: dict[str, UserInfo] = {}
        self._checked = 0.0
        self._lock = threading.Lock()
        self.reload()

    def reload(self) -> None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            if self.required:
                raise
            self._tokens, self._stamp = {}, None
            return
        stamp = (st.st_mtime, st.st_size)
        if stamp == self._stamp:
            return
        tokens = authn.parse_token_file(self.path.read_text(), str(self.path))
        self._tokens, self._stamp = tokens, stamp

    def lookup(self, token: str) -> UserInfo | None:
        now = time.monotonic()
        if now - self._checked > 1.0:
            with self._lock:
                self._checked = now
                try:
                    self.reload()
                except (OSError, ValueError) as exc:   # keep the last good set; never log the content
                    log.warning("token file %s unreadable: %s", self.path, type(exc).__name__)
        return self._tokens.get(token)


class Authenticator:
    def __init__(self, token_files: list[TokenFile], service_accounts: ServiceAccounts | None,
                 api_audiences: tuple[str, ...]) -> None:
        self.token_files = token_files
        self.service_accounts = service_accounts
        self.api_audiences = api_audiences

    # ------------------------------------------------------------------ bearer tokens
    def authenticate_token(self, token: str, audiences: tuple[str, ...] | None = None
                           ) -> tuple[UserInfo, tuple[str, ...]] | None:
        """(user, audiences) for a known token; None when nobody knows it; TokenRejected when it is a
        ServiceAccount token that is no longer (or not) valid for these audiences."""
        wanted = audiences or self.api_audiences
        for tf in self.token_files:
            user = tf.lookup(token)
            if user is not None:
                # Audience-agnostic authenticators answer for the API audiences only.
                matched = tuple(a for a in wanted if a in self.api_audiences)
                return (user.with_authenticated(), matched) if matched else None
        if self.service_accounts is not None:
            found = self.service_accounts.authenticate(token, wanted)
            if found is not None:
                user, refs = found
                return user.with_authenticated(), refs.audiences
        return None

    # ------------------------------------------------------------------ requests
    def authenticate(self, request: web.Request) -> UserInfo | None:
        """The user of a request; None for an anonymous one; Unauthorized for bad credentials."""
        transport = request.transport
        if transport is None:
            raise Unauthorized()
        sslobj = transport.get_extra_info("ssl_object")
        if sslobj is None:
            sock = transport.get_extra_info("socket")
            if sock is not None and sock.family == socket.AF_UNIX:
                return SOCKET_ADMIN
            return _bearer_only(self, request)   # plain TCP is never served, but be strict if it were
        der = sslobj.getpeercert(binary_form=True)
        if der:
            user = user_from_der(der)
            if user is None:
                raise Unauthorized()
            return user.with_authenticated()
        return _bearer_only(self, request)


def _bearer_only(auth: Authenticator, request: web.Request) -> UserInfo | None:
    token = bearer_token(request)
    if token is None:
        return None
    try:
        found = auth.authenticate_token(token)
    except TokenRejected:
        found = None
    if found is None:
        raise Unauthorized()
    return found[0]


def bearer_token(request: web.Request) -> str | None:
    """The Authorization bearer token, else one carried in a WebSocket subprotocol (browsers)."""
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, value = header.strip().partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
        raise Unauthorized()
    for proto in request.headers.getall("Sec-WebSocket-Protocol", []):
        for p in proto.split(","):
            p = p.strip()
            if p.startswith(WS_BEARER_PREFIX):
                try:
                    raw = base64.urlsafe_b64decode(p[len(WS_BEARER_PREFIX):] + "=" * (-len(p) % 4))
                    return raw.decode()
                except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
                    raise Unauthorized() from exc
    return None


def user_from_der(der: bytes) -> UserInfo | None:
    """The x509 authenticator's mapping; the TLS layer has already verified the chain to our CA."""
    from cryptography import x509
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    cert = x509.load_der_x509_certificate(der)
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        if ExtendedKeyUsageOID.CLIENT_AUTH not in eku and ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE not in eku:
            return None
    except x509.ExtensionNotFound:
        pass
    cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    orgs = [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
    return authn.user_from_cert_subject(str(cns[0].value) if cns else "", orgs)


def impersonate(user: UserInfo, request: web.Request) -> UserInfo:
    """Impersonate-User/-Group/-Uid/-Extra-* (allowed for everyone under AlwaysAllow)."""
    headers = request.headers
    name = headers.get("Impersonate-User")
    groups = tuple(headers.getall("Impersonate-Group", []))
    uid = headers.get("Impersonate-Uid", "")
    extra: dict[str, tuple[str, ...]] = {}
    for key in headers:
        if key.lower().startswith("impersonate-extra-"):
            extra[key[len("impersonate-extra-"):].lower()] = tuple(headers.getall(key))
    if name is None:
        if groups or uid or extra:
            raise errors.BadRequest("requested impersonation of groups, uid or extra without impersonating a user")
        return user
    sa = authn.split_sa_username(name)
    if sa is not None:
        groups = (*authn.sa_groups(sa[0]), *groups)
    out = UserInfo(name, uid, groups, extra)
    return out if name == authn.ANONYMOUS_USER else out.with_authenticated()


def authenticator_for(auth: Authenticator) -> Callable[[web.Request], Awaitable[UserInfo | None]]:
    """What ``app[AUTHENTICATOR]`` calls for every request that is not on the Unix socket: the user
    (impersonation applied), ANONYMOUS on the public paths, None (401) otherwise; a credential that
    is presented and wrong is Unauthorized even on a public path."""

    async def authenticate(request: web.Request) -> UserInfo | None:
        try:
            user = auth.authenticate(request)
        except Unauthorized as exc:
            raise errors.Unauthorized("Unauthorized") from exc
        if user is None:
            return ANONYMOUS if request.path in PUBLIC_PATHS else None
        return impersonate(user, request)

    return authenticate


def request_user(request: web.Request) -> UserInfo:
    """Who the request is: the app's USER, or the admin on the root-only Unix socket."""
    user = request.get(USER)
    if isinstance(user, UserInfo):
        return user
    return SOCKET_ADMIN
