"""ServiceAccounts on one node: bound tokens (TokenRequest), their verification, the admission, the defaults.

What kube-apiserver and the controllers do around ServiceAccounts, for one host:
- TokenRequest (``serviceaccounts/{name}/token``): a JWT signed with the agent's key, bound to a pod,
  secret or node when asked (pkg/registry/core/serviceaccount/storage/token.go);
- verification (the ServiceAccount JWT authenticator + validator.Validate): signature, time, audience,
  and the ServiceAccount and bound objects still existing with the claimed uid;
- the ServiceAccount admission (podbay.api.serviceaccount) on pod create;
- the ``default`` ServiceAccount and the ``kube-root-ca.crt`` ConfigMap in every namespace (the
  serviceaccounts and root-ca-cert-publisher controllers);
- the kubelet's token manager: one cached token per pod/audience/lifetime, renewed past 80 % of its life.

Objects are read and written through a narrow ObjectStore port (the agent's store today; the generic
registry after the API framework lands).
"""

from __future__ import annotations

import calendar
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any, Protocol

from podbay.agent.registry import Registry
from podbay.api import serviceaccount as admission
from podbay.core import authn
from podbay.core.authn import BoundRefs, Ref, TokenRejected, UserInfo
from podbay.errors import (
    AlreadyExists,
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    PermanentError,
    ValidationError,
)
from podbay.host import jwt

Obj = dict[str, Any]
STANDARD_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


class ObjectStore(Protocol):
    def get_object(self, kind: str, namespace: str, name: str) -> Obj | None: ...

    def put_object(self, obj: Obj, *, create: bool = False) -> Obj: ...


class RegistryObjects:
    """The ObjectStore port on the generic registry: reads from the repository, writes as a
    controller's own (typed, validated, stamped, published) writes."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def get_object(self, kind: str, namespace: str, name: str) -> Obj | None:
        return self.registry.repo.get(kind, namespace, name)

    def put_object(self, obj: Obj, *, create: bool = False) -> Obj:
        rt = self.registry.kind(obj["kind"])
        md = obj["metadata"]
        if create:
            return self.registry.create(rt, md.get("namespace", ""), obj, decoded=True)
        return self.registry.update(rt, md.get("namespace", ""), md["name"], obj, decoded=True)[0]


def _no_publish(_type: str, _obj: Obj) -> None:
    """With the registry the repository publishes every write itself."""


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def _suffix(n: int = 5) -> str:
    """names.SimpleNameGenerator's random suffix alphabet (no vowels, no confusable digits)."""
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    return "".join(secrets.choice(alphabet) for _ in range(n))


class ServiceAccounts:
    def __init__(self, store: ObjectStore, publish: Callable[[str, Obj], None] | None, signing_key: Any,
                 ca_pem: str, *, issuer: str = authn.DEFAULT_ISSUER, api_audiences: tuple[str, ...] = (),
                 node_name: str = "", clock: Callable[[], float] = time.time,
                 namespace_exists: Callable[[str], bool] | None = None) -> None:
        self.store = store
        self.publish = publish or _no_publish   # (event type, object): the watch hub of a bare store
        self.key = signing_key
        self.public_key = signing_key.public_key()
        self.ca_pem = ca_pem
        self.issuer = issuer
        self.api_audiences = api_audiences or (issuer,)
        self.node_name = node_name
        self.clock = clock
        self.namespace_exists = namespace_exists
        self._cache: dict[tuple[str, str, str, int], tuple[str, int, int]] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ default objects
    def _create(self, obj: Obj) -> Obj:
        md = obj["metadata"]
        md.setdefault("uid", str(uuid.uuid4()))
        md.setdefault("creationTimestamp", _iso(self.clock()))
        try:
            obj = self.store.put_object(obj, create=True)
        except AlreadyExists:
            return self.store.get_object(obj["kind"], md["namespace"], md["name"]) or obj
        self.publish("ADDED", obj)
        return obj

    def ensure_namespace(self, namespace: str) -> None:
        """The `default` ServiceAccount and `kube-root-ca.crt` (with the current CA) exist in namespace.
        A namespace that is gone or terminating refuses the writes: nothing to do then."""
        try:
            self._ensure_namespace(namespace)
        except (NotFound, Forbidden):
            pass

    def _ensure_namespace(self, namespace: str) -> None:
        if self.store.get_object("ServiceAccount", namespace, admission.DEFAULT_SERVICE_ACCOUNT) is None:
            self._create({"apiVersion": "v1", "kind": "ServiceAccount",
                          "metadata": {"name": admission.DEFAULT_SERVICE_ACCOUNT, "namespace": namespace}})
        cm = self.store.get_object("ConfigMap", namespace, admission.ROOT_CA_CONFIGMAP)
        data = {admission.ROOT_CA_KEY: self.ca_pem}
        if cm is None:
            self._create({"apiVersion": "v1", "kind": "ConfigMap",
                          "metadata": {"name": admission.ROOT_CA_CONFIGMAP, "namespace": namespace,
                                       "annotations": {"kubernetes.io/description": ROOT_CA_DESCRIPTION}},
                          "data": data})
        elif cm.get("data") != data:   # the publisher keeps it in sync with the CA
            cm["data"] = data
            self.store.put_object(cm)
            self.publish("MODIFIED", cm)

    def service_account(self, namespace: str, name: str) -> Obj:
        sa = self.store.get_object("ServiceAccount", namespace, name)
        if sa is None:
            raise NotFound(f'serviceaccounts "{name}" not found', {"name": name, "kind": "serviceaccounts"})
        return sa

    # ------------------------------------------------------------------ admission
    def admit_pod(self, pod: Obj) -> Obj:
        """The ServiceAccount admission plugin on pod create (mirror pods are left alone)."""
        if admission.is_mirror_pod(pod) or not isinstance(pod.get("spec"), dict):
            return pod
        md = pod.get("metadata") or {}
        ns = str(md.get("namespace") or "default")
        if self.namespace_exists is not None and not self.namespace_exists(ns):
            return pod   # NamespaceLifecycle refuses it first (namespaces "x" not found)
        name = admission.service_account_name(pod)
        try:
            sa = self.service_account(ns, name)
        except NotFound as exc:
            what = f'pods "{md["name"]}"' if md.get("name") else "pods"
            raise Forbidden(f"{what} is forbidden: error looking up service account {ns}/{name}: "
                            f'serviceaccount "{name}" not found',
                            {"name": str(md.get("name") or ""), "kind": "pods"}) from exc
        return admission.admit(pod, sa, _suffix())

    # ------------------------------------------------------------------ TokenRequest
    def request_token(self, namespace: str, name: str, body: Obj) -> Obj:
        """POST serviceaccounts/{name}/token: the TokenRequest with its status (token, expiry)."""
        if body.get("kind", "TokenRequest") != "TokenRequest":
            raise BadRequest(f'the body of the request was in an unknown format: kind {body.get("kind")!r}, '
                             "expected TokenRequest")
        req = authn.default_token_request(body)
        errs = authn.validate_token_request(req)
        if errs:
            raise ValidationError("TokenRequest", name, errs)
        sa = self.service_account(namespace, name)
        spec = req["spec"]
        pod = secret = node = None
        ref = spec.get("boundObjectRef")
        if ref is not None:
            kind, api_version = str(ref.get("kind", "")), str(ref.get("apiVersion", "v1"))
            group = api_version.rpartition("/")[0] if "/" in api_version else ""
            obj_ns = "" if kind == "Node" else namespace
            if group != "" or kind not in ("Pod", "Secret", "Node"):
                raise BadRequest(f"cannot bind token to object of type {_gvk(api_version, kind)}")
            target = self.store.get_object(kind, obj_ns, str(ref["name"]))
            if target is None:
                raise NotFound(f'{kind.lower()}s "{ref["name"]}" not found')
            uid = str(target["metadata"]["uid"])
            if ref.get("uid") and ref["uid"] != uid:
                raise Conflict(f'Operation cannot be fulfilled on {kind}."{ref["name"]}": the UID in the bound '
                               f'object reference ({ref["uid"]}) does not match the UID in record ({uid}). '
                               "The object might have been deleted and then recreated")
            if kind == "Pod":
                if admission.service_account_name(target) != name:
                    raise BadRequest(f'cannot bind token for serviceaccount "{name}" to pod running with '
                                     f'serviceaccount "{admission.service_account_name(target)}"')
                pod = Ref(str(ref["name"]), uid)
                node = self._node_ref(str((target.get("spec") or {}).get("nodeName") or ""))
            elif kind == "Secret":
                secret = Ref(str(ref["name"]), uid)
            else:
                node = Ref(str(ref["name"]), uid)
        audiences = list(spec.get("audiences") or self.api_audiences)
        token, _iat, exp = self._issue(namespace, sa, audiences, int(spec["expirationSeconds"]), pod, secret, node)
        return {"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
                "metadata": {"name": name, "namespace": namespace, "creationTimestamp": None},
                "spec": {**spec, "audiences": audiences},
                "status": {"token": token, "expirationTimestamp": _iso(exp)}}

    def _node_ref(self, node_name: str) -> Ref | None:
        """ServiceAccountTokenPodNodeInfo: the pod's node goes into the token when the Node exists."""
        if not node_name:
            return None
        node = self.store.get_object("Node", "", node_name)
        return None if node is None else Ref(node_name, str(node["metadata"].get("uid", "")))

    def _issue(self, namespace: str, sa: Obj, audiences: list[str], seconds: int, pod: Ref | None,
               secret: Ref | None, node: Ref | None) -> tuple[str, int, int]:
        now = int(self.clock())
        claims = authn.token_claims(issuer=self.issuer, audiences=audiences, expiration_seconds=seconds, now=now,
                                    namespace=namespace, jti=str(uuid.uuid4()),
                                    service_account=Ref(sa["metadata"]["name"], str(sa["metadata"]["uid"])),
                                    pod=pod, secret=secret, node=node)
        return jwt.sign(claims, self.key), now, int(claims["exp"])

    # ------------------------------------------------------------------ authentication
    def authenticate(self, token: str, audiences: tuple[str, ...] | None = None) -> tuple[UserInfo, BoundRefs] | None:
        """None when the token is not one of ours (other authenticators may know it);
        TokenRejected when it is ours but invalid (expired, wrong audience, bound object gone)."""
        if not jwt.looks_like_jwt(token):
            return None
        try:
            claims = jwt.verify(token, self.public_key)
        except jwt.InvalidToken:
            return None
        if not authn.is_ours(claims, self.issuer):
            return None
        now = int(self.clock())
        refs = authn.check_claims(claims, now=now, audiences=audiences or self.api_audiences)
        self._check_bound(refs, now)
        return authn.sa_user(refs), refs

    def _check_bound(self, refs: BoundRefs, now: int) -> None:
        """validator.Validate: the ServiceAccount and the bound pod/secret still exist with the claimed uid."""
        ns = refs.namespace
        sa = self.store.get_object("ServiceAccount", ns, refs.service_account.name)
        if sa is None:
            raise TokenRejected(f'serviceaccounts "{refs.service_account.name}" not found')
        if _deleted_before(sa, now - authn.LEEWAY):
            raise TokenRejected(f"service account {ns}/{refs.service_account.name} has been deleted")
        if str(sa["metadata"].get("uid")) != refs.service_account.uid:
            raise TokenRejected(f"service account UID ({sa['metadata'].get('uid')}) does not match claim "
                                f"({refs.service_account.uid})")
        for kind, ref in (("Secret", refs.secret), ("Pod", refs.pod)):
            if ref is None:
                continue
            obj = self.store.get_object(kind, ns, ref.name)
            if obj is None or _deleted_before(obj, now - authn.LEEWAY):
                raise TokenRejected("service account token has been invalidated")
            if str(obj["metadata"].get("uid")) != ref.uid:
                raise TokenRejected(f"{kind.lower()} UID ({obj['metadata'].get('uid')}) does not match service "
                                    f"account {kind.lower()} ref claim ({ref.uid})")

    # ------------------------------------------------------------------ the kubelet's token manager
    def pod_token(self, pod: Obj, audience: str, expiration_seconds: int) -> str:
        """The token a serviceAccountToken projection of this pod shows, renewed as the kubelet does."""
        md = pod["metadata"]
        sa_name = admission.service_account_name(pod)
        key = (str(md["uid"]), sa_name, audience, int(expiration_seconds))
        now = self.clock()
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None and not authn.needs_refresh(cached[1], cached[2], now):
                return cached[0]
        try:
            sa = self.service_account(md["namespace"], sa_name)
        except NotFound as exc:
            raise PermanentError(f"failed to fetch token: {exc}") from exc
        audiences = [audience] if audience else list(self.api_audiences)
        node = self._node_ref(str((pod.get("spec") or {}).get("nodeName") or self.node_name))
        issued = self._issue(md["namespace"], sa, audiences, int(expiration_seconds),
                             Ref(md["name"], str(md["uid"])), None, node)
        with self._lock:
            # Expired entries go as new ones come: pods that are gone stop asking, their tokens age out.
            for k in [k for k, v in self._cache.items() if v[2] <= now]:
                del self._cache[k]
            self._cache[key] = issued
        return issued[0]


    def cached_token(self, pod: Obj, audience: str, expiration_seconds: int) -> str | None:
        """pod_token's answer while its cached token needs no renewal; None when it would issue one."""
        md = pod["metadata"]
        key = (str(md["uid"]), admission.service_account_name(pod), audience, int(expiration_seconds))
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None and not authn.needs_refresh(cached[1], cached[2], self.clock()):
                return cached[0]
        return None

    def forget_pod(self, uid: str) -> None:
        """The pod is gone: its tokens are dropped (kubelet tokenManager.DeleteServiceAccountToken)."""
        with self._lock:
            for k in [k for k in self._cache if k[0] == uid]:
                del self._cache[k]


ROOT_CA_DESCRIPTION = ("Contains a CA bundle that can be used to verify the kube-apiserver when using internal "
                       "endpoints such as the internal service IP or kubernetes.default.svc. No other usage is "
                       "guaranteed across distributions of Kubernetes clusters.")


def _deleted_before(obj: Obj, cutoff: float) -> bool:
    ts = (obj.get("metadata") or {}).get("deletionTimestamp")
    if not ts:
        return False
    try:
        t = calendar.timegm(time.strptime(str(ts)[:19], "%Y-%m-%dT%H:%M:%S"))
    except ValueError:
        return False
    return t < cutoff


def _gvk(api_version: str, kind: str) -> str:
    """schema.GroupVersionKind.String(): "/v1, Kind=Pod" for the core group."""
    group, _, version = api_version.rpartition("/")
    return f"{group}/{version}, Kind={kind}"
