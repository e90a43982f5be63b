"""The kubelet image manager's pure parts: texts, Go durations, back-off, decisions."""

from __future__ import annotations

import re

import pytest

from podbay.core import image_policy as ip


@pytest.mark.parametrize("seconds,want", [
    (0, "0s"), (0.0009, "0s"), (0.001, "1ms"), (0.0015, "1ms"), (0.39, "390ms"), (0.999, "999ms"),
    (1.0, "1s"), (1.5, "1.5s"), (2.2669, "2.266s"), (60.0, "1m0s"), (62.5, "1m2.5s"), (3600.001, "1h0m0.001s"),
    (3723.0, "1h2m3s"),
])
def test_go_duration(seconds: float, want: str) -> None:
    assert ip.go_duration(seconds) == want


def _go_parse(text: str) -> float:
    units = {"ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", text)
    assert "".join(n + u for n, u in parts) == text, text
    return sum(float(n) * units[u] for n, u in parts)


def test_pulled_message_is_what_the_node_e2e_parses() -> None:
    msg = ip.pulled_message("nginx:1.25", 0.3904, 1.5, 14766817)
    assert msg == ('Successfully pulled image "nginx:1.25" in 390ms (1.5s including waiting). '
                   "Image size: 14766817 bytes.")
    tokens = msg.split(" ")   # getDurationsFromPulledEventMsg: exactly 13 tokens, 5 and 6 are durations
    assert len(tokens) == 13
    assert _go_parse(tokens[5]) == pytest.approx(0.39) and _go_parse(tokens[6].lstrip("(")) == 1.5


def test_event_texts() -> None:
    assert ip.pulling_message("busybox") == 'Pulling image "busybox"'
    assert ip.present_message("busybox:1.35") == 'Container image "busybox:1.35" already present on machine'
    assert ip.never_pull_message("x:1") == 'Container image "x:1" is not present with pull policy of Never'
    assert ip.failed_message("x:1", "boom") == 'Failed to pull image "x:1": boom'
    assert ip.backoff_event_message("x:1") == 'Back-off pulling image "x:1"'
    assert ip.backoff_status_message("x:1", "ErrImagePull: boom") == 'Back-off pulling image "x:1": ErrImagePull: boom'
    assert ip.backoff_status_message("x:1", None) == 'Back-off pulling image "x:1"'
    assert ip.error_event_message("ErrImagePull") == "Error: ErrImagePull"
    assert ip.invalid_image_message("<your-private-image>", "invalid reference format") == (
        'Failed to apply default image tag "<your-private-image>": couldn\'t parse image name '
        '"<your-private-image>": invalid reference format')
    assert ip.missing_secrets_message(["a", "b"]) == (
        "Unable to retrieve some image pull secrets (a, b); attempting to pull the image may not succeed.")


def test_eval_pull_error() -> None:
    assert ip.eval_pull_error("x:1", "reading manifest 1 in r/x: manifest unknown") == (
        "ErrImagePull", "reading manifest 1 in r/x: manifest unknown")
    assert ip.eval_pull_error("x:1", "RegistryUnavailable: pinging container registry r: refused") == (
        "RegistryUnavailable", "image pull failed for x:1 because the registry is unavailable: "
        "pinging container registry r: refused")
    assert ip.eval_pull_error("x:1", "SignatureValidationFailed: bad")[0] == "SignatureValidationFailed"


@pytest.mark.parametrize("policy,present,want", [
    ("Always", True, True), ("Always", False, True), ("IfNotPresent", True, False), ("IfNotPresent", False, True),
    ("Never", True, False), ("Never", False, None),
])
def test_must_pull(policy: str, present: bool, want: bool | None) -> None:
    assert ip.must_pull(policy, present) is want


def test_default_pull_policy() -> None:
    assert ip.default_pull_policy("latest") == "Always"
    assert ip.default_pull_policy("1.35") == "IfNotPresent"
    assert ip.default_pull_policy("") == "IfNotPresent"


def test_backoff_doubles_to_300_and_resets_after_600s() -> None:
    b = ip.ImageBackOff()
    key = b.key("uid1", "busybox")
    assert key == "uid1_busybox"
    t = 1000.0
    delays = []
    for _ in range(7):
        delays.append(b.next(key, t))
        t += delays[-1]
    assert delays == [10, 20, 40, 80, 160, 300, 300]
    assert b.in_backoff(key, t - 1) and not b.in_backoff(key, t)
    assert b.expires_at(key) == t
    # 600 s without failures: the entry expired, the next failure starts at 10 s again
    assert b.next(key, t + 601) == 10


def test_backoff_window_and_gc() -> None:
    b = ip.ImageBackOff()
    b.next("a", 0.0)
    assert b.in_backoff("a", 9.99) and not b.in_backoff("a", 10.0)
    assert not b.in_backoff("other", 1.0)
    b.next("b", 500.0)
    b.gc(601.0)   # "a" was last updated 601 s ago (> 2 x 300): dropped; "b" kept
    assert len(b) == 1 and b.expires_at("a") is None and b.expires_at("b") == 510.0


def test_parse_go_duration() -> None:
    assert ip.parse_go_duration("2m") == 120
    assert ip.parse_go_duration("1m30s") == 90
    assert ip.parse_go_duration("500ms") == 0.5
    assert ip.parse_go_duration("0") == 0
    with pytest.raises(ValueError, match="invalid duration"):
        ip.parse_go_duration("2 minutes")
