"""The one synchronous subprocess runner (argv only, never a shell)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from podbay.errors import RuntimeFailure


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
    """Run argv, capture output; raise RuntimeFailure on non-zero exit when check is set."""
    data = input.encode() if isinstance(input, str) else input
    full_env = None if env is None else {**os.environ, **env}
    try:
        proc = subprocess.run(list(argv), input=data, capture_output=True, env=full_env, timeout=timeout)
    except FileNotFoundError as exc:
        raise RuntimeFailure(f"{argv[0]}: not found", argv=argv) from exc
    except subprocess.TimeoutExpired as exc:
        raise RuntimeFailure(f"{argv[0]}: timed out after {timeout}s", argv=argv) from exc
    out = proc.stdout.decode(errors="replace")
    err = proc.stderr.decode(errors="replace")
    if check and proc.returncode != 0:
        raise RuntimeFailure(
            f"{' '.join(argv[:3])} failed (rc {proc.returncode}): {err.strip()[-500:] or out.strip()[-500:]}",
            argv=argv, rc=proc.returncode, stderr=err,
        )
    return Completed(list(argv), proc.returncode, out, err)
