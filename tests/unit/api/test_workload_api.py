"""Defaulting and validation of the workload kinds, with the API server's exact messages."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from podbay.api import apps, batch, storage, support
from podbay.api.podtemplate import default_pod_template

Obj = dict[str, Any]


def tmpl(labels: dict[str, str] | None = None, **spec: Any) -> Obj:
    return {"metadata": {"labels": {"app": "web"} if labels is None else labels},
            "spec": {"containers": [{"name": "c", "image": "nginx:1.25"}], **spec}}


def deploy(**spec: Any) -> Obj:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"},
            "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": tmpl(), **spec}}


def msgs(errs: list[Any]) -> list[str]:
    return [str(e) for e in errs]


# ---------------------------------------------------------------------------------------------- templates


def test_template_defaults_are_pod_defaults_without_the_pod_only_parts() -> None:
    t = default_pod_template({"metadata": {}, "spec": {"containers": [
        {"name": "c", "image": "x:1", "resources": {"limits": {"cpu": "1"}}}]}})
    spec = t["spec"]
    assert spec["restartPolicy"] == "Always" and spec["dnsPolicy"] == "ClusterFirst"
    assert spec["terminationGracePeriodSeconds"] == 30 and spec["schedulerName"] == "default-scheduler"
    assert spec["securityContext"] == {}
    assert "enableServiceLinks" not in spec
    c = spec["containers"][0]
    assert c["imagePullPolicy"] == "IfNotPresent" and c["terminationMessagePath"] == "/dev/termination-log"
    assert c["resources"] == {"limits": {"cpu": "1"}}  # requests are copied from limits only on Pods


# ---------------------------------------------------------------------------------------------- Deployment


def test_deployment_defaults() -> None:
    d = apps.default_deployment(deploy())
    assert d["spec"]["replicas"] == 1
    assert d["spec"]["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}
    assert d["spec"]["revisionHistoryLimit"] == 10 and d["spec"]["progressDeadlineSeconds"] == 600
    r = apps.default_deployment(deploy(strategy={"type": "Recreate"}))
    assert r["spec"]["strategy"] == {"type": "Recreate"}
    assert apps.validate_deployment(d) == []


@pytest.mark.parametrize(("change", "expected"), [
    (lambda d: d["spec"]["template"]["metadata"].update(labels={"app": "other"}),
     ['spec.template.metadata.labels: Invalid value: map[string]string{"app":"other"}: `selector` does not match template `labels`']),
    (lambda d: d["spec"].update(selector={}),
     ["spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), "
      "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment"]),
    (lambda d: d["spec"].pop("selector"), ["spec.selector: Required value"]),
    (lambda d: d["spec"]["template"]["spec"].update(restartPolicy="Never"),
     ['spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"']),
    (lambda d: d["spec"].update(strategy={"type": "Recreate", "rollingUpdate": {}}),
     ["spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'"]),
    (lambda d: d["spec"].update(strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 0}}),
     ['spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:0, IntVal:0, StrVal:""}: '
      "may not be 0 when `maxSurge` is 0"]),
    (lambda d: d["spec"].update(strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": "125%"}}),
     ['spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:"125%"}: '
      "must not be greater than 100%"]),
    (lambda d: d["spec"].update(strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25", "maxUnavailable": 1}}),
     ['spec.strategy.rollingUpdate.maxSurge: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:"25"}: '
      "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', "
      "regex used for validation is '[0-9]+%')"]),
    (lambda d: d["spec"].update(strategy={"type": "BlueGreen"}),
     ['spec.strategy: Unsupported value: "BlueGreen": supported values: "Recreate", "RollingUpdate"']),
    (lambda d: d["spec"].update(replicas=-1), ["spec.replicas: Invalid value: -1: must be greater than or equal to 0"]),
    (lambda d: d["spec"].update(minReadySeconds=600),
     ["spec.progressDeadlineSeconds: Invalid value: 600: must be greater than minReadySeconds"]),
    (lambda d: d["spec"]["template"]["spec"].update(activeDeadlineSeconds=5),
     ["spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in ReplicaSet is not Supported"]),
    (lambda d: d["spec"]["template"]["spec"]["containers"][0].update(image=""),
     ["spec.template.spec.containers[0].image: Required value"]),
])
def test_deployment_validation(change: Any, expected: list[str]) -> None:
    d = deploy()
    change(d)
    assert msgs(apps.validate_deployment(apps.default_deployment(d))) == expected


def test_deployment_selector_is_immutable() -> None:
    old = apps.default_deployment(deploy())
    new = copy.deepcopy(old)
    new["spec"]["selector"] = {"matchLabels": {"app": "web", "tier": "x"}}
    new["spec"]["template"]["metadata"]["labels"]["tier"] = "x"
    assert msgs(apps.validate_deployment_update(new, old)) == [
        'spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"web", "tier":"x"}, '
        "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable"]
    scaled = copy.deepcopy(old)
    scaled["spec"]["replicas"] = 5
    assert apps.validate_deployment_update(scaled, old) == []


# ---------------------------------------------------------------------------------------------- ReplicaSet / RC


def test_replication_controller_takes_selector_and_labels_from_the_template() -> None:
    rc = apps.default_replication_controller({"apiVersion": "v1", "kind": "ReplicationController",
                                              "metadata": {"name": "r", "namespace": "default"},
                                              "spec": {"template": tmpl({"app": "r"})}})
    assert rc["spec"]["selector"] == {"app": "r"} and rc["metadata"]["labels"] == {"app": "r"} and rc["spec"]["replicas"] == 1
    assert apps.validate_replication_controller(rc) == []
    rc["spec"]["selector"] = {"app": "x"}
    assert msgs(apps.validate_replication_controller(rc)) == [
        'spec.template.metadata.labels: Invalid value: map[string]string{"app":"r"}: `selector` does not match template `labels`']


def test_replica_set_validation() -> None:
    rs = apps.default_replica_set({"metadata": {"name": "r", "namespace": "default"},
                                   "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": tmpl()}})
    assert apps.validate_replica_set(rs) == []
    rs["status"] = {"replicas": 1, "readyReplicas": 2, "availableReplicas": 1}
    assert msgs(apps.validate_replica_set_status(rs)) == [
        "status.readyReplicas: Invalid value: 2: cannot be greater than status.replicas"]


# ---------------------------------------------------------------------------------------------- StatefulSet


def sts(**spec: Any) -> Obj:
    return {"metadata": {"name": "web", "namespace": "default"},
            "spec": {"serviceName": "nginx", "selector": {"matchLabels": {"app": "web"}}, "template": tmpl(),
                     "volumeClaimTemplates": [{"metadata": {"name": "www"}, "spec": {
                         "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}], **spec}}


def test_stateful_set_defaults_and_validation() -> None:
    s = apps.default_stateful_set(sts())
    spec = s["spec"]
    assert spec["podManagementPolicy"] == "OrderedReady" and spec["replicas"] == 1 and spec["revisionHistoryLimit"] == 10
    assert spec["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"partition": 0, "maxUnavailable": 1}}
    assert spec["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}
    (ct,) = spec["volumeClaimTemplates"]
    assert ct["apiVersion"] == "v1" and ct["kind"] == "PersistentVolumeClaim"
    assert ct["spec"]["volumeMode"] == "Filesystem" and ct["status"] == {"phase": "Pending"}
    assert apps.validate_stateful_set(s) == []
    on_delete = apps.default_stateful_set(sts(updateStrategy={"type": "OnDelete"}))
    assert on_delete["spec"]["updateStrategy"] == {"type": "OnDelete"}
    bad = apps.default_stateful_set(sts(podManagementPolicy="Random", selector={}))
    assert msgs(apps.validate_stateful_set(bad)) == [
        'spec.podManagementPolicy: Unsupported value: "Random": supported values: "OrderedReady", "Parallel"',
        "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), "
        "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for statefulset"]


def test_stateful_set_update_rules() -> None:
    old = apps.default_stateful_set(sts())
    new = copy.deepcopy(old)
    new["spec"]["replicas"] = 3
    new["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:2"
    assert apps.validate_stateful_set_update(new, old) == []
    new["spec"]["serviceName"] = "other"
    assert msgs(apps.validate_stateful_set_update(new, old)) == [
        "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', "
        "'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"]


# ---------------------------------------------------------------------------------------------- DaemonSet


def test_daemon_set_defaults_validation_and_template_generation() -> None:
    ds = apps.default_daemon_set({"metadata": {"name": "d", "namespace": "default"},
                                  "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": tmpl()}})
    assert ds["spec"]["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}
    assert apps.validate_daemon_set(ds) == []
    apps.daemon_set_template_generation(ds, None)
    assert ds["metadata"]["annotations"][apps.TEMPLATE_GENERATION] == "1"
    new = copy.deepcopy(ds)
    new["spec"]["template"]["spec"]["containers"][0]["image"] = "x:2"
    apps.daemon_set_template_generation(new, ds)
    assert new["metadata"]["annotations"][apps.TEMPLATE_GENERATION] == "2"
    ds["spec"]["updateStrategy"]["rollingUpdate"] = {"maxUnavailable": 1, "maxSurge": 1}
    assert msgs(apps.validate_daemon_set(ds)) == [
        "spec.updateStrategy.rollingUpdate.maxSurge: Invalid value: intstr.IntOrString{Type:0, IntVal:1, StrVal:\"\"}: "
        "may not be set when maxUnavailable is non-zero"]


# ---------------------------------------------------------------------------------------------- Job


def job(**spec: Any) -> Obj:
    return {"metadata": {"name": "pi", "namespace": "default", "uid": "u1"},
            "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "perl"}]}}, **spec}}


def test_job_defaults_and_generated_selector() -> None:
    j = batch.prepare_job_create(batch.default_job(job()))
    spec = j["spec"]
    assert (spec["completions"], spec["parallelism"], spec["backoffLimit"]) == (1, 1, 6)
    assert spec["completionMode"] == "NonIndexed" and spec["suspend"] is False
    assert spec["podReplacementPolicy"] == "TerminatingOrFailed"
    assert spec["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": "u1"}}
    assert spec["template"]["metadata"]["labels"] == {
        "job-name": "pi", "batch.kubernetes.io/job-name": "pi", "controller-uid": "u1",
        "batch.kubernetes.io/controller-uid": "u1"}
    assert j["status"] == {}
    assert "labels" not in j["metadata"]  # the template had no label map to share
    assert batch.validate_job(j) == []
    only_par = batch.default_job(job(parallelism=3))
    assert only_par["spec"].get("completions") is None
    shared = batch.prepare_job_create(batch.default_job(job(template={"metadata": {"labels": {"x": "y"}},
                                                                      "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "perl"}]}})))
    assert shared["metadata"]["labels"]["x"] == "y" and shared["metadata"]["labels"]["job-name"] == "pi"


@pytest.mark.parametrize(("spec", "expected"), [
    ({"template": {"spec": {"containers": [{"name": "c", "image": "perl"}]}}},
     ['spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"']),
    ({"completionMode": "Indexed", "parallelism": 2},
     ["spec.completions: Required value: when completion mode is Indexed"]),
    ({"backoffLimit": -1}, ["spec.backoffLimit: Invalid value: -1: must be greater than or equal to 0"]),
    ({"backoffLimitPerIndex": 1, "completionMode": "Indexed", "completions": 2},
     ["spec.backoffLimitPerIndex: Forbidden: a backoff limit per index is not supported by podbay"]),
    ({"podFailurePolicy": {"rules": [{"action": "FailJob"}]}},
     ["spec.podFailurePolicy.rules[0]: Invalid value: specifying one of OnExitCodes and OnPodConditions is required"]),
])
def test_job_validation(spec: Obj, expected: list[str]) -> None:
    j = batch.prepare_job_create(batch.default_job(job(**spec)))
    assert msgs(support.admit("Job", j, None, batch.validate_job(j))) == expected


def test_job_update_rules() -> None:
    old = batch.prepare_job_create(batch.default_job(job()))
    old["status"] = {"startTime": "2024-01-01T00:00:00Z"}
    new = copy.deepcopy(old)
    new["spec"]["template"]["spec"]["containers"][0]["image"] = "other"
    assert "spec.template: Invalid value: field is immutable" in msgs(batch.validate_job_update(new, old))
    new = copy.deepcopy(old)
    new["spec"]["suspend"] = True
    new["spec"]["parallelism"] = 4
    assert batch.validate_job_update(new, old) == []


# ---------------------------------------------------------------------------------------------- CronJob


def cronjob(name: str = "hello", **spec: Any) -> Obj:
    return {"metadata": {"name": name, "namespace": "default"},
            "spec": {"schedule": "*/1 * * * *", "jobTemplate": {"spec": {"template": {"spec": {
                "restartPolicy": "OnFailure", "containers": [{"name": "c", "image": "busybox"}]}}}}, **spec}}


def test_cron_job_defaults_and_validation() -> None:
    cj = batch.default_cron_job(cronjob())
    assert (cj["spec"]["concurrencyPolicy"], cj["spec"]["suspend"], cj["spec"]["successfulJobsHistoryLimit"],
            cj["spec"]["failedJobsHistoryLimit"]) == ("Allow", False, 3, 1)
    assert "parallelism" not in cj["spec"]["jobTemplate"]["spec"]
    assert batch.validate_cron_job(cj) == []


@pytest.mark.parametrize(("cj", "expected"), [
    (cronjob(schedule="*/1 * * *"), ['spec.schedule: Invalid value: "*/1 * * *": expected exactly 5 fields, found 4: [*/1 * * *]']),
    (cronjob(schedule="TZ=UTC 0 * * * *"),
     ['spec.schedule: Invalid value: "TZ=UTC 0 * * * *": cannot use TZ or CRON_TZ in schedule, use timeZone field instead']),
    (cronjob(timeZone="Mars/Olympus"), ['spec.timeZone: Invalid value: "Mars/Olympus": unknown time zone Mars/Olympus']),
    (cronjob(timeZone="Local"),
     ['spec.timeZone: Invalid value: "Local": timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones']),
    (cronjob(name="x" * 53), [f'metadata.name: Invalid value: "{"x" * 53}": must be no more than 52 characters']),
    (cronjob(concurrencyPolicy="Sometimes"),
     ['spec.concurrencyPolicy: Unsupported value: "Sometimes": supported values: "Allow", "Forbid", "Replace"']),
    (cronjob(schedule="@every 5m"), []),
    (cronjob(schedule="@weekly", timeZone="Europe/Berlin"), []),
])
def test_cron_job_validation(cj: Obj, expected: list[str]) -> None:
    assert msgs(batch.validate_cron_job(batch.default_cron_job(cj))) == expected


# ---------------------------------------------------------------------------------------------- storage


def test_storage_class() -> None:
    sc = storage.builtin_storage_class()
    assert storage.is_default_class(sc)
    assert storage.validate_storage_class(sc) == []
    d = storage.default_storage_class({"metadata": {"name": "fast"}, "provisioner": "example.com/ssd"})
    assert (d["reclaimPolicy"], d["volumeBindingMode"]) == ("Delete", "Immediate")
    bad = {"metadata": {"name": "x"}, "provisioner": "", "reclaimPolicy": "Recycle", "volumeBindingMode": "Later"}
    assert msgs(storage.validate_storage_class(bad)) == [
        "provisioner: Required value",
        'reclaimPolicy: Unsupported value: "Recycle": supported values: "Delete", "Retain"',
        'volumeBindingMode: Unsupported value: "Later": supported values: "Immediate", "WaitForFirstConsumer"']
    new = copy.deepcopy(sc)
    new["reclaimPolicy"] = "Retain"
    assert msgs(storage.validate_storage_class_update(new, sc)) == ["reclaimPolicy: Forbidden: updates to reclaimPolicy are forbidden."]


def test_persistent_volume_for_a_claim() -> None:
    claim = {"metadata": {"name": "data", "namespace": "default", "uid": "c-1", "resourceVersion": "4"},
             "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}},
                      "storageClassName": "podbay-local", "volumeMode": "Filesystem"}}
    pv = storage.persistent_volume_for(claim, "/var/lib/podbay/claims/c-1", "node1", "2024-01-01T00:00:00Z")
    assert pv["metadata"]["name"] == "pvc-c-1"
    assert pv["spec"]["claimRef"]["name"] == "data" and pv["spec"]["capacity"] == {"storage": "1Gi"}
    assert pv["status"]["phase"] == "Bound"
    assert storage.validate_persistent_volume(pv) == []
    assert msgs(storage.validate_persistent_volume({"metadata": {"name": "p"}, "spec": {}})) == [
        "spec.accessModes: Required value", "spec.capacity: Required value", "spec: Required value: must specify a volume type"]


# ---------------------------------------------------------------------------------------------- scale


def test_scale_view_and_update() -> None:
    from podbay.api import scale

    d = apps.default_deployment(deploy(replicas=3))
    d["metadata"].update(uid="u", resourceVersion="7", creationTimestamp="2024-01-01T00:00:00Z")
    d["status"] = {"replicas": 2}
    d["spec"]["selector"] = {"matchLabels": {"app": "web", "tier": "fe"}}
    assert scale.scale_of(d) == {
        "kind": "Scale", "apiVersion": "autoscaling/v1",
        "metadata": {"name": "web", "namespace": "default", "uid": "u", "resourceVersion": "7",
                     "creationTimestamp": "2024-01-01T00:00:00Z"},
        "spec": {"replicas": 3}, "status": {"replicas": 2, "selector": "app=web,tier=fe"}}
    rc = {"kind": "ReplicationController", "metadata": {"name": "r"}, "spec": {"replicas": 1, "selector": {"app": "r"}}}
    assert scale.scale_of(rc)["status"]["selector"] == "app=r"
    assert msgs(scale.validate_scale({"spec": {"replicas": -1}})) == [
        "spec.replicas: Invalid value: -1: must be greater than or equal to 0"]
    new = scale.apply_scale(d, {"metadata": {"resourceVersion": "6"}, "spec": {"replicas": 5}})
    assert new["spec"]["replicas"] == 5 and new["metadata"]["resourceVersion"] == "6"


def test_provisioning_decisions() -> None:
    classes = {"podbay-local": storage.builtin_storage_class(),
               "ssd": {"metadata": {"name": "ssd"}, "provisioner": "ebs.csi.aws.com", "volumeBindingMode": "Immediate"}}
    claim = {"metadata": {"uid": "c1"}, "spec": {"storageClassName": "podbay-local"}}
    assert storage.provisioning_decision(claim, classes, False) == (
        "wait", ("Normal", "WaitForFirstConsumer", "waiting for first consumer to be created before binding"))
    assert storage.provisioning_decision(claim, classes, True) == (
        "provision", ("Normal", "ProvisioningSucceeded", "Successfully provisioned volume pvc-c1 using podbay.io/local-path"))
    assert storage.provisioning_decision({"spec": {"storageClassName": "fast"}}, classes, True) == (
        "pending", ("Warning", "ProvisioningFailed", 'storageclass.storage.k8s.io "fast" not found'))
    kind, ev = storage.provisioning_decision({"spec": {"storageClassName": "ssd"}}, classes, True)
    assert kind == "pending" and ev is not None and ev[1] == "ExternalProvisioning" and "'ebs.csi.aws.com'" in ev[2]
