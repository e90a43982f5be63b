from fractions import Fraction

import pytest

from podbay.api.quantity import QUANTITY_REGEX_MSG, canonical, parse_quantity, to_bytes, to_millicores


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1", 1),
        ("0", 0),
        ("100m", Fraction(1, 10)),
        ("0.5", Fraction(1, 2)),
        (".5", Fraction(1, 2)),
        ("1.5", Fraction(3, 2)),
        ("1Ki", 1024),
        ("1Mi", 1024**2),
        ("1.5Gi", 3 * 2**29),
        ("2Ti", 2 * 2**40),
        ("1Pi", 2**50),
        ("1Ei", 2**60),
        ("1k", 1000),
        ("500M", 500_000_000),
        ("1G", 10**9),
        ("1T", 10**12),
        ("1P", 10**15),
        ("1E", 10**18),
        ("1n", Fraction(1, 10**9)),
        ("1u", Fraction(1, 10**6)),
        ("1e3", 1000),
        ("1E3", 1000),
        ("12e-1", Fraction(6, 5)),
        ("+5", 5),
        ("-1", -1),
        ("-100m", Fraction(-1, 10)),
        ("0.0000000001", Fraction(1, 10**9)),  # rounded up to 1n
        (2, 2),
        (0.25, Fraction(1, 4)),
    ],
)
def test_parse(text: str | int | float, value: Fraction | int) -> None:
    assert parse_quantity(text) == value


@pytest.mark.parametrize(
    "bad", ["", "abc", "1K", "1 Mi", "Mi", "1.2.3", "1Mb", "--1", "1e", " 1", True, None, float("inf")]
)
def test_parse_rejects_garbage(bad: object) -> None:
    with pytest.raises(ValueError, match="quantities must match"):
        parse_quantity(bad)  # type: ignore[arg-type]
    assert "regular expression" in QUANTITY_REGEX_MSG


@pytest.mark.parametrize(
    ("text", "canon"),
    [
        ("1024Mi", "1Gi"),
        ("1536Mi", "1536Mi"),
        ("0.5", "500m"),
        ("1000m", "1"),
        ("1.5", "1500m"),
        ("1e3", "1e3"),
        ("0.5Ki", "512"),
        ("129M", "129M"),
        ("2", "2"),
        ("0Mi", "0"),
        ("-1Gi", "-1Gi"),
    ],
)
def test_canonical(text: str, canon: str) -> None:
    assert canonical(text) == canon


def test_to_bytes_and_millicores() -> None:
    assert to_bytes("64Mi") == 64 * 1024 * 1024
    assert to_bytes("1.5") == 2  # ceil
    assert to_bytes("100m") == 1
    assert to_millicores("250m") == 250
    assert to_millicores("1.5") == 1500
    assert to_millicores(2) == 2000
    assert to_millicores("1n") == 1
