"""Credentials in responder.yaml: where they come from and how they are kept out of sight.

A credential is written inline, usually as `${NAME}` so that its value comes from the
environment, or as `<key>_file` naming a file that holds it (a mounted Kubernetes secret).
Either way it is wrapped in `Secret`, so that no repr, log line or error shows it. Both the
policy and its channel sections read credentials through this module.
"""

import logging
import os
import re
import stat
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, fields, is_dataclass
from pathlib import Path
from typing import Any

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
log = logging.getLogger(__name__)
_SECRET_VOLUME_ADVICE = (
    "it is in a Kubernetes Secret volume: set the volume's defaultMode to 0440 and the pod's "
    "securityContext.fsGroup, so that only the pod's group may read it (0400 when the pod runs as the "
    "file's owner)"
)


def shown_url(url: str) -> str:
    """`url` as it may be printed, logged or recorded: a user and password in it, its query and its
    fragment may carry a credential (`https://hooks.example/stop?token=…`), so they are left out
    and the answer says so. One a client would misread (see `url_problem`) is not shown at all."""
    if url_problem(url) is not None:
        return "(a URL not shown: it may carry a credential)"
    parts = urllib.parse.urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    hidden = netloc != parts.netloc or parts.query or parts.fragment
    shown = urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    return f"{shown} (credentials and query not shown)" if hidden else shown


def url_problem(url: str) -> str | None:
    """What makes `url` one a client would misread, in words that repeat nothing of it, or None:
    as `misread_url`, or no host."""
    if problem := misread_url(url):
        return problem
    if not urllib.parse.urlsplit(url).hostname:
        return "it names no host; write it as scheme://host[:port]/path"
    return None


def misread_url(url: str) -> str | None:
    """An @ after the host (a password with / ? or # in it, not percent-encoded, ends the host
    early and would be sent, and shown, as part of the path), or a host or port that cannot be
    read, in words that repeat nothing of `url`; None when neither."""
    after_scheme = url.partition("://")[2]
    authority_end = min((i for i in (after_scheme.find(c) for c in "/?#") if i >= 0), default=len(after_scheme))
    if "@" in after_scheme[authority_end:]:
        return (
            "it has an @ after its host: percent-encode / ? # and @ in its user and password "
            "(%2F %3F %23 %40), and @ anywhere else"
        )
    try:
        _ = urllib.parse.urlsplit(url).port  # raises for a port that is not a number in range
    except ValueError:  # its words may quote the URL: a password, even
        return "its host or port cannot be read; check them"
    return None


@dataclass(frozen=True)
class Secret:
    """A credential; prints as *** everywhere."""

    value: str

    def __repr__(self) -> str:
        return "Secret(***)"

    __str__ = __repr__


def expand_env(
    node: Any,
    env: Mapping[str, str],
    soft_under: tuple[str, ...],
    problems: list[str],
    soft: list[str],
    where: str = "",
) -> Any:
    """`node` with every ${NAME} in its strings replaced by the variable's value.

    A variable that is not set is a problem, except under a key path starting with one of
    `soft_under`, where it is only noted in `soft` (an unset channel credential disables that
    channel instead of failing the whole policy).
    """
    if isinstance(node, dict):
        return {
            k: expand_env(v, env, soft_under, problems, soft, f"{where}.{k}" if where else k) for k, v in node.items()
        }
    if isinstance(node, list):
        return [expand_env(v, env, soft_under, problems, soft, f"{where}[{i}]") for i, v in enumerate(node)]
    if isinstance(node, str):

        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in env:
                found = soft if where.startswith(soft_under) else problems
                found.append(f"{where}: environment variable {name} is not set; export it")
                return ""
            return env[name]

        return _ENV.sub(value, node)
    return node


def read_secret(raw: Mapping[str, Any], key: str, where: str, problems: list[str]) -> Secret | None:
    """`key` given inline (after ${ENV} expansion) or as `key_file`, never both; None when neither."""
    inline, path = raw.get(key), raw.get(f"{key}_file")
    if inline is not None and path is not None:
        problems.append(f"{where}: give {key} or {key}_file, not both")
    if path is not None:
        try:
            _warn_if_others_may_read(Path(path), f"{where}.{key}_file")
            text = Path(path).read_text("utf-8").strip()
        except OSError as exc:
            problems.append(f"{where}.{key}_file: cannot read {path}: {exc.strerror}; create it")
            return None
        if not text:
            problems.append(f"{where}.{key}_file: {path} is empty; put the credential in it")
            return None
        return Secret(text)
    return Secret(inline) if inline is not None else None


def _warn_if_others_may_read(path: Path, where: str) -> None:
    """As ssh does for a private key: a credentials file that group or others may read still
    works, with a warning that says how to close it. The mode is that of the file `path`
    resolves to.

    A file in a Kubernetes Secret volume (kubelet's layout: its directory holds the `..data`
    symlink) that only its owner and group may read, its group being one of this process's, is
    read in silence: kubelet gives a Secret's files the pod's fsGroup so that a pod not running as
    root can read them, and nobody else inside the pod is in that group. Such a file that others
    may read, or whose group is not ours, warns with advice for the volume, as chmod cannot change
    a read-only Secret mount."""
    status = path.stat()
    mode = stat.S_IMODE(status.st_mode)
    if not mode & 0o077:
        return
    in_secret_volume = (path.parent / "..data").is_symlink()
    our_group = status.st_gid == os.getegid() or status.st_gid in os.getgroups()
    if in_secret_volume and our_group and not mode & 0o007:
        return
    log.warning(
        "%s: %s is readable by %s (mode %04o): anyone who can read it has the credential; %s",
        where,
        path,
        "group and others" if mode & 0o070 and mode & 0o007 else "others" if mode & 0o007 else "its group",
        mode,
        _SECRET_VOLUME_ADVICE if in_secret_volume else f"run `chmod 600 {path}`",
        extra={"file": str(path)},
    )


def secret_values(tree: Any) -> list[str]:
    """The value of every `Secret` inside `tree` (dataclasses, mappings and sequences), for the logs' scrubber."""
    if isinstance(tree, Secret):
        return [tree.value] if tree.value else []
    if is_dataclass(tree) and not isinstance(tree, type):
        return [v for f in fields(tree) for v in secret_values(getattr(tree, f.name))]
    if isinstance(tree, Mapping):
        return [v for item in tree.values() for v in secret_values(item)]
    if isinstance(tree, list | tuple | frozenset | set):
        return [v for item in tree for v in secret_values(item)]
    return []
