"""Kubelet log rotation plan: size trigger, kept files, gzip of all but the newest rotated file."""

from __future__ import annotations

import calendar

from podbay.core.logrotation import plan_rotation, rotated_name

NOW = calendar.timegm((2026, 11, 22, 3, 4, 5, 0, 0, 0))
LOG = "/r/logs/ns_p_u/c/0.log"


def test_no_rotation_below_the_limit() -> None:
    assert plan_rotation(LOG, 99, [], NOW, max_size=100) is None


def test_first_rotation_renames_with_a_utc_stamp() -> None:
    plan = plan_rotation(LOG, 100, [], NOW, max_size=100, max_files=5)
    assert plan is not None
    assert plan.rename_to == f"{LOG}.20261122-030405" == rotated_name(LOG, NOW)
    assert plan.delete == () and plan.compress == ()


def test_keeps_max_files_minus_two_rotated_and_compresses_older_ones() -> None:
    existing = [f"{LOG}.20261122-03000{i}" for i in range(4)] + [f"{LOG}.20261122-020000.gz", f"{LOG}.x.tmp"]
    plan = plan_rotation(LOG, 500, existing, NOW, max_size=100, max_files=5)
    assert plan is not None
    # 5 files in all afterwards: the live one, the one rotated now (plain) and 3 older ones (gzip).
    assert plan.delete == (f"{LOG}.20261122-020000.gz", f"{LOG}.20261122-030000")
    assert plan.compress == (f"{LOG}.20261122-030001", f"{LOG}.20261122-030002", f"{LOG}.20261122-030003")


def test_name_clash_within_a_second_moves_the_stamp() -> None:
    plan = plan_rotation(LOG, 200, [rotated_name(LOG, NOW)], NOW, max_size=100)
    assert plan is not None and plan.rename_to == rotated_name(LOG, NOW + 1)
