"""ServiceAccounts against an in-memory store: admission, TokenRequest, verification, the token manager."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from podbay.agent.serviceaccounts import ServiceAccounts
from podbay.api import serviceaccount as admission
from podbay.core.authn import DEFAULT_ISSUER, TokenRejected
from podbay.errors import AlreadyExists, BadRequest, Conflict, Forbidden, NotFound, ValidationError
from podbay.host import jwt
from podbay.host.pki import make_signing_key

Obj = dict[str, Any]


class FakeStore:
    def __init__(self) -> None:
        self.objects: dict[tuple[str, str, str], Obj] = {}

    def get_object(self, kind: str, namespace: str, name: str) -> Obj | None:
        o = self.objects.get((kind, namespace, name))
        return copy.deepcopy(o) if o is not None else None

    def put_object(self, obj: Obj, *, create: bool = False) -> Obj:
        key = (obj["kind"], obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
        if create and key in self.objects:
            raise AlreadyExists("exists")
        self.objects[key] = copy.deepcopy(obj)
        return obj

    def delete(self, kind: str, ns: str, name: str) -> None:
        del self.objects[(kind, ns, name)]


class Clock:
    def __init__(self, t: float = 1_800_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture(scope="module")
def key() -> Any:
    pem, _ = make_signing_key()
    return serialization.load_pem_private_key(pem, password=None)


@pytest.fixture()
def env(key: Any) -> tuple[ServiceAccounts, FakeStore, Clock, list[tuple[str, Obj]]]:
    store, clock, events = FakeStore(), Clock(), []
    sas = ServiceAccounts(store, lambda t, o: events.append((t, o)), key, "CA-PEM", node_name="node1", clock=clock)
    return sas, store, clock, events


def pod(name: str = "p", uid: str = "pod-uid", **spec: Any) -> Obj:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default", "uid": uid},
            "spec": {"containers": [{"name": "c", "image": "busybox"}], **spec}}


def stored(store: FakeStore, p: Obj) -> Obj:
    store.put_object(p)
    return p


# --- default objects and admission -----------------------------------------------------------------

def test_namespace_defaults_are_created_once(env: Any) -> None:
    sas, store, _, events = env
    sas.ensure_namespace("team")
    sa = store.get_object("ServiceAccount", "team", "default")
    cm = store.get_object("ConfigMap", "team", "kube-root-ca.crt")
    assert sa is not None and sa["metadata"]["uid"]
    assert cm is not None and cm["data"] == {"ca.crt": "CA-PEM"}
    assert [t for t, _ in events] == ["ADDED", "ADDED"]
    sas.ensure_namespace("team")
    assert len(events) == 2


def test_root_ca_configmap_follows_the_ca(env: Any) -> None:
    sas, store, _, events = env
    sas.ensure_namespace("team")
    sas.ca_pem = "NEW-CA"
    sas.ensure_namespace("team")
    assert store.get_object("ConfigMap", "team", "kube-root-ca.crt")["data"] == {"ca.crt": "NEW-CA"}
    assert events[-1][0] == "MODIFIED"


def test_admission_mounts_the_kube_api_access_volume(env: Any) -> None:
    sas, _, _, _ = env
    sas.ensure_namespace("default")
    p = pod(initContainers=[{"name": "i", "image": "busybox"}])
    out = sas.admit_pod(p)
    spec = out["spec"]
    assert spec["serviceAccountName"] == "default" and spec["serviceAccount"] == "default"
    (vol,) = spec["volumes"]
    assert vol["name"].startswith("kube-api-access-") and len(vol["name"]) == len("kube-api-access-") + 5
    assert vol["projected"] == admission.kube_api_access_volume(vol["name"])["projected"]
    srcs = vol["projected"]["sources"]
    assert srcs[0] == {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}}
    assert srcs[1]["configMap"]["name"] == "kube-root-ca.crt"
    assert srcs[2]["downwardAPI"]["items"][0]["fieldRef"]["fieldPath"] == "metadata.namespace"
    for c in (*spec["containers"], *spec["initContainers"]):
        assert c["volumeMounts"] == [{"name": vol["name"], "readOnly": True, "mountPath": admission.MOUNT_PATH}]
    assert p["spec"].get("volumes") is None   # the input is not mutated


@pytest.mark.parametrize(("pod_flag", "sa_flag", "mounted"), [
    (None, None, True), (False, None, False), (None, False, False), (True, False, True), (False, True, False),
])
def test_automount_pod_setting_wins_over_the_service_accounts(env: Any, pod_flag: bool | None,
                                                              sa_flag: bool | None, mounted: bool) -> None:
    sas, store, _, _ = env
    sas.ensure_namespace("default")
    if sa_flag is not None:
        sa = store.get_object("ServiceAccount", "default", "default")
        sa["automountServiceAccountToken"] = sa_flag
        store.put_object(sa)
    spec = {} if pod_flag is None else {"automountServiceAccountToken": pod_flag}
    out = sas.admit_pod(pod(**spec))
    assert bool(out["spec"].get("volumes")) is mounted
    assert out["spec"]["serviceAccountName"] == "default"


def test_a_container_with_its_own_mount_there_is_left_alone(env: Any) -> None:
    sas, _, _, _ = env
    sas.ensure_namespace("default")
    p = pod(volumes=[{"name": "mine", "emptyDir": {}}])
    p["spec"]["containers"].append({"name": "d", "image": "busybox",
                                    "volumeMounts": [{"name": "mine", "mountPath": admission.MOUNT_PATH}]})
    out = sas.admit_pod(p)
    c, d = out["spec"]["containers"]
    assert c["volumeMounts"][0]["name"].startswith("kube-api-access-")
    assert d["volumeMounts"] == [{"name": "mine", "mountPath": admission.MOUNT_PATH}]


def test_a_missing_service_account_is_forbidden(env: Any) -> None:
    sas, _, _, _ = env
    with pytest.raises(Forbidden) as e:
        sas.admit_pod(pod(serviceAccountName="builder"))
    assert str(e.value) == ('pods "p" is forbidden: error looking up service account default/builder: '
                            'serviceaccount "builder" not found')
    with pytest.raises(Forbidden, match="service account default/default"):   # no default made on the fly
        sas.admit_pod(pod())


def test_a_pod_in_a_missing_namespace_is_left_to_namespace_lifecycle(key: Any) -> None:
    sas = ServiceAccounts(FakeStore(), None, key, "CA", namespace_exists=lambda ns: ns == "default")
    p = pod()
    p["metadata"]["namespace"] = "nowhere"
    assert sas.admit_pod(p) == p


def test_image_pull_secrets_come_from_the_service_account(env: Any) -> None:
    sas, store, _, _ = env
    store.put_object({"kind": "ServiceAccount", "metadata": {"name": "b", "namespace": "default", "uid": "u"},
                      "imagePullSecrets": [{"name": "reg"}]})
    assert sas.admit_pod(pod(serviceAccountName="b"))["spec"]["imagePullSecrets"] == [{"name": "reg"}]
    own = sas.admit_pod(pod(serviceAccountName="b", imagePullSecrets=[{"name": "mine"}]))
    assert own["spec"]["imagePullSecrets"] == [{"name": "mine"}]


# --- TokenRequest and verification -----------------------------------------------------------------

def _token(sas: ServiceAccounts, spec: Obj, name: str = "default") -> Obj:
    return sas.request_token("default", name, {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                                               "spec": spec})


def test_token_request_bound_to_a_pod(env: Any, key: Any) -> None:
    sas, store, clock, _ = env
    sas.ensure_namespace("default")
    p = stored(store, sas.admit_pod(pod()))
    out = _token(sas, {"boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": "p", "uid": "pod-uid"}})
    assert out["kind"] == "TokenRequest" and out["spec"]["expirationSeconds"] == 3600
    assert out["spec"]["audiences"] == [DEFAULT_ISSUER]
    claims = jwt.verify(out["status"]["token"], key.public_key())
    assert claims["kubernetes.io"]["pod"] == {"name": "p", "uid": "pod-uid"}
    assert claims["exp"] - claims["iat"] == 3600
    assert out["status"]["expirationTimestamp"].endswith("Z")
    user, refs = sas.authenticate(out["status"]["token"])
    assert user.name == "system:serviceaccount:default:default"
    assert refs.pod is not None and refs.pod.uid == p["metadata"]["uid"]


def test_token_request_errors(env: Any) -> None:
    sas, store, _, _ = env
    sas.ensure_namespace("default")
    stored(store, sas.admit_pod(pod()))
    with pytest.raises(ValidationError, match="may not specify a duration less than 10 minutes"):
        _token(sas, {"expirationSeconds": 60})
    with pytest.raises(NotFound, match='serviceaccounts "nope" not found'):
        _token(sas, {}, name="nope")
    with pytest.raises(Conflict, match=r"the UID in the bound object reference \(other\) does not match"):
        _token(sas, {"boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": "p", "uid": "other"}})
    with pytest.raises(BadRequest, match="cannot bind token to object of type apps/v1, Kind=Deployment"):
        _token(sas, {"boundObjectRef": {"kind": "Deployment", "apiVersion": "apps/v1", "name": "d"}})
    store.put_object({"kind": "ServiceAccount", "metadata": {"name": "other", "namespace": "default", "uid": "o"}})
    with pytest.raises(BadRequest, match='cannot bind token for serviceaccount "other" to pod running with '
                                         'serviceaccount "default"'):
        _token(sas, {"boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": "p"}}, name="other")
    with pytest.raises(NotFound, match='pods "gone" not found'):
        _token(sas, {"boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": "gone"}})


def test_expired_token_is_rejected(env: Any) -> None:
    sas, _, clock, _ = env
    sas.ensure_namespace("default")
    tok = _token(sas, {"expirationSeconds": 600})["status"]["token"]
    assert sas.authenticate(tok) is not None
    clock.t += 600 + 61
    with pytest.raises(TokenRejected, match="has expired"):
        sas.authenticate(tok)


def test_wrong_audience_is_rejected(env: Any) -> None:
    sas, _, _, _ = env
    sas.ensure_namespace("default")
    tok = _token(sas, {"audiences": ["vault"]})["status"]["token"]
    with pytest.raises(TokenRejected, match=r'token audiences \["vault"\] is invalid'):
        sas.authenticate(tok)
    user, refs = sas.authenticate(tok, ("vault",))
    assert refs.audiences == ("vault",)


def test_deleted_or_replaced_pod_invalidates_its_tokens(env: Any) -> None:
    sas, store, _, _ = env
    sas.ensure_namespace("default")
    stored(store, sas.admit_pod(pod()))
    tok = _token(sas, {"boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": "p"}})["status"]["token"]
    assert sas.authenticate(tok) is not None
    store.delete("Pod", "default", "p")
    with pytest.raises(TokenRejected, match="^service account token has been invalidated$"):
        sas.authenticate(tok)
    stored(store, sas.admit_pod(pod(uid="new-uid")))   # same name, new pod
    with pytest.raises(TokenRejected, match=r"pod UID \(new-uid\) does not match service account pod ref claim"):
        sas.authenticate(tok)


def test_deleted_or_recreated_service_account_invalidates_its_tokens(env: Any) -> None:
    sas, store, _, _ = env
    sas.ensure_namespace("default")
    tok = _token(sas, {})["status"]["token"]
    store.delete("ServiceAccount", "default", "default")
    with pytest.raises(TokenRejected, match='serviceaccounts "default" not found'):
        sas.authenticate(tok)
    sas.ensure_namespace("default")   # a new `default` with a new uid
    with pytest.raises(TokenRejected, match="service account UID .* does not match claim"):
        sas.authenticate(tok)


def test_foreign_and_tampered_tokens_are_not_ours(env: Any) -> None:
    sas, _, _, _ = env
    sas.ensure_namespace("default")
    tok = _token(sas, {})["status"]["token"]
    head, body, sig = tok.split(".")
    claims = json.loads(jwt.b64url_decode(body))
    claims["kubernetes.io"]["namespace"] = "kube-system"
    forged = ".".join([head, jwt.b64url(json.dumps(claims).encode()), sig])
    assert sas.authenticate(forged) is None
    assert sas.authenticate("not-a-jwt") is None
    other_pem, _ = make_signing_key()
    other = serialization.load_pem_private_key(other_pem, password=None)
    assert sas.authenticate(jwt.sign(claims, other)) is None


# --- the kubelet's token manager -------------------------------------------------------------------

def test_pod_tokens_are_cached_and_renewed_past_80_percent(env: Any, key: Any) -> None:
    sas, store, clock, _ = env
    sas.ensure_namespace("default")
    p = stored(store, sas.admit_pod(pod()))
    assert sas.cached_token(p, "", 3607) is None        # never issues
    t1 = sas.pod_token(p, "", 3607)
    assert sas.pod_token(p, "", 3607) == t1 == sas.cached_token(p, "", 3607)
    claims = jwt.verify(t1, key.public_key())
    assert claims["aud"] == [DEFAULT_ISSUER] and claims["kubernetes.io"]["pod"]["uid"] == "pod-uid"
    clock.t += 0.79 * 3607
    assert sas.pod_token(p, "", 3607) == t1
    clock.t += 0.02 * 3607
    assert sas.cached_token(p, "", 3607) is None        # due for renewal: the refresh issues it
    t2 = sas.pod_token(p, "", 3607)
    assert t2 != t1 and sas.authenticate(t2) is not None
    assert jwt.verify(sas.pod_token(p, "vault", 600), key.public_key())["aud"] == ["vault"]


def test_a_removed_pod_leaves_no_cached_token(env: Any) -> None:
    """tokenManager.DeleteServiceAccountToken: the agent's memory does not grow with deleted pods."""
    sas, store, _, _ = env
    sas.ensure_namespace("default")
    p = stored(store, sas.admit_pod(pod()))
    t1 = sas.pod_token(p, "", 3607)
    sas.forget_pod("pod-uid")
    assert sas._cache == {}
    assert sas.pod_token(p, "", 3607) != t1      # a new token: nothing of the old one was kept


def test_pod_token_for_a_missing_service_account_is_a_mount_error(env: Any) -> None:
    sas, _, _, _ = env
    from podbay.errors import PermanentError

    with pytest.raises(PermanentError, match='failed to fetch token: serviceaccounts "x" not found'):
        sas.pod_token(pod(serviceAccountName="x"), "", 3607)
