"""Authentication as values: who a request is, ServiceAccount token claims, TokenRequest/TokenReview.

Pure (values and ``now`` in, values out). Mirrors kube-apiserver: the user info of the x509, token-file
and ServiceAccount authenticators (k8s.io/apiserver pkg/authentication), the claims of
pkg/serviceaccount/claims.go (Claims, validator.Validate), TokenRequest defaulting and validation
(pkg/apis/authentication), and the kubelet token manager's refresh rule (pkg/kubelet/token).
The signature is checked by podbay.host.jwt; the bound objects are looked up by the agent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from podbay.api.fielderror import FieldError, invalid, required

ALL_AUTHENTICATED = "system:authenticated"
ANONYMOUS_USER = "system:anonymous"
UNAUTHENTICATED_GROUP = "system:unauthenticated"
SA_PREFIX = "system:serviceaccount:"
SA_GROUP = "system:serviceaccounts"
DEFAULT_ISSUER = "https://kubernetes.default.svc.cluster.local"
# kube-apiserver's user.Info extra keys for ServiceAccount tokens (serviceaccount.ServiceAccountInfo.UserInfo).
EXTRA_POD_NAME = "authentication.kubernetes.io/pod-name"
EXTRA_POD_UID = "authentication.kubernetes.io/pod-uid"
EXTRA_NODE_NAME = "authentication.kubernetes.io/node-name"
EXTRA_NODE_UID = "authentication.kubernetes.io/node-uid"
EXTRA_CREDENTIAL_ID = "authentication.kubernetes.io/credential-id"

DEFAULT_TOKEN_SECONDS = 3600          # TokenRequestSpec / ServiceAccountTokenProjection default
KUBE_API_ACCESS_SECONDS = 3607        # WarnOnlyBoundTokenExpirationSeconds (the admission's projection)
MIN_TOKEN_SECONDS = 600
MAX_TOKEN_SECONDS = 1 << 32
LEEWAY = 60                           # go-jose jwt.DefaultLeeway
KUBELET_MAX_TTL = 24 * 3600           # the token manager refreshes a token at least daily


@dataclass(frozen=True)
class UserInfo:
    """k8s.io/apiserver user.Info."""

    name: str
    uid: str = ""
    groups: tuple[str, ...] = ()
    extra: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def with_authenticated(self) -> UserInfo:
        """The AuthenticatedGroupAdder: every authenticated user is also in system:authenticated."""
        if ALL_AUTHENTICATED in self.groups:
            return self
        return UserInfo(self.name, self.uid, (*self.groups, ALL_AUTHENTICATED), self.extra)

    def to_api(self) -> dict[str, Any]:
        """authentication.k8s.io/v1 UserInfo (empty fields omitted, as the Go struct's omitempty does)."""
        out: dict[str, Any] = {"username": self.name}
        if self.uid:
            out["uid"] = self.uid
        if self.groups:
            out["groups"] = list(self.groups)
        if self.extra:
            out["extra"] = {k: list(v) for k, v in self.extra.items()}
        return out


def user_from_cert_subject(common_name: str, organizations: Sequence[str]) -> UserInfo | None:
    """The x509 authenticator's CommonNameUserConversion: user = CN, groups = O; no CN, no user."""
    if not common_name:
        return None
    return UserInfo(common_name, "", tuple(organizations))


def parse_token_file(text: str, source: str = "token file") -> dict[str, UserInfo]:
    """kube-apiserver's --token-auth-file CSV: ``token,user,uid[,"group1,group2"]``.

    Raises ValueError with upstream's message for a record of fewer than 3 columns; empty tokens
    are skipped and a later duplicate wins, as tokenfile.NewCSV does.
    """
    import csv
    import io

    tokens: dict[str, UserInfo] = {}
    for record in csv.reader(io.StringIO(text)):
        if not record:
            continue
        if len(record) < 3:
            raise ValueError(f"token file '{source}' must have at least 3 columns (token, user name, user uid), "
                             f"found {len(record)}")
        if record[0] == "":
            continue
        groups = tuple(record[3].split(",")) if len(record) >= 4 else ()
        tokens[record[0]] = UserInfo(record[1], record[2], groups)
    return tokens


def token_file_line(token: str, user: str, uid: str, groups: Sequence[str]) -> str:
    """One CSV record in the --token-auth-file format."""
    import csv
    import io

    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow([token, user, uid, ",".join(groups)])
    return buf.getvalue()


# --- ServiceAccounts -------------------------------------------------------------------------------

def sa_username(namespace: str, name: str) -> str:
    return f"{SA_PREFIX}{namespace}:{name}"


def sa_groups(namespace: str) -> tuple[str, ...]:
    return (SA_GROUP, f"{SA_GROUP}:{namespace}")


def split_sa_username(username: str) -> tuple[str, str] | None:
    if not username.startswith(SA_PREFIX):
        return None
    ns, _, name = username[len(SA_PREFIX):].partition(":")
    return (ns, name) if ns and name and ":" not in name else None


@dataclass(frozen=True)
class Ref:
    name: str
    uid: str


def token_claims(*, issuer: str, audiences: Sequence[str], expiration_seconds: int, now: int, namespace: str,
                 service_account: Ref, jti: str, pod: Ref | None = None, secret: Ref | None = None,
                 node: Ref | None = None) -> dict[str, Any]:
    """The claims kube-apiserver puts in a bound ServiceAccount token (serviceaccount.Claims)."""
    k8s: dict[str, Any] = {"namespace": namespace,
                           "serviceaccount": {"name": service_account.name, "uid": service_account.uid}}
    if pod is not None:
        k8s["pod"] = {"name": pod.name, "uid": pod.uid}
    elif secret is not None:
        k8s["secret"] = {"name": secret.name, "uid": secret.uid}
    if node is not None:
        k8s["node"] = {"name": node.name, "uid": node.uid} if node.uid else {"name": node.name}
    return {"aud": list(audiences), "exp": now + expiration_seconds, "iat": now, "iss": issuer, "jti": jti,
            "kubernetes.io": k8s, "nbf": now, "sub": sa_username(namespace, service_account.name)}


@dataclass(frozen=True)
class BoundRefs:
    """What a token claims it is bound to; the agent checks each still exists with that uid."""

    namespace: str
    service_account: Ref
    pod: Ref | None
    secret: Ref | None
    node: Ref | None
    jti: str
    audiences: tuple[str, ...]


class TokenRejected(Exception):
    """The token is ours but not valid now (message in kube-apiserver's words)."""


def _ref(v: Any) -> Ref | None:
    if not isinstance(v, dict) or not v.get("name"):
        return None
    return Ref(str(v.get("name", "")), str(v.get("uid", "")))


def _aud(claims: Mapping[str, Any]) -> tuple[str, ...]:
    aud = claims.get("aud")
    if isinstance(aud, str):
        return (aud,)
    if isinstance(aud, list):
        return tuple(str(a) for a in aud)
    return ()


def is_ours(claims: Mapping[str, Any], issuer: str) -> bool:
    """The jwt authenticator only judges tokens of its own issuer; others are "not handled"."""
    return claims.get("iss") == issuer


def check_claims(claims: Mapping[str, Any], *, now: int, audiences: Sequence[str]) -> BoundRefs:
    """Time and audience checks (go-jose Validate with leeway, then the audience intersection).

    `audiences` are the ones the caller accepts (the API audiences, or a TokenReview's); the result
    carries the intersection, which TokenReview reports.
    """
    token_auds = _aud(claims)
    matched = tuple(a for a in audiences if a in token_auds)
    if not matched:
        raise TokenRejected(f"token audiences {_go_list(token_auds)} is invalid for the target audiences "
                            f"{_go_list(tuple(audiences))}")
    exp, nbf = claims.get("exp"), claims.get("nbf")
    if isinstance(exp, int | float) and now - LEEWAY > exp:
        raise TokenRejected("service account token has expired")
    if isinstance(nbf, int | float) and now + LEEWAY < nbf:
        raise TokenRejected("service account token is not valid yet")
    k8s = claims.get("kubernetes.io")
    if not isinstance(k8s, dict):
        raise TokenRejected("service account token claims could not be validated due to unexpected private claim")
    sa = _ref(k8s.get("serviceaccount"))
    ns = str(k8s.get("namespace", ""))
    if sa is None or not ns or claims.get("sub") != sa_username(ns, sa.name):
        raise TokenRejected("service account token claims could not be validated due to unexpected private claim")
    return BoundRefs(ns, sa, _ref(k8s.get("pod")), _ref(k8s.get("secret")), _ref(k8s.get("node")),
                     str(claims.get("jti", "")), matched)


def _go_list(items: Sequence[str]) -> str:
    """Go's %q of a []string: ["a" "b"]."""
    return "[" + " ".join('"' + i.replace("\\", "\\\\").replace('"', '\\"') + '"' for i in items) + "]"


def sa_user(refs: BoundRefs) -> UserInfo:
    """ServiceAccountInfo.UserInfo(): name, uid, the two SA groups, and the pod/node/credential extras."""
    extra: dict[str, tuple[str, ...]] = {}
    if refs.pod is not None:
        extra[EXTRA_POD_NAME] = (refs.pod.name,)
        extra[EXTRA_POD_UID] = (refs.pod.uid,)
    if refs.node is not None:
        extra[EXTRA_NODE_NAME] = (refs.node.name,)
        if refs.node.uid:
            extra[EXTRA_NODE_UID] = (refs.node.uid,)
    if refs.jti:
        extra[EXTRA_CREDENTIAL_ID] = (f"JTI={refs.jti}",)
    return UserInfo(sa_username(refs.namespace, refs.service_account.name), refs.service_account.uid,
                    sa_groups(refs.namespace), extra)


# --- TokenRequest ----------------------------------------------------------------------------------

def default_token_request(body: Mapping[str, Any]) -> dict[str, Any]:
    """SetDefaults_TokenRequestSpec: expirationSeconds 3600."""
    spec = dict(body.get("spec") or {})
    if spec.get("expirationSeconds") is None:
        spec["expirationSeconds"] = DEFAULT_TOKEN_SECONDS
    return {**body, "spec": spec}


def validate_token_request(body: Mapping[str, Any]) -> list[FieldError]:
    """ValidateTokenRequest."""
    errs: list[FieldError] = []
    spec = body.get("spec")
    if not isinstance(spec, dict):
        return [required("spec")]
    exp = spec.get("expirationSeconds")
    if not isinstance(exp, int) or isinstance(exp, bool):
        errs.append(invalid("spec.expirationSeconds", exp, "must be an integer"))
    elif exp < MIN_TOKEN_SECONDS:
        errs.append(invalid("spec.expirationSeconds", exp, "may not specify a duration less than 10 minutes"))
    elif exp > MAX_TOKEN_SECONDS:
        errs.append(invalid("spec.expirationSeconds", exp, "may not specify a duration larger than 2^32 seconds"))
    auds = spec.get("audiences")
    if auds is not None and (not isinstance(auds, list) or not all(isinstance(a, str) for a in auds)):
        errs.append(invalid("spec.audiences", auds, "must be a list of strings"))
    ref = spec.get("boundObjectRef")
    if ref is not None and (not isinstance(ref, dict) or not ref.get("name")):
        errs.append(required("spec.boundObjectRef.name"))
    return errs


# --- the kubelet's token manager -------------------------------------------------------------------

def needs_refresh(iat: int, exp: int, now: float) -> bool:
    """token.Manager.requiresRefresh: expired, older than 24 h, or past 80 % of its lifetime."""
    if now >= exp:
        return True
    if now > iat + KUBELET_MAX_TTL:
        return True
    return now > iat + 0.8 * (exp - iat)
