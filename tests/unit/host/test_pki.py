"""The agent's PKI: what ensure_pki creates, keeps, renews, and how the certificates chain."""

from __future__ import annotations

import datetime as dt
import ipaddress
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from podbay.errors import PermanentError
from podbay.host import pki

SANS = pki.SanSet.of(["localhost", "127.0.0.1", "::1", "node1", "10.1.2.3", *pki.KUBERNETES_NAMES])


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_first_start_creates_everything_with_private_modes(tmp_path: Path) -> None:
    p = pki.ensure_pki(tmp_path / "pki", SANS)
    assert _mode(p.dir) == 0o700
    for key in (p.ca_key, p.server_key, p.admin_key, p.sa_key):
        assert _mode(key) == 0o600, key
    for crt in (p.ca_crt, p.server_crt, p.admin_crt):
        assert _mode(crt) == 0o644
    ca = pki.load_cert(p.ca_crt)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    assert pki.signed_by(pki.load_cert(p.server_crt), ca)
    assert pki.signed_by(pki.load_cert(p.admin_crt), ca)


def test_serving_cert_names_and_usage(tmp_path: Path) -> None:
    p = pki.ensure_pki(tmp_path / "pki", SANS)
    cert = pki.load_cert(p.server_crt)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(san.get_values_for_type(x509.DNSName)) >= {"localhost", "node1", "kubernetes.default.svc"}
    assert set(san.get_values_for_type(x509.IPAddress)) == {ipaddress.ip_address(a) for a in
                                                            ("127.0.0.1", "::1", "10.1.2.3")}
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert pki.cert_sans(cert) == SANS


def test_admin_cert_is_podbay_admin_in_system_masters(tmp_path: Path) -> None:
    p = pki.ensure_pki(tmp_path / "pki", SANS)
    cert = pki.load_cert(p.admin_crt)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "podbay-admin"
    assert [a.value for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)] == ["system:masters"]
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.CLIENT_AUTH in eku


def test_second_start_changes_nothing(tmp_path: Path) -> None:
    p = pki.ensure_pki(tmp_path / "pki", SANS)
    before = {f: f.read_bytes() for f in p.dir.iterdir()}
    pki.ensure_pki(tmp_path / "pki", SANS)
    assert {f: f.read_bytes() for f in p.dir.iterdir()} == before


def test_a_new_san_reissues_the_serving_cert_and_keeps_the_ca(tmp_path: Path) -> None:
    p = pki.ensure_pki(tmp_path / "pki", SANS)
    ca, admin = p.ca_crt.read_bytes(), p.admin_crt.read_bytes()
    old_server = p.server_crt.read_bytes()
    more = pki.SanSet.of([*SANS.dns, *SANS.ips, "api.example.test", "192.0.2.7"])
    pki.ensure_pki(tmp_path / "pki", more)
    assert p.ca_crt.read_bytes() == ca and p.admin_crt.read_bytes() == admin
    assert p.server_crt.read_bytes() != old_server
    assert pki.cert_sans(pki.load_cert(p.server_crt)) == more


def test_certificates_near_expiry_are_renewed_but_the_ca_stays(tmp_path: Path) -> None:
    p = pki.ensure_pki(tmp_path / "pki", SANS)
    ca = p.ca_crt.read_bytes()
    server, admin = p.server_crt.read_bytes(), p.admin_crt.read_bytes()
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=pki.LEAF_DAYS - 10)
    pki.ensure_pki(tmp_path / "pki", SANS, now=later)
    assert p.ca_crt.read_bytes() == ca
    assert p.server_crt.read_bytes() != server and p.admin_crt.read_bytes() != admin
    assert pki.load_cert(p.server_crt).not_valid_after_utc > later + dt.timedelta(days=300)


def test_an_expired_ca_is_an_error_not_a_silent_rotation(tmp_path: Path) -> None:
    pki.ensure_pki(tmp_path / "pki", SANS)
    far = dt.datetime.now(dt.UTC) + dt.timedelta(days=pki.CA_DAYS + 1)
    with pytest.raises(PermanentError, match="CA .* has expired"):
        pki.ensure_pki(tmp_path / "pki", SANS, now=far)


def test_a_cert_from_another_ca_does_not_chain(tmp_path: Path) -> None:
    p = pki.ensure_pki(tmp_path / "pki", SANS)
    other_ca_pem, other_key_pem = pki.make_ca(cn="podbay-ca")   # same name, other key
    other_ca = x509.load_pem_x509_certificate(other_ca_pem)
    from cryptography.hazmat.primitives import serialization

    other_key = serialization.load_pem_private_key(other_key_pem, password=None)
    forged, _ = pki.make_client_cert(other_ca, other_key, "podbay-admin", ("system:masters",))
    assert not pki.signed_by(x509.load_pem_x509_certificate(forged), pki.load_cert(p.ca_crt))
    # and ensure_pki replaces a leaf that is not ours
    p.admin_crt.write_bytes(forged)
    pki.ensure_pki(tmp_path / "pki", SANS)
    assert pki.signed_by(pki.load_cert(p.admin_crt), pki.load_cert(p.ca_crt))


def test_client_cert_for_any_user(tmp_path: Path) -> None:
    p = pki.ensure_pki(tmp_path / "pki", SANS)
    crt, key = pki.make_client_cert(pki.load_cert(p.ca_crt), pki.load_key(p.ca_key), "alice", ("dev", "ops"))
    cert = x509.load_pem_x509_certificate(crt)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "alice"
    assert [a.value for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)] == ["dev", "ops"]
    assert pki.signed_by(cert, pki.load_cert(p.ca_crt))
    assert b"PRIVATE KEY" in key


def test_san_set_splits_names_and_addresses() -> None:
    s = pki.SanSet.of(["B.example", "a.example", "[::1]", "10.0.0.1", "", " 10.0.0.1 "])
    assert s.dns == ("a.example", "b.example") and s.ips == ("10.0.0.1", "::1")


def test_host_sans_include_loopback_and_the_kubernetes_names() -> None:
    s = pki.host_sans(("extra.example", "203.0.113.9"))
    assert {"localhost", "kubernetes.default.svc.cluster.local", "extra.example"} <= set(s.dns)
    assert {"127.0.0.1", "::1", "203.0.113.9"} <= set(s.ips)


def test_the_serving_key_is_rsa_for_small_tls_clients(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    p = pki.ensure_pki(tmp_path / "pki", SANS)
    assert isinstance(pki.load_cert(p.server_crt).public_key(), rsa.RSAPublicKey)
    assert isinstance(pki.load_cert(p.admin_crt).public_key(), ec.EllipticCurvePublicKey)


def test_the_ca_signs_with_rsa(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    p = pki.ensure_pki(tmp_path / "pki", SANS)
    assert isinstance(pki.load_cert(p.ca_crt).public_key(), rsa.RSAPublicKey)
    assert pki.load_cert(p.server_crt).signature_algorithm_oid._name == "sha256WithRSAEncryption"
