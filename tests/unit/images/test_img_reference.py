import pytest

from podbay.images.reference import normalize, parse, split_for_display

D = "sha256:" + "a" * 64


@pytest.mark.parametrize("ref,want", [
    ("busybox", "docker.io/library/busybox:latest"),
    ("busybox:1.35", "docker.io/library/busybox:1.35"),
    ("library/busybox", "docker.io/library/busybox:latest"),
    ("docker.io/busybox", "docker.io/library/busybox:latest"),
    ("index.docker.io/library/busybox:1", "docker.io/library/busybox:1"),
    ("user/app:v1.2_rc-3", "docker.io/user/app:v1.2_rc-3"),
    ("localhost/x", "localhost/x:latest"),
    ("localhost:5000/x:y", "localhost:5000/x:y"),
    ("quay.io/a/b:tag", "quay.io/a/b:tag"),
    ("127.0.0.1:5000/a/b", "127.0.0.1:5000/a/b:latest"),
    ("registry.k8s.io/e2e-test-images/agnhost:2.47", "registry.k8s.io/e2e-test-images/agnhost:2.47"),
    (f"busybox@{D}", f"docker.io/library/busybox@{D}"),
    (f"busybox:1.35@{D}", f"docker.io/library/busybox:1.35@{D}"),
    ("a__b/c.d-e", "docker.io/a__b/c.d-e:latest"),
])
def test_normalize(ref: str, want: str) -> None:
    assert normalize(ref) == want
    assert normalize(want) == want  # idempotent


@pytest.mark.parametrize("ref", [
    "", " busybox", "Busybox", "docker.io/library/BusyBox:1", "busybox:", "busybox:-x", "a//b",
    "busybox@sha256:abc", "busybox@sha256:" + "g" * 64, "-busybox", "busybox_", "a" * 64,
    "quay.io/A/b", "busybox:" + "t" * 129,
])
def test_invalid(ref: str) -> None:
    with pytest.raises(ValueError):
        normalize(ref)


def test_uppercase_message_says_lowercase() -> None:
    with pytest.raises(ValueError, match="must be lowercase"):
        normalize("Busybox")


def test_uppercase_first_component_is_a_registry() -> None:
    # Docker treats an uppercase first component as a registry host, not as a repository.
    assert normalize("Registry/app") == "Registry/app:latest"


def test_parse_and_display() -> None:
    assert parse(f"quay.io/a/b@{D}") == ("quay.io/a/b", None, D)
    assert split_for_display("docker.io/library/busybox:1.35") == ("docker.io/library/busybox", "1.35")
    assert split_for_display(f"quay.io/a/b@{D}") == ("quay.io/a/b", "<none>")
