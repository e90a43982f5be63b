from __future__ import annotations

from podbay.core.serviceaccount_admission import admit_pull_secrets, forbidden_message, service_account_name

SA = {"metadata": {"name": "default"}, "imagePullSecrets": [{"name": "regcred"}, {"name": "other"}]}


def _pod(**spec: object) -> dict[str, object]:
    return {"metadata": {"name": "p", "namespace": "ns"}, "spec": {"containers": [{"name": "c", "image": "x"}], **spec}}


def test_pod_without_secrets_gets_the_service_accounts() -> None:
    pod = _pod()
    out = admit_pull_secrets(pod, SA)
    assert out["spec"]["imagePullSecrets"] == [{"name": "regcred"}, {"name": "other"}]  # type: ignore[index]
    assert out["spec"]["serviceAccountName"] == "default"  # type: ignore[index]
    assert "imagePullSecrets" not in pod["spec"]  # type: ignore[operator]  # the input is not changed


def test_pod_with_its_own_secrets_keeps_them() -> None:
    out = admit_pull_secrets(_pod(imagePullSecrets=[{"name": "mine"}]), SA)
    assert out["spec"]["imagePullSecrets"] == [{"name": "mine"}]  # type: ignore[index]


def test_account_name_and_message() -> None:
    assert service_account_name(_pod()) == "default"
    assert service_account_name(_pod(serviceAccountName="builder")) == "builder"
    assert admit_pull_secrets(_pod(), {"metadata": {"name": "default"}})["spec"].get("imagePullSecrets") is None  # type: ignore[union-attr]
    assert forbidden_message("p", "ns", "builder") == (
        'pods "p" is forbidden: error looking up service account ns/builder: serviceaccount "builder" not found')
