"""``podbay kubeconfig``: a kubeconfig for kubectl and client libraries, from the agent's PKI.

It reads the key material under <root>/pki (root only): the CA goes in as certificate-authority-data,
the user gets the admin client certificate (or one issued for ``--user`` by the CA), or with ``--token``
a bearer token recorded in <root>/pki/tokens.csv (the agent re-reads it). The server is the agent's
listener (<run dir>/apiserver-url) unless ``--server`` says otherwise. ``cryptography`` and ``yaml``
load only here.
"""

from __future__ import annotations

import base64
import fcntl
import os
import secrets
import uuid
from pathlib import Path
from typing import Any

from podbay.cli.errors import CliError

DEFAULT_URL = "https://127.0.0.1:6443"
CONTEXT = "podbay"
URL_FILE = "apiserver-url"


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except PermissionError as exc:
        raise CliError(f"error: cannot read {path}: permission denied (the agent's keys are root's: run "
                       "podbay kubeconfig as root)") from exc
    except FileNotFoundError as exc:
        raise CliError(f"error: {path} does not exist (start the agent once: it creates the CA and the admin "
                       "certificate)") from exc


def server_url(run_dir: Path, explicit: str | None) -> str:
    if explicit:
        if not explicit.startswith("https://"):
            raise CliError(f"error: --server {explicit}: podbay serves only https:// URLs")
        return explicit
    try:
        text = (run_dir / URL_FILE).read_text().strip()
    except OSError:
        return DEFAULT_URL
    return text or DEFAULT_URL


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def issue_token(tokens_file: Path, user: str, groups: tuple[str, ...]) -> str:
    """A new random bearer token for user, appended to the agent's token file (0600, locked)."""
    from podbay.core.authn import token_file_line

    token = secrets.token_urlsafe(32)
    line = token_file_line(token, user, str(uuid.uuid4()), groups)
    try:
        fd = os.open(tokens_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except PermissionError as exc:
        raise CliError(f"error: cannot write {tokens_file}: permission denied (run podbay kubeconfig as root)") from exc
    except FileNotFoundError as exc:
        raise CliError(f"error: {tokens_file.parent} does not exist (start the agent once)") from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.fchmod(fd, 0o600)
        os.write(fd, line.encode())
    finally:
        os.close(fd)
    return token


def build(root: Path, run_dir: Path, *, server: str | None, user: str | None, groups: tuple[str, ...],
          token: bool, namespace: str | None) -> dict[str, Any]:
    from podbay.host import pki

    paths = pki.PkiPaths(root / "pki")
    ca = _read(paths.ca_crt)
    name = user or pki.ADMIN_USER
    if not groups and name == pki.ADMIN_USER:
        groups = (pki.ADMIN_GROUP,)
    creds: dict[str, str]
    if token:
        creds = {"token": issue_token(paths.tokens, name, groups)}
    elif name == pki.ADMIN_USER and groups == (pki.ADMIN_GROUP,):
        creds = {"client-certificate-data": _b64(_read(paths.admin_crt)),
                 "client-key-data": _b64(_read(paths.admin_key))}
    else:
        _read(paths.ca_key)   # a clear error before cryptography's
        cert, key = pki.make_client_cert(pki.load_cert(paths.ca_crt), pki.load_key(paths.ca_key), name, groups)
        creds = {"client-certificate-data": _b64(cert), "client-key-data": _b64(key)}
    context: dict[str, str] = {"cluster": CONTEXT, "user": name}
    if namespace:
        context["namespace"] = namespace
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": CONTEXT, "cluster": {"server": server_url(run_dir, server),
                                                   "certificate-authority-data": _b64(ca)}}],
        "users": [{"name": name, "user": creds}],
        "contexts": [{"name": CONTEXT, "context": context}],
        "current-context": CONTEXT,
        "preferences": {},
    }


def render(cfg: dict[str, Any]) -> str:
    import yaml

    return str(yaml.safe_dump(cfg, sort_keys=False, default_flow_style=False))
