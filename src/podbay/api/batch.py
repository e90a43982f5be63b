"""``batch/v1`` Job and CronJob: defaulting (pkg/apis/batch/v1/defaults.go), the selector the
apiserver generates for a Job (``generateSelector``), and validation (pkg/apis/batch/validation)
in upstream's words. Fields podbay cannot run are rejected, never ignored."""

from __future__ import annotations

import copy
import re
from typing import Any

from podbay.api import cron, gorepr, labelselector, names
from podbay.api.apps import IMMUTABLE, _d, _int, nonnegative
from podbay.api.fielderror import OMIT_VALUE, FieldError, invalid, not_supported, required
from podbay.api.podtemplate import default_pod_template, template_labels, validate_pod_template
from podbay.api.validation import (
    validate_annotations,
    validate_labels,
    validate_object_meta,
    validate_object_meta_update,
)

Obj = dict[str, Any]
Errs = list[FieldError]

JOB_NAME_LABEL = "batch.kubernetes.io/job-name"
CONTROLLER_UID_LABEL = "batch.kubernetes.io/controller-uid"
LEGACY_JOB_NAME_LABEL = "job-name"
LEGACY_CONTROLLER_UID_LABEL = "controller-uid"
MAX_PARALLELISM_INDEXED = 100_000
MAX_INT32 = 2**31 - 1
_TZ_PART = re.compile(r"^[A-Za-z.\-_0-9+]{1,14}$")


# ---------------------------------------------------------------------------------------------- Job


def default_job(obj: Obj) -> Obj:
    """``SetDefaults_Job`` plus the template's pod defaults."""
    out = copy.deepcopy(obj)
    spec = out.setdefault("spec", {})
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
        spec["parallelism"] = 1
    spec.setdefault("parallelism", 1)
    if spec.get("backoffLimit") is None:
        spec["backoffLimit"] = MAX_INT32 if spec.get("backoffLimitPerIndex") is not None else 6
    tlabels = template_labels(spec.get("template"))
    md = out.setdefault("metadata", {})
    if tlabels is not None and not md.get("labels"):
        md["_labels_from_template"] = True  # resolved in prepare_job_create (Go shares the map)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    pfp = spec.get("podFailurePolicy")
    for rule in _d(pfp).get("rules") or []:
        for pat in _d(rule).get("onPodConditions") or []:
            if isinstance(pat, dict) and not pat.get("status"):
                pat["status"] = "True"
    if spec.get("podReplacementPolicy") is None:
        spec["podReplacementPolicy"] = "Failed" if pfp is not None else "TerminatingOrFailed"
    spec["template"] = default_pod_template(spec.get("template"))
    return out


def prepare_job_create(job: Obj) -> Obj:
    """``jobStrategy.PrepareForCreate``: a fresh status and, unless ``manualSelector``, the
    generated selector and the four job labels on the template. A Job without labels of its own
    took the template's label map at defaulting; in Go it is the same map, so it ends up with the
    generated labels too (as ``kubectl get job -o yaml`` shows)."""
    md = job.setdefault("metadata", {})
    share = md.pop("_labels_from_template", False)
    job["status"] = {}
    spec = job.setdefault("spec", {})
    if spec.get("manualSelector") is not True:
        generate_selector(job)
    if share:
        md["labels"] = dict(template_labels(spec.get("template")) or {})
    return job


def generate_selector(job: Obj) -> None:
    """``generateSelector``."""
    md = _d(job.get("metadata"))
    name, uid = str(md.get("name") or ""), str(md.get("uid") or "")
    template = job["spec"].setdefault("template", {})
    tmd = template.setdefault("metadata", {})
    lbl = tmd.setdefault("labels", {})
    for key in (LEGACY_JOB_NAME_LABEL, JOB_NAME_LABEL):
        lbl.setdefault(key, name)
    for key in (LEGACY_CONTROLLER_UID_LABEL, CONTROLLER_UID_LABEL):
        lbl.setdefault(key, uid)
    sel = job["spec"].get("selector")
    if not isinstance(sel, dict):
        sel = job["spec"]["selector"] = {}
    ml = sel.setdefault("matchLabels", {})
    ml.setdefault(CONTROLLER_UID_LABEL, uid)


def _has_label(tlabels: dict[str, str], key: str, want: str) -> Errs:
    """``ValidateHasLabel``."""
    path = f"spec.template.metadata.labels[{key}]"
    if key not in tlabels:
        return [required(path, want)]
    if tlabels[key] != want:
        return [invalid(path, gorepr.labels(tlabels), want)]
    return []


def _validate_generated_selector(job: Obj) -> Errs:
    spec = _d(job.get("spec"))
    if spec.get("manualSelector") is True or spec.get("selector") is None:
        return []
    md = _d(job.get("metadata"))
    errs: Errs = []
    if not md.get("uid"):
        errs.append(required("metadata.uid"))
    tl = template_labels(spec.get("template")) or {}
    errs += _has_label(tl, CONTROLLER_UID_LABEL, str(md.get("uid") or ""))
    errs += _has_label(tl, JOB_NAME_LABEL, str(md.get("name") or ""))
    expected = {CONTROLLER_UID_LABEL: str(md.get("uid") or ""), JOB_NAME_LABEL: str(md.get("name") or "")}
    if not labelselector.matches(spec.get("selector"), expected):
        errs.append(invalid("spec.selector", gorepr.label_selector(spec.get("selector")), "`selector` not auto-generated"))
    return errs


def _validate_pod_failure_policy(spec: Obj, path: str) -> Errs:
    errs: Errs = []
    rules = _d(spec.get("podFailurePolicy")).get("rules") or []
    if len(rules) > 20:
        errs.append(invalid(f"{path}.rules", len(rules), "must have at most 20 items"))
    for i, rule in enumerate(rules):
        rp = f"{path}.rules[{i}]"
        rule = _d(rule)
        action = rule.get("action")
        actions = ["Count", "FailIndex", "FailJob", "Ignore"]
        if action == "FailIndex":
            errs.append(invalid(f"{rp}.action", action, "requires the backoffLimitPerIndex to be set"))
        elif action not in actions:
            errs.append(not_supported(f"{rp}.action", action, actions))
        codes, conds = rule.get("onExitCodes"), rule.get("onPodConditions")
        if codes is not None and conds is not None:
            errs.append(invalid(rp, OMIT_VALUE, "specifying both OnExitCodes and OnPodConditions is not supported"))
        elif codes is None and not conds:
            errs.append(invalid(rp, OMIT_VALUE, "specifying one of OnExitCodes and OnPodConditions is required"))
        if codes is not None:
            cp = f"{rp}.onExitCodes"
            codes = _d(codes)
            op = codes.get("operator")
            if op not in ("In", "NotIn"):
                errs.append(not_supported(f"{cp}.operator", op, ["In", "NotIn"]))
            values = codes.get("values") or []
            if not values:
                errs.append(required(f"{cp}.values", "at least one value is required"))
            prev = None
            for j, v in enumerate(values):
                if op == "In" and v == 0:
                    errs.append(invalid(f"{cp}.values[{j}]", v, "must not be 0 for the In operator"))
                if prev is not None and _int(v) is not None and v <= prev:
                    errs.append(invalid(f"{cp}.values[{j}]", v, "must be ordered"))
                prev = v if _int(v) is not None else prev
        for j, pat in enumerate(conds or []):
            pp = f"{rp}.onPodConditions[{j}]"
            pat = _d(pat)
            if not pat.get("type"):
                errs.append(required(f"{pp}.type"))
            st = pat.get("status")
            if st not in ("True", "False", "Unknown"):
                errs.append(not_supported(f"{pp}.status", st, ["True", "False", "Unknown"]))
    return errs


def _validate_success_policy(spec: Obj, path: str) -> Errs:
    errs: Errs = []
    if spec.get("completionMode") != "Indexed":
        return [invalid(path, OMIT_VALUE, "requires indexed completion mode")]
    rules = _d(spec.get("successPolicy")).get("rules") or []
    if not rules:
        errs.append(required(f"{path}.rules", "at least one rules must be specified when the successPolicy is specified"))
    for i, rule in enumerate(rules):
        rule = _d(rule)
        rp = f"{path}.rules[{i}]"
        idx, count = rule.get("succeededIndexes"), rule.get("succeededCount")
        if idx is None and count is None:
            errs.append(required(rp, "at least one of succeededCount or succeededIndexes must be specified"))
        if count is not None and (_int(count) is None or count < 0):
            errs.append(invalid(f"{rp}.succeededCount", count, NEGATIVE_MSG))
    return errs


NEGATIVE_MSG = "must be greater than or equal to 0"


def validate_job_spec(spec: Obj, path: str = "spec", *, in_template: bool = False) -> Errs:
    """``validateJobSpec`` (+ ``ValidateJobSpec``'s selector checks outside a CronJob template)."""
    errs: Errs = []
    errs += nonnegative(spec, "parallelism", f"{path}.parallelism")
    errs += nonnegative(spec, "completions", f"{path}.completions")
    errs += nonnegative(spec, "activeDeadlineSeconds", f"{path}.activeDeadlineSeconds")
    errs += nonnegative(spec, "backoffLimit", f"{path}.backoffLimit")
    errs += nonnegative(spec, "ttlSecondsAfterFinished", f"{path}.ttlSecondsAfterFinished")
    mode = spec.get("completionMode")
    if mode is not None and mode not in ("NonIndexed", "Indexed"):
        errs.append(not_supported(f"{path}.completionMode", mode, ["NonIndexed", "Indexed"]))
    if mode == "Indexed":
        if spec.get("completions") is None:
            errs.append(required(f"{path}.completions", "when completion mode is Indexed"))
        par = _int(spec.get("parallelism"))
        if par is not None and par > MAX_PARALLELISM_INDEXED:
            errs.append(invalid(f"{path}.parallelism", par,
                                f"must be less than or equal to {MAX_PARALLELISM_INDEXED} when completion mode is Indexed"))
    # backoffLimitPerIndex, maxFailedIndexes, scheduling: refused by the support table (api/support.py)
    if spec.get("podFailurePolicy") is not None:
        errs += _validate_pod_failure_policy(spec, f"{path}.podFailurePolicy")
    if spec.get("successPolicy") is not None:
        errs += _validate_success_policy(spec, f"{path}.successPolicy")
    prp = spec.get("podReplacementPolicy")
    if prp is not None:
        if spec.get("podFailurePolicy") is not None and prp != "Failed":
            errs.append(not_supported(f"{path}.podReplacementPolicy", prp, ["Failed"]))
        elif prp not in ("Failed", "TerminatingOrFailed"):
            errs.append(not_supported(f"{path}.podReplacementPolicy", prp, ["Failed", "TerminatingOrFailed"]))
    mb = spec.get("managedBy")
    if isinstance(mb, str) and len(mb) > 63:
        errs.append(invalid(f"{path}.managedBy", mb, "must be no more than 63 characters"))
    errs += validate_pod_template(spec.get("template"), f"{path}.template")
    rp = _d(_d(spec.get("template")).get("spec")).get("restartPolicy")
    rpp = f"{path}.template.spec.restartPolicy"
    if rp in ("Always", "", None):
        errs.append(required(rpp, 'valid values: "OnFailure", "Never"'))
    elif rp not in ("OnFailure", "Never"):
        errs.append(not_supported(rpp, rp, ["OnFailure", "Never"]))
    elif spec.get("podFailurePolicy") is not None and rp != "Never":
        errs.append(invalid(rpp, rp, 'only "Never" is supported when podFailurePolicy is specified'))
    if not in_template:
        sel = spec.get("selector")
        if sel is None:
            errs.append(required(f"{path}.selector"))
        else:
            errs += labelselector.validate_label_selector(sel, f"{path}.selector")
            tl = template_labels(spec.get("template")) or {}
            if not labelselector.matches(sel, tl):
                errs.append(invalid(f"{path}.template.metadata.labels", gorepr.labels(tl),
                                    "`selector` does not match template `labels`"))
    return errs


def validate_job(job: Obj) -> Errs:
    """``ValidateJob`` on a defaulted, prepared Job."""
    errs = validate_object_meta(job.get("metadata"), namespaced=True)
    errs += _validate_generated_selector(job)
    spec = _d(job.get("spec"))
    errs += validate_job_spec(spec)
    comp = _int(spec.get("completions"))
    if spec.get("completionMode") == "Indexed" and comp is not None and comp > 0:
        name = str(_d(job.get("metadata")).get("name") or "")
        hostname = f"{name}-{comp - 1}"
        if names.is_dns1123_label(hostname):
            errs.append(invalid("metadata.name", name, f"will not able to create pod with invalid DNS label: {hostname}"))
    return errs


def validate_job_update(new: Obj, old: Obj) -> Errs:
    """``ValidateJobUpdate``: selector immutable; completions only with parallelism for Indexed
    Jobs; the template only while suspended and never started (mutable scheduling directives)."""
    errs = validate_object_meta_update(new.get("metadata"), old.get("metadata"))
    errs += validate_job(new)
    ns, os_ = _d(new.get("spec")), _d(old.get("spec"))
    if ns.get("selector") != os_.get("selector"):
        errs.append(invalid("spec.selector", gorepr.label_selector(ns.get("selector")), IMMUTABLE))
    if ns.get("completions") != os_.get("completions"):
        elastic = (ns.get("completionMode") == "Indexed" and ns.get("completions") == ns.get("parallelism")
                   and os_.get("completions") == os_.get("parallelism"))
        if not elastic:
            errs.append(invalid("spec.completions", ns.get("completions"), IMMUTABLE))
    if ns.get("template") != os_.get("template"):
        started = bool(_d(old.get("status")).get("startTime"))
        if not (os_.get("suspend") is True and not started):
            errs.append(invalid("spec.template", OMIT_VALUE, IMMUTABLE))
    for key in ("completionMode", "podFailurePolicy", "podReplacementPolicy", "successPolicy", "managedBy"):
        if key in ("podFailurePolicy", "successPolicy") and ns.get(key) is not None and os_.get(key) is None:
            continue
        if ns.get(key) != os_.get(key):
            val = ns.get(key)
            errs.append(invalid(f"spec.{key}", val if isinstance(val, (str, int)) else OMIT_VALUE, IMMUTABLE))
    return errs


def validate_job_status(job: Obj) -> Errs:
    st = _d(job.get("status"))
    errs: Errs = []
    for key in ("active", "succeeded", "failed", "ready", "terminating"):
        errs += nonnegative(st, key, f"status.{key}")
    return errs


# ---------------------------------------------------------------------------------------------- CronJob


def default_cron_job(obj: Obj) -> Obj:
    """``SetDefaults_CronJob`` (the job template's pod spec is defaulted; its JobSpec is not)."""
    out = copy.deepcopy(obj)
    spec = out.setdefault("spec", {})
    if not spec.get("concurrencyPolicy"):
        spec["concurrencyPolicy"] = "Allow"
    spec.setdefault("suspend", False)
    spec.setdefault("successfulJobsHistoryLimit", 3)
    spec.setdefault("failedJobsHistoryLimit", 1)
    jt = spec.setdefault("jobTemplate", {})
    if isinstance(jt, dict):
        js = jt.setdefault("spec", {})
        if isinstance(js, dict):
            js["template"] = default_pod_template(js.get("template"))
    return out


def validate_time_zone(tz: Any, path: str) -> Errs:
    """``validateTimeZone``."""
    if tz is None:
        return []
    if not isinstance(tz, str) or not tz:
        return [invalid(path, tz, "timeZone must be nil or non-empty string")]
    for part in tz.split("/"):
        if part in (".", "..") or part.startswith("-") or not _TZ_PART.match(part):
            return [invalid(path, tz, f"unknown time zone {tz}")]
    errs: Errs = []
    if tz.lower() == "local":
        errs.append(invalid(path, tz, "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones"))
        return errs
    try:
        cron.load_location(tz)
    except cron.CronError as exc:
        errs.append(invalid(path, tz, str(exc)))
    return errs


def validate_schedule(schedule: str, tz: Any, path: str, allow_tz: bool) -> Errs:
    """``validateScheduleFormat``."""
    errs: Errs = []
    try:
        cron.parse_standard(schedule)
    except cron.CronError as exc:
        errs.append(invalid(path, schedule, str(exc)))
    if allow_tz and "TZ" in schedule and tz is not None:
        errs.append(invalid(path, schedule, "cannot use both timeZone field and TZ or CRON_TZ in schedule"))
    elif not allow_tz and "TZ" in schedule:
        errs.append(invalid(path, schedule, "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"))
    return errs


def _validate_cron_job_spec(spec: Obj, old: Obj | None) -> Errs:
    errs: Errs = []
    schedule = spec.get("schedule")
    if not schedule:
        errs.append(required("spec.schedule"))
    else:
        allow_tz = old is not None and "TZ" in str(old.get("schedule") or "")
        errs += validate_schedule(str(schedule), spec.get("timeZone"), "spec.schedule", allow_tz)
    errs += nonnegative(spec, "startingDeadlineSeconds", "spec.startingDeadlineSeconds")
    if old is None or old.get("timeZone") != spec.get("timeZone"):
        errs += validate_time_zone(spec.get("timeZone"), "spec.timeZone")
    cp = spec.get("concurrencyPolicy")
    if not cp:
        errs.append(required("spec.concurrencyPolicy"))
    elif cp not in ("Allow", "Forbid", "Replace"):
        errs.append(not_supported("spec.concurrencyPolicy", cp, ["Allow", "Forbid", "Replace"]))
    jt = _d(spec.get("jobTemplate"))
    js = _d(jt.get("spec"))
    jmd = _d(jt.get("metadata"))
    errs += validate_labels(jmd.get("labels"), "spec.jobTemplate.metadata.labels")
    errs += validate_annotations(jmd.get("annotations"), "spec.jobTemplate.metadata.annotations")
    errs += validate_job_spec(js, "spec.jobTemplate.spec", in_template=True)
    if js.get("selector") is not None:
        errs.append(invalid("spec.jobTemplate.spec.selector", gorepr.label_selector(js["selector"]), "`selector` will be auto-generated"))
    if js.get("manualSelector") is True:
        errs.append(not_supported("spec.jobTemplate.spec.manualSelector", True, ["nil", "false"]))
    errs += nonnegative(spec, "successfulJobsHistoryLimit", "spec.successfulJobsHistoryLimit")
    errs += nonnegative(spec, "failedJobsHistoryLimit", "spec.failedJobsHistoryLimit")
    return errs


def validate_cron_job(cj: Obj) -> Errs:
    """``ValidateCronJobCreate``."""
    errs = validate_object_meta(cj.get("metadata"), namespaced=True)
    errs += _validate_cron_job_spec(_d(cj.get("spec")), None)
    name = str(_d(cj.get("metadata")).get("name") or "")
    if len(name) > 52:
        errs.append(invalid("metadata.name", name, "must be no more than 52 characters"))
    return errs


def validate_cron_job_update(new: Obj, old: Obj) -> Errs:
    """``ValidateCronJobUpdate``."""
    errs = validate_object_meta_update(new.get("metadata"), old.get("metadata"))
    errs += _validate_cron_job_spec(_d(new.get("spec")), _d(old.get("spec")))
    return errs

