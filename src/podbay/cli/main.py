"""``podbay``: kubectl's verbs for pods (and ConfigMaps, Secrets, PVCs), against the agent's Unix socket.

Only click and the stdlib HTTP client load at start; yaml, websockets and the agent load inside the
commands that need them, so ``podbay get pods`` stays fast.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

import click

from podbay import __version__
from podbay.cli import printers
from podbay.cli.errors import CliError, fail, server_error_line, with_source
from podbay.cli.resources import POD, Resource, by_kind, lookup
from podbay.client.http import AgentUnreachable, ApiClient, ApiError, objects_path, pods_path

DEFAULT_SOCKET = "/run/podbay/podbay.sock"
DEFAULT_ROOT = "/var/lib/podbay"
DEFAULT_RUN_DIR = "/run/podbay"
POD_TYPES = {"pod", "pods", "po"}
OUTPUTS = ("json", "name", "wide", "yaml")
FOREVER = 7 * 24 * 3600.0  # kubectl's "no timeout" (168h)
STATS_TIMEOUT = 5.0  # describe's optional volume usage must never hold it up for long


def now() -> datetime:
    """The clock used for AGE columns (tests replace it)."""
    return printers.now_utc()


class Settings:
    # A plain class: importing dataclasses costs ~15 ms of CLI start-up (it loads inspect).
    def __init__(self, socket: str = DEFAULT_SOCKET, namespace: str = "default",
                 namespace_explicit: bool = False) -> None:
        self.socket = socket
        self.namespace = namespace
        self.namespace_explicit = namespace_explicit

    def client(self) -> ApiClient:
        return ApiClient(self.socket)


# -- shared options -------------------------------------------------------------------------------
def _set_namespace(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None:
        s = ctx.ensure_object(Settings)
        s.namespace, s.namespace_explicit = value, True


def _set_socket(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None:
        ctx.ensure_object(Settings).socket = value


def common(f: Callable[..., Any]) -> Callable[..., Any]:
    """``-n`` and ``--socket`` accepted after the verb too, as kubectl does."""
    f = click.option("-n", "--namespace", expose_value=False, callback=_set_namespace, help="Namespace.")(f)
    f = click.option("--socket", expose_value=False, callback=_set_socket, help="Agent socket.")(f)
    return f


def settings() -> Settings:
    return click.get_current_context().ensure_object(Settings)


def out(text: str) -> None:
    click.echo(text, nl=False)


def err(text: str) -> None:
    click.echo(text, err=True)


class PodbayGroup(click.Group):
    """Turns expected failures into one stderr line and exit 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CliError as e:
            err(str(e))
            sys.exit(e.code)
        except AgentUnreachable as e:
            err(f"error: {e}")
            sys.exit(1)
        except ApiError as e:
            err(server_error_line(e.status))
            sys.exit(1)
        except KeyboardInterrupt:
            sys.exit(130)
        except Exception as e:  # a PodbayError from a lazily imported module
            from podbay.errors import PodbayError

            if isinstance(e, PodbayError):
                err(f"error: {e}")
                sys.exit(1)
            raise


@click.group(cls=PodbayGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--socket", envvar="PODBAY_SOCKET", default=DEFAULT_SOCKET, show_default=True, help="Agent socket.")
@click.option("-n", "--namespace", default=None, help="Namespace (default: default).")
@click.pass_context
def cli(ctx: click.Context, socket: str, namespace: str | None) -> None:
    """Run Kubernetes v1 pods on this host (kubectl-like verbs)."""
    s = ctx.ensure_object(Settings)
    s.socket = socket
    if namespace is not None:
        s.namespace, s.namespace_explicit = namespace, True


# -- argument helpers -----------------------------------------------------------------------------
def pod_names(args: tuple[str, ...], *, allow_empty: bool = True) -> list[str]:
    """``pods a b`` / ``pod/a pod/b`` -> names; other resource types are rejected like kubectl."""
    if not args:
        raise fail('You must specify the type of resource to get. Use "podbay get pods".')
    first = args[0]
    if "/" not in first:
        if first.lower() not in POD_TYPES:
            raise fail(f'the server doesn\'t have a resource type "{first}"')
        names = list(args[1:])
    else:
        names = []
        for a in args:
            kind, _, name = a.partition("/")
            if kind.lower() not in POD_TYPES:
                raise fail(f'the server doesn\'t have a resource type "{kind}"')
            if not name:
                raise fail(f'arguments in resource/name form must have a single resource and name: "{a}"')
            names.append(name)
    if not names and not allow_empty:
        raise fail("resource(s) were provided, but no name was specified")
    return names


def _resource(type_name: str) -> Resource:
    res = lookup(type_name)
    if res is None:
        if "," in type_name:
            raise fail(f'podbay does not support several resource types at once ("{type_name}")')
        raise fail(f'the server doesn\'t have a resource type "{type_name}"')
    return res


def resource_args(args: tuple[str, ...], verb: str = "get") -> tuple[Resource, list[str]]:
    """``cm a b`` / ``cm/a cm/b`` -> (ConfigMap, names); one resource type per command."""
    if not args:
        raise fail(f'You must specify the type of resource to {verb}. Use "podbay {verb} pods".')
    if "/" not in args[0]:
        return _resource(args[0]), list(args[1:])
    found: list[Resource] = []
    names = []
    for a in args:
        kind, _, name = a.partition("/")
        if not name:
            raise fail(f'arguments in resource/name form must have a single resource and name: "{a}"')
        found.append(_resource(kind))
        names.append(name)
    if any(r is not found[0] for r in found):
        raise fail("podbay does not support several resource types in one command; run one per type")
    return found[0], names


def parse_duration(text: str) -> float:
    """Go duration (``30s``, ``1m30s``, ``500ms``, ``0``) -> seconds; a bare number is seconds."""
    import re

    text = text.strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    units = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise fail(f'invalid duration "{text}"')
    return sum(float(n) * units[u] for n, u in parts)


def bool_flag(value: str, name: str) -> bool:
    v = value.lower()
    if v in ("true", "1", "t", "yes"):
        return True
    if v in ("false", "0", "f", "no"):
        return False
    raise fail(f'invalid argument "{value}" for "--{name}" flag: strconv.ParseBool: parsing "{value}": invalid syntax')


def get_pod(client: ApiClient, ns: str, name: str) -> dict[str, Any]:
    return client.get(pods_path(ns, name))


def get_object(client: ApiClient, res: Resource, ns: str, name: str) -> dict[str, Any]:
    return client.get(objects_path(res.plural, ns, name))


def _sorted_items(lst: dict[str, Any], match: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
    return sorted(
        (o for o in lst.get("items") or [] if match(o)),
        key=lambda o: ((o.get("metadata") or {}).get("namespace", ""), (o.get("metadata") or {}).get("name", "")),
    )


def _print_listing(
    res: Resource, objs: list[dict[str, Any]], names: list[str], output: str, ns: str | None,
    table: Callable[[list[dict[str, Any]]], None],
) -> None:
    """kubectl get's output of what it fetched: -o json|yaml (one object or a List), -o name, else the
    kind's ``table``; nothing found (without names) says so on stderr."""
    if output in ("json", "yaml"):
        obj = objs[0] if len(names) == 1 and objs else printers.as_list(objs)
        if objs or not names:
            out(printers.to_json(obj) if output == "json" else printers.to_yaml(obj))
    elif not objs and not names:
        err("No resources found" if ns is None else f"No resources found in {ns} namespace.")
    elif output == "name":
        for o in objs:
            out(res.name_of(o["metadata"]["name"]) + "\n")
    elif objs:
        table(objs)


# -- get ------------------------------------------------------------------------------------------
@cli.command("get")
@click.argument("args", nargs=-1)
@click.option("-o", "--output", default="", help="json|yaml|wide|name")
@click.option("-A", "--all-namespaces", is_flag=True)
@click.option("-w", "--watch", is_flag=True)
@click.option("-l", "--selector", default=None)
@common
def get_cmd(args: tuple[str, ...], output: str, all_namespaces: bool, watch: bool, selector: str | None) -> None:
    """Display one or many resources (pods, configmaps, secrets, persistentvolumeclaims)."""
    if output and output not in OUTPUTS:
        raise fail(
            f'unable to match a printer suitable for the output format "{output}", '
            f"allowed formats are: {','.join(OUTPUTS)}"
        )
    res, names = resource_args(args)
    if res is not POD:
        if watch:
            raise fail(f"podbay get --watch supports pods only, not {res.plural}")
        return _get_objects(res, names, output, all_namespaces, selector)
    s = settings()
    client = s.client()
    ns = None if all_namespaces and not names else s.namespace
    match = _selector(selector)
    failed = False
    resource_version = ""
    if names:
        pods = []
        for name in names:
            try:
                pods.append(get_pod(client, s.namespace, name))
            except ApiError as e:
                err(server_error_line(e.status))
                failed = True
    else:
        query: dict[str, Any] = {"labelSelector": selector} if selector else {}
        lst = client.get(pods_path(ns), query)
        resource_version = str((lst.get("metadata") or {}).get("resourceVersion") or "")
        pods = _sorted_items(lst, match)
    wide, with_ns = output == "wide", ns is None
    tw = _table_writer()

    def table(pods: list[dict[str, Any]]) -> None:
        rows = [printers.header(wide=wide, with_namespace=with_ns)]
        rows += [printers.pod_row(p, now(), wide=wide, with_namespace=with_ns) for p in pods]
        tw.write(printers.table_lines(rows))  # the watch below goes on with these column widths
        out(tw.flush())

    _print_listing(POD, pods, names, output, ns, table)
    if watch:
        _watch_rows(client, ns, names, resource_version, output, match, tw, wide, with_ns)
    if failed:
        sys.exit(1)


def _get_objects(res: Resource, names: list[str], output: str, all_namespaces: bool, selector: str | None) -> None:
    """``get`` for the non-pod kinds: same flow as pods, with that kind's table."""
    from podbay.cli import tables

    s = settings()
    client = s.client()
    ns = None if all_namespaces and not names else s.namespace
    failed = False
    objs: list[dict[str, Any]] = []
    if names:
        for name in names:
            try:
                objs.append(get_object(client, res, s.namespace, name))
            except ApiError as e:
                err(server_error_line(e.status))
                failed = True
    else:
        query: dict[str, Any] = {"labelSelector": selector} if selector else {}
        objs = _sorted_items(client.get(objects_path(res.plural, ns), query), _selector(selector))
    wide, with_ns = output == "wide", ns is None

    def table(objs: list[dict[str, Any]]) -> None:
        rows = [tables.header(res.kind, wide=wide, with_namespace=with_ns)]
        rows += [tables.row(res.kind, o, now(), wide=wide, with_namespace=with_ns) for o in objs]
        out(printers.render_table(rows))

    _print_listing(res, objs, names, output, ns, table)
    if failed:
        sys.exit(1)


def _table_writer() -> Any:
    from podbay.cli.tabwriter import TabWriter

    return TabWriter(minwidth=6, padding=3, remember_widths=True)


def _selector(selector: str | None) -> Callable[[dict[str, Any]], bool]:
    if not selector:
        return lambda _p: True
    from podbay.api.selectors import label_selector

    try:
        return label_selector(selector)
    except ValueError as e:
        raise fail(str(e)) from e


def _watch_rows(
    client: ApiClient, ns: str | None, names: list[str], rv: str, output: str,
    match: Callable[[dict[str, Any]], bool], tw: Any, wide: bool, with_ns: bool,
) -> None:
    """Print one row (or object) per watch event until interrupted."""
    query: dict[str, Any] = {}
    if len(names) == 1:
        query["fieldSelector"] = f"metadata.name={names[0]}"
    if rv:
        query["resourceVersion"] = rv
    path = pods_path(settings().namespace if names else ns)
    for event in client.watch(path, query):
        pod = event.get("object") or {}
        if event.get("type") == "ERROR":
            raise ApiError(pod)
        if names and (pod.get("metadata") or {}).get("name") not in names or not match(pod):
            continue
        if output == "json":
            out(printers.to_json(pod))
        elif output == "yaml":
            out("---\n" + printers.to_yaml(pod))
        elif output == "name":
            out(f"pod/{pod['metadata']['name']}\n")
        else:
            tw.write(printers.table_lines([printers.pod_row(pod, now(), wide=wide, with_namespace=with_ns)]))
            out(tw.flush())


# -- describe -------------------------------------------------------------------------------------
@cli.command("describe")
@click.argument("args", nargs=-1, required=True)
@click.option("-l", "--selector", default=None)
@common
def describe_cmd(args: tuple[str, ...], selector: str | None) -> None:
    """Show details of pods, configmaps, secrets or persistentvolumeclaims."""
    s = settings()
    client = s.client()
    res, names = resource_args(args, "describe")
    if names:
        objs = [get_object(client, res, s.namespace, n) for n in names]
    else:
        objs = _sorted_items(client.get(objects_path(res.plural, s.namespace)), _selector(selector))
        if not objs:
            err(f"No resources found in {s.namespace} namespace.")
            return
    out("\n\n".join(_describe(client, res, s.namespace, objs)))


def _describe(client: ApiClient, res: Resource, ns: str, objs: list[dict[str, Any]]) -> list[str]:
    from podbay.cli import describe, describe_objects

    if res is POD:
        summary = _stats_summary(settings().socket) if any((p.get("spec") or {}).get("volumes") for p in objs) else {}
        return [describe.describe_pod(p, _events(client, ns, p, res), now(), describe.volume_stats(summary, p))
                for p in objs]
    if res.kind == "ConfigMap":
        return [describe_objects.describe_configmap(o, _events(client, ns, o, res), now()) for o in objs]
    if res.kind == "Secret":
        return [describe_objects.describe_secret(o) for o in objs]
    pods = client.get(pods_path(ns)).get("items") or []
    return [describe_objects.describe_pvc(o, describe_objects.pods_using_claim(o["metadata"]["name"], pods),
                                          _events(client, ns, o, res), now()) for o in objs]


def _events(client: ApiClient, ns: str, obj: dict[str, Any], res: Resource) -> list[dict[str, Any]]:
    """Events about ``obj`` (by name; events naming another kind are dropped); [] if the API fails."""
    name = obj["metadata"]["name"]
    try:
        items = client.get(f"/api/v1/namespaces/{ns}/events",
                           {"fieldSelector": f"involvedObject.name={name}"}).get("items") or []
    except ApiError:
        return []
    return [e for e in items if (e.get("involvedObject") or {}).get("kind") in (None, "", res.kind)]


def _stats_summary(socket_path: str) -> dict[str, Any]:
    """The agent's stats/v1alpha1 Summary, or {} when it has none (404, unreachable, bad answer)."""
    try:
        summary = ApiClient(socket_path, timeout=STATS_TIMEOUT).get("/stats/summary")
    except (ApiError, AgentUnreachable, OSError, ValueError):
        return {}
    return summary if isinstance(summary, dict) else {}


# -- logs -----------------------------------------------------------------------------------------
def choose_container(pod: dict[str, Any], container: str | None, verb: str) -> str:
    """The container to use: -c, the only one, or kubectl's error listing the choices."""
    spec = pod.get("spec") or {}
    containers = [c["name"] for c in spec.get("containers") or []]
    inits = [c["name"] for c in spec.get("initContainers") or []]
    name = pod["metadata"]["name"]
    if container:
        if container not in containers + inits:
            raise fail(f"container {container} is not valid for pod {name}")
        return str(container)
    if len(containers) == 1:
        return str(containers[0])
    default = ((pod.get("metadata") or {}).get("annotations") or {}).get("kubectl.kubernetes.io/default-container")
    if default in containers:
        return str(default)
    if verb == "exec":
        err(f'Defaulted container "{containers[0]}" out of: {", ".join(containers + inits)}')
        return str(containers[0])
    msg = f"a container name must be specified for pod {name}, choose one of: [{' '.join(containers)}]"
    if inits:
        msg += f" or one of the init containers: [{' '.join(inits)}]"
    raise fail(msg)


@cli.command("logs")
@click.argument("name")
@click.option("-c", "--container", default=None)
@click.option("-f", "--follow", is_flag=True)
@click.option("-p", "--previous", is_flag=True)
@click.option("--tail", type=int, default=-1)
@click.option("--timestamps", is_flag=True)
@common
def logs_cmd(name: str, container: str | None, follow: bool, previous: bool, tail: int, timestamps: bool) -> None:
    """Print the logs of a container in a pod."""
    s = settings()
    client = s.client()
    name = pod_names(("pod", name) if "/" not in name else (name,), allow_empty=False)[0]
    pod = get_pod(client, s.namespace, name)
    query: dict[str, Any] = {"container": choose_container(pod, container, "logs")}
    if follow:
        query["follow"] = True
    if previous:
        query["previous"] = True
    if tail >= 0:
        query["tailLines"] = tail
    if timestamps:
        query["timestamps"] = True
    sink = sys.stdout.buffer
    for chunk in client.stream_chunks(pods_path(s.namespace, name, "log"), query):
        sink.write(chunk)
        sink.flush()


# -- exec -----------------------------------------------------------------------------------------
@cli.command("exec", context_settings={"ignore_unknown_options": False})
@click.argument("name")
@click.argument("command", nargs=-1, required=True)
@click.option("-c", "--container", default=None)
@click.option("-i", "--stdin", "stdin", is_flag=True)
@click.option("-t", "--tty", is_flag=True)
@common
def exec_cmd(name: str, command: tuple[str, ...], container: str | None, stdin: bool, tty: bool) -> None:
    """Execute a command in a container: podbay exec NAME [-c C] [-i] [-t] -- CMD..."""
    from podbay.client.exec_ws import run_exec

    s = settings()
    client = s.client()
    name = pod_names(("pod", name) if "/" not in name else (name,), allow_empty=False)[0]
    pod = get_pod(client, s.namespace, name)
    chosen = choose_container(pod, container, "exec")
    if tty and not (stdin and sys.stdin.isatty()):
        err("Unable to use a TTY - input is not a terminal or the right kind of file")
        tty = False
    query: dict[str, Any] = {
        "command": list(command), "container": chosen, "stdin": stdin, "stdout": True, "stderr": not tty, "tty": tty,
    }
    code = run_exec(s.socket, pods_path(s.namespace, name, "exec"), query, stdin=stdin, tty=tty)
    if code:
        err(f"command terminated with exit code {code}")
    sys.exit(code)


# -- apply / delete -------------------------------------------------------------------------------
def read_manifests(paths: tuple[str, ...]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(source, document) for each -f: a file, a directory (*.yaml, *.yml, *.json) or ``-``."""
    for p in paths:
        if p == "-":
            sources = [("STDIN", sys.stdin.read())]
        else:
            path = Path(p)
            if path.is_dir():
                files = sorted(f for f in path.iterdir() if f.suffix in (".yaml", ".yml", ".json"))
            elif path.exists():
                files = [path]
            else:
                raise fail(f'the path "{p}" does not exist')
            sources = [(str(f), f.read_text()) for f in files]
        for source, text in sources:
            try:
                docs = load_documents(text)
            except Exception as e:  # the loader's own error types are not known here
                raise fail(f"error parsing {source}: {e}") from e
            for doc in docs:
                yield source, doc


def load_documents(text: str) -> list[dict[str, Any]]:
    from podbay.api.manifest import load_documents as loader

    return list(loader(text))


def manifest_target(source: str, doc: dict[str, Any]) -> tuple[Resource, str, str]:
    """(resource, namespace, name) of a document; unsupported kinds and versions fail like kubectl."""
    kind, version = doc.get("kind"), doc.get("apiVersion")
    if not kind:
        raise fail(f'error validating "{source}": error validating data: kind not set')
    if not version:
        raise fail(f'error validating "{source}": error validating data: apiVersion not set')
    res = by_kind(str(kind))
    if res is None:
        raise fail(f'podbay does not support kind "{kind}" yet')
    raw_meta = doc.get("metadata")
    meta: dict[str, Any] = raw_meta if isinstance(raw_meta, dict) else {}
    name = meta.get("name")
    if version != "v1":
        raise fail(
            f'resource mapping not found for name: "{name}" namespace: "{meta.get("namespace", "")}" '
            f'from "{source}": no matches for kind "{kind}" in version "{version}"'
        )
    if not name:
        raise fail(f'error when retrieving current configuration from "{source}": resource name may not be empty')
    s = settings()
    ns = meta.get("namespace") or s.namespace
    if s.namespace_explicit and ns != s.namespace:
        raise fail(
            f'the namespace from the provided object "{ns}" does not match the namespace "{s.namespace}". '
            f"You must pass '--namespace={ns}' to perform this operation."
        )
    return res, str(ns), str(name)


@cli.command("apply")
@click.option("-f", "--filename", "files", multiple=True, required=True)
@common
def apply_cmd(files: tuple[str, ...]) -> None:
    """Create or update pods, configmaps, secrets and persistentvolumeclaims from manifests, in order."""
    from podbay.cli import apply as merge

    client = settings().client()
    failed = False
    for source, doc in read_manifests(files):
        try:
            res, ns, name = manifest_target(source, doc)
        except CliError as e:
            err(str(e))
            failed = True
            continue
        verb = "creating"
        if not merge.well_formed(doc):
            # Labels or annotations of the wrong type: the server refuses it in its own words.
            try:
                client.post(objects_path(res.plural, ns), doc)
                out(f"{res.name_of(name)} created\n")
            except ApiError as e:
                err(server_error_line(with_source(e.status, verb, source)))
                failed = True
            continue
        doc = {**doc, "metadata": {**doc["metadata"], "namespace": ns}}
        try:
            # Create first (one round trip for the common case); an existing object is merged instead.
            try:
                client.post(objects_path(res.plural, ns), merge.with_last_applied(doc))
                out(f"{res.name_of(name)} created\n")
                continue
            except ApiError as e:
                if e.code != 409:
                    raise
            verb = "retrieving current configuration of"
            live = get_object(client, res, ns, name)
            new = merge.merged(live, doc)
            if not merge.changed(live, new):
                out(f"{res.name_of(name)} unchanged\n")
                continue
            verb = "patching"
            client.put(objects_path(res.plural, ns, name), new)
            out(f"{res.name_of(name)} configured\n")
        except ApiError as e:
            err(server_error_line(with_source(e.status, verb, source)))
            failed = True
    if failed:
        sys.exit(1)


@cli.command("delete")
@click.argument("args", nargs=-1)
@click.option("-f", "--filename", "files", multiple=True)
@click.option("--grace-period", type=int, default=-1)
@click.option("--now", "now_", is_flag=True)
@click.option("--force", is_flag=True)
@click.option("--wait", is_flag=False, flag_value="true", default="true")
@click.option("--timeout", default="0s")
@click.option("--ignore-not-found", is_flag=True)
@common
def delete_cmd(
    args: tuple[str, ...], files: tuple[str, ...], grace_period: int, now_: bool, force: bool, wait: str,
    timeout: str, ignore_not_found: bool,
) -> None:
    """Delete pods, configmaps, secrets or persistentvolumeclaims by name or from manifests."""
    s = settings()
    client = s.client()
    if now_:
        if grace_period != -1:
            raise fail("--now and --grace-period cannot be specified together")
        grace_period = 1
    if grace_period == 0 and not force:
        grace_period = 1  # kubectl: --grace-period=0 without --force means 1
    if force and grace_period < 0:
        grace_period = 0
    targets: list[tuple[Resource, str, str]] = []
    if files:
        if args:
            raise fail("there is no need to specify a resource type as a separate argument when passing arguments in resource/name form")
        targets = [manifest_target(src, doc) for src, doc in read_manifests(files)]
    else:
        if not args:
            raise fail("You must provide one or more resources by argument or filename.")
        res, names = resource_args(args, "delete")
        if not names:
            raise fail("resource(s) were provided, but no name was specified")
        targets = [(res, s.namespace, n) for n in names]
    if force and grace_period == 0:
        err("Warning: Immediate deletion does not wait for confirmation that the running resource has been "
            "terminated. The resource may continue to run on the cluster indefinitely.")
    failed = False
    pending: list[tuple[str, str, str]] = []
    for res, ns, name in targets:
        query: dict[str, Any] = {}
        body: dict[str, Any] = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if grace_period >= 0:
            query["gracePeriodSeconds"] = grace_period
            body["gracePeriodSeconds"] = grace_period
        try:
            result = client.delete(objects_path(res.plural, ns, name), query, body)
        except ApiError as e:
            if e.code == 404 and ignore_not_found:
                continue
            err(server_error_line(e.status))
            failed = True
            continue
        out(f'{res.singular} "{name}" {"force deleted" if force and grace_period == 0 else "deleted"}\n')
        if res is POD and result.get("kind") != "Status":  # other kinds go at once: nothing to wait for
            pending.append((ns, name, str((result.get("metadata") or {}).get("uid") or "")))
    if bool_flag(wait, "wait") and pending:
        limit = parse_duration(timeout) or FOREVER
        deadline = time.monotonic() + limit
        for ns, name, uid in pending:
            if not wait_deleted(client, ns, name, uid, deadline):
                err(f"error: timed out waiting for the condition on pods/{name}")
                failed = True
    if failed:
        sys.exit(1)


def wait_deleted(client: ApiClient, ns: str, name: str, uid: str, deadline: float) -> bool:
    """Block until the pod (with this uid, when given) is gone; False on timeout."""
    return _wait_pod(client, ns, name, deadline, lambda pod: pod is None or (bool(uid) and pod["metadata"].get("uid") != uid))


def _wait_pod(
    client: ApiClient, ns: str, name: str, deadline: float, done: Callable[[dict[str, Any] | None], bool]
) -> bool:
    """GET, then watch from its resourceVersion, until ``done(pod or None-if-deleted)``; False on timeout."""
    while time.monotonic() < deadline:
        try:
            pod: dict[str, Any] | None = get_pod(client, ns, name)
        except ApiError as e:
            if e.code != 404:
                raise
            pod = None
        if done(pod):
            return True
        query: dict[str, Any] = {"fieldSelector": f"metadata.name={name}"}
        rv = ((pod or {}).get("metadata") or {}).get("resourceVersion")
        if rv:
            query["resourceVersion"] = rv
        try:
            for event in client.watch(pods_path(ns), query, deadline=deadline):
                obj = event.get("object") or {}
                if (obj.get("metadata") or {}).get("name") != name:
                    continue
                if done(None if event.get("type") == "DELETED" else obj):
                    return True
        except TimeoutError:
            return False
        time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
    return False


# -- wait -----------------------------------------------------------------------------------------
@cli.command("wait")
@click.argument("args", nargs=-1, required=True)
@click.option("--for", "for_", required=True, help="condition=Ready[=true] or delete")
@click.option("--timeout", default="30s")
@common
def wait_cmd(args: tuple[str, ...], for_: str, timeout: str) -> None:
    """Wait for a condition on pods."""
    s = settings()
    client = s.client()
    names = pod_names(args, allow_empty=False)
    limit = parse_duration(timeout)
    deadline = time.monotonic() + (limit if limit > 0 else 0.001)
    check: Callable[[dict[str, Any] | None], bool]
    if for_.lower() == "delete":
        check = lambda pod: pod is None  # noqa: E731
    elif for_.lower().startswith("condition="):
        cond, _, want = for_[len("condition="):].partition("=")
        want = want or "true"

        def check(pod: dict[str, Any] | None) -> bool:
            for c in ((pod or {}).get("status") or {}).get("conditions") or []:
                if str(c.get("type", "")).lower() == cond.lower():
                    return str(c.get("status", "")).lower() == want.lower()
            return False
    else:
        raise fail(f"unrecognized condition: {for_!r} (podbay supports --for=condition=NAME[=VALUE] and --for=delete)")
    failed = False
    for name in names:
        if for_.lower() == "delete":
            try:
                get_pod(client, s.namespace, name)
            except ApiError as e:
                if e.code == 404:
                    continue
                raise
        else:
            get_pod(client, s.namespace, name)  # NotFound is an error for conditions
        if _wait_pod(client, s.namespace, name, deadline, check):
            out(f"pod/{name} condition met\n")
        else:
            err(f"error: timed out waiting for the condition on pods/{name}")
            failed = True
    if failed:
        sys.exit(1)


# -- version / doctor / agent / image -------------------------------------------------------------
@cli.command("version")
@click.option("--client", "client_only", is_flag=True, help="Client version only.")
@common
def version_cmd(client_only: bool) -> None:
    """Print the client and server versions."""
    out(f"Client Version: {__version__}\n")
    if client_only:
        return
    info = settings().client().get("/version")
    out(f"Server Version: {info.get('gitVersion') or info.get('version') or info}\n")


@cli.command("kubeconfig")
@click.option("--server", default=None, help="API URL (default: the agent's TLS listener).")
@click.option("--user", default=None, help="User name (default podbay-admin, group system:masters).")
@click.option("--group", "groups", multiple=True, help="Group of --user (repeatable).")
@click.option("--token", is_flag=True, help="Embed a new bearer token instead of a client certificate.")
@click.option("--root", envvar="PODBAY_ROOT", default=DEFAULT_ROOT, show_default=True, help="State root.")
@click.option("--run-dir", envvar="PODBAY_RUN_DIR", default=DEFAULT_RUN_DIR, show_default=True, help="Run dir.")
def kubeconfig_cmd(server: str | None, user: str | None, groups: tuple[str, ...], token: bool, root: str,
                   run_dir: str) -> None:
    """Print a kubeconfig for kubectl (TLS, client certificate or token; needs root)."""
    from podbay.cli import kubeconfig  # access: loads cryptography and yaml only for this verb

    s = settings()
    cfg = kubeconfig.build(Path(root), Path(run_dir), server=server, user=user, groups=groups, token=token,
                           namespace=s.namespace if s.namespace_explicit else None)
    out(kubeconfig.render(cfg))


@cli.command("doctor", context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("argv", nargs=-1, type=click.UNPROCESSED)
def doctor_cmd(argv: tuple[str, ...]) -> None:
    """Check that this host can run pods."""
    from podbay.host.doctor import main as doctor_main

    sys.exit(int(doctor_main(list(argv)) or 0))


@cli.command("agent", context_settings={"ignore_unknown_options": True, "allow_extra_args": True,
                                        "help_option_names": []})
@click.argument("argv", nargs=-1, type=click.UNPROCESSED)
def agent_cmd(argv: tuple[str, ...]) -> None:
    """Run the podbay agent (needs root; `podbay agent --help` lists its options)."""
    # The `podbay` executable (podbay.entry) starts the agent before click is even loaded; reaching
    # this command means the CLI module was run directly, which cannot load the agent stack.
    raise fail("start the agent with the podbay executable: podbay agent " + " ".join(argv))


@cli.group("image")
@click.option("--root", envvar="PODBAY_ROOT", default=DEFAULT_ROOT, show_default=True, help="State root.")
@click.pass_context
def image_group(ctx: click.Context, root: str) -> None:
    """Manage local images: pull from registries, import tarballs or OCI layouts."""
    ctx.meta["podbay.root"] = root


def _root() -> Path:
    return Path(click.get_current_context().meta["podbay.root"])


@image_group.command("import")
@click.argument("path")
@click.argument("ref", required=False)
@click.option("-c", "--change", "changes", multiple=True, help="Dockerfile instruction (ENV, CMD, ENTRYPOINT...).")
def image_import(path: str, ref: str | None, changes: tuple[str, ...]) -> None:
    """Import a root filesystem tarball (as image REF)."""
    from podbay.images import cli_ops

    out(f"{cli_ops.import_image(_root(), Path(path), ref, list(changes))}\n")


@image_group.command("load")
@click.argument("path", required=False)
@click.option("-i", "--input", "input_", default=None, help="OCI layout dir, oci-archive or docker-archive.")
def image_load(path: str | None, input_: str | None) -> None:
    """Load images from an archive or an OCI layout."""
    from podbay.images import cli_ops

    src = input_ or path
    if not src:
        raise fail("requires an archive: podbay image load -i FILE")
    for line in cli_ops.load_images(_root(), Path(src)):
        out(f"{line}\n")


@image_group.command("ls")
@click.option("-q", "--quiet", is_flag=True, help="Only image IDs.")
def image_ls(quiet: bool) -> None:
    """List images (with the registry digest they were pulled by)."""
    from podbay.cli.tabwriter import TabWriter
    from podbay.images import cli_ops

    rows = [tuple(str(c) for c in r) for r in cli_ops.list_rows(_root())]
    if quiet:
        for r in dict.fromkeys(r[3] for r in rows):
            out(f"{r}\n")
        return
    tw = TabWriter(minwidth=6, padding=3)
    tw.write("".join("\t".join(r) + "\n" for r in [("REPOSITORY", "TAG", "DIGEST", "IMAGE ID", "SIZE"), *rows]))
    out(tw.flush())


@image_group.command("pull")
@click.argument("ref")
@click.option("--creds", default=None, metavar="USER:PASS", help="Registry credentials (else <root>/config.json).")
@click.option("--registries-conf", "registries_conf", default=None,
              help="registries.conf with mirrors and insecure registries (default <root>/registries.conf).")
@click.option("-q", "--quiet", is_flag=True, help="Print only the image ID.")
def image_pull(ref: str, creds: str | None, registries_conf: str | None, quiet: bool) -> None:
    """Pull an image from a registry (progress per layer), as the agent pulls for pods."""
    import os

    from podbay.cli.pullprogress import PullProgress, size
    from podbay.images import cli_ops, reference
    from podbay.images.registry import PullError

    try:
        normalized = reference.normalize(ref)
    except ValueError as exc:
        raise fail(f'Error: invalid reference "{ref}": {exc}') from None
    tty = sys.stderr.isatty() and os.environ.get("TERM") != "dumb"
    def write(text: str) -> None:
        sys.stderr.write(text)
        sys.stderr.flush()

    bar = PullProgress(write, tty)
    started: list[bool] = []

    def progress(plan: Any, snap: Any) -> None:
        if not started:
            started.append(True)
            bar.begin([(layer.digest, layer.size) for layer in plan.layers])
        bar.update(snap.finished, snap.partial)

    if not quiet:
        err(f"Trying to pull {normalized}...")
    try:
        res = cli_ops.pull_image(_root(), ref, creds, Path(registries_conf) if registries_conf else None,
                                 None if quiet else progress)
    except PullError as exc:
        raise fail(f"Error: pulling image {normalized}: {exc.message}") from None
    except ValueError as exc:
        raise fail(f"Error: {exc}") from None
    if not quiet:
        if res.downloaded:
            err(f"Downloaded newer image for {normalized} ({size(res.image.size)}) in {res.seconds:.2f}s")
        else:
            err(f"Image is up to date for {normalized}")
        err(f"Digest: {res.repo_digest.partition('@')[2]}")
    out(f"{res.image.id.removeprefix('sha256:')}\n")


@image_group.command("prune")
def image_prune() -> None:
    """Remove every image no container uses (crictl rmi --prune); the agent also GCs by disk usage."""
    from podbay.images import cli_ops

    in_use: list[str] = []
    db = _root() / "state.db"
    if db.exists():
        from podbay.store.db import Store

        st = Store(db)
        try:
            in_use = [r.image_id or r.image for r in st.all_containers()]
        finally:
            st.close()
    for line in cli_ops.prune(_root(), in_use):
        out(f"{line}\n")


@image_group.command("rm")
@click.argument("refs", nargs=-1, required=True)
@click.option("-f", "--force", is_flag=True, help="Remove even if a container uses it.")
def image_rm(refs: tuple[str, ...], force: bool) -> None:
    """Remove images."""
    from podbay.images import cli_ops

    for ref in refs:
        out(f"{cli_ops.remove_image(_root(), ref, force=force)}\n")


def main(argv: list[str] | None = None) -> NoReturn:
    cli.main(args=argv, prog_name="podbay")
    raise SystemExit(0)


if __name__ == "__main__":
    main()
