"""The few files a frozen Python program expects from a host: accounts and CA certificates.

The executable's bundled libc and OpenSSL look where the build host keeps things. On
`scratch` nothing is there, so `getpass.getuser()` and `ssl.create_default_context()` fail.
These helpers compute `/etc/passwd` and `/etc/group` with an entry for the run-as user, and
choose the CA bundle to ship, only adding what the base lacks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hatch_krust.errors import ImageError

__all__ = [
    "CA_BUNDLE_PATH",
    "KNOWN_CA_PATHS",
    "Accounts",
    "accounts_for",
    "ca_bundle_source",
]

CA_BUNDLE_PATH = "/etc/ssl/certs/ca-certificates.crt"
# Where distributions keep their bundle (Debian/Alpine/Wolfi, Fedora/RHEL, Alpine, SUSE).
KNOWN_CA_PATHS = (
    CA_BUNDLE_PATH,
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
    "/etc/ssl/ca-bundle.pem",
)
_NAMED_UIDS = {"root": 0, "nonroot": 65532}
_ROOT_ACCOUNT = "root:x:0:0:root:/root:/sbin/nologin\n"
_ROOT_GROUP = "root:x:0:\n"


@dataclass(frozen=True)
class Accounts:
    """New `/etc/passwd` / `/etc/group` contents (None = keep the base's) and a home to create."""

    passwd: bytes | None
    group: bytes | None
    home: str | None
    uid: int
    gid: int


def accounts_for(user: str, passwd: bytes | None, group: bytes | None) -> Accounts:
    """Make sure `user` ("65532", "nonroot", "1000:1000") has a passwd and a group entry.

    `passwd`/`group` are the base's files (None when it has none). A numeric uid the base
    does not know gets an entry (65532 is `nonroot`, as in distroless); a name the base does
    not know is an error unless it is `root` or `nonroot`.
    """
    user_part, _, group_part = user.partition(":")
    users = _parse(passwd)
    uid, name = _resolve_user(user_part, users)
    gid = _resolve_gid(group_part, users.get(name, ()), uid)
    new_passwd = new_group = None
    home = None
    if name not in users:
        home = "/root" if uid == 0 else f"/home/{name}"
        line = f"{name}:x:{uid}:{gid}:{name}:{home}:/sbin/nologin\n"
        new_passwd = _append(passwd, _ROOT_ACCOUNT if uid != 0 else "", line)
    groups = _parse(group)
    if not any(fields[1] == str(gid) for fields in groups.values()):
        group_name = name if gid == uid and name not in groups else f"group{gid}"
        line = f"{group_name}:x:{gid}:\n"
        new_group = _append(group, _ROOT_GROUP if gid != 0 else "", line)
    return Accounts(new_passwd, new_group, home, uid, gid)


def _parse(data: bytes | None) -> dict[str, tuple[str, ...]]:
    """name -> (uid-or-gid, gid) from passwd/group lines; comments and junk ignored."""
    entries: dict[str, tuple[str, ...]] = {}
    for line in (data or b"").decode("utf-8", "replace").splitlines():
        fields = line.split(":")
        if len(fields) >= 3 and not line.startswith("#"):
            entries[fields[0]] = (fields[0], fields[2], *(fields[3:4] or [""]))
    return entries


def _resolve_user(user: str, users: dict[str, tuple[str, ...]]) -> tuple[int, str]:
    if user.isdigit():
        uid = int(user)
        for name, fields in users.items():
            if fields[1] == user:
                return uid, name
        return uid, "root" if uid == 0 else ("nonroot" if uid == 65532 else f"user{uid}")
    if user in users and users[user][1].isdigit():
        return int(users[user][1]), user
    if user in _NAMED_UIDS:
        return _NAMED_UIDS[user], user
    message = (
        f"User {user!r} is not in the base image's /etc/passwd; use a numeric uid"
        " (e.g. 65532) or a name the base defines"
    )
    raise ImageError(message)


def _resolve_gid(group: str, entry: tuple[str, ...], uid: int) -> int:
    if group.isdigit():
        return int(group)
    if group:
        message = f"Group {group!r} in the user setting must be numeric (e.g. 65532:65532)"
        raise ImageError(message)
    if len(entry) > 2 and entry[2].isdigit():
        return int(entry[2])
    return uid


def _append(existing: bytes | None, header: str, line: str) -> bytes:
    if existing is None:
        return (header + line).encode()
    text = existing.decode("utf-8", "replace")
    if text and not text.endswith("\n"):
        text += "\n"
    return (text + line).encode()


def ca_bundle_source(option: bool | Path) -> Path | None:
    """The PEM file to ship: certifi's for True, none for False, else the given file."""
    if option is False:
        return None
    if option is True:
        import certifi

        return Path(certifi.where())
    try:
        head = option.read_bytes()[: 1 << 16]
    except OSError as exc:
        message = f"Cannot read the CA bundle {option}: {exc.strerror}"
        raise ImageError(message) from None
    if b"-----BEGIN CERTIFICATE-----" not in head:
        message = f"The CA bundle {option} holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
        raise ImageError(message)
    return option
