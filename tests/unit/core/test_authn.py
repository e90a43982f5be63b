"""Authentication values: token files, ServiceAccount claims and their checks, TokenRequest rules."""

from __future__ import annotations

import pytest

from podbay.core import authn
from podbay.core.authn import Ref, TokenRejected, UserInfo

ISS = authn.DEFAULT_ISSUER
NOW = 1_800_000_000


def claims(**kw: object) -> dict[str, object]:
    base = dict(issuer=ISS, audiences=[ISS], expiration_seconds=3600, now=NOW, namespace="ns1",
                service_account=Ref("sa1", "sa-uid"), jti="j-1", pod=Ref("p1", "pod-uid"),
                node=Ref("node1", "node-uid"))
    base.update(kw)
    return authn.token_claims(**base)  # type: ignore[arg-type]


# --- token files -----------------------------------------------------------------------------------

def test_token_file_records_and_groups() -> None:
    text = 'tok1,alice,uid-a,"dev,ops"\ntok2,bob,uid-b\n,nobody,uid-n\ntok1,carol,uid-c\n'
    tokens = authn.parse_token_file(text)
    assert tokens["tok1"] == UserInfo("carol", "uid-c", ())   # a later duplicate wins, as tokenfile.NewCSV
    assert tokens["tok2"] == UserInfo("bob", "uid-b", ())
    assert "" not in tokens
    assert authn.parse_token_file('t,u,i,"a,b"')["t"].groups == ("a", "b")


def test_token_file_with_fewer_than_three_columns_is_upstreams_error() -> None:
    with pytest.raises(ValueError, match=r"token file 'x.csv' must have at least 3 columns \(token, user name, "
                                         r"user uid\), found 2"):
        authn.parse_token_file("tok,user\n", "x.csv")


def test_token_file_line_round_trips() -> None:
    line = authn.token_file_line("t0k", "alice", "u1", ["system:masters", "dev"])
    assert line == 't0k,alice,u1,"system:masters,dev"\n'
    assert authn.parse_token_file(line)["t0k"] == UserInfo("alice", "u1", ("system:masters", "dev"))


def test_cert_subject_mapping() -> None:
    assert authn.user_from_cert_subject("alice", ["dev"]) == UserInfo("alice", "", ("dev",))
    assert authn.user_from_cert_subject("", ["dev"]) is None


def test_authenticated_group_is_added_once() -> None:
    u = UserInfo("a", "", ("x",)).with_authenticated()
    assert u.groups == ("x", "system:authenticated")
    assert u.with_authenticated() is u
    assert u.to_api() == {"username": "a", "groups": ["x", "system:authenticated"]}


# --- claims ----------------------------------------------------------------------------------------

def test_claims_have_kube_apiservers_shape() -> None:
    c = claims()
    assert c == {"aud": [ISS], "exp": NOW + 3600, "iat": NOW, "iss": ISS, "jti": "j-1", "nbf": NOW,
                 "sub": "system:serviceaccount:ns1:sa1",
                 "kubernetes.io": {"namespace": "ns1", "serviceaccount": {"name": "sa1", "uid": "sa-uid"},
                                   "pod": {"name": "p1", "uid": "pod-uid"},
                                   "node": {"name": "node1", "uid": "node-uid"}}}


def test_valid_claims_give_the_bound_refs_and_the_user() -> None:
    refs = authn.check_claims(claims(), now=NOW + 10, audiences=[ISS, "other"])
    assert refs.audiences == (ISS,) and refs.pod == Ref("p1", "pod-uid") and refs.jti == "j-1"
    user = authn.sa_user(refs)
    assert user.name == "system:serviceaccount:ns1:sa1" and user.uid == "sa-uid"
    assert user.groups == ("system:serviceaccounts", "system:serviceaccounts:ns1")
    assert user.extra == {authn.EXTRA_POD_NAME: ("p1",), authn.EXTRA_POD_UID: ("pod-uid",),
                          authn.EXTRA_NODE_NAME: ("node1",), authn.EXTRA_NODE_UID: ("node-uid",),
                          authn.EXTRA_CREDENTIAL_ID: ("JTI=j-1",)}


def test_expiry_with_the_one_minute_leeway() -> None:
    c = claims(expiration_seconds=600)
    authn.check_claims(c, now=NOW + 600 + 59, audiences=[ISS])
    with pytest.raises(TokenRejected, match="^service account token has expired$"):
        authn.check_claims(c, now=NOW + 600 + 61, audiences=[ISS])


def test_not_valid_yet() -> None:
    with pytest.raises(TokenRejected, match="not valid yet"):
        authn.check_claims(claims(), now=NOW - 120, audiences=[ISS])


def test_wrong_audience_message_is_upstreams() -> None:
    with pytest.raises(TokenRejected) as e:
        authn.check_claims(claims(audiences=["vault"]), now=NOW, audiences=[ISS])
    assert str(e.value) == (f'token audiences ["vault"] is invalid for the target audiences ["{ISS}"]')


def test_mismatched_subject_is_rejected() -> None:
    c = claims()
    c["sub"] = "system:serviceaccount:ns1:someone-else"
    with pytest.raises(TokenRejected, match="unexpected private claim"):
        authn.check_claims(c, now=NOW, audiences=[ISS])


def test_issuer_decides_ownership() -> None:
    assert authn.is_ours(claims(), ISS)
    assert not authn.is_ours(claims(issuer="https://elsewhere"), ISS)


def test_sa_username_round_trip() -> None:
    assert authn.split_sa_username(authn.sa_username("ns", "n")) == ("ns", "n")
    assert authn.split_sa_username("alice") is None
    assert authn.split_sa_username("system:serviceaccount:ns") is None


# --- TokenRequest ----------------------------------------------------------------------------------

def test_token_request_defaults_to_one_hour() -> None:
    assert authn.default_token_request({"spec": {}})["spec"]["expirationSeconds"] == 3600


@pytest.mark.parametrize(("seconds", "msg"), [
    (599, "spec.expirationSeconds: Invalid value: 599: may not specify a duration less than 10 minutes"),
    ((1 << 32) + 1, f"spec.expirationSeconds: Invalid value: {(1 << 32) + 1}: may not specify a duration larger "
                    "than 2^32 seconds"),
])
def test_token_request_bounds(seconds: int, msg: str) -> None:
    assert [str(e) for e in authn.validate_token_request({"spec": {"expirationSeconds": seconds}})] == [msg]


def test_token_request_within_bounds_is_valid() -> None:
    assert authn.validate_token_request({"spec": {"expirationSeconds": 600, "audiences": ["a"]}}) == []


# --- the kubelet's refresh rule --------------------------------------------------------------------

def test_refresh_after_80_percent_of_the_lifetime() -> None:
    iat, exp = 1000, 1000 + 3600
    assert not authn.needs_refresh(iat, exp, 1000 + 0.79 * 3600)
    assert authn.needs_refresh(iat, exp, 1000 + 0.81 * 3600)
    assert authn.needs_refresh(iat, exp, exp)


def test_refresh_at_least_daily_for_long_tokens() -> None:
    iat, exp = 0, 10 * 86400
    assert not authn.needs_refresh(iat, exp, 86000)
    assert authn.needs_refresh(iat, exp, 86401)
