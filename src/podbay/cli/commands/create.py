"""``podbay create``: ``-f`` manifests (POST, in install order) and kubectl's generators --
namespace, configmap, secret generic|tls|docker-registry, serviceaccount, deployment, service
clusterip|nodeport|loadbalancer|externalname, job, cronjob. ``--dry-run=client -o yaml`` prints the
object instead of creating it, as kubectl users do to start a manifest.
"""

from __future__ import annotations

import base64
import os
import sys
from typing import Any

import click

from podbay.cli.context import common, err, out, settings
from podbay.cli.errors import CliError, fail, server_error_line, with_source
from podbay.client.http import ApiError

Obj = dict[str, Any]
MANAGER = "podbay-create"


def _output(obj: Obj, output: str, res: Any, what: str, dry_run: str) -> None:
    if output:
        from podbay.cli.output import OutputFormat

        out(OutputFormat(output, allowed=("json", "name", "yaml")).render(obj, lambda o: res.name_of(
            (o.get("metadata") or {}).get("name", ""))))
        return
    suffix = {"client": " (dry run)", "server": " (server dry run)"}.get(dry_run, "")
    out(f"{res.name_of((obj.get('metadata') or {}).get('name', ''))} {what}{suffix}\n")


def create_object(obj: Obj, *, dry_run: str, output: str, save_config: bool = False, source: str = "",
                  generator: str = "") -> bool:
    """POST one object; prints as kubectl does; False (with the error printed) on failure."""
    s = settings()
    api_version, kind = str(obj.get("apiVersion") or ""), str(obj.get("kind") or "")
    res = s.discovery().for_kind(api_version, kind)
    if res is None:
        raise fail(f'no matches for kind "{kind}" in version "{api_version}"')
    meta = obj.setdefault("metadata", {})
    ns = None
    if res.namespaced:
        ns = str(meta.get("namespace") or s.namespace)
        if s.namespace_explicit and meta.get("namespace") and meta["namespace"] != s.namespace:
            raise fail(f'the namespace from the provided object "{meta["namespace"]}" does not match the namespace '
                       f'"{s.namespace}". You must pass \'--namespace={meta["namespace"]}\' to perform this operation.')
    if save_config:
        from podbay.cli.commands.apply import with_last_applied

        obj = with_last_applied(obj)
    if dry_run == "client":
        if res.namespaced and output:
            obj["metadata"].setdefault("namespace", ns)
        _output(obj, output, res, "created", dry_run)
        return True
    query: dict[str, Any] = {"fieldManager": MANAGER, "fieldValidation": "Strict"}
    if dry_run == "server":
        query["dryRun"] = "All"
    try:
        created = s.client().post(res.path(ns), obj, query)
    except ApiError as e:
        if generator:
            # kubectl's wording, including its missing colon for secrets
            err(f"error: failed to create {generator}{'' if generator == 'secret' else ':'} {e.message}")
        else:
            err(server_error_line(with_source(e.status, "creating", source)))
        return False
    _output(created, output, res, "created", dry_run)
    return True


DRY_RUN = click.option("--dry-run", default="none", type=click.Choice(["none", "client", "server"]),
                       help="client: print the object only; server: let the server check it only.")
OUTPUT = click.option("-o", "--output", default="", help="json|yaml|name")
SAVE_CONFIG = click.option("--save-config", is_flag=True,
                           help="Record the object as the last applied configuration (for later apply).")


ALIASES = {"ns": "namespace", "cm": "configmap", "sa": "serviceaccount", "deploy": "deployment",
           "svc": "service", "cj": "cronjob"}


class _CreateGroup(click.Group):
    """kubectl's short names of the generators (``create ns``, ``create cm``...)."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return super().get_command(ctx, ALIASES.get(cmd_name, cmd_name))


@click.group("create", cls=_CreateGroup, invoke_without_command=True)
@click.option("-f", "--filename", "files", multiple=True, help="Create the objects of these manifests.")
@click.option("-R", "--recursive", is_flag=True)
@DRY_RUN
@OUTPUT
@SAVE_CONFIG
@common
@click.pass_context
def group(ctx: click.Context, files: tuple[str, ...], recursive: bool, dry_run: str, output: str,
          save_config: bool) -> None:
    """Create resources from manifests, or a namespace/configmap/secret/... from flags."""
    if ctx.invoked_subcommand is not None:
        return
    if not files:
        raise fail("must specify one of -f and -k")
    from podbay.cli.manifests import install_order, read_manifests, resolve_manifests

    errors: list[CliError] = []
    items = install_order(resolve_manifests(read_manifests(files, recursive), errors))
    failed = bool(errors)
    for e in errors:
        err(str(e))
    for m in items:
        doc = dict(m.doc)
        failed = not create_object(doc, dry_run=dry_run, output=output, save_config=save_config,
                                   source=m.source) or failed
    if failed:
        sys.exit(1)


def _finish(obj: Obj, generator: str, dry_run: str, output: str, save_config: bool = False) -> None:
    if not create_object(obj, dry_run=dry_run, output=output, save_config=save_config, generator=generator):
        sys.exit(1)


def _meta(name: str, **extra: Any) -> Obj:
    return {"name": name, **extra}


@group.command("namespace")
@click.argument("name")
@DRY_RUN
@OUTPUT
@SAVE_CONFIG
@common
def namespace_cmd(name: str, dry_run: str, output: str, save_config: bool) -> None:
    """Create a namespace."""
    _finish({"apiVersion": "v1", "kind": "Namespace", "metadata": _meta(name)}, "namespace", dry_run, output,
            save_config)


@group.command("serviceaccount")
@click.argument("name")
@DRY_RUN
@OUTPUT
@common
def serviceaccount_cmd(name: str, dry_run: str, output: str) -> None:
    """Create a service account."""
    _finish({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(name)}, "serviceaccount", dry_run,
            output)


# --- configmap / secret data ---------------------------------------------------------------------------

def _read_file(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise fail(f"error reading {path}: {e.strerror}") from None


def _file_sources(specs: tuple[str, ...]) -> list[tuple[str, bytes]]:
    """--from-file=[key=]path: a file under its basename (or key), each file of a directory."""
    found: list[tuple[str, bytes]] = []
    for spec in specs:
        key, sep, path = spec.partition("=")
        if not sep:
            key, path = "", spec
        if os.path.isdir(path):
            if key:
                raise fail(f"cannot give a key name for a directory path: {spec}")
            for entry in sorted(os.listdir(path)):
                full = os.path.join(path, entry)
                if os.path.isfile(full):
                    found.append((entry, _read_file(full)))
            continue
        found.append((key or os.path.basename(path), _read_file(path)))
    return found


def _env_file(path: str) -> list[tuple[str, str]]:
    pairs = []
    for lineno, line in enumerate(_read_file(path).decode("utf-8", "replace").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            value = os.environ.get(key, "")
        if not key:
            raise fail(f"invalid env file line {lineno} of {path}: {line!r}")
        pairs.append((key, value))
    return pairs


def _literals(specs: tuple[str, ...]) -> list[tuple[str, str]]:
    pairs = []
    for spec in specs:
        key, sep, value = spec.partition("=")
        if not sep or not key:
            raise fail(f'invalid literal source {spec}, expected key=value')
        pairs.append((key, value))
    return pairs


def _add(data: dict[str, Any], key: str, value: Any) -> None:
    if key in data:
        raise fail(f"cannot add key {key}, another key by that name already exists in Data: {sorted(data)}")
    data[key] = value


SOURCES = [click.option("--from-literal", multiple=True, help="key=value"),
           click.option("--from-file", multiple=True, help="[key=]path (a file, or every file of a directory)"),
           click.option("--from-env-file", multiple=True, help="KEY=VALUE lines")]


def _sources(f: Any) -> Any:
    for opt in reversed(SOURCES):
        f = opt(f)
    return f


@group.command("configmap")
@click.argument("name")
@_sources
@click.option("--append-hash", is_flag=True, help="Append a hash of the data to the name.")
@DRY_RUN
@OUTPUT
@SAVE_CONFIG
@common
def configmap_cmd(name: str, from_literal: tuple[str, ...], from_file: tuple[str, ...], from_env_file: tuple[str, ...],
                  append_hash: bool, dry_run: str, output: str, save_config: bool) -> None:
    """Create a configmap from literals, files or env files."""
    data: dict[str, str] = {}
    binary: dict[str, str] = {}
    for key, value in _literals(from_literal):
        _add(data, key, value)
    for key, raw in _file_sources(from_file):
        try:
            _add(data, key, raw.decode("utf-8"))
        except UnicodeDecodeError:
            _add(binary, key, base64.b64encode(raw).decode())
    for path in from_env_file:
        for key, value in _env_file(path):
            _add(data, key, value)
    obj: Obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta(name)}
    if data:
        obj["data"] = data
    if binary:
        obj["binaryData"] = binary
    if append_hash:
        obj["metadata"]["name"] = f"{name}-{_hash(obj)}"
    _finish(obj, "configmap", dry_run, output, save_config)


def _hash(obj: Obj) -> str:
    """hash.ConfigMapHash / SecretHash: sha256 of the content, encoded to 10 safe characters."""
    import hashlib
    import json

    content = {k: obj.get(k) for k in ("kind", "type", "data", "binaryData") if obj.get(k) is not None}
    digest = hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    enc = {"0": "g", "1": "h", "3": "k", "a": "m", "e": "t"}
    return "".join(enc.get(c, c) for c in digest[:10])


def _secret(name: str, type_: str, data: dict[str, str], dry_run: str, output: str, save_config: bool,
            append_hash: bool = False) -> None:
    obj: Obj = {"apiVersion": "v1", "kind": "Secret", "metadata": _meta(name), "type": type_}
    if data:
        obj["data"] = data
    if append_hash:
        obj["metadata"]["name"] = f"{name}-{_hash(obj)}"
    _finish(obj, "secret", dry_run, output, save_config)


@group.group("secret")
def secret_group() -> None:
    """Create a secret (generic, tls or docker-registry)."""


@secret_group.command("generic")
@click.argument("name")
@_sources
@click.option("--type", "type_", default="Opaque", help="The secret type.")
@click.option("--append-hash", is_flag=True)
@DRY_RUN
@OUTPUT
@SAVE_CONFIG
@common
def secret_generic_cmd(name: str, from_literal: tuple[str, ...], from_file: tuple[str, ...],
                       from_env_file: tuple[str, ...], type_: str, append_hash: bool, dry_run: str, output: str,
                       save_config: bool) -> None:
    """Create a secret from literals, files or env files."""
    data: dict[str, str] = {}
    for key, value in _literals(from_literal):
        _add(data, key, base64.b64encode(value.encode()).decode())
    for key, raw in _file_sources(from_file):
        _add(data, key, base64.b64encode(raw).decode())
    for path in from_env_file:
        for key, value in _env_file(path):
            _add(data, key, base64.b64encode(value.encode()).decode())
    _secret(name, type_, data, dry_run, output, save_config, append_hash)


@secret_group.command("tls")
@click.argument("name")
@click.option("--cert", required=True, help="PEM certificate file.")
@click.option("--key", required=True, help="PEM private key file.")
@DRY_RUN
@OUTPUT
@SAVE_CONFIG
@common
def secret_tls_cmd(name: str, cert: str, key: str, dry_run: str, output: str, save_config: bool) -> None:
    """Create a TLS secret (tls.crt, tls.key)."""
    data = {"tls.crt": base64.b64encode(_read_file(cert)).decode(),
            "tls.key": base64.b64encode(_read_file(key)).decode()}
    _secret(name, "kubernetes.io/tls", data, dry_run, output, save_config)


@secret_group.command("docker-registry")
@click.argument("name")
@click.option("--docker-server", default="https://index.docker.io/v1/")
@click.option("--docker-username", default=None)
@click.option("--docker-password", default=None)
@click.option("--docker-email", default="")
@click.option("--from-file", multiple=True, help="[key=].dockerconfigjson file")
@DRY_RUN
@OUTPUT
@SAVE_CONFIG
@common
def secret_docker_cmd(name: str, docker_server: str, docker_username: str | None, docker_password: str | None,
                      docker_email: str, from_file: tuple[str, ...], dry_run: str, output: str,
                      save_config: bool) -> None:
    """Create an image pull secret (.dockerconfigjson)."""
    import json

    if from_file:
        data = {k or ".dockerconfigjson": base64.b64encode(v).decode() for k, v in _file_sources(from_file)}
    else:
        if not docker_username or docker_password is None:
            raise fail("either --from-file or the combination of --docker-username, --docker-password and "
                       "--docker-server is required")
        auth = base64.b64encode(f"{docker_username}:{docker_password}".encode()).decode()
        entry: Obj = {"username": docker_username, "password": docker_password, "auth": auth}
        if docker_email:
            entry["email"] = docker_email
        config = json.dumps({"auths": {docker_server: entry}}, separators=(",", ":"))
        data = {".dockerconfigjson": base64.b64encode(config.encode()).decode()}
    _secret(name, "kubernetes.io/dockerconfigjson", data, dry_run, output, save_config)


# --- workloads and services ----------------------------------------------------------------------------

def _container_name(image: str) -> str:
    """kubectl create deployment: the image's last path element without tag or digest."""
    base = image.rsplit("/", 1)[-1]
    base = base.split("@", 1)[0].split(":", 1)[0]
    return base or "container"


def _containers(image: tuple[str, ...], command: tuple[str, ...], port: int) -> list[Obj]:
    containers = []
    for i, img in enumerate(image):
        c: Obj = {"name": _container_name(img), "image": img}
        if command and i == 0:
            c["command"] = list(command)
        if port > 0 and i == 0:
            c["ports"] = [{"containerPort": port}]
        containers.append(c)
    return containers


@group.command("deployment")
@click.argument("name")
@click.argument("command_", metavar="[-- COMMAND...]", nargs=-1)
@click.option("--image", multiple=True, required=True)
@click.option("-r", "--replicas", type=int, default=1)
@click.option("--port", type=int, default=-1)
@DRY_RUN
@OUTPUT
@SAVE_CONFIG
@common
def deployment_cmd(name: str, command_: tuple[str, ...], image: tuple[str, ...], replicas: int, port: int,
                   dry_run: str, output: str, save_config: bool) -> None:
    """Create a deployment (label app=NAME)."""
    labels = {"app": name}
    obj: Obj = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": _meta(name, labels=labels),
                "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                         "template": {"metadata": {"labels": labels},
                                      "spec": {"containers": _containers(image, command_, port)}}}}
    _finish(obj, "deployment", dry_run, output, save_config)


def _service(name: str, type_: str, tcp: tuple[str, ...], node_port: int, cluster_ip: str | None,
             external_name: str | None, dry_run: str, output: str, save_config: bool) -> None:
    ports = []
    for spec in tcp:
        port, _, target = spec.partition(":")
        try:
            p: Obj = {"name": f"{port}-{target or port}", "port": int(port), "protocol": "TCP",
                      "targetPort": int(target or port) if (target or port).isdigit() else target}
        except ValueError:
            raise fail(f"invalid port spec {spec!r}, expected port[:targetPort]") from None
        if node_port:
            p["nodePort"] = node_port
        ports.append(p)
    spec_: Obj = {"type": type_, "selector": {"app": name}}
    if ports:
        spec_["ports"] = ports
    if cluster_ip:
        spec_["clusterIP"] = cluster_ip
    if external_name:
        spec_ = {"type": type_, "externalName": external_name}
    obj: Obj = {"apiVersion": "v1", "kind": "Service", "metadata": _meta(name, labels={"app": name}), "spec": spec_}
    _finish(obj, "service", dry_run, output, save_config)


@group.group("service")
def service_group() -> None:
    """Create a service (clusterip, nodeport, loadbalancer or externalname)."""


def _service_command(type_name: str, type_: str) -> None:
    @service_group.command(type_name)
    @click.argument("name")
    @click.option("--tcp", multiple=True, help="port[:targetPort]")
    @click.option("--node-port", type=int, default=0)
    @click.option("--clusterip", default=None, help="A cluster IP, or None for a headless service.")
    @click.option("--external-name", default=None)
    @DRY_RUN
    @OUTPUT
    @SAVE_CONFIG
    @common
    def cmd(name: str, tcp: tuple[str, ...], node_port: int, clusterip: str | None, external_name: str | None,
            dry_run: str, output: str, save_config: bool) -> None:
        if type_ == "ExternalName" and not external_name:
            raise fail("--external-name is required")
        if type_ != "ExternalName" and not tcp and clusterip != "None":
            raise fail("at least one tcp port specifier must be provided")
        _service(name, type_, tcp, node_port, clusterip, external_name if type_ == "ExternalName" else None,
                 dry_run, output, save_config)

    cmd.__doc__ = f"Create a {type_} service."


for _name, _type in (("clusterip", "ClusterIP"), ("nodeport", "NodePort"), ("loadbalancer", "LoadBalancer"),
                     ("externalname", "ExternalName")):
    _service_command(_name, _type)


@group.command("job")
@click.argument("name")
@click.argument("command_", metavar="[-- COMMAND...]", nargs=-1)
@click.option("--image", default=None)
@click.option("--from", "from_", default=None, help="cronjob/NAME: a job from a cron job's template.")
@DRY_RUN
@OUTPUT
@common
def job_cmd(name: str, command_: tuple[str, ...], image: str | None, from_: str | None, dry_run: str,
            output: str) -> None:
    """Create a job (or one run of a cron job: --from=cronjob/NAME)."""
    if from_:
        kind, _, cj_name = from_.partition("/")
        if kind.lower() not in ("cronjob", "cronjobs", "cj", "cronjob.batch") or not cj_name:
            raise fail(f"from must be an existing cronjob: {from_}")
        s = settings()
        cj = s.client().get(f"/apis/batch/v1/namespaces/{s.namespace}/cronjobs/{cj_name}")
        tmpl = (cj.get("spec") or {}).get("jobTemplate") or {}
        meta = _meta(name, annotations={"cronjob.kubernetes.io/instantiate": "manual",
                                        **((tmpl.get("metadata") or {}).get("annotations") or {})},
                     ownerReferences=[{"apiVersion": "batch/v1", "kind": "CronJob", "name": cj_name,
                                       "uid": (cj.get("metadata") or {}).get("uid"), "controller": True}])
        if (tmpl.get("metadata") or {}).get("labels"):
            meta["labels"] = tmpl["metadata"]["labels"]
        obj: Obj = {"apiVersion": "batch/v1", "kind": "Job", "metadata": meta, "spec": tmpl.get("spec") or {}}
    else:
        if not image:
            raise fail("--image must be specified")
        obj = {"apiVersion": "batch/v1", "kind": "Job", "metadata": _meta(name),
               "spec": {"template": {"spec": {"containers": [{"name": name, "image": image,
                                                               **({"command": list(command_)} if command_ else {})}],
                                              "restartPolicy": "Never"}}}}
    _finish(obj, "job", dry_run, output)


@group.command("cronjob")
@click.argument("name")
@click.argument("command_", metavar="[-- COMMAND...]", nargs=-1)
@click.option("--image", required=True)
@click.option("--schedule", required=True, help='A cron schedule, e.g. "*/1 * * * *".')
@click.option("--restart", default="OnFailure", type=click.Choice(["OnFailure", "Never"]))
@DRY_RUN
@OUTPUT
@common
def cronjob_cmd(name: str, command_: tuple[str, ...], image: str, schedule: str, restart: str, dry_run: str,
                output: str) -> None:
    """Create a cron job."""
    container: Obj = {"name": name, "image": image}
    if command_:
        container["command"] = list(command_)
    obj: Obj = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": _meta(name),
                "spec": {"schedule": schedule, "jobTemplate": {"metadata": {"name": name}, "spec": {
                    "template": {"spec": {"containers": [container], "restartPolicy": restart}}}}}}
    _finish(obj, "cronjob", dry_run, output)


command = group
