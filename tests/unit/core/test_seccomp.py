"""RuntimeDefault / Localhost seccomp profiles and no_new_privs in the OCI spec (issue 11 item 2)."""

from __future__ import annotations

from typing import Any

import pytest

from podbay.api import seccomp as api_seccomp
from podbay.core import seccomp
from podbay.core.ocispec import DEFAULT_CAPS, ContainerPlan, build_spec, capabilities
from podbay.errors import PermanentError

POD: dict[str, Any] = {"metadata": {"name": "p", "namespace": "default", "uid": "u1"}, "spec": {}}
DEFAULT = [f"CAP_{c}" for c in DEFAULT_CAPS]


def plan(container: dict[str, Any] | None = None, pod: dict[str, Any] | None = None, **kw: Any) -> ContainerPlan:
    return ContainerPlan(container_id="c1", pod=pod or POD, container=container or {"name": "c"}, argv=["sh"],
                         env=[], rootfs="/r", cgroups_path="/podbay/x", **kw)


def rules_for(profile: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [r for r in profile["syscalls"] if name in r["names"]]


def test_runtime_default_is_an_allow_list_with_enosys_default() -> None:
    p = seccomp.runtime_default(DEFAULT)
    assert (p["defaultAction"], p["defaultErrnoRet"]) == ("SCMP_ACT_ERRNO", seccomp.ENOSYS)
    assert p["architectures"] == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
    allowed = set(p["syscalls"][0]["names"])
    assert p["syscalls"][0]["action"] == "SCMP_ACT_ALLOW"
    for everyday in ("read", "write", "openat", "execve", "mmap", "futex", "socket", "epoll_wait", "arch_prctl",
                     "chroot", "wait4", "rt_sigreturn", "exit_group", "getrandom", "statx"):
        assert everyday in allowed, everyday
    # A syscall the list does not know (io_uring here, or any future one) falls to the ENOSYS default.
    every_name = {n for r in p["syscalls"] for n in r["names"]}
    assert "io_uring_setup" not in every_name


def test_known_privileged_syscalls_fail_with_eperm() -> None:
    p = seccomp.runtime_default(DEFAULT)
    denied = [r for r in p["syscalls"] if r["action"] == "SCMP_ACT_ERRNO" and r.get("errnoRet") == seccomp.EPERM
              and "args" not in r]
    assert len(denied) == 1
    names = set(denied[0]["names"])
    for dangerous in ("kexec_load", "init_module", "finit_module", "delete_module", "reboot", "mount", "umount2",
                      "unshare", "setns", "add_key", "keyctl", "bpf", "perf_event_open", "swapon", "acct",
                      "settimeofday", "clock_settime", "iopl", "open_by_handle_at", "kcmp"):
        assert dangerous in names, dangerous
    assert not names & set(p["syscalls"][0]["names"]), "a name is both allowed and denied"


def test_clone_is_filtered_by_namespace_flags_without_sys_admin() -> None:
    p = seccomp.runtime_default(DEFAULT)
    clone = rules_for(p, "clone")
    allow = [r for r in clone if r["action"] == "SCMP_ACT_ALLOW"]
    assert len(allow) == 1
    mask = allow[0]["args"][0]
    assert (mask["op"], mask["valueTwo"]) == ("SCMP_CMP_MASKED_EQ", 0)
    assert mask["value"] == 0x7E020000   # NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET
    eperm = [r for r in clone if r["action"] == "SCMP_ACT_ERRNO"]
    assert sorted(r["args"][0]["value"] for r in eperm) == sorted(seccomp.CLONE_NAMESPACE_FLAGS)
    assert all(r["errnoRet"] == seccomp.EPERM for r in eperm)
    # clone3 gets ENOSYS so glibc falls back to clone, whose flags seccomp can see.
    assert rules_for(p, "clone3") == [{"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": seccomp.ENOSYS}]


def test_capabilities_unlock_their_syscalls() -> None:
    admin = seccomp.runtime_default([*DEFAULT, "CAP_SYS_ADMIN", "CAP_SYS_PTRACE", "CAP_SYS_TIME"])
    allowed = {n for r in admin["syscalls"] if r["action"] == "SCMP_ACT_ALLOW" and "args" not in r for n in r["names"]}
    for name in ("mount", "umount2", "unshare", "setns", "clone", "clone3", "kcmp", "settimeofday"):
        assert name in allowed, name
    assert not [r for r in admin["syscalls"] if "clone" in r["names"] and "args" in r]
    # Dropping CAP_SYS_CHROOT (in the default set) takes chroot away with EPERM.
    none = seccomp.runtime_default([])
    assert "chroot" not in none["syscalls"][0]["names"]
    assert "chroot" in [r for r in none["syscalls"] if r.get("errnoRet") == seccomp.EPERM and "args" not in r][0][
        "names"]


def test_personality_only_for_the_usual_personas() -> None:
    rules = rules_for(seccomp.runtime_default(DEFAULT), "personality")
    assert sorted(r["args"][0]["value"] for r in rules) == sorted(seccomp.PERSONALITIES)
    assert all(r["action"] == "SCMP_ACT_ALLOW" and r["args"][0]["op"] == "SCMP_CMP_EQ" for r in rules)


def test_build_spec_default_is_unconfined_and_no_new_privs_only_when_asked() -> None:
    s = build_spec(plan())
    assert "seccomp" not in s["linux"] and s["process"]["noNewPrivileges"] is False
    s = build_spec(plan({"name": "c", "securityContext": {"allowPrivilegeEscalation": False}}))
    assert s["process"]["noNewPrivileges"] is True
    s = build_spec(plan({"name": "c", "securityContext": {"allowPrivilegeEscalation": True}}))
    assert s["process"]["noNewPrivileges"] is False


def test_runtime_default_from_pod_container_and_the_filter_follows_the_caps() -> None:
    pod = {**POD, "spec": {"securityContext": {"seccompProfile": {"type": "RuntimeDefault"}}}}
    ctr = {"name": "c", "securityContext": {"capabilities": {"add": ["SYS_ADMIN"]}}}
    s = build_spec(plan(ctr, pod))
    caps = capabilities({"capabilities": {"add": ["SYS_ADMIN"]}})
    assert s["linux"]["seccomp"] == seccomp.runtime_default(caps)
    # The container's Unconfined wins over the pod's RuntimeDefault.
    ctr = {"name": "c", "securityContext": {"seccompProfile": {"type": "Unconfined"}}}
    assert "seccomp" not in build_spec(plan(ctr, pod))["linux"]
    # Privileged containers run unconfined, as containerd and CRI-O run them.
    ctr = {"name": "c", "securityContext": {"privileged": True, "seccompProfile": {"type": "RuntimeDefault"}}}
    assert "seccomp" not in build_spec(plan(ctr))["linux"]


def test_deprecated_annotations_stand_in_for_the_fields() -> None:
    def pod(ann: dict[str, str], psc: dict[str, Any] | None = None) -> dict[str, Any]:
        return {"metadata": {**POD["metadata"], "annotations": ann}, "spec": {"securityContext": psc or {}}}

    c = {"name": "c"}
    assert api_seccomp.effective_profile(pod({api_seccomp.POD_ANNOTATION: "runtime/default"}), c) == \
        {"type": "RuntimeDefault"}
    assert api_seccomp.effective_profile(pod({api_seccomp.POD_ANNOTATION: "docker/default"}), c) == \
        {"type": "RuntimeDefault"}
    per_ctr = {api_seccomp.CONTAINER_ANNOTATION_PREFIX + "c": "localhost/profiles/a.json",
               api_seccomp.POD_ANNOTATION: "runtime/default"}
    assert api_seccomp.effective_profile(pod(per_ctr), c) == {"type": "Localhost",
                                                               "localhostProfile": "profiles/a.json"}
    # A pod field wins over the pod annotation; the container annotation over the pod field.
    p = pod({api_seccomp.POD_ANNOTATION: "runtime/default"}, {"seccompProfile": {"type": "Unconfined"}})
    assert api_seccomp.effective_profile(p, c) == {"type": "Unconfined"}
    p = pod({api_seccomp.CONTAINER_ANNOTATION_PREFIX + "c": "unconfined"},
            {"seccompProfile": {"type": "RuntimeDefault"}})
    assert api_seccomp.effective_profile(p, c) == {"type": "Unconfined"}
    s = build_spec(plan(c, pod({api_seccomp.POD_ANNOTATION: "runtime/default"})))
    assert s["linux"]["seccomp"]["defaultAction"] == "SCMP_ACT_ERRNO"


def test_localhost_profile_needs_the_loaded_file() -> None:
    ctr = {"name": "c", "securityContext": {"seccompProfile": {"type": "Localhost", "localhostProfile": "a.json"}}}
    with pytest.raises(PermanentError, match="was not loaded"):
        build_spec(plan(ctr))
    loaded = {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
              "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}], "comment": "x"}
    s = build_spec(plan(ctr, seccomp_localhost=loaded))
    assert s["linux"]["seccomp"] == {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
                                     "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}


def test_docker_format_localhost_profiles_are_converted() -> None:
    docker = {
        "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
        "archMap": [{"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]},
                    {"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]}],
        "syscalls": [
            {"name": "read", "action": "SCMP_ACT_ALLOW"},
            {"names": ["mount"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
            {"names": ["ptrace"], "action": "SCMP_ACT_ALLOW", "excludes": {"caps": ["CAP_SYS_PTRACE"]}},
            {"names": ["arch_prctl"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["amd64"]}},
            {"names": ["set_tls"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["arm64"]}},
        ]}
    out = seccomp.localhost(docker, ["CAP_CHOWN"], "x86_64", "p")
    assert out["architectures"] == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
    assert [r["names"] for r in out["syscalls"]] == [["read"], ["ptrace"], ["arch_prctl"]]
    admin = seccomp.localhost(docker, ["CAP_SYS_ADMIN", "CAP_SYS_PTRACE"], "x86_64", "p")
    assert [r["names"] for r in admin["syscalls"]] == [["read"], ["mount"], ["arch_prctl"]]


@pytest.mark.parametrize("bad,why", [
    ([], "not a JSON object"),
    ({"syscalls": []}, "defaultAction"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": {"a": 1}}, "syscalls must be a list"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"action": "SCMP_ACT_ALLOW"}]}, "needs names"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"]}]}, "needs an action"),
])
def test_broken_localhost_profiles_are_refused(bad: Any, why: str) -> None:
    with pytest.raises(PermanentError, match=why) as ei:
        seccomp.localhost(bad, [], "x86_64", '"/var/lib/podbay/seccomp/p.json"')
    assert str(ei.value).startswith('failed to load seccomp profile "/var/lib/podbay/seccomp/p.json": ')
