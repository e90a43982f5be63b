"""``podbay kubeconfig``: a kubeconfig that works as is, from the PKI the agent made."""

from __future__ import annotations

import base64
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from cryptography import x509
from cryptography.x509.oid import NameOID

from podbay.cli.main import cli
from podbay.core.authn import parse_token_file
from podbay.host import pki


@pytest.fixture()
def state(tmp_path: Path) -> tuple[Path, Path]:
    root, run_dir = tmp_path / "root", tmp_path / "run"
    pki.ensure_pki(root / "pki", pki.SanSet.of(["localhost", "127.0.0.1"]))
    run_dir.mkdir()
    (run_dir / "apiserver-url").write_text("https://127.0.0.1:7443\n")
    return root, run_dir


def kubeconfig(state: tuple[Path, Path], *args: str) -> dict:  # type: ignore[type-arg]
    root, run_dir = state
    res = CliRunner().invoke(cli, ["kubeconfig", "--root", str(root), "--run-dir", str(run_dir), *args])
    assert res.exit_code == 0, res.output
    return dict(yaml.safe_load(res.output))


def test_default_kubeconfig_is_the_admin_over_tls(state: tuple[Path, Path]) -> None:
    root, _ = state
    cfg = kubeconfig(state)
    assert cfg["current-context"] == "podbay"
    (cluster,) = cfg["clusters"]
    assert cluster["cluster"]["server"] == "https://127.0.0.1:7443"
    assert base64.b64decode(cluster["cluster"]["certificate-authority-data"]) == (root / "pki/ca.crt").read_bytes()
    (user,) = cfg["users"]
    assert user["name"] == "podbay-admin"
    assert base64.b64decode(user["user"]["client-certificate-data"]) == (root / "pki/admin.crt").read_bytes()
    assert base64.b64decode(user["user"]["client-key-data"]) == (root / "pki/admin.key").read_bytes()
    assert cfg["contexts"] == [{"name": "podbay", "context": {"cluster": "podbay", "user": "podbay-admin"}}]


def test_server_and_namespace_options(state: tuple[Path, Path]) -> None:
    root, run_dir = state
    res = CliRunner().invoke(cli, ["-n", "team", "kubeconfig", "--root", str(root), "--run-dir", str(run_dir),
                                   "--server", "https://node1.example:6443"])
    cfg = yaml.safe_load(res.output)
    assert cfg["clusters"][0]["cluster"]["server"] == "https://node1.example:6443"
    assert cfg["contexts"][0]["context"]["namespace"] == "team"
    res = CliRunner().invoke(cli, ["kubeconfig", "--root", str(root), "--server", "http://plain:80"])
    assert res.exit_code == 1 and "podbay serves only https:// URLs" in res.output


def test_without_a_url_file_the_default_listener(state: tuple[Path, Path]) -> None:
    _, run_dir = state
    (run_dir / "apiserver-url").unlink()
    assert kubeconfig(state)["clusters"][0]["cluster"]["server"] == "https://127.0.0.1:6443"


def test_user_gets_a_certificate_signed_by_the_ca(state: tuple[Path, Path]) -> None:
    root, _ = state
    cfg = kubeconfig(state, "--user", "alice", "--group", "dev")
    assert cfg["users"][0]["name"] == "alice" and cfg["contexts"][0]["context"]["user"] == "alice"
    cert = x509.load_pem_x509_certificate(base64.b64decode(cfg["users"][0]["user"]["client-certificate-data"]))
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "alice"
    assert [a.value for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)] == ["dev"]
    assert pki.signed_by(cert, pki.load_cert(root / "pki/ca.crt"))


def test_token_is_recorded_for_the_agent(state: tuple[Path, Path]) -> None:
    root, _ = state
    cfg = kubeconfig(state, "--token")
    token = cfg["users"][0]["user"]["token"]
    assert set(cfg["users"][0]["user"]) == {"token"} and len(token) >= 40
    tokens_file = root / "pki/tokens.csv"
    assert stat.S_IMODE(tokens_file.stat().st_mode) == 0o600
    user = parse_token_file(tokens_file.read_text())[token]
    assert user.name == "podbay-admin" and user.groups == ("system:masters",)
    second = kubeconfig(state, "--token", "--user", "ci")["users"][0]["user"]["token"]
    tokens = parse_token_file(tokens_file.read_text())
    assert set(tokens) == {token, second} and tokens[second].name == "ci"


def test_missing_pki_says_what_to_do(tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["kubeconfig", "--root", str(tmp_path), "--run-dir", str(tmp_path)])
    assert res.exit_code == 1
    assert "ca.crt does not exist (start the agent once" in res.output


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads everything")
def test_unreadable_keys_say_run_as_root(state: tuple[Path, Path]) -> None:
    root, run_dir = state
    (root / "pki/admin.key").chmod(0)
    res = CliRunner().invoke(cli, ["kubeconfig", "--root", str(root), "--run-dir", str(run_dir)])
    assert res.exit_code == 1 and "permission denied" in res.output


def test_plain_verbs_still_do_not_load_cryptography() -> None:
    probe = ("import sys\nfrom podbay.cli.main import cli\n"
             "try:\n    cli.main(args=['--help'], prog_name='podbay')\nexcept SystemExit:\n    pass\n"
             "print(sorted(m for m in ('cryptography', 'yaml', 'podbay.host.pki') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=30).stdout
    assert out.strip().splitlines()[-1] == "[]"
