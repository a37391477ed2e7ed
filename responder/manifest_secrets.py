"""Which Secret key each `${NAME}` in the in-cluster policy comes from, as container env.

Every variable the policy names reaches the pod, so nothing has to be wired by hand. Those
the server cannot run without (the auth section's, and any outside the channel sections)
come from the Secret named like the responder, required: a pod missing one does not start.
The channels' credentials come from a Secret of their own, each key optional: a channel
without its keys is disabled and sends to the log (see `channel_policy`), which is better
than a responder that does not start and so tells nobody anything.

A PostgreSQL DSN given as `journal.postgresql.dsn_file` is the same Secret's `dsn` key mounted
as that file (`dsn_file_volume`) instead of an environment variable.
"""

import re
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import Any

from responder.channel_policy import CHANNEL_SECTIONS

_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
CHANNELS_SECRET_SUFFIX = "-channels"
OWN_PREFIX = "RESPONDER_"  # left out of the key: RESPONDER_TOKEN is the responder Secret's `token`


def _variables(node: Any, where: str = "") -> Iterator[tuple[str, str]]:
    """(key path, variable name) for every ${NAME} in `node`'s strings, in document order."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _variables(value, f"{where}.{key}" if where else str(key))
    elif isinstance(node, list):
        for value in node:
            yield from _variables(value, where)
    elif isinstance(node, str):
        yield from ((where, name) for name in _VARIABLE.findall(node))


def secret_key(variable: str) -> str:
    """The Secret key a variable is read from: SLACK_BOT_TOKEN is slack-bot-token."""
    return variable.removeprefix(OWN_PREFIX).lower().replace("_", "-")


def secret_env(document: Any, name: str) -> list[dict[str, Any]]:
    """The container's env entries for the policy `document` of the responder called `name`."""
    entries: dict[str, dict[str, Any]] = {}
    for where, variable in _variables(document):
        channel = where.startswith(CHANNEL_SECTIONS)
        ref: dict[str, Any] = {
            "name": name + CHANNELS_SECRET_SUFFIX if channel else name,
            "key": secret_key(variable),
        }
        if channel:
            ref["optional"] = True
        entries.setdefault(variable, {"name": variable, "valueFrom": {"secretKeyRef": ref}})
    return list(entries.values())


SECRET_ROOTS = (PurePosixPath("/var/run/secrets"), PurePosixPath("/run/secrets"))


def dsn_file_volume(document: Any, name: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The volume and the mount that put the Secret `name`'s key `dsn` at the policy's
    journal.postgresql.dsn_file, or None when the policy gives no such file. Readable by the
    pod's group only (0440): the file is a credential."""
    journal = document.get("journal") if isinstance(document, dict) else None
    postgresql = journal.get("postgresql") if isinstance(journal, dict) else None
    path = postgresql.get("dsn_file") if isinstance(postgresql, dict) else None
    if not isinstance(path, str):
        return None
    file = PurePosixPath(path)
    if file.parent.parent not in SECRET_ROOTS or file.parent.name == "kubernetes.io":
        raise ValueError(
            f"journal.postgresql.dsn_file: {path} is not in a directory of its own under /var/run/secrets/ or "
            "/run/secrets/: the Secret is mounted on the file's whole directory, which would hide what else is "
            "there; give a path such as /var/run/secrets/alert-responder-db/dsn"
        )
    items = [{"key": "dsn", "path": file.name}]
    volume = {"name": "dsn", "secret": {"secretName": name, "items": items, "defaultMode": 0o440}}
    return volume, {"name": "dsn", "mountPath": str(file.parent), "readOnly": True}
