"""Query parameters decoded and validated as the API server does (issue 11 item 5)."""

from __future__ import annotations

import pytest

from podbay.api import query
from podbay.errors import BadRequest, ValidationError


def q(**kw: str | list[str]) -> dict[str, list[str]]:
    return {k: v if isinstance(v, list) else [v] for k, v in kw.items()}


@pytest.mark.parametrize(("params", "message"), [
    ({"timeoutSeconds": "nan"}, 'strconv.ParseInt: parsing "nan": invalid syntax'),
    ({"timeoutSeconds": "1e3"}, 'strconv.ParseInt: parsing "1e3": invalid syntax'),
    ({"limit": "abc"}, 'strconv.ParseInt: parsing "abc": invalid syntax'),
    ({"limit": "99999999999999999999"}, 'strconv.ParseInt: parsing "99999999999999999999": value out of range'),
    ({"resourceVersion": "abc"}, 'resourceVersion: Invalid value: "abc": strconv.ParseUint: parsing "abc": '
                                 'invalid syntax'),
    ({"resourceVersion": "-1"}, 'strconv.ParseUint: parsing "-1": invalid syntax'),
])
def test_unparsable_list_parameters_are_bad_requests(params: dict[str, str], message: str) -> None:
    with pytest.raises(BadRequest) as exc:
        query.list_options(q(**params))
    assert message in str(exc.value)


def test_list_options_decoding() -> None:
    o = query.list_options(q(labelSelector="a=b", fieldSelector="metadata.name=x", watch="True", limit="-1",
                             timeoutSeconds="5", allowWatchBookmarks="1", resourceVersion="12"))
    assert (o.label_selector, o.field_selector, o.watch, o.limit, o.timeout_seconds, o.allow_watch_bookmarks,
            o.rv) == ("a=b", "metadata.name=x", True, 0, 5, True, 12)
    assert query.list_options(q(watch="false")).watch is False
    assert query.list_options(q(watch="0")).watch is False
    assert query.list_options({}, watch_path=True).watch is True
    assert query.list_options(q(timeoutSeconds=str(10**12))).timeout_seconds == query.MAX_TIMEOUT_SECONDS


@pytest.mark.parametrize(("params", "message"), [
    ({"resourceVersionMatch": "Exact"}, "resourceVersionMatch is forbidden unless resourceVersion is provided"),
    ({"resourceVersionMatch": "Sometime", "resourceVersion": "1"},
     'resourceVersionMatch: Unsupported value: "Sometime": supported values: "Exact", "NotOlderThan", ""'),
    ({"sendInitialEvents": "true"}, "sendInitialEvents: Forbidden: sendInitialEvents is forbidden for list"),
    ({"watch": "1", "sendInitialEvents": "true", "allowWatchBookmarks": "true"},
     "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"),
    ({"watch": "1", "sendInitialEvents": "true", "resourceVersionMatch": "NotOlderThan"},
     "sendInitialEvents requires setting allowWatchBookmarks to true"),
    ({"watch": "1", "resourceVersionMatch": "NotOlderThan"},
     "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided"),
])
def test_invalid_list_options_are_422(params: dict[str, str], message: str) -> None:
    with pytest.raises(ValidationError) as exc:
        query.list_options(q(**params))
    assert str(exc.value).startswith('ListOptions.meta.k8s.io "" is invalid: ')
    assert message in str(exc.value)


def test_continue_with_a_resource_version_is_refused() -> None:
    with pytest.raises(BadRequest, match="specifying resource version is not allowed when using continue"):
        query.list_options(q(**{"continue": "abc", "resourceVersion": "5"}))


def test_write_options() -> None:
    o = query.write_options(q(dryRun="All", fieldManager="me", fieldValidation="Strict"), "create")
    assert (o.dry_run, o.field_manager, o.field_validation) == (True, "me", "Strict")
    assert query.write_options({}, "update").field_validation == "Warn"
    with pytest.raises(ValidationError, match='CreateOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: '
                                              r'\[\]string\{"Some"\}: supported values: "All"'):
        query.write_options(q(dryRun="Some"), "create")
    with pytest.raises(ValidationError, match='fieldValidation: Unsupported value: "Loose"'):
        query.write_options(q(fieldValidation="Loose"), "update")
    with pytest.raises(ValidationError, match="fieldManager: Too long"):
        query.write_options(q(fieldManager="m" * 200), "create")


def test_patch_options_follow_validate_patch_options() -> None:
    from podbay.api.patch import PatchError

    with pytest.raises(PatchError, match="fieldManager: Required value: is required for apply patch"):
        query.write_options({}, "patch", apply_patch=True)
    with pytest.raises(PatchError, match="force: Forbidden: may not be specified for non-apply patch"):
        query.write_options(q(force="true"), "patch")
    assert query.write_options(q(fieldManager="kubectl", force="true"), "patch", apply_patch=True).force


def test_delete_options() -> None:
    o = query.delete_options(q(gracePeriodSeconds="5"), {"preconditions": {"uid": "u", "resourceVersion": "3"},
                                                          "propagationPolicy": "Foreground"})
    assert (o.grace_period_seconds, o.uid, o.resource_version, o.propagation_policy) == (5, "u", "3", "Foreground")
    assert query.delete_options({}, {"gracePeriodSeconds": 7}).grace_period_seconds == 7
    # rest.BeforeDelete: a negative grace period means 1s.
    assert query.delete_options(q(gracePeriodSeconds="-5"), None).grace_period_seconds == 1
    assert query.delete_options(q(dryRun="All"), None).dry_run
    assert query.delete_options({}, {"dryRun": ["All"]}).dry_run
    with pytest.raises(BadRequest, match='strconv.ParseInt: parsing "soon"'):
        query.delete_options(q(gracePeriodSeconds="soon"), None)
    with pytest.raises(ValidationError) as exc:
        query.delete_options(q(propagationPolicy="bogus"), None)
    assert str(exc.value) == ('DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: '
                              '"bogus": supported values: "Foreground", "Background", "Orphan", "nil"')
    with pytest.raises(ValidationError, match="orphanDependents and deletionPropagation cannot be both set"):
        query.delete_options(q(orphanDependents="true", propagationPolicy="Orphan"), None)


def test_log_options() -> None:
    o = query.log_options(q(container="c", follow="true", tailLines="10", limitBytes="100", sinceSeconds="5",
                            timestamps="1"), "web")
    assert (o.container, o.follow, o.tail_lines, o.limit_bytes, o.since_seconds, o.timestamps) == \
        ("c", True, 10, 100, 5, True)
    assert query.log_options(q(sinceTime="2026-01-01T00:00:00Z"), "web").since_time == 1767225600.0
    with pytest.raises(BadRequest, match='strconv.ParseInt: parsing "abc"'):
        query.log_options(q(tailLines="abc"), "web")
    for params, msg in ((q(tailLines="-1"), "tailLines: Invalid value: -1: must be greater than or equal to 0"),
                        (q(limitBytes="0"), "limitBytes: Invalid value: 0: must be greater than 0"),
                        (q(sinceSeconds="0"), "sinceSeconds: Invalid value: 0: must be greater than 0"),
                        (q(sinceSeconds="1", sinceTime="2026-01-01T00:00:00Z"), "at most one of `sinceTime` or"),
                        (q(stream="Both"), 'stream: Unsupported value: "Both"')):
        with pytest.raises(ValidationError) as exc:
            query.log_options(params, "web")
        assert str(exc.value).startswith('PodLogOptions "web" is invalid: ') and msg in str(exc.value)
    with pytest.raises(BadRequest, match='parsing time "yesterday"'):
        query.log_options(q(sinceTime="yesterday"), "web")


def test_get_options_validate_the_resource_version() -> None:
    assert query.get_options(q(resourceVersion="0")) == "0"
    with pytest.raises(BadRequest):
        query.get_options(q(resourceVersion="x"))
