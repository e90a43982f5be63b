from podbay.api.fielderror import forbidden, required
from podbay.api.status import invalid_status, status_object
from podbay.errors import ValidationError


def test_status_object() -> None:
    st = status_object(404, "NotFound", 'pods "x" not found', {"name": "x", "kind": "pods"})
    assert st == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'pods "x" not found',
        "reason": "NotFound",
        "details": {"name": "x", "kind": "pods"},
        "code": 404,
    }


def test_invalid_status_one_error_no_brackets() -> None:
    st = invalid_status("Pod", "p", [required("spec.containers")])
    assert st["code"] == 422
    assert st["reason"] == "Invalid"
    assert st["message"] == 'Pod "p" is invalid: spec.containers: Required value'
    assert st["details"] == {
        "name": "p",
        "kind": "Pod",
        "causes": [{"reason": "FieldValueRequired", "message": "Required value", "field": "spec.containers"}],
    }


def test_invalid_status_many_errors_collapsed() -> None:
    a = forbidden("spec.hostPID", "not supported by podbay")
    b = required("spec.containers")
    st = invalid_status("Pod", "p", [a, b, a])
    assert (
        st["message"]
        == 'Pod "p" is invalid: [spec.hostPID: Forbidden: not supported by podbay, spec.containers: Required value]'
    )
    assert len(st["details"]["causes"]) == 3
    # the error tree formats the same message from the same FieldErrors
    assert str(ValidationError("Pod", "p", [a, b, a])) == st["message"]
