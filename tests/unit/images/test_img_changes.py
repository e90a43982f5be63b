import pytest

from podbay.images.changes import apply_changes, parse_change


def test_parse_change() -> None:
    assert parse_change("ENV A=1") == ("ENV", "A=1")
    assert parse_change("  cmd  [\"sh\"] ") == ("CMD", '["sh"]')


@pytest.mark.parametrize("bad", ["FROM busybox", "RUN true", "", "ENV", "WORKDIR   "])
def test_rejects_unknown_or_empty(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_change(bad)


def test_apply_all() -> None:
    base = {"Env": ["PATH=/bin", "A=old"], "Cmd": ["sh"]}
    out = apply_changes(base, [
        "ENV A=1 B=\"two words\"", "ENV C some value", "ENV PATH=/usr/bin:/bin",
        'CMD ["echo", "hi"]', "ENTRYPOINT /entry.sh --flag", "WORKDIR /srv", "USER 1001:1001",
        "LABEL k=v", "STOPSIGNAL SIGINT", "EXPOSE 80 53/udp",
    ])
    assert out["Env"] == ["A=1", "B=two words", "C=some value", "PATH=/usr/bin:/bin"]
    assert out["Cmd"] == ["echo", "hi"]
    assert out["Entrypoint"] == ["/bin/sh", "-c", "/entry.sh --flag"]
    assert out["WorkingDir"] == "/srv"
    assert out["User"] == "1001:1001"
    assert out["Labels"] == {"k": "v"}
    assert out["StopSignal"] == "SIGINT"
    assert out["ExposedPorts"] == {"80/tcp": {}, "53/udp": {}}
    assert base == {"Env": ["PATH=/bin", "A=old"], "Cmd": ["sh"]}  # input untouched


def test_cmd_shell_form_and_broken_json() -> None:
    assert apply_changes({}, ["CMD sleep 10"])["Cmd"] == ["/bin/sh", "-c", "sleep 10"]
    assert apply_changes({}, ["CMD [sleep"])["Cmd"] == ["/bin/sh", "-c", "[sleep"]


def test_env_needs_value() -> None:
    with pytest.raises(ValueError):
        apply_changes({}, ["ENV ONLYKEY"])
    with pytest.raises(ValueError):
        apply_changes({}, ["ENV =x"])
