"""conmon's flags for a container's stdin and tty (what attach needs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from podbay.core.ocispec import ContainerPlan, build_spec
from podbay.runtime.conmon import ConmonPaths, conmon_argv

P = ConmonPaths(Path("/b"), Path("/b/userdata"), Path("/exits"), Path("/l/0.log"), Path("/attach"))


def argv(**kw: bool) -> list[str]:
    return conmon_argv("/usr/bin/conmon", "/usr/bin/crun", Path("/r"), "cid", "n", P, **kw)


def test_plain_container_has_no_stdin_or_terminal() -> None:
    a = argv()
    assert not {"--stdin", "--leave-stdin-open", "--terminal"} & set(a)
    assert a[a.index("--socket-dir-path") + 1] == "/attach"


def test_stdin_is_kept_open_across_attach_sessions_unless_stdin_once() -> None:
    assert argv(stdin=True)[-2:] == ["--stdin", "--leave-stdin-open"]
    a = argv(stdin=True, stdin_once=True)
    assert "--stdin" in a and "--leave-stdin-open" not in a


def test_tty_gets_a_terminal() -> None:
    assert argv(tty=True)[-1] == "--terminal"


def _spec(container: dict[str, object]) -> dict[str, object]:
    pod = {"metadata": {"name": "p", "namespace": "d", "uid": "u"}, "spec": {"containers": [container]}}
    return build_spec(ContainerPlan(container_id="cid", pod=pod, container=container, argv=["sh"], env=[],
                                    rootfs="/r", cgroups_path="/c"))


def test_spec_carries_the_stdin_settings_for_conmon() -> None:
    s = _spec({"name": "c", "stdin": True, "stdinOnce": True, "tty": True})
    assert s["process"]["terminal"] is True  # type: ignore[index]
    anns = s["annotations"]
    assert anns["io.kubernetes.cri-o.Stdin"] == "true"  # type: ignore[index]
    assert anns["io.kubernetes.cri-o.StdinOnce"] == "true"  # type: ignore[index]
    assert anns["io.kubernetes.cri-o.TTY"] == "true"  # type: ignore[index]
    plain = _spec({"name": "c"})
    assert plain["process"]["terminal"] is False  # type: ignore[index]
    assert plain["annotations"]["io.kubernetes.cri-o.Stdin"] == "false"  # type: ignore[index]


def test_create_passes_the_spec_settings_to_conmon(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from podbay.runtime import service
    from podbay.runtime.conmon import Launched

    seen: list[list[str]] = []
    monkeypatch.setattr(service, "launch", lambda argv, before_start=None: seen.append(argv) or Launched(1, 2))

    class Oci:
        binary, root = "/usr/bin/crun", tmp_path / "oci"

    rt = service.ContainerRuntime(Oci(), "/usr/bin/conmon", tmp_path / "c", tmp_path / "e", tmp_path / "a")  # type: ignore[arg-type]
    rt.create("cid", "n", _spec({"name": "c", "stdin": True, "tty": True}), tmp_path / "l/0.log")
    rt.create("cid2", "n", _spec({"name": "c"}), tmp_path / "l/1.log")
    assert {"--stdin", "--leave-stdin-open", "--terminal"} <= set(seen[0])
    assert not {"--stdin", "--terminal"} & set(seen[1])
    assert rt.attach_dir("cid") == tmp_path / "c" / "cid"
