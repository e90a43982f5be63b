"""The agent's PKI under the state root: a CA, the API serving certificate, the admin client certificate
and the ServiceAccount token signing key (kubeadm's layout, made with ``cryptography``).

Everything lives in ``<root>/pki`` (0700); keys are 0600 and never logged. The CA is created once and
kept; the serving certificate is re-issued when its SAN set changes or it nears expiry, as kubeadm's
``certs renew`` would; the admin certificate (CN ``podbay-admin``, O ``system:masters``) likewise.
``cryptography`` is imported inside the functions: the CLI imports this module only for ``kubeconfig``.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from podbay.errors import PermanentError, TemporaryError
from podbay.sys.fileio import atomic_write

CA_DAYS = 3650
LEAF_DAYS = 365
RENEW_BEFORE = dt.timedelta(days=30)
ADMIN_USER = "podbay-admin"
ADMIN_GROUP = "system:masters"
# kube-apiserver always serves these names (the in-cluster `kubernetes` Service).
KUBERNETES_NAMES = ("kubernetes", "kubernetes.default", "kubernetes.default.svc",
                    "kubernetes.default.svc.cluster.local")


@dataclass(frozen=True)
class PkiPaths:
    dir: Path

    @property
    def ca_crt(self) -> Path:
        return self.dir / "ca.crt"

    @property
    def ca_key(self) -> Path:
        return self.dir / "ca.key"

    @property
    def server_crt(self) -> Path:
        return self.dir / "apiserver.crt"

    @property
    def server_key(self) -> Path:
        return self.dir / "apiserver.key"

    @property
    def admin_crt(self) -> Path:
        return self.dir / "admin.crt"

    @property
    def admin_key(self) -> Path:
        return self.dir / "admin.key"

    @property
    def sa_key(self) -> Path:
        return self.dir / "sa.key"

    @property
    def sa_pub(self) -> Path:
        return self.dir / "sa.pub"

    @property
    def tokens(self) -> Path:
        """Bearer tokens `podbay kubeconfig --token` issued (kube-apiserver's token-file CSV format)."""
        return self.dir / "tokens.csv"


@dataclass(frozen=True)
class SanSet:
    dns: tuple[str, ...]
    ips: tuple[str, ...]

    @staticmethod
    def of(names: list[str] | tuple[str, ...]) -> SanSet:
        """Split host names and IP literals; sorted and deduplicated so two sets compare by value."""
        dns: set[str] = set()
        ips: set[str] = set()
        for n in names:
            n = n.strip()
            if not n:
                continue
            try:
                ips.add(str(ipaddress.ip_address(n.strip("[]"))))
            except ValueError:
                dns.add(n.lower())
        return SanSet(tuple(sorted(dns)), tuple(sorted(ips, key=lambda a: (":" in a, a))))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def host_sans(extra: tuple[str, ...] = ()) -> SanSet:
    """localhost, 127.0.0.1, ::1, the host's names and global addresses, the `kubernetes` names, extras."""
    names: list[str] = ["localhost", "127.0.0.1", "::1", *KUBERNETES_NAMES]
    host = socket.gethostname()
    names.append(host)
    fqdn = socket.getfqdn()
    if fqdn and fqdn != "localhost":
        names.append(fqdn)
    names += host_addresses()
    names += list(extra)
    return SanSet.of(names)


def host_addresses() -> list[str]:
    """Global-scope addresses of every interface (`ip -j addr`); link-local ones are useless in a cert."""
    from podbay.sys.run import run

    try:
        res = run(["ip", "-j", "addr", "show"], timeout=10, check=False)
        data = json.loads(res.stdout or "[]")
    except (ValueError, OSError, TemporaryError):   # no `ip` binary: the names alone still work
        return []
    out: list[str] = []
    for link in data:
        for a in link.get("addr_info") or []:
            if a.get("scope") in ("global", "host") and a.get("local"):
                out.append(str(a["local"]))
    return out


# --- keys and certificates -------------------------------------------------------------------------

def _new_ec_key() -> Any:
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption()))


def _cert_pem(cert: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return bytes(cert.public_bytes(serialization.Encoding.PEM))


def load_key(path: Path) -> Any:
    from cryptography.hazmat.primitives import serialization

    return serialization.load_pem_private_key(path.read_bytes(), password=None)


def load_cert(path: Path) -> Any:
    from cryptography import x509

    return x509.load_pem_x509_certificate(path.read_bytes())


def _name(cn: str, orgs: tuple[str, ...] = ()) -> Any:
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in orgs]
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    return x509.Name(attrs)


def _builder(subject: Any, issuer: Any, public_key: Any, days: int, now: dt.datetime) -> Any:
    from cryptography import x509

    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))     # tolerate small clock skew
            .not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False))


def make_ca(now: dt.datetime | None = None, cn: str = "podbay-ca") -> tuple[bytes, bytes]:
    """A self-signed CA (cert PEM, key PEM)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    now = now or _now()
    key = _new_rsa_key()   # RSA-signed chains, as kubeadm's: what every TLS client can verify
    name = _name(cn)
    cert = (_builder(name, name, key.public_key(), CA_DAYS, now)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    return _cert_pem(cert), _key_pem(key)


def _new_rsa_key() -> Any:
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _leaf(ca_cert: Any, ca_key: Any, subject: Any, usage: Any, sans: SanSet | None, days: int,
          now: dt.datetime, *, rsa_key: bool = False) -> tuple[bytes, bytes]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    key = _new_rsa_key() if rsa_key else _new_ec_key()
    b = (_builder(subject, ca_cert.subject, key.public_key(), days, now)
         .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
         .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                      data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                      crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
         .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
         .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False))
    if sans is not None:
        general: list[Any] = [x509.DNSName(d) for d in sans.dns]
        general += [x509.IPAddress(ipaddress.ip_address(i)) for i in sans.ips]
        b = b.add_extension(x509.SubjectAlternativeName(general), critical=False)
    return _cert_pem(b.sign(ca_key, hashes.SHA256())), _key_pem(key)


def make_serving_cert(ca_cert: Any, ca_key: Any, sans: SanSet, now: dt.datetime | None = None) -> tuple[bytes, bytes]:
    from cryptography.x509.oid import ExtendedKeyUsageOID

    # RSA, as kubeadm's: small TLS clients in pods (busybox wget) offer no ECDSA cipher suites.
    return _leaf(ca_cert, ca_key, _name("podbay-apiserver"), ExtendedKeyUsageOID.SERVER_AUTH, sans, LEAF_DAYS,
                 now or _now(), rsa_key=True)


def make_client_cert(ca_cert: Any, ca_key: Any, user: str, groups: tuple[str, ...] = (),
                     now: dt.datetime | None = None, days: int = LEAF_DAYS) -> tuple[bytes, bytes]:
    """A client certificate kube-apiserver's x509 authenticator maps to user=CN, groups=O."""
    from cryptography.x509.oid import ExtendedKeyUsageOID

    return _leaf(ca_cert, ca_key, _name(user, groups), ExtendedKeyUsageOID.CLIENT_AUTH, None, days, now or _now())


def cert_sans(cert: Any) -> SanSet:
    from cryptography import x509

    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return SanSet((), ())
    names = [str(n) for n in ext.get_values_for_type(x509.DNSName)]
    names += [str(n) for n in ext.get_values_for_type(x509.IPAddress)]
    return SanSet.of(names)


def signed_by(cert: Any, ca_cert: Any) -> bool:
    """The certificate's signature verifies with the CA's key (and names it as issuer)."""
    from cryptography.exceptions import InvalidSignature

    if cert.issuer != ca_cert.subject:
        return False
    try:
        cert.verify_directly_issued_by(ca_cert)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def _is_rsa(cert: Any) -> bool:
    from cryptography.hazmat.primitives.asymmetric import rsa

    return isinstance(cert.public_key(), rsa.RSAPublicKey)


def _fresh(cert: Any, now: dt.datetime) -> bool:
    return bool(cert.not_valid_after_utc - now > RENEW_BEFORE and cert.not_valid_before_utc <= now)


def _write_pair(crt: Path, key: Path, pair: tuple[bytes, bytes]) -> None:
    atomic_write(key, pair[1], 0o600, fsync=True)
    atomic_write(crt, pair[0], 0o644, fsync=True)


def _usable(crt: Path, key: Path, ca: Any, now: dt.datetime) -> Any | None:
    try:
        cert = load_cert(crt)
        load_key(key)
    except (OSError, ValueError):
        return None
    return cert if signed_by(cert, ca) and _fresh(cert, now) else None


def ensure_pki(pki_dir: Path, sans: SanSet, now: dt.datetime | None = None) -> PkiPaths:
    """Create what is missing and renew what is stale; returns the paths. Idempotent, safe to re-run.

    The CA is never replaced while its files are readable (every kubeconfig trusts it); a CA within
    RENEW_BEFORE of expiry is an error the operator must act on, not something to rotate silently.
    """
    now = now or _now()
    p = PkiPaths(Path(pki_dir))
    p.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(p.dir, 0o700)
    if not (p.ca_crt.exists() and p.ca_key.exists()):
        _write_pair(p.ca_crt, p.ca_key, make_ca(now))
    try:
        ca_cert, ca_key = load_cert(p.ca_crt), load_key(p.ca_key)
    except ValueError as exc:
        raise PermanentError(f"cannot load the podbay CA from {p.dir}: {exc}") from exc
    if ca_cert.not_valid_after_utc <= now:
        raise PermanentError(f"the podbay CA in {p.dir} has expired; move {p.dir} away to create a new one")
    server = _usable(p.server_crt, p.server_key, ca_cert, now)
    if server is None or cert_sans(server) != sans or not _is_rsa(server):
        _write_pair(p.server_crt, p.server_key, make_serving_cert(ca_cert, ca_key, sans, now))
    admin = _usable(p.admin_crt, p.admin_key, ca_cert, now)
    if admin is None:
        _write_pair(p.admin_crt, p.admin_key, make_client_cert(ca_cert, ca_key, ADMIN_USER, (ADMIN_GROUP,), now))
    if not (p.sa_key.exists() and p.sa_pub.exists()):
        key_pem, pub_pem = make_signing_key()
        atomic_write(p.sa_key, key_pem, 0o600, fsync=True)
        atomic_write(p.sa_pub, pub_pem, 0o644, fsync=True)
    for f in (p.ca_key, p.server_key, p.admin_key, p.sa_key):
        os.chmod(f, 0o600)
    return p


def make_signing_key() -> tuple[bytes, bytes]:
    """The ServiceAccount token signing key: RSA 2048 (RS256, what every JWT consumer accepts)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pub = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return _key_pem(key), bytes(pub)
