"""The `podbay` executable: `podbay agent` runs the daemon, every other verb is the kubectl-like CLI.

Dispatching here keeps the CLI's import graph free of aiohttp and the agent (fast start-up), and the
agent free of click.
"""

from __future__ import annotations

import sys


def main() -> None:
    argv = sys.argv[1:]
    if argv and argv[0] == "agent":
        from podbay.server.daemon import main as agent_main

        raise SystemExit(agent_main(argv[1:]))
    from podbay.cli.main import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
