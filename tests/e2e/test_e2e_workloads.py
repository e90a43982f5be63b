"""Workloads end to end, driven by kubectl 1.37 as a user would (issue 8): Deployments (rolling
update, rollout status/history/undo/restart/pause, scale, cascading delete), StatefulSets with
claims, Jobs (completions, back-off limit, Indexed), CronJobs, DaemonSets, and node fit."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from kube import Kube

BUSYBOX = "busybox:1.35"
AGAIN = "docker.io/library/busybox:1.35-again"   # the same image under a second tag: a rolling update


@pytest.fixture(scope="module", autouse=True)
def second_tag(agent: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    import subprocess
    import sys

    from e2e_harness import REPO

    tar = tmp_path_factory.mktemp("img") / "again.tar"
    subprocess.run([sys.executable, "-m", "podbay.images.testimage", str(tar), "--ref", AGAIN], check=True,
                   env={"PYTHONPATH": str(REPO / "src"), "PATH": "/usr/bin:/bin"}, capture_output=True)
    agent.pb("image", "load", str(tar))


def wait(fn: Callable[[], Any], timeout: float = 60, every: float = 0.3, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what or fn}: last {last!r}")


def get(kube: Kube, *args: str) -> Any:
    res = kube.kubectl("get", *args, "-o", "json", check=False)
    return json.loads(res.stdout) if res.returncode == 0 else None


def apply(kube: Kube, manifest: str) -> str:
    return kube.kubectl("apply", "-f", "-", input=manifest).stdout


def pods(kube: Kube, selector: str) -> list[dict[str, Any]]:
    return list((get(kube, "pods", "-l", selector) or {}).get("items") or [])


def deployment(name: str, replicas: int, image: str = BUSYBOX, strategy: str = "", extra: str = "") -> str:
    return f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
spec:
  replicas: {replicas}
  selector:
    matchLabels: {{app: {name}}}
{strategy}  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: {image}
        command: ["sleep", "3600"]
{extra}"""


def test_deployment_rollout_status_history_undo_and_cascading_delete(kube: Kube) -> None:
    out = apply(kube, deployment("web", 3))
    assert out.strip() == "deployment.apps/web created"
    status = kube.kubectl("rollout", "status", "deployment/web", "--timeout=90s").stdout
    lines = status.strip().splitlines()
    assert lines[-1] == 'deployment "web" successfully rolled out'
    assert all(line.startswith("Waiting for deployment ") for line in lines[:-1])
    got = kube.kubectl("get", "deploy", "web").stdout.splitlines()
    assert got[0].split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert got[1].split()[:4] == ["web", "3/3", "3", "3"]
    wide = kube.kubectl("get", "deploy", "web", "-o", "wide").stdout.splitlines()
    assert wide[0].split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"]
    assert wide[1].split()[-3:] == ["main", BUSYBOX, "app=web"]
    rs = get(kube, "rs", "-l", "app=web")["items"]
    assert len(rs) == 1 and rs[0]["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
    name = rs[0]["metadata"]["name"]
    assert kube.kubectl("get", "rs").stdout.splitlines()[0].split() == ["NAME", "DESIRED", "CURRENT", "READY", "AGE"]

    kube.kubectl("set", "env", "deployment/web", "STAGE=two")
    kube.kubectl("annotate", "deployment/web", "kubernetes.io/change-cause=stage two")
    kube.kubectl("rollout", "status", "deployment/web", "--timeout=90s")
    history = kube.kubectl("rollout", "history", "deployment/web").stdout
    assert history.splitlines()[0] == "deployment.apps/web "
    assert "REVISION  CHANGE-CAUSE" in history
    assert kube.kubectl("rollout", "undo", "deployment/web").stdout.strip() == "deployment.apps/web rolled back"
    kube.kubectl("rollout", "status", "deployment/web", "--timeout=90s")
    active = [r for r in get(kube, "rs", "-l", "app=web")["items"] if r["spec"]["replicas"] > 0]
    assert [r["metadata"]["name"] for r in active] == [name]
    assert active[0]["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"

    assert kube.kubectl("scale", "deployment/web", "--replicas=1").stdout.strip() == "deployment.apps/web scaled"
    wait(lambda: len([p for p in pods(kube, "app=web") if not p["metadata"].get("deletionTimestamp")]) == 1,
         what="scale down to 1")
    assert kube.kubectl("rollout", "pause", "deployment/web").stdout.strip() == "deployment.apps/web paused"
    res = kube.kubectl("rollout", "restart", "deployment/web", check=False)
    assert res.returncode != 0 and "can't restart paused deployment (run rollout resume first)" in res.stderr
    assert kube.kubectl("rollout", "resume", "deployment/web").stdout.strip() == "deployment.apps/web resumed"
    assert kube.kubectl("rollout", "restart", "deployment/web").stdout.strip() == "deployment.apps/web restarted"
    kube.kubectl("rollout", "status", "deployment/web", "--timeout=90s")

    kube.kubectl("delete", "deployment", "web")
    wait(lambda: get(kube, "rs", "-l", "app=web")["items"] == [] and pods(kube, "app=web") == [],
         timeout=60, what="replica sets and pods to go")


def test_rolling_update_of_five_never_drops_below_four_available(kube: Kube) -> None:
    apply(kube, deployment("roll", 5))
    kube.kubectl("rollout", "status", "deployment/roll", "--timeout=120s")
    low: list[int] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            d = get(kube, "deployment", "roll")
            if d is not None:
                low.append(int(d["status"].get("availableReplicas") or 0))
            time.sleep(0.1)

    t = threading.Thread(target=watch, daemon=True)
    t.start()
    kube.kubectl("set", "image", "deployment/roll", f"main={AGAIN}")
    kube.kubectl("rollout", "status", "deployment/roll", "--timeout=180s")
    stop.set()
    t.join(5)
    assert low and min(low) >= 4
    images = {p["spec"]["containers"][0]["image"] for p in pods(kube, "app=roll") if not p["metadata"].get("deletionTimestamp")}
    assert images == {AGAIN}
    kube.kubectl("delete", "deployment", "roll")


def test_stateful_set_in_order_with_claims_that_outlive_pods(kube: Kube) -> None:
    apply(kube, f"""apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
spec:
  replicas: 3
  serviceName: db
  selector:
    matchLabels: {{app: db}}
  template:
    metadata:
      labels: {{app: db}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: {BUSYBOX}
        command: ["sh", "-c", "echo $HOSTNAME > /data/who; sleep 3600"]
        volumeMounts: [{{name: data, mountPath: /data}}]
  volumeClaimTemplates:
  - metadata: {{name: data}}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {{requests: {{storage: 16Mi}}}}
""")
    status = kube.kubectl("rollout", "status", "statefulset/db", "--timeout=120s").stdout
    assert status.strip().splitlines()[-1] == "partitioned roll out complete: 3 new pods have been updated..."
    ps = sorted(pods(kube, "app=db"), key=lambda p: p["metadata"]["name"])
    assert [p["metadata"]["name"] for p in ps] == ["db-0", "db-1", "db-2"]
    started = [p["status"]["containerStatuses"][0]["state"]["running"]["startedAt"] for p in ps]
    assert started == sorted(started)
    assert ps[1]["metadata"]["labels"]["statefulset.kubernetes.io/pod-name"] == "db-1"
    assert ps[1]["metadata"]["labels"]["apps.kubernetes.io/pod-index"] == "1"
    assert ps[1]["spec"]["hostname"] == "db-1" and ps[1]["spec"]["subdomain"] == "db"
    claims = get(kube, "pvc", "-l", "app=db")["items"]
    assert sorted(c["metadata"]["name"] for c in claims) == ["data-db-0", "data-db-1", "data-db-2"]
    assert {c["status"]["phase"] for c in claims} == {"Bound"}
    volumes = {c["spec"]["volumeName"] for c in claims}
    pvs = wait(lambda: [v for v in get(kube, "pv")["items"] if v["metadata"]["name"] in volumes] if len(
        [v for v in get(kube, "pv")["items"] if v["metadata"]["name"] in volumes]) == 3 else None, what="3 PVs")
    assert sorted(v["spec"]["claimRef"]["name"] for v in pvs) == ["data-db-0", "data-db-1", "data-db-2"]
    table = kube.kubectl("get", "pv").stdout.splitlines()
    assert table[0].split() == ["NAME", "CAPACITY", "ACCESS", "MODES", "RECLAIM", "POLICY", "STATUS", "CLAIM",
                                "STORAGECLASS", "VOLUMEATTRIBUTESCLASS", "REASON", "AGE"]
    assert any(r.split()[1:7] == ["16Mi", "RWO", "Delete", "Bound", "default/data-db-1", "podbay-local"]
               for r in table[1:])
    assert kube.kubectl("exec", "db-1", "--", "cat", "/data/who").stdout.strip() == "db-1"
    kube.kubectl("scale", "statefulset/db", "--replicas=1")
    wait(lambda: [p["metadata"]["name"] for p in pods(kube, "app=db")] == ["db-0"], timeout=60, what="scale down")
    claims = get(kube, "pvc", "-l", "app=db")["items"]
    assert sorted(c["metadata"]["name"] for c in claims) == ["data-db-0", "data-db-1", "data-db-2"]
    kube.kubectl("delete", "statefulset", "db")
    wait(lambda: pods(kube, "app=db") == [], timeout=60, what="pods to go")
    assert len(get(kube, "pvc", "-l", "app=db")["items"]) == 3   # Retain: the claims outlive the set
    kube.kubectl("delete", "pvc", "-l", "app=db")
    wait(lambda: not [v for v in get(kube, "pv")["items"] if v["metadata"]["name"] in volumes], what="PVs to go")


def test_the_built_in_storage_class_and_a_claim_of_an_unknown_class(kube: Kube) -> None:
    rows = [r.split() for r in kube.kubectl("get", "sc").stdout.splitlines()]
    assert rows[0] == ["NAME", "PROVISIONER", "RECLAIMPOLICY", "VOLUMEBINDINGMODE", "ALLOWVOLUMEEXPANSION", "AGE"]
    assert rows[1][:6] == ["podbay-local", "(default)", "podbay.io/local-path", "Delete", "WaitForFirstConsumer",
                           "false"]
    apply(kube, """apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: gold}
spec:
  storageClassName: gold
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Mi}}
""")
    events = wait(lambda: [e for e in get(kube, "events", "--field-selector", "involvedObject.name=gold")["items"]
                           if e["reason"] == "ProvisioningFailed"], what="ProvisioningFailed")
    assert events[0]["message"] == 'storageclass.storage.k8s.io "gold" not found'
    assert events[0]["source"]["component"] == "persistentvolume-controller"
    assert get(kube, "pvc", "gold")["status"]["phase"] == "Pending"
    kube.kubectl("delete", "pvc", "gold")


def job(name: str, command: str, extra: str = "", restart: str = "Never") -> str:
    return f"""apiVersion: batch/v1
kind: Job
metadata:
  name: {name}
spec:
{extra}  template:
    spec:
      restartPolicy: {restart}
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: {BUSYBOX}
        command: ["sh", "-c", "{command}"]
"""


def test_job_with_completions_and_parallelism_completes(kube: Kube) -> None:
    apply(kube, job("five", "sleep 0.5", "  completions: 5\n  parallelism: 2\n"))
    kube.kubectl("wait", "--for=condition=complete", "job/five", "--timeout=120s")
    j = get(kube, "job", "five")
    assert j["status"]["succeeded"] == 5
    assert [c["type"] for c in j["status"]["conditions"]] == ["SuccessCriteriaMet", "Complete"]
    row = kube.kubectl("get", "job", "five").stdout.splitlines()
    assert row[0].split() == ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"]
    assert row[1].split()[:3] == ["five", "Complete", "5/5"]
    assert len(pods(kube, "batch.kubernetes.io/job-name=five")) == 5
    out = kube.kubectl("delete", "job", "five").stdout
    assert out.strip() == 'job.batch "five" deleted from default namespace'
    wait(lambda: pods(kube, "batch.kubernetes.io/job-name=five") == [], timeout=30, what="pods to go")


def test_indexed_job_gives_each_pod_its_index(kube: Kube) -> None:
    apply(kube, job("idx", "echo index=$JOB_COMPLETION_INDEX", "  completions: 3\n  parallelism: 3\n  completionMode: Indexed\n"))
    kube.kubectl("wait", "--for=condition=complete", "job/idx", "--timeout=120s")
    seen = {}
    for p in pods(kube, "batch.kubernetes.io/job-name=idx"):
        ix = p["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"]
        assert p["metadata"]["labels"]["batch.kubernetes.io/job-completion-index"] == ix
        assert p["spec"]["hostname"] == f"idx-{ix}"
        seen[ix] = kube.kubectl("logs", p["metadata"]["name"]).stdout.strip()
    assert seen == {"0": "index=0", "1": "index=1", "2": "index=2"}
    assert get(kube, "job", "idx")["status"]["completedIndexes"] == "0-2"
    kube.kubectl("delete", "job", "idx")


def test_job_back_off_limit_exceeded(kube: Kube) -> None:
    apply(kube, job("fails", "exit 3", "  backoffLimit: 2\n"))
    kube.kubectl("wait", "--for=condition=failed", "job/fails", "--timeout=120s")
    j = get(kube, "job", "fails")
    failed = [c for c in j["status"]["conditions"] if c["type"] == "Failed"]
    assert (failed[0]["reason"], failed[0]["message"]) == ("BackoffLimitExceeded", "Job has reached the specified backoff limit")
    assert j["status"]["failed"] == 3
    kube.kubectl("delete", "job", "fails")


def test_daemon_set_and_unschedulable_pod(kube: Kube) -> None:
    apply(kube, f"""apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: agent
spec:
  selector:
    matchLabels: {{app: agent}}
  template:
    metadata:
      labels: {{app: agent}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: {BUSYBOX}
        command: ["sleep", "3600"]
""")
    status = kube.kubectl("rollout", "status", "daemonset/agent", "--timeout=90s").stdout
    assert status.strip().splitlines()[-1] == 'daemon set "agent" successfully rolled out'
    (p,) = pods(kube, "app=agent")
    assert p["status"]["phase"] == "Running"
    row = kube.kubectl("get", "ds", "agent").stdout.splitlines()
    assert row[0].split() == ["NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "NODE", "SELECTOR", "AGE"]
    assert row[1].split()[:6] == ["agent", "1", "1", "1", "1", "1"]
    kube.kubectl("delete", "ds", "agent")

    kube.kubectl("run", "picky", f"--image={BUSYBOX}", "--overrides",
                 json.dumps({"spec": {"nodeSelector": {"disktype": "ssd"}}}), "--", "sleep", "3600")
    msg = ("0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. no new claims to deallocate, "
           "preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.")

    def failed_scheduling() -> bool:
        evs = get(kube, "events", "--field-selector", "involvedObject.name=picky,reason=FailedScheduling")
        return bool(evs and evs["items"])

    wait(failed_scheduling, timeout=30, what="FailedScheduling")
    pod = get(kube, "pod", "picky")
    assert pod["status"]["phase"] == "Pending" and "nodeName" not in pod["spec"]
    cond = [c for c in pod["status"]["conditions"] if c["type"] == "PodScheduled"][0]
    assert (cond["status"], cond["reason"], cond["message"]) == ("False", "Unschedulable", msg)
    described = kube.kubectl("describe", "pod", "picky").stdout
    assert "FailedScheduling" in described and "default-scheduler" in described
    kube.kubectl("delete", "pod", "picky", "--wait=true", "--timeout=30s")


@pytest.mark.slow
def test_cron_job_every_minute_keeps_its_history(kube: Kube) -> None:
    apply(kube, f"""apiVersion: batch/v1
kind: CronJob
metadata:
  name: tick
spec:
  schedule: "*/1 * * * *"
  successfulJobsHistoryLimit: 1
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
          - name: main
            image: {BUSYBOX}
            command: ["true"]
""")

    def complete_jobs() -> list[str]:
        items = (get(kube, "jobs") or {}).get("items") or []
        return [j["metadata"]["name"] for j in items if j["metadata"]["name"].startswith("tick-")
                and any(c["type"] == "Complete" for c in j["status"].get("conditions") or [])]

    first = wait(complete_jobs, timeout=150, every=2, what="a first job")
    wait(lambda: complete_jobs() and complete_jobs() != first, timeout=150, every=2, what="a second job")
    assert len(complete_jobs()) == 1   # successfulJobsHistoryLimit 1
    row = kube.kubectl("get", "cj", "tick").stdout.splitlines()
    assert row[0].split() == ["NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST", "SCHEDULE", "AGE"]
    kube.kubectl("delete", "cj", "tick")


def test_job_deleted_without_a_policy_orphans_its_pods_with_the_warning(kube: Kube) -> None:
    apply(kube, job("keep", "true"))
    kube.kubectl("wait", "--for=condition=complete", "job/keep", "--timeout=60s")
    # A client that names no propagationPolicy (kubectl always sends one): batch/v1 Jobs orphan.
    with kube.python_client() as api:
        method, url, headers, body, _ = api.param_serialize("DELETE", "/apis/batch/v1/namespaces/default/jobs/keep",
                                                            auth_settings=["BearerToken"])
        resp = api.call_api(method, url, header_params=headers, body=body)
        resp.read()
    assert resp.status == 200
    assert resp.getheader("Warning") == (
        '299 - "child pods are preserved by default when jobs are deleted; set propagationPolicy=Background to '
        'remove them or set propagationPolicy=Orphan to suppress this warning"')
    wait(lambda: get(kube, "job", "keep") is None, timeout=30, what="the job to go")
    left = wait(lambda: [p for p in pods(kube, "batch.kubernetes.io/job-name=keep")
                         if not p["metadata"].get("ownerReferences")], timeout=30, what="an orphaned pod")
    assert len(left) == 1 and not left[0]["metadata"].get("deletionTimestamp")
    kube.kubectl("delete", "pod", "-l", "batch.kubernetes.io/job-name=keep")


def test_delete_f_of_a_multi_document_file_removes_everything(kube: Kube, tmp_path: Any) -> None:
    path = tmp_path / "stack.yaml"
    path.write_text(deployment("stack", 2) + "---\n" + job("stack-init", "true") + """---
apiVersion: v1
kind: ConfigMap
metadata: {name: stack-config}
data: {a: b}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: stack-agent}
spec:
  selector: {matchLabels: {app: stack-agent}}
  template:
    metadata: {labels: {app: stack-agent}}
    spec:
      terminationGracePeriodSeconds: 1
      containers: [{name: main, image: busybox:1.35, command: [sleep, "3600"]}]
""")
    out = kube.kubectl("apply", "-f", str(path)).stdout.splitlines()
    assert out == ["deployment.apps/stack created", "job.batch/stack-init created", "configmap/stack-config created",
                   "daemonset.apps/stack-agent created"]
    kube.kubectl("rollout", "status", "deployment/stack", "--timeout=60s")
    kube.kubectl("wait", "--for=condition=complete", "job/stack-init", "--timeout=60s")
    out = kube.kubectl("delete", "-f", str(path)).stdout.splitlines()
    assert out == ['deployment.apps "stack" deleted from default namespace',
                   'job.batch "stack-init" deleted from default namespace',
                   'configmap "stack-config" deleted from default namespace',
                   'daemonset.apps "stack-agent" deleted from default namespace']
    every = ("app=stack", "batch.kubernetes.io/job-name=stack-init", "app=stack-agent")
    wait(lambda: all(pods(kube, s) == [] for s in every) and get(kube, "rs", "-l", "app=stack")["items"] == [],
         timeout=60, what="every dependent to go")
    assert get(kube, "controllerrevisions", "-l", "app=stack-agent")["items"] == []


def test_kubectl_create_deployment_and_scale(kube: Kube) -> None:
    out = kube.kubectl("create", "deployment", "made", f"--image={BUSYBOX}", "--replicas=2", "--", "sleep", "3600")
    assert out.stdout.strip() == "deployment.apps/made created"
    kube.kubectl("rollout", "status", "deployment/made", "--timeout=60s")
    assert kube.kubectl("scale", "deployment/made", "--replicas=3").stdout.strip() == "deployment.apps/made scaled"
    kube.kubectl("rollout", "status", "deployment/made", "--timeout=60s")
    assert get(kube, "deployment", "made")["status"]["readyReplicas"] == 3
    kube.kubectl("delete", "deployment", "made", "--wait=false")


def test_create_job_and_cronjob_and_describe(kube: Kube) -> None:
    out = kube.kubectl("create", "job", "once", f"--image={BUSYBOX}", "--", "true").stdout
    assert out.strip() == "job.batch/once created"
    kube.kubectl("wait", "--for=condition=complete", "job/once", "--timeout=60s")
    desc = kube.kubectl("describe", "job", "once").stdout
    assert re.search(r"^Pods Statuses:\s+0 Active \(0 Ready\) / 1 Succeeded / 0 Failed$", desc, re.M), desc
    assert re.search(r"Normal\s+SuccessfulCreate\s+\S+\s+job-controller\s+Created pod: once-", desc), desc
    assert re.search(r"Normal\s+Completed\s+\S+\s+job-controller\s+Job completed", desc), desc
    out = kube.kubectl("create", "cronjob", "nightly", f"--image={BUSYBOX}", "--schedule=0 3 * * *", "--", "true").stdout
    assert out.strip() == "cronjob.batch/nightly created"
    row = kube.kubectl("get", "cj", "nightly").stdout.splitlines()
    assert row[0].split() == ["NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST", "SCHEDULE", "AGE"]
    assert row[1].split()[:7] == ["nightly", "0", "3", "*", "*", "*", "<none>"]
    out = kube.kubectl("create", "job", "manual", "--from=cronjob/nightly").stdout
    assert out.strip() == "job.batch/manual created"
    kube.kubectl("wait", "--for=condition=complete", "job/manual", "--timeout=60s")
    manual = get(kube, "job", "manual")
    assert manual["metadata"]["annotations"]["cronjob.kubernetes.io/instantiate"] == "manual"
    assert manual["metadata"]["ownerReferences"][0]["kind"] == "CronJob"
    kube.kubectl("delete", "cronjob", "nightly")
    wait(lambda: get(kube, "job", "manual") is None, timeout=30, what="the cronjob's job to go with it")
    kube.kubectl("delete", "job", "once")

    apply(kube, deployment("described", 1))
    kube.kubectl("rollout", "status", "deployment/described", "--timeout=60s")
    desc = kube.kubectl("describe", "deployment", "described").stdout
    assert re.search(r"^Replicas:\s+1 desired \| 1 updated \| 1 total \| 1 available \| 0 unavailable$", desc, re.M), desc
    assert re.search(r"^StrategyType:\s+RollingUpdate$", desc, re.M)
    assert re.search(r"^RollingUpdateStrategy:\s+25% max unavailable, 25% max surge$", desc, re.M)
    assert re.search(r"^\s+Progressing\s+True\s+NewReplicaSetAvailable$", desc, re.M), desc
    assert re.search(r"^NewReplicaSet:\s+described-[a-z0-9]+ \(1/1 replicas created\)$", desc, re.M), desc
    assert re.search(r"Normal\s+ScalingReplicaSet\s+\S+\s+deployment-controller\s+Scaled up replica set "
                     r"described-[a-z0-9]+ from 0 to 1", desc), desc
    kube.kubectl("delete", "deployment", "described")
