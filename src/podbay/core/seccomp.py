"""OCI `linux.seccomp` for a container: podbay's RuntimeDefault profile and Localhost profiles (pure).

RuntimeDefault follows the semantics of the default profiles of the container runtimes Kubernetes
uses (containers/common, moby): an allow-list. A syscall the list does not know -- one newer than the
list, or one the list leaves out on purpose such as io_uring -- fails with ENOSYS, so programs take
their fallback path (glibc retries clone3 as clone). The known syscalls a container may not use fail
with EPERM, as they would without the privilege: kernel modules, kexec, reboot, clock setting, swap,
keyrings, accounting, and everything that needs a capability the container lacks. Granting a
capability (CAP_SYS_ADMIN, CAP_SYS_PTRACE, ...) allows the syscalls it guards, as upstream does.

The lists below are podbay's own data, grouped by what the calls do; libseccomp skips names it does
not know for an architecture (crun and runc both ignore them), so one list serves x86_64 and its
32-bit compat ABIs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from podbay.errors import PermanentError

ENOSYS = 38
EPERM = 1

ALLOW = "SCMP_ACT_ALLOW"
ERRNO = "SCMP_ACT_ERRNO"

_PROCESS = """
capget capset execve execveat exit exit_group fork vfork getpid getppid gettid getpgid getpgrp getsid setpgid
setsid kill tgkill tkill pidfd_open pidfd_send_signal prctl prlimit64 getrlimit setrlimit ugetrlimit getrusage
getpriority setpriority ioprio_get ioprio_set sched_getaffinity sched_setaffinity sched_getattr sched_setattr
sched_getparam sched_setparam sched_get_priority_max sched_get_priority_min sched_getscheduler
sched_setscheduler sched_rr_get_interval sched_rr_get_interval_time64 sched_yield set_tid_address
set_robust_list get_robust_list set_thread_area get_thread_area rseq restart_syscall wait4 waitid waitpid times
seccomp membarrier getcpu uname olduname sysinfo process_mrelease landlock_add_rule landlock_create_ruleset
landlock_restrict_self ptrace process_vm_readv process_vm_writev
"""
_IDENTITY = """
getuid geteuid getgid getegid getuid32 geteuid32 getgid32 getegid32 getresuid getresgid getresuid32 getresgid32
getgroups getgroups32 setuid setuid32 setgid setgid32 setreuid setreuid32 setregid setregid32 setresuid
setresuid32 setresgid setresgid32 setfsuid setfsuid32 setfsgid setfsgid32 setgroups setgroups32
"""
_SIGNALS = """
rt_sigaction rt_sigpending rt_sigprocmask rt_sigqueueinfo rt_sigreturn rt_sigsuspend rt_sigtimedwait
rt_sigtimedwait_time64 rt_tgsigqueueinfo sigaltstack signalfd signalfd4 sigprocmask sigreturn sigaction signal
sigpending sigsuspend pause alarm
"""
_MEMORY = """
brk madvise mincore mlock mlock2 mlockall munlock munlockall mmap mmap2 mprotect mremap msync munmap
remap_file_pages memfd_create memfd_secret pkey_alloc pkey_free pkey_mprotect map_shadow_stack cachestat
"""
_FILES = """
access faccessat faccessat2 chdir fchdir chmod fchmod fchmodat fchmodat2 chown chown32 fchown fchown32 fchownat
lchown lchown32 close close_range creat dup dup2 dup3 fadvise64 fadvise64_64 fallocate fcntl fcntl64 fdatasync
fsync syncfs sync sync_file_range flock fstat fstat64 fstatat64 newfstatat lstat lstat64 stat stat64 statx
statfs statfs64 fstatfs fstatfs64 ftruncate ftruncate64 truncate truncate64 getcwd getdents getdents64 link
linkat symlink symlinkat unlink unlinkat rename renameat renameat2 mkdir mkdirat mknod mknodat rmdir readlink
readlinkat open openat openat2 lseek _llseek read readv pread64 preadv preadv2 write writev pwrite64 pwritev
pwritev2 readahead sendfile sendfile64 splice tee vmsplice copy_file_range umask utime utimes utimensat
utimensat_time64 futimesat getxattr lgetxattr fgetxattr setxattr lsetxattr fsetxattr listxattr llistxattr
flistxattr removexattr lremovexattr fremovexattr inotify_init inotify_init1 inotify_add_watch inotify_rm_watch
fanotify_mark ioctl pipe pipe2 select _newselect pselect6 pselect6_time64 poll ppoll ppoll_time64 epoll_create
epoll_create1 epoll_ctl epoll_ctl_old epoll_pwait epoll_pwait2 epoll_wait epoll_wait_old eventfd eventfd2
timerfd_create timerfd_gettime timerfd_gettime64 timerfd_settime timerfd_settime64 io_setup io_destroy
io_submit io_cancel io_getevents io_pgetevents io_pgetevents_time64 name_to_handle_at
"""
_TIME = """
clock_getres clock_getres_time64 clock_gettime clock_gettime64 clock_nanosleep clock_nanosleep_time64
gettimeofday nanosleep time getitimer setitimer timer_create timer_delete timer_getoverrun timer_gettime
timer_gettime64 timer_settime timer_settime64 adjtimex clock_adjtime clock_adjtime64
"""
_IPC = """
ipc msgctl msgget msgrcv msgsnd semctl semget semop semtimedop semtimedop_time64 shmat shmctl shmdt shmget
mq_getsetattr mq_notify mq_open mq_timedreceive mq_timedreceive_time64 mq_timedsend mq_timedsend_time64
mq_unlink
"""
_NET = """
accept accept4 bind connect getpeername getsockname getsockopt setsockopt listen recv recvfrom recvmmsg
recvmmsg_time64 recvmsg send sendmmsg sendmsg sendto shutdown socket socketcall socketpair
"""
_SYNC = "futex futex_time64 futex_waitv futex_wait futex_wake futex_requeue getrandom"

# Syscalls a capability unlocks (CAP_ name without the prefix -> names).
_BY_CAPABILITY: dict[str, str] = {
    "SYS_ADMIN": """bpf clone clone3 fanotify_init fsconfig fsmount fsopen fspick lookup_dcookie mount
        mount_setattr move_mount open_tree perf_event_open quotactl quotactl_fd setdomainname sethostname setns
        syslog umount umount2 unshare""",
    "SYS_BOOT": "reboot",
    "SYS_CHROOT": "chroot",
    "SYS_MODULE": "init_module finit_module delete_module",
    "SYS_PACCT": "acct",
    "SYS_PTRACE": "kcmp pidfd_getfd process_madvise",
    "SYS_RAWIO": "iopl ioperm",
    "SYS_TIME": "settimeofday stime clock_settime clock_settime64",
    "SYS_TTY_CONFIG": "vhangup",
    "SYS_NICE": "get_mempolicy mbind set_mempolicy set_mempolicy_home_node migrate_pages move_pages",
    "SYSLOG": "syslog",
    "BPF": "bpf",
    "PERFMON": "perf_event_open",
    "DAC_READ_SEARCH": "open_by_handle_at",
}

# Known syscalls no container gets from this profile (EPERM rather than ENOSYS).
_DENIED = """
add_key keyctl request_key kexec_load kexec_file_load create_module get_kernel_syms query_module nfsservctl
uselib userfaultfd ustat sysfs _sysctl swapon swapoff vm86 vm86old pciconfig_iobase pciconfig_read
pciconfig_write bdflush
"""

# Per-architecture extras: (SCMP architectures, extra allowed names).
_ARCHES: dict[str, tuple[tuple[str, ...], str]] = {
    "x86_64": (("SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"), "arch_prctl modify_ldt"),
    "aarch64": (("SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"),
                "arm_fadvise64_64 arm_sync_file_range sync_file_range2 breakpoint cacheflush set_tls"),
}

# clone(2) flags that create namespaces: only CAP_SYS_ADMIN may pass them (arg 0 on x86 and arm).
CLONE_NAMESPACE_FLAGS = (
    0x00020000,  # CLONE_NEWNS
    0x02000000,  # CLONE_NEWCGROUP
    0x04000000,  # CLONE_NEWUTS
    0x08000000,  # CLONE_NEWIPC
    0x10000000,  # CLONE_NEWUSER
    0x20000000,  # CLONE_NEWPID
    0x40000000,  # CLONE_NEWNET
)
# personality(2) personas a container may switch to (PER_LINUX, PER_LINUX32, UNAME26 variants, query).
PERSONALITIES = (0x0, 0x8, 0x20000, 0x20008, 0xFFFFFFFF)


def _names(text: str) -> list[str]:
    return text.split()


def allowed_names(caps: Iterable[str], arch: str = "x86_64") -> list[str]:
    """Every syscall RuntimeDefault allows outright for these capabilities (CAP_ prefix optional)."""
    have = {c.removeprefix("CAP_") for c in caps}
    names = set()
    for group in (_PROCESS, _IDENTITY, _SIGNALS, _MEMORY, _FILES, _TIME, _IPC, _NET, _SYNC, _ARCHES[arch][1]):
        names.update(_names(group))
    for cap, group in _BY_CAPABILITY.items():
        if cap in have:
            names.update(_names(group))
    names.discard("clone")   # clone is argument-filtered unless CAP_SYS_ADMIN (below)
    return sorted(names)


def runtime_default(caps: Sequence[str], arch: str = "x86_64") -> dict[str, Any]:
    """podbay's RuntimeDefault seccomp profile for a container with these (effective) capabilities."""
    if arch not in _ARCHES:
        raise PermanentError(f"RuntimeDefault seccomp: architecture {arch} is not supported by podbay")
    have = {c.removeprefix("CAP_") for c in caps}
    allowed = set(allowed_names(caps, arch))
    denied = set(_names(_DENIED))
    for cap, group in _BY_CAPABILITY.items():
        if cap not in have:
            denied.update(n for n in _names(group) if n not in allowed)
    denied.discard("clone")
    denied.discard("clone3")
    rules: list[dict[str, Any]] = [{"names": sorted(allowed), "action": ALLOW}]
    if "SYS_ADMIN" in have:
        rules.append({"names": ["clone"], "action": ALLOW})
    else:
        every = 0
        for flag in CLONE_NAMESPACE_FLAGS:
            every |= flag
            rules.append({"names": ["clone"], "action": ERRNO, "errnoRet": EPERM,
                          "args": [{"index": 0, "value": flag, "valueTwo": flag, "op": "SCMP_CMP_MASKED_EQ"}]})
        rules.append({"names": ["clone"], "action": ALLOW,
                      "args": [{"index": 0, "value": every, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]})
        # No clone3 without CAP_SYS_ADMIN (its flags are in memory seccomp cannot read): ENOSYS makes
        # glibc fall back to clone, whose flags are checked above.
        rules.append({"names": ["clone3"], "action": ERRNO, "errnoRet": ENOSYS})
    for persona in PERSONALITIES:
        rules.append({"names": ["personality"], "action": ALLOW,
                      "args": [{"index": 0, "value": persona, "valueTwo": 0, "op": "SCMP_CMP_EQ"}]})
    rules.append({"names": sorted(denied), "action": ERRNO, "errnoRet": EPERM})
    return {
        "defaultAction": ERRNO,
        "defaultErrnoRet": ENOSYS,
        "architectures": list(_ARCHES[arch][0]),
        "syscalls": rules,
    }


# --- Localhost profiles ----------------------------------------------------------------------------

_OCI_KEYS = {"defaultAction", "defaultErrnoRet", "architectures", "flags", "listenerPath", "listenerMetadata",
             "syscalls"}
_DOCKER_ARCH = {"x86_64": "SCMP_ARCH_X86_64", "aarch64": "SCMP_ARCH_AARCH64"}


def localhost(profile: Any, caps: Sequence[str], arch: str = "x86_64", where: str = "") -> dict[str, Any]:
    """A Localhost profile file's JSON as OCI linux.seccomp. Accepts the OCI form and the Docker form
    (archMap, `name`, includes/excludes on caps and arches), as containerd's LoadProfile does."""
    def bad(why: str) -> PermanentError:
        return PermanentError(f"failed to load seccomp profile {where}: {why}")

    if not isinstance(profile, Mapping):
        raise bad("the profile is not a JSON object")
    action = profile.get("defaultAction")
    if not isinstance(action, str) or not action.startswith("SCMP_ACT_"):
        raise bad("defaultAction must be an SCMP_ACT_* action")
    have = {c.removeprefix("CAP_") for c in caps}
    out: dict[str, Any] = {k: profile[k] for k in _OCI_KEYS if k in profile and k != "syscalls"}
    if "architectures" not in out and isinstance(profile.get("archMap"), list):
        native = _DOCKER_ARCH.get(arch)
        for entry in profile["archMap"]:
            if isinstance(entry, Mapping) and entry.get("architecture") == native:
                out["architectures"] = [native, *list(entry.get("subArchitectures") or [])]
    syscalls = profile.get("syscalls") or []
    if not isinstance(syscalls, list):
        raise bad("syscalls must be a list")
    rules = []
    for i, rule in enumerate(syscalls):
        if not isinstance(rule, Mapping):
            raise bad(f"syscalls[{i}] is not an object")
        if not _included(rule.get("includes"), have, arch) or _excluded(rule.get("excludes"), have, arch):
            continue
        names = rule.get("names") or ([rule["name"]] if rule.get("name") else [])
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            raise bad(f"syscalls[{i}] needs names")
        if not isinstance(rule.get("action"), str):
            raise bad(f"syscalls[{i}] needs an action")
        oci = {"names": list(names), "action": rule["action"]}
        for key in ("errnoRet", "args"):
            if rule.get(key) is not None:
                oci[key] = rule[key]
        rules.append(oci)
    if rules:
        out["syscalls"] = rules
    return out


def _go_arches(arch: str) -> set[str]:
    return {"x86_64": {"amd64"}, "aarch64": {"arm64"}}.get(arch, {arch})


def _included(cond: Any, caps: set[str], arch: str) -> bool:
    """Docker profile `includes`: every listed capability present, the host's arch listed (minKernel:
    podbay's hosts are newer than any the upstream profiles name)."""
    if not isinstance(cond, Mapping):
        return True
    want = {str(c).removeprefix("CAP_") for c in cond.get("caps") or []}
    arches = {str(a) for a in cond.get("arches") or []}
    return want <= caps and (not arches or bool(arches & _go_arches(arch)))


def _excluded(cond: Any, caps: set[str], arch: str) -> bool:
    """Docker profile `excludes`: any listed capability present, or the host's arch listed."""
    if not isinstance(cond, Mapping):
        return False
    want = {str(c).removeprefix("CAP_") for c in cond.get("caps") or []}
    arches = {str(a) for a in cond.get("arches") or []}
    return bool(want & caps) or bool(arches & _go_arches(arch))
