"""The one synchronous subprocess runner (argv only, never a shell)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from podbay.errors import RuntimeFailure
from podbay.sys import children


@dataclass(frozen=True)
class Completed:
    argv: list[str]
    rc: int
    stdout: str
    stderr: str


def run(
    argv: Sequence[str],
    *,
    input: str | bytes | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 60.0,
    check: bool = True,
) -> Completed:
    """Run argv, capture output; raise RuntimeFailure on non-zero exit when check is set.

    The child is owned by the agent's reaper (sys.children) until it has been waited for here, so
    its exit status is never taken by the collector of orphans.
    """
    data = input.encode() if isinstance(input, str) else input
    full_env = None if env is None else {**os.environ, **env}
    try:
        proc = children.popen(list(argv), stdin=subprocess.PIPE if data is not None else subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=full_env)
    except FileNotFoundError as exc:
        raise RuntimeFailure(f"{argv[0]}: not found", argv=argv) from exc
    try:
        try:
            raw_out, raw_err = proc.communicate(data, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            proc.kill()
            proc.wait()   # reap it; a grandchild holding the pipes must not keep us here
            raise RuntimeFailure(f"{argv[0]}: timed out after {timeout}s", argv=argv) from exc
    finally:
        if proc.returncode is None:   # interrupted by anything else: never leave it unreaped
            proc.kill()
            proc.wait()
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
        children.release(proc)
    out = raw_out.decode(errors="replace")
    err = raw_err.decode(errors="replace")
    if check and proc.returncode != 0:
        raise RuntimeFailure(
            f"{' '.join(argv[:3])} failed (rc {proc.returncode}): {err.strip()[-500:] or out.strip()[-500:]}",
            argv=argv, rc=proc.returncode, stderr=err,
        )
    return Completed(list(argv), proc.returncode, out, err)
