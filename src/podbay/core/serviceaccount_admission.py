"""The ServiceAccount admission plugin's pull-secret step (pure), for the API's pod create strategy.

``plugin/pkg/admission/serviceaccount/admission.go``: an empty ``serviceAccountName`` becomes
``default``; a pod that names no ``imagePullSecrets`` gets the service account's, by name. Pull
secrets are an admission feature, not a kubelet one: a pod created before its service account
gained secrets keeps what it had.

Wiring (the API lane): on pod CREATE only, after defaulting and before validation, look up the
ServiceAccount ``service_account_name(pod)`` in the pod's namespace and call
``admit_pull_secrets(pod, sa)``; when it does not exist answer 403 Forbidden with
``forbidden_message(...)``, as upstream does.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

DEFAULT_SERVICE_ACCOUNT = "default"


def service_account_name(pod: Mapping[str, Any]) -> str:
    return str((pod.get("spec") or {}).get("serviceAccountName") or DEFAULT_SERVICE_ACCOUNT)


def admit_pull_secrets(pod: Mapping[str, Any], service_account: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``pod`` with ``serviceAccountName`` set and, if it had none, the account's pull secrets."""
    out = copy.deepcopy(dict(pod))
    spec = out.setdefault("spec", {})
    spec["serviceAccountName"] = service_account_name(out)
    if not spec.get("imagePullSecrets"):
        names = [{"name": str(s.get("name") or "")} for s in service_account.get("imagePullSecrets") or []
                 if isinstance(s, Mapping)]
        if names:
            spec["imagePullSecrets"] = names
    return out


def forbidden_message(pod_name: str, namespace: str, account: str) -> str:
    """The Forbidden status message when the service account does not exist."""
    return (f'pods "{pod_name}" is forbidden: error looking up service account {namespace}/{account}: '
            f'serviceaccount "{account}" not found')
