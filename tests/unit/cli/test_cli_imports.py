"""The CLI starts light: no yaml, websockets, aiohttp or the schemas for ``--help``, ``version`` or
``get``/``describe`` of any kind; ``get pods`` loads only its own verb module."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import ApiServer, pod

PROBE = """
import json, sys
from podbay.cli.main import cli
try:
    cli.main(args=sys.argv[1:], prog_name="podbay")
except SystemExit:
    pass
heavy = ["yaml", "websockets", "aiohttp", "podbay.agent", "podbay.server", "podbay.api.schema",
         "podbay.api.patch", "jsonschema", "dataclasses"]
verbs = sorted(m for m in sys.modules if m.startswith("podbay.cli.commands."))
print(json.dumps([[m for m in heavy if m in sys.modules], verbs]), file=sys.stderr)
"""


def _loaded(server: ApiServer | None, *args: str) -> tuple[list[str], list[str], str]:
    sock = ["--socket", server.socket] if server else []
    p = subprocess.run([sys.executable, "-c", PROBE, *sock, *args], capture_output=True, text=True, timeout=30)
    heavy, verbs = json.loads(p.stderr.strip().splitlines()[-1])
    return heavy, verbs, p.stdout


def test_get_pods_imports_nothing_heavy(server: ApiServer) -> None:
    server.create(pod("web"))
    heavy, verbs, out = _loaded(server, "get", "pods")
    assert out.startswith("NAME ")
    assert heavy == [] and verbs == ["podbay.cli.commands.get"]
    heavy, verbs, out = _loaded(server, "get", "pods")   # from the discovery cache this time
    assert out.startswith("NAME ") and heavy == []


def test_get_and_describe_other_kinds_import_nothing_heavy(server: ApiServer) -> None:
    server.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "v"}})
    for args in (("get", "cm"), ("get", "svc,ns", "-A", "-o", "wide"), ("describe", "configmap", "c"),
                 ("describe", "ns", "default"), ("get", "cm", "-o", "json")):
        heavy, _verbs, out = _loaded(server, *args)
        assert out and heavy == [], args


def test_help_and_version_import_nothing_heavy(server: ApiServer) -> None:
    heavy, verbs, _ = _loaded(None, "--help")
    assert heavy == [] and verbs == []
    heavy, _verbs, out = _loaded(server, "version")
    assert heavy == [] and "Server Version" in out


def test_entry_point_unreachable_exit_code(sock_dir: str) -> None:
    p = subprocess.run([sys.executable, "-c", "from podbay.cli.main import main; main()", "--socket",
                        f"{sock_dir}/x.sock", "get", "pods"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 1
    assert p.stderr.startswith("error: cannot reach the podbay agent at ") and "Traceback" not in p.stderr
