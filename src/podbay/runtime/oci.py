"""The crun/runc command line: start, kill, delete, state, exec argv."""

from __future__ import annotations

import json
import os
import signal
from dataclasses import dataclass
from pathlib import Path

from podbay.errors import RuntimeFailure
from podbay.sys.run import run


@dataclass(frozen=True)
class OciRuntime:
    binary: str          # absolute path of crun or runc
    root: Path           # --root: the runtime's state dir (under the agent's run dir)

    @property
    def name(self) -> str:
        return os.path.basename(self.binary)

    def base(self) -> list[str]:
        return [self.binary, "--root", str(self.root)]

    def start(self, cid: str) -> None:
        run([*self.base(), "start", cid], timeout=30)

    def kill(self, cid: str, sig: int = signal.SIGTERM, *, all_processes: bool = False) -> bool:
        """Send sig; False if the container is already stopped or gone."""
        argv = [*self.base(), "kill"]
        if all_processes:
            argv.append("--all")
        argv += [cid, str(int(sig))]
        res = run(argv, timeout=10, check=False)
        return res.rc == 0

    def delete(self, cid: str) -> None:
        res = run([*self.base(), "delete", "--force", cid], timeout=30, check=False)
        if res.rc != 0 and not _is_gone(res.stderr):
            raise RuntimeFailure(f"{self.name} delete {cid}: {res.stderr.strip()}", argv=res.argv, rc=res.rc,
                                 stderr=res.stderr)

    def state(self, cid: str) -> dict | None:
        """The runtime's state JSON, or None if it does not know the container."""
        res = run([*self.base(), "state", cid], timeout=10, check=False)
        if res.rc != 0:
            return None
        try:
            return dict(json.loads(res.stdout))
        except ValueError:
            return None

    def list_ids(self) -> list[str]:
        """Ids of every container this runtime root knows (any state)."""
        res = run([*self.base(), "list", "--quiet"], timeout=10, check=False)
        return [line.strip() for line in res.stdout.splitlines() if line.strip()] if res.rc == 0 else []

    def exec_argv(self, cid: str, argv: list[str], *, tty: bool, env: list[str] | None = None,
                  cwd: str | None = None) -> list[str]:
        cmd = [*self.base(), "exec"]
        if tty:
            cmd.append("--tty")
        for e in env or []:
            cmd += ["--env", e]
        if cwd:
            cmd += ["--cwd", cwd]
        return [*cmd, cid, *argv]


def _is_gone(stderr: str) -> bool:
    s = stderr.lower()
    return "does not exist" in s or "not found" in s or "no such file" in s
