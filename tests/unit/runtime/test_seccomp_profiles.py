"""Localhost seccomp profiles are read below the profile root only (issue 11 item 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from podbay.errors import PermanentError
from podbay.runtime import seccomp_profiles


@pytest.fixture
def root(tmp_path: Path) -> Path:
    r = tmp_path / "seccomp"
    (r / "team").mkdir(parents=True)
    (r / "team" / "p.json").write_text(json.dumps({"defaultAction": "SCMP_ACT_ALLOW"}))
    (tmp_path / "outside.json").write_text(json.dumps({"defaultAction": "SCMP_ACT_ALLOW"}))
    (r / "link.json").symlink_to(tmp_path / "outside.json")
    (r / "dirlink").symlink_to(tmp_path)
    (r / "bad.json").write_text("{nope")
    return r


def test_loads_a_profile(root: Path) -> None:
    assert seccomp_profiles.load(root, "team/p.json") == {"defaultAction": "SCMP_ACT_ALLOW"}


@pytest.mark.parametrize("name,why", [
    ("missing.json", "no such file or directory"),
    ("link.json", "too many levels of symbolic links"),
    ("dirlink/outside.json", "too many levels of symbolic links"),
    ("../outside.json", "must stay below"),
    ("/etc/passwd", "must stay below"),
    ("bad.json", "decoding seccomp profile failed"),
])
def test_refuses_what_is_not_a_profile_below_the_root(root: Path, name: str, why: str) -> None:
    with pytest.raises(PermanentError, match=why) as ei:
        seccomp_profiles.load(root, name)
    assert str(ei.value).startswith(f'cannot load seccomp profile "{root / name}"')
