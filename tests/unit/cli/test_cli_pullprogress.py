"""``podbay image pull`` progress rendering."""

from __future__ import annotations

from podbay.cli.pullprogress import PullProgress, eta, size


class T:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_plain_lines_when_a_layer_starts_and_ends() -> None:
    out: list[str] = []
    clock = T()
    p = PullProgress(out.append, tty=False, clock=clock)
    p.begin([("sha256:" + "a" * 64, 1_000_000), ("sha256:" + "b" * 64, 5_000_000)])
    p.update({}, (400_000,))
    clock.t += 1
    p.update({"sha256:" + "a" * 64: 1_000_000}, (2_500_000,))
    clock.t += 1
    p.update({"sha256:" + "a" * 64: 1_000_000, "sha256:" + "b" * 64: 5_000_000}, ())
    assert out == ["Copying blob aaaaaaaaaaaa (1 MB)\n",
                   "Copying blob aaaaaaaaaaaa done: 1 MB in 1.00s (1 MB/s)\n",
                   "Copying blob bbbbbbbbbbbb (5 MB)\n",
                   "Copying blob bbbbbbbbbbbb done: 5 MB in 1.00s (5 MB/s)\n"]


def test_terminal_bars_redraw_in_place_with_rate_and_eta() -> None:
    out: list[str] = []
    clock = T()
    p = PullProgress(out.append, tty=True, width=10, clock=clock)
    p.begin([("sha256:" + "c" * 64, 10_000_000)])
    p.update({}, (0,))
    clock.t += 2
    p.update({}, (4_000_000,))
    assert out[-1] == "\x1b[1A\x1b[2KCopying blob cccccccccccc [====>     ] 4 MB / 10 MB 2 MB/s ETA 3s\n"
    p.update({"sha256:" + "c" * 64: 10_000_000}, ())
    assert out[-1].endswith("Copying blob cccccccccccc     10 MB done\n")


def test_units() -> None:
    assert size(999) == "999 B" and size(1_500) == "1.5 kB" and size(14_766_817) == "14.8 MB"
    assert eta(0.2) == "1s" and eta(75) == "1m15s"
