"""Build the application test images (nginx, redis, MariaDB) from Debian packages, offline of any registry.

Package extraction, not debootstrap: the closure of each application's Depends (minus what only
maintainer scripts need: debconf, adduser, init-system-helpers ...) is fetched with ``apt-get
download`` into a cache, and each ``.deb``'s data tar is streamed (``dpkg-deb --fsys-tarfile``) into
one layer, without documentation, man pages, locales, systemd units or init scripts. Users, config
files and an entrypoint that behaves like the official image's are added on top. Layer 1 is the
busybox test image's layer (same bytes, so it is shared in the registry and unpacked once in the
store); layer 2 is the application. Timestamps are fixed: the same packages give the same image.

    python -m podbay.images.debimage OUT_DIR [nginx redis mariadb] [--cache DIR]

writes ``OUT_DIR/<name>.tar`` (an oci-archive) per image.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import os
import posixpath
import re
import shutil
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from podbay.images import spawn, testimage
from podbay.images.archive import REF_NAME, host_arch

# Needed only by maintainer scripts (we run none) or by init systems: never followed.
SKIP_PACKAGES = frozenset({
    "debconf", "cdebconf", "debconf-2.0", "adduser", "passwd", "init-system-helpers", "lsb-base",
    "sysvinit-utils", "iproute2", "gcc-12-base", "dpkg", "install-info", "tar", "perl-base", "ucf",
    "libpam-runtime", "sensible-utils", "procps", "psmisc", "nginx-abi-1.22.1-7",
})
SKIP_PREFIXES = (
    "usr/share/doc/", "usr/share/man/", "usr/share/info/", "usr/share/locale/", "usr/share/lintian/",
    "usr/share/bug/", "usr/share/bash-completion/", "usr/share/vim/", "usr/share/apport/", "usr/share/menu/",
    "etc/init.d/", "etc/logrotate.d/", "etc/default/", "etc/ufw/", "etc/systemd/", "lib/systemd/",
    "usr/lib/systemd/", "usr/lib/x86_64-linux-gnu/gconv/", "usr/lib/aarch64-linux-gnu/gconv/",
)
PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
EPOCH = testimage.EPOCH
CREATED = testimage.CREATED

PASSWD = """root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
sys:x:3:3:sys:/dev:/bin/false
user:x:1001:1001:user:/home/user:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
"""
GROUP = """root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
user:x:1001:
nogroup:x:65534:
"""


@dataclass(frozen=True)
class AppImage:
    name: str
    ref: str                                  # the oci-archive's ref.name
    tags: tuple[str, ...]                     # every Docker Hub name the test registry serves it under
    packages: tuple[str, ...]
    user: tuple[str, int, str]                # (name, uid, home) of the service account, uid == gid
    config: dict[str, object]
    files: dict[str, tuple[str, int]] = field(default_factory=dict)      # path -> (text, mode)
    symlinks: dict[str, str] = field(default_factory=dict)               # path -> target
    dirs: dict[str, tuple[int, bool]] = field(default_factory=dict)      # path -> (mode, owned by the user)
    drop: tuple[str, ...] = ()                                           # extra path prefixes left out


# --------------------------------------------------------------------------------------------- nginx
NGINX_CONF = """user  nginx;
worker_processes  auto;

error_log  /var/log/nginx/error.log notice;
pid        /run/nginx.pid;

events {
    worker_connections  1024;
}

http {
    include       /etc/nginx/mime.types;
    default_type  application/octet-stream;

    log_format  main  '$remote_addr - $remote_user [$time_local] "$request" '
                      '$status $body_bytes_sent "$http_referer" '
                      '"$http_user_agent" "$http_x_forwarded_for"';

    access_log  /var/log/nginx/access.log  main;

    sendfile        on;
    keepalive_timeout  65;

    include /etc/nginx/conf.d/*.conf;
}
"""
NGINX_DEFAULT = """server {
    listen       80;
    server_name  localhost;

    location / {
        root   /usr/share/nginx/html;
        index  index.html index.htm;
    }

    error_page   500 502 503 504  /50x.html;
    location = /50x.html {
        root   /usr/share/nginx/html;
    }
}
"""
NGINX_ENTRYPOINT = """#!/bin/sh
# The official nginx image's entrypoint, for busybox sh: run /docker-entrypoint.d/*.sh, then the command.
set -e
if [ "$1" = "nginx" ] || [ "$1" = "nginx-debug" ]; then
    if [ -d /docker-entrypoint.d ] && [ -n "$(find /docker-entrypoint.d/ -mindepth 1 -maxdepth 1 -type f)" ]; then
        echo "$0: /docker-entrypoint.d/ is not empty, will attempt to perform configuration"
        for f in $(find /docker-entrypoint.d/ -follow -type f -name '*.sh' | sort); do
            if [ -x "$f" ]; then echo "$0: Launching $f"; "$f"; else echo "$0: Ignoring $f, not executable"; fi
        done
        echo "$0: Configuration complete; ready for start up"
    else
        echo "$0: No files found in /docker-entrypoint.d/, skipping configuration"
    fi
fi
exec "$@"
"""
NGINX_50X = """<!DOCTYPE html>
<html>
<head><title>Error</title></head>
<body>
<h1>An error occurred.</h1>
<p>Sorry, the page you are looking for is currently unavailable.<br/>
Please try again later.</p>
</body>
</html>
"""

# --------------------------------------------------------------------------------------------- redis
REDIS_ENTRYPOINT = """#!/bin/sh
# The official redis image's entrypoint, for busybox sh.
set -e
# first arg is `-f` or `--some-option`, or a config file
if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then
    set -- redis-server "$@"
fi
if [ "$1" = "redis-server" ]; then
    # The official image builds redis with protected mode off: ports are only reachable when exposed.
    case " $* " in
        *" --protected-mode "*|*.conf*) ;;
        *) set -- "$@" --protected-mode no ;;
    esac
    if [ "$(id -u)" = "0" ]; then
        find . \\! -user redis -exec chown redis '{}' +
        # busybox su as gosu: `--` ends its options, the command and its arguments follow the user
        exec su -p -s /bin/sh -c 'exec "$0" "$@"' redis -- "$@"
    fi
fi
um="$(umask)"
if [ "$um" = "0022" ]; then umask 0077; fi
exec "$@"
"""

# --------------------------------------------------------------------------------------------- MariaDB
MARIADB_CNF = """# podbay test image: the official image's settings (no name resolution, data in /var/lib/mysql).
[client-server]
socket = /run/mysqld/mysqld.sock
port = 3306

[mariadbd]
user = mysql
datadir = /var/lib/mysql
bind-address = 0.0.0.0
skip-name-resolve
host-cache-size = 0
lc-messages-dir = /usr/share/mysql
lc-messages = en_US

!includedir /etc/mysql/conf.d/
"""
MARIADB_ENTRYPOINT = r"""#!/bin/sh
# The official mariadb/mysql image's entrypoint, for busybox sh: on an empty data directory it
# initialises the database from MARIADB_*/MYSQL_* variables (ROOT_PASSWORD, ALLOW_EMPTY_ROOT_PASSWORD,
# RANDOM_ROOT_PASSWORD, ROOT_HOST, DATABASE, USER, PASSWORD, each also as *_FILE) and runs
# /docker-entrypoint-initdb.d/*.sh|*.sql|*.sql.gz, then starts the server.
set -eu

note() { echo "$(date -u '+%Y-%m-%d %H:%M:%S') 0 [Note] [Entrypoint]: $*"; }
fatal() { echo "$(date -u '+%Y-%m-%d %H:%M:%S') 0 [ERROR] [Entrypoint]: $*" >&2; exit 1; }

# env VAR [default]: MARIADB_VAR, else MYSQL_VAR, each possibly read from a *_FILE.
env_of() {
    var=$1; val=""
    for pre in MARIADB_ MYSQL_; do
        eval "v=\${$pre$var:-}"; eval "f=\${$pre${var}_FILE:-}"
        if [ -n "$v" ] && [ -n "$f" ]; then fatal "both $pre$var and $pre${var}_FILE are set (but are exclusive)"; fi
        if [ -n "$f" ]; then v=$(cat "$f"); fi
        if [ -n "$v" ]; then val=$v; break; fi
    done
    if [ -z "$val" ]; then val=${2:-}; fi
    eval "$var=\$val"
}
sql_escape() { printf '%s' "$1" | sed -e "s/\\\\/\\\\\\\\/g" -e "s/'/\\\\'/g"; }

if [ "${1#-}" != "$1" ]; then set -- mariadbd "$@"; fi
case "$1" in
    mariadbd|mysqld) ;;
    *) exec "$@" ;;
esac
for arg; do
    case "$arg" in --help|--version|-V|-'?'|--print-defaults) exec "$@" ;; esac
done

DATADIR=/var/lib/mysql
for arg; do
    case "$arg" in --datadir=*) DATADIR=${arg#--datadir=} ;; esac
done
SOCKET=/run/mysqld/mysqld.sock
mkdir -p /run/mysqld "$DATADIR"
if [ "$(id -u)" = "0" ]; then
    chown mysql:mysql /run/mysqld
    find "$DATADIR" \! -user mysql -exec chown mysql:mysql '{}' +
fi

if [ ! -d "$DATADIR/mysql" ]; then
    env_of ROOT_PASSWORD; env_of ALLOW_EMPTY_ROOT_PASSWORD; env_of RANDOM_ROOT_PASSWORD
    env_of ROOT_HOST %; env_of DATABASE; env_of USER; env_of PASSWORD
    if [ -z "${MYSQL_ALLOW_EMPTY_PASSWORD:-}" ]; then :; else ALLOW_EMPTY_ROOT_PASSWORD=$MYSQL_ALLOW_EMPTY_PASSWORD; fi
    if [ -z "$ROOT_PASSWORD" ] && [ -z "$ALLOW_EMPTY_ROOT_PASSWORD" ] && [ -z "$RANDOM_ROOT_PASSWORD" ]; then
        fatal "Database is uninitialized and password option is not specified
	You need to specify one of MARIADB_ROOT_PASSWORD, MARIADB_ROOT_PASSWORD_HASH, MARIADB_ALLOW_EMPTY_ROOT_PASSWORD and MARIADB_RANDOM_ROOT_PASSWORD"
    fi
    if [ -n "$USER" ] && [ "$USER" = "root" ]; then
        fatal "MARIADB_USER=root, this user already exists: use MARIADB_ROOT_PASSWORD instead"
    fi
    note "Initializing database files"
    mariadb-install-db --datadir="$DATADIR" --rpm --auth-root-authentication-method=normal --skip-test-db \
        --skip-name-resolve --default-time-zone=SYSTEM --skip-log-bin --expire-logs-days=0 \
        --loose-innodb_buffer_pool_load_at_startup=0 --loose-innodb_buffer_pool_dump_at_shutdown=0 >/dev/null
    note "Database files initialized"
    note "Starting temporary server"
    "$@" --skip-networking --default-time-zone=SYSTEM --socket="$SOCKET" --skip-log-bin \
        --loose-innodb_buffer_pool_load_at_startup=0 &
    pid=$!
    i=0
    until mariadb --protocol=socket --socket="$SOCKET" -uroot -e 'SELECT 1' >/dev/null 2>&1; do
        i=$((i + 1))
        if [ $i -ge 60 ] || ! kill -0 $pid 2>/dev/null; then fatal "Unable to start server."; fi
        sleep 0.5
    done
    note "Temporary server started."
    if [ -n "$RANDOM_ROOT_PASSWORD" ]; then
        ROOT_PASSWORD=$(tr -dc 'A-Za-z0-9' </dev/urandom | head -c 32)
        note "GENERATED ROOT PASSWORD: $ROOT_PASSWORD"
    fi
    pw=$(sql_escape "$ROOT_PASSWORD")
    {
        echo "SET @@SESSION.SQL_LOG_BIN=0;"
        echo "DROP USER IF EXISTS root@'127.0.0.1', root@'::1';"
        echo "EXECUTE IMMEDIATE CONCAT('DROP USER IF EXISTS root@\'', @@hostname,'\'');"
        echo "SET PASSWORD FOR 'root'@'localhost' = PASSWORD('$pw');"
        if [ -n "$ROOT_HOST" ] && [ "$ROOT_HOST" != "localhost" ]; then
            echo "CREATE USER 'root'@'$ROOT_HOST' IDENTIFIED BY '$pw';"
            echo "GRANT ALL ON *.* TO 'root'@'$ROOT_HOST' WITH GRANT OPTION;"
        fi
        if [ -n "$DATABASE" ]; then
            note "Creating database $DATABASE" >&2
            echo "CREATE DATABASE IF NOT EXISTS \`$DATABASE\`;"
        fi
        if [ -n "$USER" ] && [ -n "$PASSWORD" ]; then
            note "Creating user $USER" >&2
            echo "CREATE USER '$(sql_escape "$USER")'@'%' IDENTIFIED BY '$(sql_escape "$PASSWORD")';"
            if [ -n "$DATABASE" ]; then
                note "Giving user $USER access to schema $DATABASE" >&2
                echo "GRANT ALL ON \`$DATABASE\`.* TO '$(sql_escape "$USER")'@'%';"
            fi
        fi
        echo "FLUSH PRIVILEGES;"
    } | mariadb --protocol=socket --socket="$SOCKET" -uroot
    client() { mariadb --protocol=socket --socket="$SOCKET" -uroot -p"$ROOT_PASSWORD" ${DATABASE:+"$DATABASE"} "$@"; }
    if [ -d /docker-entrypoint-initdb.d ]; then
        for f in $(find /docker-entrypoint-initdb.d/ -mindepth 1 -maxdepth 1 | sort); do
            case "$f" in
                *.sh) note "$0: running $f"; if [ -x "$f" ]; then "$f"; else . "$f"; fi ;;
                *.sql) note "$0: running $f"; client <"$f" ;;
                *.sql.gz) note "$0: running $f"; gunzip -c "$f" | client ;;
                *) note "$0: ignoring $f" ;;
            esac
        done
    fi
    note "Stopping temporary server"
    kill "$pid"
    wait "$pid" || true
    note "Temporary server stopped"
    echo
    note "MariaDB init process done. Ready for start up."
    echo
fi
exec "$@"
"""

IMAGES: dict[str, AppImage] = {
    "nginx": AppImage(
        name="nginx", ref="docker.io/library/nginx:1.25",
        tags=("docker.io/library/nginx:1.25", "docker.io/library/nginx:latest", "docker.io/library/nginx:1.14.2",
              "docker.io/library/nginx:1.8"),
        packages=("nginx",), user=("nginx", 101, "/nonexistent"),
        config={"Env": [PATH_ENV, "NGINX_VERSION=1.22.1"], "Entrypoint": ["/docker-entrypoint.sh"],
                "Cmd": ["nginx", "-g", "daemon off;"], "ExposedPorts": {"80/tcp": {}}, "StopSignal": "SIGQUIT"},
        files={"etc/nginx/nginx.conf": (NGINX_CONF, 0o644), "etc/nginx/conf.d/default.conf": (NGINX_DEFAULT, 0o644),
               "docker-entrypoint.sh": (NGINX_ENTRYPOINT, 0o755), "usr/share/nginx/html/50x.html": (NGINX_50X, 0o644)},
        symlinks={"var/log/nginx/access.log": "/dev/stdout", "var/log/nginx/error.log": "/dev/stderr"},
        dirs={"docker-entrypoint.d": (0o755, False), "var/cache/nginx": (0o755, True), "var/lib/nginx": (0o755, False),
              "var/lib/nginx/body": (0o700, True), "var/lib/nginx/proxy": (0o700, True),
              "var/lib/nginx/fastcgi": (0o700, True), "var/lib/nginx/uwsgi": (0o700, True),
              "var/lib/nginx/scgi": (0o700, True), "run": (0o755, False)},
        drop=("etc/nginx/sites-available/", "etc/nginx/sites-enabled/", "etc/nginx/snippets/"),
    ),
    "redis": AppImage(
        name="redis", ref="docker.io/library/redis:7",
        tags=("docker.io/library/redis:7", "docker.io/library/redis:7.0", "docker.io/library/redis:latest"),
        packages=("redis-server",), user=("redis", 999, "/data"),
        config={"Env": [PATH_ENV, "REDIS_VERSION=7.0.15"], "Entrypoint": ["docker-entrypoint.sh"],
                "Cmd": ["redis-server"], "WorkingDir": "/data", "ExposedPorts": {"6379/tcp": {}}},
        files={"usr/local/bin/docker-entrypoint.sh": (REDIS_ENTRYPOINT, 0o755)},
        dirs={"data": (0o755, True), "usr/local": (0o755, False), "usr/local/bin": (0o755, False)},
        drop=("usr/bin/redis-benchmark", "usr/bin/redis-check-aof", "etc/redis/"),
    ),
    "mariadb": AppImage(
        name="mariadb", ref="docker.io/library/mariadb:10.11",
        tags=("docker.io/library/mariadb:10.11", "docker.io/library/mariadb:10", "docker.io/library/mariadb:latest",
              "docker.io/library/mysql:5.6", "docker.io/library/mysql:5.7", "docker.io/library/mysql:8.0",
              "docker.io/library/mysql:latest"),
        packages=("mariadb-server-core", "mariadb-client-core"), user=("mysql", 999, "/var/lib/mysql"),
        config={"Env": [PATH_ENV, "MARIADB_VERSION=10.11"], "Entrypoint": ["docker-entrypoint.sh"],
                "Cmd": ["mariadbd"], "ExposedPorts": {"3306/tcp": {}}},
        files={"usr/local/bin/docker-entrypoint.sh": (MARIADB_ENTRYPOINT, 0o755),
               "etc/mysql/my.cnf": (MARIADB_CNF, 0o644)},
        symlinks={"usr/sbin/mysqld": "mariadbd"},
        dirs={"var/lib/mysql": (0o755, True), "run/mysqld": (0o755, True), "run": (0o755, False),
              "docker-entrypoint-initdb.d": (0o755, False), "etc/mysql/conf.d": (0o755, False),
              "usr/local": (0o755, False), "usr/local/bin": (0o755, False)},
        drop=("usr/bin/innochecksum", "usr/bin/mariadb-upgrade", "usr/bin/mariadb-check", "usr/bin/mysqlcheck",
              "usr/bin/mysql_upgrade", "usr/bin/resolveip", "etc/mysql/my.cnf.fallback", "etc/mysql/mariadb.cnf",
              "usr/share/mysql/mysql_test_data_timezone.sql")
             + tuple(f"usr/share/mysql/{lang}/" for lang in (
                 "bulgarian", "chinese", "czech", "danish", "dutch", "estonian", "french", "georgian", "german",
                 "greek", "hindi", "hungarian", "italian", "japanese", "korean", "norwegian", "norwegian-ny",
                 "polish", "portuguese", "romanian", "russian", "serbian", "slovak", "spanish", "swedish",
                 "ukrainian", "swahili")),
    ),
}


# --------------------------------------------------------------------------------------------- apt
def _run(argv: list[str], cwd: Path | None = None) -> str:
    rc, out, err = spawn.capture(argv, cwd=cwd, timeout=600, env=dict(os.environ))
    if rc != 0:
        raise SystemExit(f"{' '.join(argv)} failed (rc {rc}): {err.decode(errors='replace').strip()[-2000:]}")
    return out.decode(errors="replace")


def _ensure_apt_lists(probe: str) -> None:
    out = spawn.capture(["apt-cache", "policy", probe], env=dict(os.environ))[1].decode(errors="replace")
    if "Candidate:" in out and "Candidate: (none)" not in out:
        return
    if os.geteuid() != 0:
        raise SystemExit(f"apt knows no candidate for {probe}: run `apt-get update` as root")
    _run(["apt-get", "update", "-qq"])


_DEP_RE = re.compile(r"^\s*(\|?)(Pre)?Depends: <?([^ >]+)>?")


def dependency_closure(roots: tuple[str, ...]) -> list[str]:
    """Packages needed at run time: Depends/Pre-Depends recursively, first alternative, minus SKIP_PACKAGES."""
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        batch = [p for p in dict.fromkeys(todo) if p not in seen]
        todo = []
        if not batch:
            break
        seen.update(batch)
        out = _run(["apt-cache", "depends", "--no-recommends", "--no-suggests", "--no-conflicts", "--no-breaks",
                    "--no-replaces", "--no-enhances", *batch])
        alt_open = False
        for line in out.splitlines():
            m = _DEP_RE.match(line)
            if m is None:
                continue
            pipe, _, name = m.groups()
            name = name.split(":")[0]
            if not alt_open and name not in SKIP_PACKAGES:   # an alternative group: only its first entry
                todo.append(name)
            alt_open = bool(pipe)
    return sorted(p for p in seen if p not in SKIP_PACKAGES and _has_candidate(p, seen))


_CANDIDATES: dict[str, bool] = {}


def _has_candidate(pkg: str, batch: set[str]) -> bool:
    """False for purely virtual packages; one ``apt-cache policy`` call answers for the whole batch."""
    if pkg not in _CANDIDATES:
        name = ""
        for line in _run(["apt-cache", "policy", *sorted(batch)]).splitlines():
            if line and not line[0].isspace() and line.endswith(":"):
                name = line[:-1]
                _CANDIDATES[name] = False
            elif line.strip().startswith("Candidate:"):
                _CANDIDATES[name] = line.split(":", 1)[1].strip() != "(none)"
    return _CANDIDATES.get(pkg, False)


def fetch_debs(packages: list[str], cache: Path) -> list[Path]:
    """The .deb of each package's candidate version, downloaded into ``cache`` once."""
    cache.mkdir(parents=True, exist_ok=True)
    files = []
    for stanza in _run(["apt-cache", "show", "--no-all-versions", *packages]).split("\n\n"):
        fields = dict(line.split(": ", 1) for line in stanza.splitlines() if ": " in line and line[0] != " ")
        if "Package" in fields:
            files.append(f"{fields['Package']}_{fields['Version'].replace(':', '%3a')}_{fields['Architecture']}.deb")
    missing = [p for p, f in zip(packages, files, strict=True) if not (cache / f).exists()]
    if missing:
        # _apt cannot write into a root-owned cache: download unsandboxed, quietly.
        _run(["apt-get", "download", "-qq", "-o", "APT::Sandbox::User=root", *missing], cwd=cache)
    return [cache / f for f in files]


# --------------------------------------------------------------------------------------------- layer
@dataclass
class _Entry:
    info: tarfile.TarInfo
    data: bytes = b""


def _skipped(path: str, extra: tuple[str, ...]) -> bool:
    probe = path + "/"
    return any(probe.startswith(p) or path == p.rstrip("/") for p in SKIP_PREFIXES + extra)


def _norm(name: str) -> str:
    return posixpath.normpath(name.lstrip("./").lstrip("/")) if name.strip("./") else ""


def _info(name: str, kind: bytes, mode: int, uid: int = 0, size: int = 0) -> tarfile.TarInfo:
    ti = tarfile.TarInfo(name)
    ti.type, ti.mode, ti.mtime, ti.uid, ti.gid, ti.size = kind, mode, EPOCH, uid, uid, size
    ti.uname = ti.gname = ""
    return ti


def _add_deb(entries: dict[str, _Entry], deb: Path, drop: tuple[str, ...]) -> None:
    proc = spawn.start(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    with proc.stdout, tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
        for m in tar:
            path = _norm(m.name)
            if not path or _skipped(path, drop):
                continue
            m.name = path
            m.uname = m.gname = ""
            if m.islnk():
                m.linkname = _norm(m.linkname)
            data = b""
            if m.isreg():
                f = tar.extractfile(m)
                data = f.read() if f is not None else b""
            if m.isdir() and path in entries:
                continue
            entries[path] = _Entry(m, data)
    rc = proc.wait()
    spawn.done(proc)
    if rc != 0:
        raise SystemExit(f"dpkg-deb --fsys-tarfile {deb} failed")


def _ensure_parents(entries: dict[str, _Entry]) -> None:
    for path in list(entries):
        parent = posixpath.dirname(path)
        while parent and parent not in entries:
            entries[parent] = _Entry(_info(parent, tarfile.DIRTYPE, 0o755))
            parent = posixpath.dirname(parent)


def app_layer(spec: AppImage, debs: list[Path]) -> bytes:
    """The uncompressed application layer tar."""
    entries: dict[str, _Entry] = {}
    for deb in debs:
        _add_deb(entries, deb, spec.drop)
    uname, uid, home = spec.user
    passwd = PASSWD + f"{uname}:x:{uid}:{uid}::{home}:/bin/sh\n"
    group = GROUP + f"{uname}:x:{uid}:\n"
    files = {"etc/passwd": (passwd, 0o644), "etc/group": (group, 0o644),
             "etc/shadow": ("root:*:10933:0:99999:7:::\n", 0o600), **spec.files}
    for path, (mode, owned) in spec.dirs.items():
        entries[path] = _Entry(_info(path, tarfile.DIRTYPE, mode, uid if owned else 0))
    for path, (text, mode) in files.items():
        data = text.encode()
        entries[path] = _Entry(_info(path, tarfile.REGTYPE, mode, size=len(data)), data)
    for path, target in spec.symlinks.items():
        ti = _info(path, tarfile.SYMTYPE, 0o777)
        ti.linkname = target
        entries[path] = _Entry(ti)
    _ensure_parents(entries)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(entries):
            e = entries[path]
            tar.addfile(e.info, io.BytesIO(e.data) if e.info.isreg() else None)
    return buf.getvalue()


# --------------------------------------------------------------------------------------------- image
def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _json(obj: object) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def write_archive(out: Path, ref: str, config: dict[str, object], layers: list[tuple[bytes, bytes, str]]) -> str:
    """An oci-archive of one image; layers = [(uncompressed tar, gzip blob, created_by)]; returns the id."""
    cfg = _json({
        "created": CREATED, "architecture": host_arch(), "os": "linux", "config": config,
        "rootfs": {"type": "layers", "diff_ids": [_digest(raw) for raw, _, _ in layers]},
        "history": [{"created": CREATED, "created_by": by} for _, _, by in layers],
    })
    manifest = _json({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": _digest(cfg), "size": len(cfg)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": _digest(blob),
                    "size": len(blob)} for _, blob, _ in layers],
    })
    index = _json({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": _digest(manifest),
                       "size": len(manifest), "annotations": {REF_NAME: ref}}],
    })
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as tar:
        tar.addfile(_info("blobs", tarfile.DIRTYPE, 0o755))
        tar.addfile(_info("blobs/sha256", tarfile.DIRTYPE, 0o755))
        for name, data in [("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'), ("index.json", index)] + \
                [("blobs/sha256/" + _digest(d)[7:], d) for d in (cfg, manifest, *(b for _, b, _ in layers))]:
            ti = _info(name, tarfile.REGTYPE, 0o644, size=len(data))
            tar.addfile(ti, io.BytesIO(data))
    tmp.replace(out)
    return _digest(cfg)


def base_layer() -> tuple[bytes, bytes]:
    """The busybox test image's layer, byte for byte (so registries and stores share it)."""
    raw = testimage.layer_tar(testimage.find_busybox())
    return raw, gzip.compress(raw, compresslevel=6, mtime=0)


def build(spec: AppImage, out: Path, cache: Path) -> dict[str, object]:
    t0 = time.monotonic()
    _ensure_apt_lists(spec.packages[0])
    packages = dependency_closure(spec.packages)
    debs = fetch_debs(packages, cache)
    raw_app = app_layer(spec, debs)
    blob_app = gzip.compress(raw_app, compresslevel=6, mtime=0)
    raw_base, blob_base = base_layer()
    image_id = write_archive(out, spec.ref, spec.config, [
        (raw_base, blob_base, "podbay build-test-image (busybox-static)"),
        (raw_app, blob_app, "podbay debimage: " + " ".join(packages)),
    ])
    return {"image": spec.name, "ref": spec.ref, "id": image_id, "packages": len(packages),
            "compressed": len(blob_base) + len(blob_app), "uncompressed": len(raw_base) + len(raw_app),
            "seconds": round(time.monotonic() - t0, 2)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="debimage", description=(__doc__ or "").splitlines()[0])
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("images", nargs="*", help=f"some of {', '.join(sorted(IMAGES))} (default: all)")
    ap.add_argument("--cache", type=Path, default=None, help="where .debs are kept (default OUT_DIR/debs)")
    args = ap.parse_args(argv)
    cache = args.cache or args.out_dir / "debs"
    unknown = [n for n in args.images if n not in IMAGES]
    if unknown:
        ap.error(f"unknown image {unknown[0]!r} (choose from {', '.join(sorted(IMAGES))})")
    if shutil.which("dpkg-deb") is None or shutil.which("apt-get") is None:
        raise SystemExit("debimage needs Debian's apt-get and dpkg-deb")
    for name in args.images or sorted(IMAGES):
        info = build(IMAGES[name], args.out_dir / f"{name}.tar", cache)
        print(json.dumps(info))
    return 0


if __name__ == "__main__":
    sys.exit(main())
