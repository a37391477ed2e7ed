"""Who is asking, for the audit trail: the person at the terminal, never "unknown"."""

import getpass
import os

PREFIX = "cli:"


def default_actor() -> str:
    """`cli:` and the login name: getpass reads $LOGNAME, $USER, $LNAME and $USERNAME, then the
    uid's entry in the password database, so `kubectl exec` as root with no $USER still names
    root. A uid with no entry at all (an arbitrary uid in a container) is named by its number."""
    try:
        return f"{PREFIX}{getpass.getuser()}"
    except (KeyError, OSError):  # no variable set and no password entry for this uid
        return f"{PREFIX}uid-{os.getuid()}"
