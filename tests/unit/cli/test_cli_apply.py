"""apply / create / replace / delete from manifests against the real API app: every kind, install
order, the three-way merge on re-apply, server-side apply and its conflicts, errors with their source."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conftest import ApiServer

from podbay.cli.commands.apply import LAST_APPLIED

BUNDLE = """\
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web}}
spec:
  containers:
  - {name: app, image: busybox:1.36, envFrom: [{configMapRef: {name: cfg}}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg, namespace: shop}
data: {MODE: prod, LEVEL: "1"}
---
apiVersion: v1
kind: Namespace
metadata: {name: shop}
"""


def write(tmp_path: Path, name: str, text: str) -> str:
    f = tmp_path / name
    f.write_text(text)
    return str(f)


def test_apply_a_multi_kind_file_namespace_first_then_twice(server: ApiServer, run: Any, tmp_path: Path) -> None:
    f = write(tmp_path, "bundle.yaml", BUNDLE)
    r = run("apply", "-f", f)
    assert r.exit_code == 0, r.output
    assert r.stdout == "namespace/shop created\nconfigmap/cfg created\nservice/web created\npod/web created\n"
    cfg = server.get("ConfigMap", "shop", "cfg")
    applied = json.loads(cfg["metadata"]["annotations"][LAST_APPLIED])
    assert applied == {"apiVersion": "v1", "kind": "ConfigMap", "data": {"MODE": "prod", "LEVEL": "1"},
                       "metadata": {"annotations": {}, "name": "cfg", "namespace": "shop"}}
    r = run("apply", "-f", f)
    assert r.stdout == "namespace/shop unchanged\nconfigmap/cfg unchanged\nservice/web unchanged\npod/web unchanged\n"


def test_reapply_merges_three_ways(server: ApiServer, run: Any, tmp_path: Path) -> None:
    v1 = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg, labels: {a: '1'}}\ndata: {x: '1', y: '2'}\n"
    v2 = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg, labels: {b: '2'}}\ndata: {x: '9', z: '3'}\n"
    assert run("apply", "-f", write(tmp_path, "v1.yaml", v1)).exit_code == 0
    assert run("label", "cm", "cfg", "owner=ops").exit_code == 0            # another writer's field
    r = run("apply", "-f", write(tmp_path, "v2.yaml", v2))
    assert r.stdout == "configmap/cfg configured\n", r.output
    live = server.get("ConfigMap", "default", "cfg")
    assert live["data"] == {"x": "9", "z": "3"}                                # y: dropped by this apply
    assert live["metadata"]["labels"] == {"b": "2", "owner": "ops"}             # a dropped, owner kept


def test_apply_over_an_object_made_by_create_warns_once(server: ApiServer, run: Any, tmp_path: Path) -> None:
    assert run("create", "configmap", "cfg", "--from-literal=a=1").exit_code == 0
    r = run("apply", "-f", write(tmp_path, "c.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\n"
                                                      "data: {a: '2'}\n"))
    assert r.stdout == "configmap/cfg configured\n"
    assert r.stderr.startswith("Warning: resource configmaps/cfg is missing the kubectl.kubernetes.io/"
                               "last-applied-configuration annotation")
    assert LAST_APPLIED in server.get("ConfigMap", "default", "cfg")["metadata"]["annotations"]


def test_apply_errors_name_their_source_and_do_not_stop_the_rest(server: ApiServer, run: Any, tmp_path: Path) -> None:
    text = ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n---\n"
            "apiVersion: v1\nkind: Pod\nmetadata: {name: bad}\nspec: {containers: [{name: c}]}\n---\n"
            "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n---\n"
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: typo}\ndata: {a: '1'}\nspam: true\n")
    f = write(tmp_path, "mixed.yaml", text)
    r = run("apply", "-f", f)
    assert r.exit_code == 1
    assert r.stdout == "configmap/ok created\n"
    errs = r.stderr.splitlines()
    assert errs[0] == (f'error: resource mapping not found for name: "w" namespace: "" from "{f}": no matches for '
                       'kind "Widget" in version "example.com/v1"')
    assert (f'Error from server (BadRequest): error when creating "{f}": strict decoding error: unknown field "spam"'
            in r.stderr)
    assert f'Error from server (Invalid): error when creating "{f}": Pod "bad" is invalid: ' in r.stderr
    assert "spec.containers[0].image: Required value" in r.stderr
    assert not server.exists("Pod", "default", "bad") and not server.exists("ConfigMap", "default", "typo")


def test_apply_namespace_flag_must_agree_with_the_manifest(server: ApiServer, run: Any, tmp_path: Path) -> None:
    f = write(tmp_path, "c.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: a}\n")
    r = run("apply", "-f", f, "-n", "b")
    assert r.exit_code == 1 and "does not match the namespace \"b\"" in r.stderr


def test_apply_stdin_directories_and_lists(server: ApiServer, run: Any, tmp_path: Path) -> None:
    d = tmp_path / "dir"
    (d / "sub").mkdir(parents=True)
    (d / "a.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")
    (d / "sub" / "b.json").write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b"}}]}))
    (d / "notes.txt").write_text("not a manifest")
    assert run("apply", "-f", str(d)).stdout == "configmap/a created\n"
    assert run("apply", "-R", "-f", str(d)).stdout == "configmap/a unchanged\nconfigmap/b created\n"
    r = run("apply", "-f", "-", input="apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {k: v}\n")
    assert r.stdout == "secret/s created\n"
    assert run("apply", "-f", str(tmp_path / "missing.yaml")).stderr == \
        f'error: the path "{tmp_path / "missing.yaml"}" does not exist\n'


def test_server_side_apply_and_conflicts(server: ApiServer, run: Any, tmp_path: Path) -> None:
    f = write(tmp_path, "c.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: '1'}\n")
    r = run("apply", "--server-side", "-f", f)
    assert r.stdout == "configmap/c serverside-applied\n", r.output
    managers = {m["manager"] for m in server.get("ConfigMap", "default", "c")["metadata"]["managedFields"]}
    assert managers == {"podbay"}
    other = write(tmp_path, "o.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: '2'}\n")
    r = run("apply", "--server-side", "--field-manager", "other", "-f", other)
    assert r.exit_code == 1
    assert r.stderr.startswith('error: Apply failed with 1 conflict: conflict with "podbay"')
    assert "--force-conflicts" in r.stderr
    r = run("apply", "--server-side", "--field-manager", "other", "--force-conflicts", "-f", other)
    assert r.exit_code == 0 and server.get("ConfigMap", "default", "c")["data"] == {"a": "2"}


def test_dry_runs_change_nothing(server: ApiServer, run: Any, tmp_path: Path) -> None:
    f = write(tmp_path, "c.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")
    assert run("apply", "-f", f, "--dry-run=server").stdout == "configmap/c created (server dry run)\n"
    assert run("apply", "-f", f, "--dry-run=client").stdout == "configmap/c created (dry run)\n"
    assert not server.exists("ConfigMap", "default", "c")


def test_delete_file_in_reverse_order_waits_and_cascades(server: ApiServer, run: Any, tmp_path: Path) -> None:
    f = write(tmp_path, "bundle.yaml", BUNDLE)
    assert run("apply", "-f", f).exit_code == 0
    r = run("delete", "-f", f, "--cascade=foreground")
    assert r.exit_code == 0, r.output
    assert r.stdout == ('pod "web" deleted from shop namespace\nservice "web" deleted from shop namespace\n'
                        'configmap "cfg" deleted from shop namespace\nnamespace "shop" deleted\n')
    assert not server.exists("Pod", "shop", "web")
    r = run("delete", "-f", f)
    assert r.exit_code == 1 and 'Error from server (NotFound): pods "web" not found' in r.stderr
    assert run("delete", "-f", f, "--ignore-not-found").exit_code == 0
    r = run("delete", "cm", "x", "--cascade=sideways")
    assert r.stderr == 'error: invalid cascade value (sideways). Must be "background", "foreground", or "orphan".\n'


def test_delete_by_name_selector_and_all(server: ApiServer, run: Any) -> None:
    for name, app in (("a", "x"), ("b", "x"), ("c", "y")):
        server.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": {"app": app}}})
    assert run("delete", "cm", "-l", "app=x").stdout == ('configmap "a" deleted from default namespace\n'
                                                         'configmap "b" deleted from default namespace\n')
    assert run("delete", "configmap/c", "-o", "name").stdout == "configmap/c\n"
    r = run("delete", "cm")
    assert r.stderr == "error: resource(s) were provided, but no name was specified\n"
    server.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "d"}})
    assert "configmap \"d\" deleted" in run("delete", "cm", "--all").stdout


def test_delete_pod_waits_until_it_is_gone(server: ApiServer, run: Any) -> None:
    from conftest import pod

    server.create(pod("web"))
    r = run("delete", "pod", "web", "--now")
    assert r.stdout == 'pod "web" deleted from default namespace\n', r.output
    assert not server.exists("Pod", "default", "web")     # --wait: gone when the command returns


def test_delete_wait_times_out(sock_dir: str, clock: Any, monkeypatch: Any) -> None:
    from click.testing import CliRunner
    from conftest import ApiServer as Srv
    from conftest import pod

    from podbay.cli.main import cli

    monkeypatch.setenv("PODBAY_CACHE_DIR", f"{sock_dir}/cache")
    with Srv(f"{sock_dir}/slow.sock", Path(sock_dir), clock=clock, reap_pods=False) as srv:
        srv.create(pod("web"))
        r = CliRunner().invoke(cli, ["--socket", srv.socket, "delete", "pod", "web", "--timeout", "300ms"])
        assert r.exit_code == 1
        assert r.stderr == "error: timed out waiting for the condition on pods/web\n"
        r = CliRunner().invoke(cli, ["--socket", srv.socket, "delete", "pod", "web", "--wait=false"])
        assert r.exit_code == 0


def test_create_from_files_and_generators(server: ApiServer, run: Any, tmp_path: Path) -> None:
    f = write(tmp_path, "bundle.yaml", BUNDLE)
    r = run("create", "-f", f)
    assert r.stdout == "namespace/shop created\nconfigmap/cfg created\nservice/web created\npod/web created\n"
    r = run("create", "-f", f)
    assert r.exit_code == 1
    assert f'Error from server (AlreadyExists): error when creating "{f}": namespaces "shop" already exists' in r.stderr
    assert run("create", "ns", "dev").stdout == "namespace/dev created\n"
    (tmp_path / "app.conf").write_text("debug=true\n")
    r = run("create", "cm", "app", "--from-literal=a=1", f"--from-file={tmp_path / 'app.conf'}", "-n", "dev")
    assert r.stdout == "configmap/app created\n"
    assert server.get("ConfigMap", "dev", "app")["data"] == {"a": "1", "app.conf": "debug=true\n"}
    assert run("create", "cm", "app", "-n", "dev").stderr == \
        'error: failed to create configmap: configmaps "app" already exists\n'
    assert run("create", "secret", "generic", "s", "--from-literal=password=hunter2").stdout == "secret/s created\n"
    assert server.get("Secret", "default", "s")["data"] == {"password": "aHVudGVyMg=="}
    r = run("create", "secret", "generic", "s2", "--from-literal=k=v", "--dry-run=client", "-o", "yaml")
    assert r.stdout == ("apiVersion: v1\ndata:\n  k: dg==\nkind: Secret\nmetadata:\n  name: s2\n  namespace: default\n"
                        "type: Opaque\n")
    assert not server.exists("Secret", "default", "s2")
    r = run("create", "service", "clusterip", "api", "--tcp=80:8080")
    assert r.stdout == "service/api created\n"
    assert server.get("Service", "default", "api")["spec"]["ports"][0]["targetPort"] == 8080


def test_replace_puts_the_manifest(server: ApiServer, run: Any, tmp_path: Path) -> None:
    server.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1", "b": "2"}})
    f = write(tmp_path, "c.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: '9'}\n")
    assert run("replace", "-f", f).stdout == "configmap/c replaced\n"
    assert server.get("ConfigMap", "default", "c")["data"] == {"a": "9"}
    r = run("replace", "--force", "-f", f)
    assert r.stdout == 'configmap "c" deleted\nconfigmap/c replaced\n', r.output
