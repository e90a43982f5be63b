"""The `podbay` executable: `podbay agent` runs the daemon, every other verb is the kubectl-like CLI.

Dispatching here keeps the CLI's import graph free of aiohttp and the agent (fast start-up), and the
agent free of click.
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    argv = sys.argv[1:]
    if argv and argv[0] == "agent":
        from podbay.server.daemon import main as agent_main

        raise SystemExit(agent_main(argv[1:]))
    from podbay.cli.main import main as cli_main

    code: int = 0
    try:
        cli_main()
    except SystemExit as exc:
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)
            code = 1
        else:
            code = int(exc.code or 0)
    # Skip interpreter teardown (~15 ms of CPU that would compete with the agent starting the pod):
    # the CLI holds no state that needs finalizers, only output to flush.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
