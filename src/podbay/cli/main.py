"""``podbay``: kubectl's verbs for every kind the agent serves, against the agent's Unix socket.

The root group loads a verb's module (``podbay.cli.commands.<verb>``) only when that verb runs, so
``podbay get pods`` imports click, the stdlib HTTP client and the ``get`` module, and nothing of the
other verbs (``tests/unit/cli/test_cli_imports.py`` holds it to that). ``--help`` lists the verbs
from the table below without importing them.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any, NoReturn

import click

from podbay.cli.context import DEFAULT_SOCKET, Settings, err
from podbay.cli.errors import CliError, server_error_line
from podbay.client.http import AgentUnreachable, ApiError

# verb -> (module under podbay.cli.commands, one-line help); the order is --help's.
COMMANDS: dict[str, tuple[str, str]] = {
    "get": ("get", "Display one or many resources"),
    "describe": ("describe", "Show details of a specific resource or group of resources"),
    "apply": ("apply", "Apply a configuration to a resource by file name or stdin"),
    "create": ("create", "Create a resource from a file or from stdin, or a namespace/configmap/secret"),
    "delete": ("delete", "Delete resources by file names, stdin, resources and names, or by resources and label selector"),
    "edit": ("edit", "Edit a resource on the server with $EDITOR"),
    "patch": ("patch", "Update fields of a resource (strategic merge, JSON merge or JSON patch)"),
    "replace": ("replace", "Replace a resource by file name or stdin"),
    "label": ("label", "Update the labels on a resource"),
    "annotate": ("annotate", "Update the annotations on a resource"),
    "scale": ("scale", "Set a new size for a deployment, replica set, stateful set or replication controller"),
    "rollout": ("rollout", "Manage the rollout of a deployment, daemon set or stateful set"),
    "wait": ("wait", "Wait for a specific condition on one or many resources"),
    "logs": ("logs", "Print the logs for a container in a pod"),
    "exec": ("exec_", "Execute a command in a container"),
    "attach": ("attach", "Attach to a running container"),
    "port-forward": ("port_forward", "Forward one or more local ports to a pod"),
    "top": ("top", "Display resource (CPU/memory) usage of pods or nodes"),
    "events": ("events", "List events"),
    "api-resources": ("api_resources", "Print the supported API resources on the server"),
    "explain": ("explain", "Get documentation for a resource"),
    "version": ("version", "Print the client and server version information"),
    "kubeconfig": ("kubeconfig", "Print a kubeconfig for kubectl (TLS, certificate or token; needs root)"),
    "image": ("image", "Manage local images: pull from registries, import tarballs or OCI layouts"),
    "doctor": ("doctor", "Check that this host can run pods"),
    "agent": ("agent", "Run the podbay agent (needs root; `podbay agent --help` lists its options)"),
}


class PodbayGroup(click.Group):
    """Lazy verbs, and the error boundary: expected failures are one stderr line and exit 1."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module = importlib.import_module(f"podbay.cli.commands.{entry[0]}")
        command: click.Command = module.command
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, help_) for name, (_, help_) in COMMANDS.items()])

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
        except BrokenPipeError:
            sys.exit(0)   # `podbay get pods | head`
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
    """Run Kubernetes workloads on this host: kubectl's verbs against the podbay agent."""
    s = ctx.ensure_object(Settings)
    s.socket = socket
    if namespace is not None:
        s.namespace, s.namespace_explicit = namespace, True


def main(argv: list[str] | None = None) -> NoReturn:
    cli.main(args=argv, prog_name="podbay")
    raise SystemExit(0)


if __name__ == "__main__":
    main()
