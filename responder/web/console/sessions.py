"""Console sessions: the policy's credentials, given once at the login, exchanged for a signed
cookie that authenticates the console's routes (and only them) until it expires.

A session is stateless: the cookie carries who logged in, when it expires and a random id,
signed with HMAC-SHA256 under a key made from this process's random secret and the policy's
credentials. So a session lives in the process that issued it: a restart, or changed
credentials, ends every session, and with several replicas a browser needs to keep to one (the
Service's session affinity; see docs/console.md). Logout clears the cookie and revokes its id
until it would have expired.

The CSRF token of a session is derived from its id: forms carry it, and a state-changing
request whose token is not its session's is refused. Cookies, CSRF tokens and login tokens are
each signed under a key of their own (derived from the one key), so that no value the console
shows or signs for one use is valid for another: a login token, whose input the browser chooses,
is never a cookie's signature.
"""

import base64
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from responder.policy import Policy

COOKIE = "responder_console"
LIFETIME_SECONDS = 12 * 3600  # an on-call shift
MAX_IDENTITY = 64
_CONTEXT = b"alert-responder console session v1"
_SID_BYTES = 18
_RANDOM = re.compile(r"[A-Za-z0-9_-]{24}")  # base64url of _SID_BYTES random bytes: a session id, a login nonce


@dataclass(frozen=True)
class Session:
    identity: str  # who logged in, as the operations log names them
    expires: int  # unix seconds
    sid: str  # random, base64url

    @property
    def actor(self) -> str:
        return f"console:{self.identity}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def session_key(policy: Policy, secret: bytes) -> bytes:
    """The signing key: this process's random `secret`, bound to the policy's credentials (so
    that changing them ends every session). Never the credentials alone: the login page signs a
    nonce the browser chooses, and a key anyone could compute from a guessed password would let
    them test guesses offline, and then forge cookies."""
    parts = [s.value for s in (policy.bearer_token, policy.basic_password) if s is not None]
    material = "\0".join([*parts, policy.basic_username or ""]).encode()
    return hmac.new(secret, _CONTEXT + b"\0" + material, hashlib.sha256).digest()


class Sessions:
    """Issues, reads and revokes sessions; `clock` in unix seconds."""

    def __init__(self, key: bytes, clock: Callable[[], float] = time.time) -> None:
        self._keys = {use: hmac.new(key, use.encode(), hashlib.sha256).digest() for use in ("cookie", "csrf", "login")}
        self._clock = clock
        self._revoked: dict[str, int] = {}  # sid -> expiry: forgotten once the cookie would have expired

    def _sign(self, use: str, payload: str) -> str:
        return _b64(hmac.new(self._keys[use], payload.encode(), hashlib.sha256).digest())

    def issue(self, identity: str) -> tuple[Session, str]:
        """A new session for `identity`, and the cookie value that carries it."""
        sid = _b64(secrets.token_bytes(_SID_BYTES))
        session = Session(identity[:MAX_IDENTITY], int(self._clock()) + LIFETIME_SECONDS, sid)
        payload = f"{session.sid}.{session.expires}.{_b64(session.identity.encode())}"
        return session, f"{payload}.{self._sign('cookie', payload)}"

    def read(self, cookie: str | None) -> Session | None:
        """The session `cookie` carries, or None: absent, malformed, forged, expired or revoked."""
        if not cookie or len(cookie) > 512 or not cookie.isascii() or cookie.count(".") != 3:
            return None
        payload, _, signature = cookie.rpartition(".")
        if not hmac.compare_digest(signature.encode(), self._sign("cookie", payload).encode()):
            return None
        sid, expires, identity = payload.split(".")
        try:
            session = Session(_unb64(identity).decode(), int(expires), sid)
        except ValueError:  # cannot happen for a cookie we signed; kept total all the same
            return None
        now = self._clock()
        if not now < session.expires <= now + LIFETIME_SECONDS or sid in self._revoked:
            return None
        return session

    def revoke(self, session: Session) -> None:
        now = self._clock()
        self._revoked = {sid: exp for sid, exp in self._revoked.items() if exp > now}
        self._revoked[session.sid] = session.expires

    def csrf_token(self, session: Session) -> str:
        return self._sign("csrf", session.sid)

    def csrf_valid(self, session: Session, token: str) -> bool:
        return hmac.compare_digest(token.encode(), self.csrf_token(session).encode())

    @staticmethod
    def login_nonce(given: str | None) -> str:
        """`given` when it is a nonce this console could have made, else a new one."""
        return given if given is not None and _RANDOM.fullmatch(given) else _b64(secrets.token_bytes(_SID_BYTES))

    def login_token(self, nonce: str) -> str:
        """The login form's CSRF token, bound to the pre-login cookie's random `nonce`."""
        return self._sign("login", nonce)

    def login_valid(self, nonce: str, token: str) -> bool:
        return bool(_RANDOM.fullmatch(nonce)) and hmac.compare_digest(token.encode(), self.login_token(nonce).encode())
