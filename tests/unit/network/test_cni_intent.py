"""CNI set-up idempotent across crashes (issue 11 item 15), against fake plugins (no root).

The fake `veth` plugin behaves like the bridge plugin where it matters: a second ADD for an attachment
without a DEL in between fails with "already exists", DEL without prevResult succeeds. The fake `crash`
plugin SIGKILLs its caller after a successful ADD, i.e. the agent dies between ADD and caching.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from podbay.errors import NetworkFailure
from podbay.network.cni import CniNetwork

SRC = Path(__file__).resolve().parents[3] / "src"
PLUGIN = """#!{python}
import json, os, signal, sys
conf = json.load(sys.stdin)
name = os.path.basename(sys.argv[0])
cmd = os.environ["CNI_COMMAND"]
with open(os.environ["FAKE_CNI_LOG"], "a") as f:
    f.write(json.dumps({{"plugin": name, "cmd": cmd, "ifname": os.environ["CNI_IFNAME"],
                        "prev": "prevResult" in conf, "args": os.environ["CNI_ARGS"]}}) + "\\n")
state = os.path.join(os.environ["FAKE_CNI_STATE"], os.environ["CNI_CONTAINERID"] + "-" + name)
if cmd == "ADD":
    if name == "veth" and os.path.exists(state):
        print(json.dumps({{"cniVersion": "1.0.0", "code": 999,
                          "msg": "container veth name provided (eth0) already exists"}}))
        sys.exit(1)
    if conf.get("failADD"):
        print(json.dumps({{"cniVersion": "1.0.0", "code": 11, "msg": "no luck"}}))
        sys.exit(1)
    if name != "loopback":
        open(state, "w").close()
    res = conf.get("prevResult") or {{"cniVersion": conf["cniVersion"], "interfaces": [], "ips": []}}
    res["interfaces"].append({{"name": name}})
    print(json.dumps(res))
    sys.stdout.flush()
    if name == "crash":
        os.kill(os.getppid(), signal.SIGKILL)
elif cmd == "DEL":
    if os.path.exists(os.path.join(os.environ["FAKE_CNI_STATE"], "faildel-" + name)):  # transient
        print(json.dumps({{"cniVersion": "1.0.0", "code": 11, "msg": "del failed"}}))
        sys.exit(1)
    if os.path.exists(state):
        os.unlink(state)
"""


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    plugins = tmp_path / "bin"
    plugins.mkdir()
    for name in ("loopback", "veth", "crash", "tail"):
        p = plugins / name
        p.write_text(PLUGIN.format(python=sys.executable))
        p.chmod(0o755)
    (tmp_path / "state").mkdir()
    log = tmp_path / "log.jsonl"
    log.touch()
    monkeypatch.setenv("FAKE_CNI_LOG", str(log))
    monkeypatch.setenv("FAKE_CNI_STATE", str(tmp_path / "state"))
    return {"tmp": tmp_path, "bin": plugins, "log": log, "state": tmp_path / "state"}


def conf(env: dict[str, Path], plugins: list[dict[str, Any]]) -> None:
    d = env["tmp"] / "net.d"
    d.mkdir(exist_ok=True)
    (d / "50-test.conflist").write_text(json.dumps({"cniVersion": "1.0.0", "name": "podbay", "plugins": plugins}))


def net(env: dict[str, Path]) -> CniNetwork:
    return CniNetwork(env["tmp"] / "net.d", [env["bin"]], env["tmp"] / "cni")


def calls(env: dict[str, Path]) -> list[tuple[str, str]]:
    out = [json.loads(line) for line in env["log"].read_text().splitlines()]
    env["log"].write_text("")
    return [(c["plugin"], c["cmd"]) for c in out if c["plugin"] != "loopback"]


def crash_during_add(env: dict[str, Path], cid: str) -> None:
    """CniNetwork.add in a child process that is SIGKILLed right after the chain's ADD succeeded."""
    code = ("import sys; from pathlib import Path; from podbay.network.cni import CniNetwork; "
            f"CniNetwork(Path({str(env['tmp'] / 'net.d')!r}), [Path({str(env['bin'])!r})], "
            f"Path({str(env['tmp'] / 'cni')!r})).add({cid!r}, '/run/x/net', args={{'K8S_POD_NAME': 'p'}})")
    res = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(SRC)},
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == -9, res.stderr


def test_add_after_a_crash_between_add_and_cache_deletes_first(env: dict[str, Path]) -> None:
    conf(env, [{"type": "veth"}, {"type": "crash"}])
    crash_during_add(env, "c1")
    assert calls(env) == [("veth", "ADD"), ("crash", "ADD")]
    n = net(env)
    assert n.result("c1") is None                      # the result never reached the cache
    conf(env, [{"type": "veth"}, {"type": "tail"}])    # same attachment; the crashing step is gone
    res = n.add("c1", "/run/x/net")
    # The intent's config and args drive a DEL first (newest plugin first, no prevResult), then ADD.
    assert calls(env) == [("crash", "DEL"), ("veth", "DEL"), ("veth", "ADD"), ("tail", "ADD")]
    assert [i["name"] for i in res["interfaces"]] == ["veth", "tail"]
    assert n.result("c1") == res
    assert sorted(os.listdir(env["state"])) == ["c1-tail", "c1-veth"]
    assert os.listdir(env["tmp"] / "cni" / "intents") == []


def test_without_the_intent_a_second_add_fails_and_rolls_back(env: dict[str, Path]) -> None:
    """What happened before: the second ADD hit "already exists", and its rollback DEL tore down the
    attachment the first ADD had made (a pod then looked Ready with its network gone)."""
    conf(env, [{"type": "veth"}, {"type": "crash"}])
    crash_during_add(env, "c2")
    (env["tmp"] / "cni" / "intents" / "podbay-c2-eth0").unlink()   # as if no intent had been written
    conf(env, [{"type": "veth"}])
    with pytest.raises(NetworkFailure, match="already exists"):
        net(env).add("c2", "/run/x/net")


def test_a_failed_rollback_keeps_the_intent(env: dict[str, Path]) -> None:
    conf(env, [{"type": "veth"}, {"type": "tail", "failADD": True}])
    (env["state"] / "faildel-veth").touch()
    n = net(env)
    with pytest.raises(NetworkFailure, match="no luck"):   # the ADD error is the one reported
        n.add("c3", "/run/x/net")
    assert (env["tmp"] / "cni" / "intents" / "podbay-c3-eth0").exists()
    calls(env)
    (env["state"] / "faildel-veth").unlink()
    conf(env, [{"type": "veth"}, {"type": "tail"}])
    n.add("c3", "/run/x/net")
    assert calls(env)[:2] == [("tail", "DEL"), ("veth", "DEL")]


def test_a_rolled_back_add_leaves_nothing(env: dict[str, Path]) -> None:
    conf(env, [{"type": "veth"}, {"type": "tail", "failADD": True}])
    n = net(env)
    with pytest.raises(NetworkFailure, match="no luck"):
        n.add("c4", "/run/x/net")
    assert os.listdir(env["tmp"] / "cni" / "intents") == [] and os.listdir(env["state"]) == []
    calls(env)
    conf(env, [{"type": "veth"}])
    n.add("c4", "/run/x/net")
    assert calls(env) == [("veth", "ADD")]            # nothing to undo: no DEL first


def test_delete_and_forget_after_a_crash_use_the_intent(env: dict[str, Path]) -> None:
    conf(env, [{"type": "veth"}, {"type": "crash"}])
    crash_during_add(env, "c5")
    calls(env)
    conf(env, [{"type": "veth"}])        # config changed since: DEL follows the intent's config
    net(env).delete("c5", None)
    assert calls(env) == [("crash", "DEL"), ("veth", "DEL")]
    assert os.listdir(env["state"]) == [] and os.listdir(env["tmp"] / "cni" / "intents") == []
    conf(env, [{"type": "veth"}, {"type": "crash"}])
    crash_during_add(env, "c6")
    net(env).forget("c6")
    assert os.listdir(env["tmp"] / "cni" / "intents") == []


def test_cache_dirs_are_root_only(env: dict[str, Path]) -> None:
    net(env)
    for d in ("results", "intents"):
        assert os.stat(env["tmp"] / "cni" / d).st_mode & 0o777 == 0o700
