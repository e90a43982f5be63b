"""Query parameters as the API server decodes and validates them (pure).

Decoding mirrors apimachinery's query-parameter conversion (``runtime.Convert_Slice_string_To_*``):
the first value of a repeated parameter counts, integers go through ``strconv.ParseInt`` (its error
text becomes a 400 BadRequest), booleans are false only for ``0`` / ``false``. Validation mirrors
``ValidateListOptions``, ``ValidateDeleteOptions``, ``ValidateCreateOptions`` & co., whose errors are
422 Invalid on ``ListOptions.meta.k8s.io ""``. Unknown parameters are ignored, as upstream does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from podbay.api.fielderror import FieldError, forbidden, invalid, not_supported, too_long
from podbay.errors import BadRequest, ValidationError

Query = Mapping[str, Sequence[str]]

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)
UINT64_MAX = 2**64 - 1
FIELD_MANAGER_MAX = 128
MAX_TIMEOUT_SECONDS = 7 * 24 * 3600   # a week; Go's time.Duration would overflow far beyond it
FIELD_VALIDATIONS = ("Ignore", "Warn", "Strict")
PROPAGATIONS = ("Foreground", "Background", "Orphan")
NOT_OLDER_THAN = "NotOlderThan"
EXACT = "Exact"
_INT = re.compile(r"^[+-]?[0-9]+$")
_UINT = re.compile(r"^[0-9]+$")


def _first(q: Query, key: str) -> str | None:
    values = q.get(key)
    if not values:
        return None
    return values[0]


def parse_int64(text: str) -> int:
    """strconv.ParseInt(text, 10, 64), raising ValueError with Go's message."""
    if not _INT.match(text):
        raise ValueError(f'strconv.ParseInt: parsing "{text}": invalid syntax')
    value = int(text)
    if not INT64_MIN <= value <= INT64_MAX:
        raise ValueError(f'strconv.ParseInt: parsing "{text}": value out of range')
    return value


def parse_uint64(text: str) -> int:
    if not _UINT.match(text):
        raise ValueError(f'strconv.ParseUint: parsing "{text}": invalid syntax')
    value = int(text)
    if value > UINT64_MAX:
        raise ValueError(f'strconv.ParseUint: parsing "{text}": value out of range')
    return value


def int_param(q: Query, key: str) -> int | None:
    text = _first(q, key)
    if text is None:
        return None
    try:
        return parse_int64(text)
    except ValueError as exc:
        raise BadRequest(str(exc)) from None


def bool_param(q: Query, key: str) -> bool | None:
    """Convert_Slice_string_To_bool: absent -> None, ``0``/``false`` -> False, anything else True."""
    text = _first(q, key)
    if text is None:
        return None
    return not (text == "0" or text.lower() == "false")


def str_param(q: Query, key: str) -> str:
    return _first(q, key) or ""


def parse_resource_version(text: str) -> int:
    """APIObjectVersioner.ParseResourceVersion: "" and "0" are 0; anything else an unsigned integer."""
    if text in ("", "0"):
        return 0
    try:
        return parse_uint64(text)
    except ValueError as exc:
        raise BadRequest(f'resourceVersion: Invalid value: "{text}": {exc}') from None


def _invalid(kind: str, errs: list[FieldError]) -> ValidationError:
    return ValidationError(f"{kind}.meta.k8s.io", "", errs)


# --- list / watch ----------------------------------------------------------------------------------


@dataclass
class ListOptions:
    label_selector: str = ""
    field_selector: str = ""
    watch: bool = False
    allow_watch_bookmarks: bool = False
    resource_version: str = ""
    resource_version_match: str = ""
    timeout_seconds: int | None = None
    limit: int = 0                   # 0 = everything
    continue_token: str = ""
    send_initial_events: bool | None = None

    @property
    def rv(self) -> int:
        return parse_resource_version(self.resource_version)


def list_options(q: Query, *, watch_path: bool = False) -> ListOptions:
    """Decode and validate ``ListOptions`` (``watch_path``: the legacy /watch/ prefix means watch)."""
    opts = ListOptions(
        label_selector=str_param(q, "labelSelector"),
        field_selector=str_param(q, "fieldSelector"),
        watch=watch_path or bool(bool_param(q, "watch")),
        allow_watch_bookmarks=bool(bool_param(q, "allowWatchBookmarks")),
        resource_version=str_param(q, "resourceVersion"),
        resource_version_match=str_param(q, "resourceVersionMatch"),
        timeout_seconds=int_param(q, "timeoutSeconds"),
        limit=max(0, int_param(q, "limit") or 0),
        continue_token=str_param(q, "continue"),
        send_initial_events=bool_param(q, "sendInitialEvents"),
    )
    parse_resource_version(opts.resource_version)
    errs = _validate_watch(opts) if opts.watch else _validate_list(opts)
    if errs:
        raise _invalid("ListOptions", errs)
    if opts.continue_token and opts.resource_version not in ("", "0") and not opts.watch:
        raise BadRequest("specifying resource version is not allowed when using continue")
    if opts.timeout_seconds is not None:
        opts.timeout_seconds = min(opts.timeout_seconds, MAX_TIMEOUT_SECONDS)
    return opts


def _validate_list(o: ListOptions) -> list[FieldError]:
    errs: list[FieldError] = []
    match = o.resource_version_match
    if match:
        if not o.resource_version:
            errs.append(forbidden("resourceVersionMatch",
                                  "resourceVersionMatch is forbidden unless resourceVersion is provided"))
        if o.continue_token:
            errs.append(forbidden("resourceVersionMatch", "resourceVersionMatch is forbidden when continue is provided"))
        if match not in (EXACT, NOT_OLDER_THAN):
            errs.append(not_supported("resourceVersionMatch", match, (EXACT, NOT_OLDER_THAN, "")))
        if match == EXACT and o.resource_version == "0":
            errs.append(forbidden("resourceVersionMatch", 'resourceVersionMatch "exact" is forbidden for resourceVersion "0"'))
    if o.send_initial_events is not None:
        errs.append(forbidden("sendInitialEvents", "sendInitialEvents is forbidden for list"))
    return errs


def _validate_watch(o: ListOptions) -> list[FieldError]:
    errs: list[FieldError] = []
    match = o.resource_version_match
    if o.send_initial_events is not None:
        if match != NOT_OLDER_THAN:
            errs.append(forbidden("resourceVersionMatch",
                                  f"sendInitialEvents requires setting resourceVersionMatch to {NOT_OLDER_THAN}"))
        if o.send_initial_events and not o.allow_watch_bookmarks:
            errs.append(forbidden("allowWatchBookmarks", "sendInitialEvents requires setting allowWatchBookmarks to true"))
    if match:
        if o.send_initial_events is None:
            errs.append(forbidden("resourceVersionMatch",
                                  "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided"))
        if match != NOT_OLDER_THAN:
            errs.append(not_supported("resourceVersionMatch", match, (NOT_OLDER_THAN,)))
        if o.continue_token:
            errs.append(forbidden("resourceVersionMatch", "resourceVersionMatch is forbidden when continue is provided"))
    return errs


# --- get ---------------------------------------------------------------------------------------------


def get_options(q: Query) -> str:
    """GetOptions: only resourceVersion, which must parse."""
    rv = str_param(q, "resourceVersion")
    parse_resource_version(rv)
    return rv


# --- writes ------------------------------------------------------------------------------------------


@dataclass
class WriteOptions:
    """Create/Update/Patch options, plus what a write reports back (warnings)."""

    dry_run: bool = False
    field_manager: str = ""
    field_validation: str = "Warn"     # the API server's default since 1.27
    force: bool = False
    warnings: list[str] = field(default_factory=list)


def _dry_run(values: Sequence[str], errs: list[FieldError]) -> bool:
    bad = [v for v in values if v != "All"]
    if bad:
        errs.append(not_supported("dryRun", list(values), ("All",)))
    return bool(values)


def _field_manager(manager: str, errs: list[FieldError]) -> None:
    if len(manager.encode()) > FIELD_MANAGER_MAX:
        errs.append(too_long("fieldManager", FIELD_MANAGER_MAX))
    elif any(not ch.isprintable() for ch in manager):
        errs.append(invalid("fieldManager", manager, "must only contain printable characters"))


def write_options(q: Query, verb: str, *, apply_patch: bool = False) -> WriteOptions:
    """``verb``: create | update | patch (names the options kind in errors)."""
    kind = {"create": "CreateOptions", "update": "UpdateOptions", "patch": "PatchOptions"}[verb]
    errs: list[FieldError] = []
    opts = WriteOptions(dry_run=_dry_run(list(q.get("dryRun") or ()), errs),
                        field_manager=str_param(q, "fieldManager"))
    validation = str_param(q, "fieldValidation")
    if validation and validation not in FIELD_VALIDATIONS:
        errs.append(not_supported("fieldValidation", validation, FIELD_VALIDATIONS))
    elif validation:
        opts.field_validation = validation
    force = bool_param(q, "force")
    if verb != "patch":
        _field_manager(opts.field_manager, errs)
    opts.force = bool(force)
    if errs:
        raise _invalid(kind, errs)
    if verb == "patch":   # ValidatePatchOptions (api.patch has upstream's wording)
        from podbay.api.patch import validate_patch_options
        from podbay.api.patchtypes import APPLY_PATCH, MERGE_PATCH

        validate_patch_options(APPLY_PATCH if apply_patch else MERGE_PATCH, opts.field_manager or None, force)
    return opts


# --- delete ------------------------------------------------------------------------------------------


@dataclass
class DeleteOptions:
    grace_period_seconds: int | None = None
    uid: str | None = None                  # preconditions
    resource_version: str | None = None
    propagation_policy: str | None = None
    orphan_dependents: bool | None = None
    dry_run: bool = False
    warnings: list[str] = field(default_factory=list)   # Warning headers the delete answers with


def delete_options(q: Query, body: Mapping[str, Any] | None) -> DeleteOptions:
    """DeleteOptions from the query and the (already type-checked) body; query values win."""
    body = body or {}
    errs: list[FieldError] = []
    grace = int_param(q, "gracePeriodSeconds")
    if grace is None and body.get("gracePeriodSeconds") is not None:
        grace = int(body["gracePeriodSeconds"])
    if grace is not None and grace < 0:
        grace = 1   # rest.BeforeDelete: negative values are treated as 1s
    pre = body.get("preconditions") or {}
    policy = _first(q, "propagationPolicy")
    if policy is None:
        policy = body.get("propagationPolicy")
    orphan = bool_param(q, "orphanDependents")
    if orphan is None:
        orphan = body.get("orphanDependents")
    dry = list(q.get("dryRun") or ()) or list(body.get("dryRun") or ())
    opts = DeleteOptions(grace, pre.get("uid"), pre.get("resourceVersion"), policy, orphan, _dry_run(dry, errs))
    if policy is not None and policy not in PROPAGATIONS:
        errs.append(not_supported("propagationPolicy", policy, (*PROPAGATIONS, "nil")))
    if orphan is not None and policy is not None:
        errs.append(invalid("propagationPolicy", policy, "orphanDependents and deletionPropagation cannot be both set"))
    if errs:
        raise _invalid("DeleteOptions", errs)
    return opts


# --- pods/log ----------------------------------------------------------------------------------------


@dataclass
class LogOptions:
    container: str = ""
    follow: bool = False
    previous: bool = False
    timestamps: bool = False
    tail_lines: int | None = None
    limit_bytes: int | None = None
    since_seconds: int | None = None
    since_time: float | None = None       # epoch seconds
    stream: str = "All"


STREAMS = ("All", "Stderr", "Stdout")


def parse_rfc3339(text: str) -> float:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise BadRequest(f'parsing time "{text}" as "2006-01-02T15:04:05Z07:00": cannot parse "{text}" as '
                         '"2006"') from None


def log_options(q: Query, pod_name: str) -> LogOptions:
    """PodLogOptions decoding and ValidatePodLogOptions."""
    since_time = _first(q, "sinceTime")
    opts = LogOptions(container=str_param(q, "container"), follow=bool(bool_param(q, "follow")),
                      previous=bool(bool_param(q, "previous")), timestamps=bool(bool_param(q, "timestamps")),
                      tail_lines=int_param(q, "tailLines"), limit_bytes=int_param(q, "limitBytes"),
                      since_seconds=int_param(q, "sinceSeconds"),
                      since_time=parse_rfc3339(since_time) if since_time else None,
                      stream=_first(q, "stream") or "All")
    errs: list[FieldError] = []
    if opts.tail_lines is not None and opts.tail_lines < 0:
        errs.append(invalid("tailLines", opts.tail_lines, "must be greater than or equal to 0"))
    if opts.limit_bytes is not None and opts.limit_bytes < 1:
        errs.append(invalid("limitBytes", opts.limit_bytes, "must be greater than 0"))
    if opts.since_seconds is not None and opts.since_time is not None:
        errs.append(forbidden("", "at most one of `sinceTime` or `sinceSeconds` may be specified"))
    if opts.since_seconds is not None and opts.since_seconds < 1:
        errs.append(invalid("sinceSeconds", opts.since_seconds, "must be greater than 0"))
    if opts.stream not in STREAMS:
        errs.append(not_supported("stream", opts.stream, STREAMS))
    elif opts.stream != "All" and opts.tail_lines is not None:
        errs.append(forbidden("", "`tailLines` and specific `stream` are mutually exclusive for now"))
    if errs:
        raise ValidationError("PodLogOptions", pod_name, errs)
    return opts


# --- exec --------------------------------------------------------------------------------------------


@dataclass
class ExecOptions:
    command: list[str]
    container: str
    stdin: bool
    stdout: bool
    stderr: bool
    tty: bool


def exec_options(q: Query) -> ExecOptions:
    return ExecOptions(command=list(q.get("command") or ()), container=str_param(q, "container"),
                       stdin=bool(bool_param(q, "stdin")), stdout=bool(bool_param(q, "stdout")),
                       stderr=bool(bool_param(q, "stderr")), tty=bool(bool_param(q, "tty")))
