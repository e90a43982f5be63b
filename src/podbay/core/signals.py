"""Stop signals: ``lifecycle.stopSignal`` > the image's ``StopSignal`` > SIGTERM (KEP-4960, kubelet
``getStopSignal``), by name as the API spells them (SIGTERM, SIGRTMIN+3, SIGRTMAX-1) or by number as
an image config may."""

from __future__ import annotations

import signal
from collections.abc import Mapping
from typing import Any

# The Linux names the API accepts (validation.go), with their numbers on Linux.
LINUX_SIGNALS: dict[str, int] = {
    "SIGABRT": 6, "SIGALRM": 14, "SIGBUS": 7, "SIGCHLD": 17, "SIGCLD": 17, "SIGCONT": 18, "SIGFPE": 8,
    "SIGHUP": 1, "SIGILL": 4, "SIGINT": 2, "SIGIO": 29, "SIGIOT": 6, "SIGKILL": 9, "SIGPIPE": 13,
    "SIGPOLL": 29, "SIGPROF": 27, "SIGPWR": 30, "SIGQUIT": 3, "SIGSEGV": 11, "SIGSTKFLT": 16,
    "SIGSTOP": 19, "SIGSYS": 31, "SIGTERM": 15, "SIGTRAP": 5, "SIGTSTP": 20, "SIGTTIN": 21, "SIGTTOU": 22,
    "SIGURG": 23, "SIGUSR1": 10, "SIGUSR2": 12, "SIGVTALRM": 26, "SIGWINCH": 28, "SIGXCPU": 24, "SIGXFSZ": 25,
}  # fmt: skip
SIGRTMIN = int(signal.SIGRTMIN)
SIGRTMAX = int(signal.SIGRTMAX)


def parse_signal(text: str) -> int | None:
    """A signal name (with or without SIG, SIGRTMIN+n, SIGRTMAX-n) or number; None if unknown."""
    s = text.strip().upper()
    if s.isdigit():
        n = int(s)
        return n if 1 <= n <= SIGRTMAX else None
    if not s.startswith("SIG"):
        s = "SIG" + s
    if s in LINUX_SIGNALS:
        return LINUX_SIGNALS[s]
    for base, value, sign in (("SIGRTMIN", SIGRTMIN, 1), ("SIGRTMAX", SIGRTMAX, -1)):
        if s == base:
            return value
        if s.startswith(base) and len(s) > len(base) + 1 and s[len(base)] in "+-" and s[len(base) + 1:].isdigit():
            n = value + int(s[len(base) + 1:]) * (1 if s[len(base)] == "+" else -1)
            if SIGRTMIN <= n <= SIGRTMAX and (s[len(base)] == "+") == (sign == 1):
                return n
    return None


def signal_name(sig: int) -> str:
    for name, value in LINUX_SIGNALS.items():
        if value == sig and name not in ("SIGCLD", "SIGIOT", "SIGPOLL"):
            return name
    if SIGRTMIN <= sig <= SIGRTMAX:
        return "SIGRTMIN" if sig == SIGRTMIN else (f"SIGRTMIN+{sig - SIGRTMIN}")
    return str(sig)


def stop_signal(container: Mapping[str, Any], image_config: Mapping[str, Any]) -> int:
    spec = ((container.get("lifecycle") or {}).get("stopSignal")) or ""
    for candidate in (str(spec), str(image_config.get("StopSignal") or "")):
        if candidate:
            sig = parse_signal(candidate)
            if sig is not None:
                return sig
    return int(signal.SIGTERM)
