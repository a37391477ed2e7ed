"""Where the client finds a responder and its token: flags, the environment, or a client config
with named contexts, as kubectl does.

`$XDG_CONFIG_HOME/alert-responder/config.yaml` (by default `~/.config/alert-responder/config.yaml`):

    current-context: prod
    contexts:
      prod: {url: https://responder.example.com, token_file: ~/.config/alert-responder/prod.token}
      local: {url: http://127.0.0.1:9095, token_file: var/responder/token}

The URL comes from --url, else the context's; the token from --token-file, else
$RESPONDER_TOKEN, else the context's token_file. With no config file and no --context, the
context is the one `scripts/run` starts: http://127.0.0.1:9095 with var/responder/token when
that file exists. The token itself is never printed: messages name where it came from.
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from responder.schemas import ProblemsError, nearest
from responder.secrets import Secret
from responder.yamlio import YamlError, load_yaml

TOKEN_ENV = "RESPONDER_TOKEN"
LOCAL = "local"
LOCAL_URL = "http://127.0.0.1:9095"
LOCAL_TOKEN_FILE = Path("var/responder/token")
_CONFIG_KEYS = ("current-context", "contexts")
_CONTEXT_KEYS = ("url", "token_file")


class ClientConfigError(ProblemsError):
    headline = "the client config cannot be used:"


@dataclass(frozen=True)
class Context:
    name: str
    url: str
    token_file: Path | None


@dataclass(frozen=True)
class Credentials:
    """A bearer token, or none, and where it came from, for messages (never the value)."""

    token: Secret | None
    origin: str


@dataclass(frozen=True)
class Connection:
    url: str
    credentials: Credentials
    context: str | None  # the context that gave the URL; None when --url did


def config_path(env: Mapping[str, str]) -> Path:
    """The client config's path: $XDG_CONFIG_HOME, else ~/.config, then alert-responder/config.yaml."""
    base = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME") or Path.home()) / ".config")
    return Path(base) / "alert-responder" / "config.yaml"


def _unknown(where: str, raw: Mapping[str, Any], known: tuple[str, ...]) -> list[str]:
    return [f"{where}: unknown key {key!r}{nearest(str(key), known)}" for key in raw if key not in known]


def _contexts(path: Path) -> tuple[dict[str, Context], str | None]:
    """The contexts of the config at `path` and its current-context."""
    try:
        raw = load_yaml(path) or {}
    except YamlError as exc:
        raise ClientConfigError([str(exc)]) from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("contexts", {}), dict):
        raise ClientConfigError([f"{path}: expected `contexts:` mapping names to {{url: URL, token_file: PATH}}"])
    problems = _unknown(str(path), raw, _CONFIG_KEYS)
    contexts = {}
    for name, context in raw.get("contexts", {}).items():
        where = f"{path}: contexts.{name}"
        if not isinstance(context, dict) or not isinstance(context.get("url"), str):
            problems.append(f"{where}: give url: (and token_file: when the responder wants a token)")
            continue
        problems += _unknown(where, context, _CONTEXT_KEYS)
        token_file = Path(context["token_file"]).expanduser() if context.get("token_file") else None
        contexts[str(name)] = Context(str(name), context["url"], token_file)
    if problems:
        raise ClientConfigError(problems)
    current = raw.get("current-context")
    return contexts, str(current) if current is not None else None


def _context(name: str | None, env: Mapping[str, str]) -> Context:
    path = config_path(env)
    if not path.exists():
        if name is not None:
            raise ClientConfigError(
                [f"--context {name}: there is no client config at {path}; create it (see docs/cli.md) or give --url"]
            )
        token_file = LOCAL_TOKEN_FILE if LOCAL_TOKEN_FILE.exists() else None
        return Context(LOCAL, LOCAL_URL, token_file)
    contexts, current = _contexts(path)
    chosen = name or current
    if chosen is None:
        raise ClientConfigError([f"{path}: no current-context; set one, or give --context NAME"])
    if chosen not in contexts:
        known = ", ".join(sorted(contexts)) or "none"
        raise ClientConfigError([f"{path}: no context {chosen!r}{nearest(chosen, list(contexts))} (known: {known})"])
    return contexts[chosen]


def _read_token(path: Path, origin: str) -> Credentials:
    try:
        text = path.read_text("utf-8").strip()
    except OSError as exc:
        raise ClientConfigError([f"{origin}: cannot read it: {exc.strerror}; give a readable token file"]) from None
    if not text:
        raise ClientConfigError([f"{origin}: the file is empty; put the responder's bearer token in it"])
    return Credentials(Secret(text), origin)


def connection(
    context: str | None, url: str | None, token_file: Path | None, env: Mapping[str, str] | None = None
) -> Connection:
    """Where to send requests and with which token, from the flags, the environment and the config."""
    env = os.environ if env is None else env
    needed = context is not None or url is None or (token_file is None and not env.get(TOKEN_ENV))
    chosen = _context(context, env) if needed else None
    if token_file is not None:
        credentials = _read_token(token_file, f"the token in {token_file} (--token-file)")
    elif env.get(TOKEN_ENV):
        credentials = Credentials(Secret(env[TOKEN_ENV]), f"the token in ${TOKEN_ENV}")
    elif chosen is not None and chosen.token_file is not None:
        credentials = _read_token(chosen.token_file, f"the token in {chosen.token_file} (context {chosen.name})")
    else:
        credentials = Credentials(None, "no credentials")
    base = url or (chosen.url if chosen is not None else LOCAL_URL)
    named = chosen.name if chosen is not None and url is None else None  # the context the URL came from
    return Connection(base.rstrip("/"), credentials, named)
