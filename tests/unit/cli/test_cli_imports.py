"""The CLI starts light: no yaml, websockets or aiohttp for ``--help``, ``version`` or ``get pods``."""

from __future__ import annotations

import json
import subprocess
import sys

from clifake import FakeApi, make_pod

PROBE = """
import json, sys
from podbay.cli.main import cli
try:
    cli.main(args=sys.argv[1:], prog_name="podbay")
except SystemExit:
    pass
heavy = ["yaml", "websockets", "aiohttp", "podbay.agent", "podbay.server"]
print(json.dumps([m for m in heavy if m in sys.modules]), file=sys.stderr)
"""


def _loaded(*args: str) -> tuple[list[str], str]:
    p = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=30)
    return json.loads(p.stderr.strip().splitlines()[-1]), p.stdout


def test_get_pods_imports_nothing_heavy(api: FakeApi) -> None:
    api.add(make_pod("web"))
    loaded, out = _loaded("--socket", api.socket, "get", "pods")
    assert out.startswith("NAME ")
    assert loaded == []


def test_get_and_describe_other_kinds_import_nothing_heavy(api: FakeApi) -> None:
    from clifake import make_object

    api.add_object(make_object("ConfigMap", "c", data={"k": "v"}))
    loaded, out = _loaded("--socket", api.socket, "get", "cm")
    assert out.startswith("NAME ") and loaded == []
    loaded, out = _loaded("--socket", api.socket, "describe", "configmap", "c")
    assert out.startswith("Name:") and loaded == []


def test_help_and_version_import_nothing_heavy(api: FakeApi) -> None:
    assert _loaded("--help")[0] == []
    loaded, out = _loaded("--socket", api.socket, "version")
    assert loaded == [] and "Server Version" in out


def test_entry_point_unreachable_exit_code(sock_dir: str) -> None:
    p = subprocess.run([sys.executable, "-c", "from podbay.cli.main import main; main()", "--socket",
                        f"{sock_dir}/x.sock", "get", "pods"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 1
    assert p.stderr.startswith("error: cannot reach the podbay agent at ") and "Traceback" not in p.stderr
