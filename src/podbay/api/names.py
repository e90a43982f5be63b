"""Name-format checks of k8s.io/apimachinery/pkg/util/validation, returning its exact messages.

Each checker returns a list of messages (empty when valid); callers wrap every message in a
``FieldError`` of type Invalid, as Kubernetes does.
"""

from __future__ import annotations

import re

DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_SUBDOMAIN_FMT = DNS1123_LABEL_FMT + r"(\." + DNS1123_LABEL_FMT + ")*"
DNS1123_LABEL_MAX = 63
DNS1123_SUBDOMAIN_MAX = 253

_LABEL_RE = re.compile(f"^{DNS1123_LABEL_FMT}$")
_SUBDOMAIN_RE = re.compile(f"^{DNS1123_SUBDOMAIN_FMT}$")

ENV_VAR_NAME_FMT = "[-._a-zA-Z][-._a-zA-Z0-9]*"
_ENV_RE = re.compile(f"^{ENV_VAR_NAME_FMT}$")

QUALIFIED_NAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_QUALIFIED_RE = re.compile(f"^{QUALIFIED_NAME_FMT}$")
LABEL_VALUE_FMT = "(" + QUALIFIED_NAME_FMT + ")?"
_LABEL_VALUE_RE = re.compile(f"^{LABEL_VALUE_FMT}$")

CONFIG_KEY_FMT = "[-._a-zA-Z0-9]+"
_CONFIG_KEY_RE = re.compile(f"^{CONFIG_KEY_FMT}$")

_PORT_NAME_CHARSET = re.compile(r"^[-a-z0-9]+$")
_PORT_NAME_LETTER = re.compile(r"[a-z]")


def max_len_error(n: int) -> str:
    return f"must be no more than {n} characters"


def regex_error(msg: str, fmt: str, *examples: str) -> str:
    """apimachinery RegexError, including its odd ``'a',  or 'b'`` double space."""
    if not examples:
        return f"{msg} (regex used for validation is '{fmt}')"
    msg += " (e.g. "
    for i, ex in enumerate(examples):
        if i > 0:
            msg += " or "
        msg += f"'{ex}', "
    return msg + f"regex used for validation is '{fmt}')"


def inclusive_range_error(lo: int, hi: int) -> str:
    return f"must be between {lo} and {hi}, inclusive"


def _format_errors(value: str, max_len: int | None, regex: re.Pattern[str], msg: str, fmt: str,
                   *examples: str) -> list[str]:
    """The usual pair of checks: a length limit (if any), then the format as a RegexError."""
    errs = []
    if max_len is not None and len(value) > max_len:
        errs.append(max_len_error(max_len))
    if not regex.match(value):
        errs.append(regex_error(msg, fmt, *examples))
    return errs


def is_dns1123_label(value: str) -> list[str]:
    # Long-standing wording; newest master says just "must not contain dots" for valid subdomains.
    return _format_errors(
        value, DNS1123_LABEL_MAX, _LABEL_RE,
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
        "and must start and end with an alphanumeric character",
        DNS1123_LABEL_FMT, "my-name", "123-abc",
    )


DNS1035_LABEL_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
_DNS1035_RE = re.compile(f"^{DNS1035_LABEL_FMT}$")


def is_dns1035_label(value: str) -> list[str]:
    """Service names (apimachinery IsDNS1035Label)."""
    return _format_errors(
        value, DNS1123_LABEL_MAX, _DNS1035_RE,
        "a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
        "start with an alphabetic character, and end with an alphanumeric character",
        DNS1035_LABEL_FMT, "my-name", "abc-123",
    )


def is_dns1123_subdomain(value: str) -> list[str]:
    return _format_errors(
        value, DNS1123_SUBDOMAIN_MAX, _SUBDOMAIN_RE,
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
        "and must start and end with an alphanumeric character",
        DNS1123_SUBDOMAIN_FMT, "example.com",
    )


def _chdir_prefix(value: str) -> list[str]:
    if value == ".":
        return ["must not be '.'"]
    if value == "..":
        return ["must not be '..'"]
    if value.startswith(".."):
        return ["must not start with '..'"]
    return []


def is_env_var_name(value: str) -> list[str]:
    """Strict (pre-RelaxedEnvironmentVariableValidation) C-identifier-like rule."""
    return _format_errors(
        value, None, _ENV_RE,
        "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', "
        "or '.', and must not start with a digit",
        ENV_VAR_NAME_FMT, "my.env-name", "MY_ENV.NAME", "MyEnvName1",
    ) + _chdir_prefix(value)


def is_relaxed_env_var_name(value: str) -> list[str]:
    """Default since RelaxedEnvironmentVariableValidation (beta 1.32, GA 1.34)."""
    errs = []
    if not value:
        errs.append("environment variable name must be non-empty")
    if any(ord(c) > 126 or ord(c) < 32 or c == "=" for c in value):
        errs.append(
            "a valid environment variable name must consist only of printable ASCII characters other than '='"
        )
    return errs


# The qualified-name part's RegexError, used both for a bad name part and a malformed whole.
_QUALIFIED_NAME_ERROR = regex_error(
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character",
    QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc",
)


def is_qualified_name(value: str) -> list[str]:
    """Label/annotation keys: optional DNS-subdomain prefix ``/`` name (max 63)."""
    errs: list[str] = []
    parts = value.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part must be non-empty")
        else:
            errs += ["prefix part " + m for m in is_dns1123_subdomain(prefix)]
    else:
        return [
            "a qualified name " + _QUALIFIED_NAME_ERROR
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    if not name:
        errs.append("name part must be non-empty")
    elif len(name) > 63:
        errs.append("name part " + max_len_error(63))
    if name and not _QUALIFIED_RE.match(name):
        errs.append("name part " + _QUALIFIED_NAME_ERROR)
    return errs


def is_label_value(value: str) -> list[str]:
    return _format_errors(
        value, 63, _LABEL_VALUE_RE,
        "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
        "and must start and end with an alphanumeric character",
        LABEL_VALUE_FMT, "MyValue", "my_value", "12345",
    )


def is_config_map_key(value: str) -> list[str]:
    return _format_errors(
        value, DNS1123_SUBDOMAIN_MAX, _CONFIG_KEY_RE,
        "a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
        CONFIG_KEY_FMT, "key.name", "KEY_NAME", "key-name",
    ) + _chdir_prefix(value)


def is_valid_port_name(port: str) -> list[str]:
    errs = []
    if len(port) > 15:
        errs.append(max_len_error(15))
    if not _PORT_NAME_CHARSET.match(port):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not _PORT_NAME_LETTER.search(port):
        errs.append("must contain at least one letter (a-z)")
    if "--" in port:
        errs.append("must not contain consecutive hyphens")
    if port and (port[0] == "-" or port[-1] == "-"):
        errs.append("must not begin or end with a hyphen")
    return errs


def is_valid_port_num(port: int) -> list[str]:
    if 1 <= port <= 65535:
        return []
    return [inclusive_range_error(1, 65535)]


MAX_ID = 2**31 - 1  # apimachinery maxUserID/maxGroupID = math.MaxInt32


def is_valid_id(value: int) -> list[str]:
    if 0 <= value <= MAX_ID:
        return []
    return [inclusive_range_error(0, MAX_ID)]
