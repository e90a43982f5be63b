"""Child processes of the images package (skopeo, the test bed's tools), owned by the agent's reaper
(``podbay.sys.children``) from fork to wait, so their exit statuses are never collected by it.

Unlike ``podbay.sys.run`` the environment is exactly the one given (skopeo runs with ``env -i``
semantics) and output stays bytes (a manifest digest is over its exact bytes).
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from podbay.sys import children


def capture(argv: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: Path | str | None = None,
            timeout: float = 60.0) -> tuple[int, bytes, bytes]:
    """(returncode, stdout, stderr); raises subprocess.TimeoutExpired (the child killed and reaped)."""
    proc = children.popen(list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          env=None if env is None else dict(env), cwd=cwd)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise
    finally:
        if proc.returncode is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
        children.release(proc)
    return proc.returncode, out, err


def start(argv: Sequence[str], **kwargs: Any) -> subprocess.Popen[bytes]:
    """A child to wait for later; call :func:`done` once it has been waited for."""
    return children.popen(list(argv), **kwargs)


def done(proc: subprocess.Popen[bytes]) -> None:
    children.release(proc)
