"""Choosing the instance of a multi-arch index for this host, with containers/image's rules."""

from __future__ import annotations

import pytest

from podbay.images.platform import NoMatchingPlatform, Platform, choose, wanted_platforms

AMD64 = Platform("linux", "amd64")


def _e(digest: str, arch: str | None, variant: str = "", os_: str = "linux") -> dict[str, object]:
    d: dict[str, object] = {"digest": digest}
    if arch is not None:
        d["platform"] = {"os": os_, "architecture": arch, **({"variant": variant} if variant else {})}
    return d


def test_wanted_platforms() -> None:
    assert wanted_platforms(AMD64) == [AMD64]
    assert wanted_platforms(Platform("linux", "arm", "v7")) == [
        Platform("linux", "arm", "v7"), Platform("linux", "arm", "v6"), Platform("linux", "arm", "v5"),
        Platform("linux", "arm", "")]
    assert wanted_platforms(Platform("linux", "arm64", "v8")) == [Platform("linux", "arm64", "v8"),
                                                                  Platform("linux", "arm64", "")]
    assert wanted_platforms(Platform("linux", "arm")) == [Platform("linux", "arm", ""), *(
        Platform("linux", "arm", v) for v in ("v8", "v7", "v6", "v5"))]


def test_amd64_skips_variant_entries_and_attestations() -> None:
    entries = [_e("v3", "amd64", "v3"), _e("att", "unknown", os_="unknown"), _e("arm", "arm64", "v8"), _e("plain", "amd64")]
    assert choose(entries, AMD64, oci_index=True)["digest"] == "plain"
    assert choose(entries, AMD64, oci_index=False)["digest"] == "plain"


def test_arm_falls_back_to_older_variants() -> None:
    entries = [_e("v6", "arm", "v6"), _e("v5", "arm", "v5")]
    assert choose(entries, Platform("linux", "arm", "v7"), oci_index=True)["digest"] == "v6"


def test_oci_index_entries_without_platform_are_a_last_resort() -> None:
    assert choose([_e("none", None), _e("x", "amd64")], AMD64, oci_index=True)["digest"] == "x"
    assert choose([_e("none", None), _e("arm", "arm64")], AMD64, oci_index=True)["digest"] == "none"
    with pytest.raises(NoMatchingPlatform):
        choose([_e("none", None)], AMD64, oci_index=False)   # a Docker list has no such fallback


def test_docker_list_first_match_wins_and_no_match_message() -> None:
    assert choose([_e("a", "amd64"), _e("b", "amd64")], AMD64, oci_index=False)["digest"] == "a"
    with pytest.raises(NoMatchingPlatform) as exc:
        choose([_e("a", "arm64", "v8")], Platform("linux", "s390x"), oci_index=True)
    assert str(exc.value) == 'no image found in image index for architecture s390x, variant "", OS linux'
    with pytest.raises(NoMatchingPlatform, match="manifest list for architecture"):
        choose([], AMD64, oci_index=False)
