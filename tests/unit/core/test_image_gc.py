"""Image GC selection: thresholds, least recently used first, never an image in use."""

from __future__ import annotations

from podbay.core.image_gc import GcImage, GcPolicy, plan, prune, shortfall_message, usage_percent

GB = 1_000_000_000
NOW = 10_000.0


def _img(i: str, size: int, used: float, detected: float = 0.0, **kw: bool) -> GcImage:
    return GcImage(i, size, detected, used, **kw)


def test_below_the_high_threshold_nothing_happens() -> None:
    p = plan([_img("a", GB, 1)], capacity=100 * GB, available=16 * GB, policy=GcPolicy(), now=NOW)
    assert p.usage_percent == 84 and p.delete == () and p.to_free == 0


def test_frees_down_to_the_low_threshold_lru_first() -> None:
    images = [_img("new", 3 * GB, used=900), _img("old", 3 * GB, used=100), _img("mid", 3 * GB, used=500)]
    p = plan(images, capacity=100 * GB, available=15 * GB, policy=GcPolicy(), now=NOW)
    assert p.usage_percent == 85
    assert p.to_free == 5 * GB            # 100 * 20% - 15
    assert p.delete == ("old", "mid")     # 3 + 3 >= 5: stops there
    assert p.freed == 6 * GB and not p.shortfall


def test_never_in_use_pinned_or_young() -> None:
    images = [_img("used", GB, 1, in_use=True), _img("pulling", GB, 2, pinned=True),
              _img("young", GB, 3, detected=NOW - 60), _img("free", GB, 4, detected=NOW - 121)]
    p = plan(images, capacity=10 * GB, available=0, policy=GcPolicy(), now=NOW)
    assert p.delete == ("free",)
    assert p.shortfall and p.to_free == 2 * GB
    assert shortfall_message(p.to_free, p.freed) == (
        "Failed to garbage collect required amount of images. Attempted to free 2000000000 bytes, "
        "but only found 1000000000 bytes eligible to free.")


def test_ties_by_first_detected_and_disabled_at_100() -> None:
    images = [_img("b", GB, 0, detected=50), _img("a", GB, 0, detected=10)]
    assert plan(images, 10 * GB, 0, GcPolicy(high_threshold=90, low_threshold=0, min_age=0), NOW).delete == ("a", "b")
    assert plan(images, 10 * GB, 0, GcPolicy(high_threshold=100, low_threshold=0, min_age=0), NOW).delete == ()


def test_prune_removes_every_unused_image() -> None:
    images = [_img("x", 5, 0), _img("y", 7, 0, in_use=True), _img("z", 9, 0)]
    p = prune(images, NOW)
    assert set(p.delete) == {"x", "z"} and p.freed == 14
    assert usage_percent(0, 0) == 0
