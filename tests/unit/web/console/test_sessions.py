"""Login, logout, cookies, CSRF and what the session cookie opens: only the console."""

import secrets
from collections.abc import Callable
from typing import Any

from yarl import URL

from responder.policy import Policy
from responder.web.console.security import local_path
from responder.web.console.sessions import COOKIE, LIFETIME_SECONDS, Sessions, session_key
from tests.conftest import TOKEN
from tests.unit.web.conftest import AUTH
from tests.unit.web.console.conftest import csrf_of, form_token, log_in


async def test_the_root_sends_a_browser_to_the_console_and_the_console_to_its_login(service: Any) -> None:
    _, client = service
    root = await client.get("/", allow_redirects=False)
    assert (root.status, root.headers["Location"]) == (303, "/console/")
    page = await client.get("/console/holds?x=1", allow_redirects=False)
    assert page.status == 303
    login = URL(page.headers["Location"])
    assert (login.path, login.query["next"]) == ("/console/login", "/console/holds?x=1")


async def test_the_apis_credentials_do_not_open_the_console_without_a_session(service: Any) -> None:
    _, client = service
    page = await client.get("/console/", headers=AUTH, allow_redirects=False)
    assert page.status == 303
    action = await client.post("/console/ack", headers=AUTH, data={"fingerprint": "x"})
    assert action.status == 401


async def test_a_login_exchanges_the_token_for_a_strict_httponly_expiring_cookie(service: Any) -> None:
    _, client = service
    answer = await log_in(client)
    assert (answer.status, answer.headers["Location"]) == (303, "/console/")
    cookie = next(c for c in answer.headers.getall("Set-Cookie") if c.startswith(f"{COOKIE}="))
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "max-age", "path"} <= attributes
    assert "samesite=strict" in cookie.lower() and f"max-age={LIFETIME_SECONDS}" in cookie.lower()
    assert "secure" not in attributes  # plain HTTP here; over TLS the cookie is Secure
    now = await client.get("/console/")
    assert now.status == 200 and "alice" in await now.text()


async def test_the_session_cookie_does_not_open_the_api(service: Any) -> None:
    _, client = service
    await log_in(client)
    assert (await client.get("/console/")).status == 200
    assert (await client.get("/api/v1/alerts")).status == 401
    assert (await client.post("/api/v1/restore", json={"namespace": "a", "deployment": "b"})).status == 401


async def test_wrong_credentials_and_a_missing_name_are_refused(service: Any) -> None:
    _, client = service
    wrong = await log_in(client, secret="not-the-token")
    assert wrong.status == 401 and "wrong credentials" in await wrong.text()
    nameless = await log_in(client, user="")
    assert nameless.status == 401 and "give your name" in await nameless.text()
    assert COOKIE not in {c.key for c in client.session.cookie_jar}


async def test_a_login_form_from_elsewhere_is_refused(service: Any) -> None:
    _, client = service
    data = {"login_token": "forged", "user": "mallory", "secret": TOKEN}
    assert (await client.post("/console/login", data=data)).status == 403
    page = await client.get("/console/login")
    data["login_token"] = form_token(await page.text())
    cross = await client.post("/console/login", data=data, headers={"Origin": "https://evil.example"})
    assert cross.status == 403


async def test_a_state_changing_request_needs_its_sessions_csrf_token(logged_in: Any) -> None:
    missing = await logged_in.post("/console/ack", data={"fingerprint": "fp"})
    assert missing.status == 403 and "CSRF" in await missing.text()
    token = await csrf_of(logged_in)
    cross = await logged_in.post(
        "/console/ack", data={"fingerprint": "fp", "csrf": token}, headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert cross.status == 403
    fine = await logged_in.post("/console/ack", data={"fingerprint": "fp", "csrf": token}, allow_redirects=False)
    assert (fine.status, fine.headers["Location"]) == (303, "/console/alerts/fp")


async def test_logout_ends_the_session_even_for_a_copy_of_its_cookie(logged_in: Any) -> None:
    cookie = next(c.value for c in logged_in.session.cookie_jar if c.key == COOKIE)
    token = await csrf_of(logged_in)
    out = await logged_in.post("/console/logout", data={"csrf": token}, allow_redirects=False)
    assert (out.status, out.headers["Location"]) == (303, "/console/login")
    replayed = await logged_in.get("/console/", cookies={COOKIE: cookie}, allow_redirects=False)
    assert replayed.status == 303


async def test_every_console_page_forbids_framing_and_inline_script(logged_in: Any) -> None:
    for path in ("/console/login", "/console/", "/console/holds", "/console/operations", "/console/health"):
        page = await logged_in.get(path)
        assert page.status == 200, path
        csp = page.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
        assert page.headers["X-Frame-Options"] == "DENY"
        assert "<script>" not in await page.text()


def test_a_session_cookie_forged_expired_or_of_other_credentials_opens_nothing() -> None:
    now = [1_800_000_000.0]
    sessions = Sessions(b"k" * 32, lambda: now[0])
    session, cookie = sessions.issue("alice")
    assert sessions.read(cookie) == session
    payload, _, _ = cookie.rpartition(".")
    assert sessions.read(payload.replace(payload.split(".")[2], "bWFsbG9yeQ") + "." + cookie.rpartition(".")[2]) is None
    assert Sessions(b"x" * 32, lambda: now[0]).read(cookie) is None
    assert sessions.read("garbage") is None and sessions.read("") is None and sessions.read("a" * 600) is None
    assert not sessions.csrf_valid(session, "") and sessions.csrf_valid(session, sessions.csrf_token(session))
    now[0] += LIFETIME_SECONDS
    assert sessions.read(cookie) is None


def test_a_login_sends_a_person_on_only_within_the_console() -> None:
    assert local_path("/console/holds?x=1") == "/console/holds?x=1"
    for elsewhere in ("https://evil.example/", "//evil.example/console/", "/\\evil.example", "/api/v1/alerts", None):
        assert local_path(elsewhere) == "/console/"


def test_no_token_the_console_shows_or_signs_for_one_use_is_valid_for_another() -> None:
    sessions = Sessions(b"k" * 32, lambda: 1_800_000_000.0)
    session, cookie = sessions.issue("alice")
    # The browser chooses the login nonce; were login tokens signed like cookies, a nonce shaped
    # like a cookie's payload would have its signature shown on the login form.
    payload = "A" * 24 + ".9999999999." + "YWRtaW4"
    assert sessions.login_nonce(payload) != payload
    assert sessions.read(f"{payload}.{sessions.login_token(payload)}") is None
    assert sessions.read(f"{session.sid}.{session.expires}.YWxpY2U.{sessions.csrf_token(session)}") is None
    assert not sessions.login_valid(session.sid, cookie.rpartition(".")[2])
    assert sessions.read(cookie + ".extra") is None


async def test_a_same_host_origin_behind_a_tls_proxy_is_the_consoles_own(logged_in: Any) -> None:
    token = await csrf_of(logged_in)
    host = f"{logged_in.host}:{logged_in.port}"
    data = {"fingerprint": "fp", "csrf": token}
    proxied = await logged_in.post(
        "/console/ack", data=data, headers={"Origin": f"https://{host}"}, allow_redirects=False
    )
    assert proxied.status == 303
    other = await logged_in.post("/console/ack", data=data, headers={"Origin": "null"}, allow_redirects=False)
    assert other.status == 403


def test_the_signing_key_cannot_be_computed_from_the_credentials(make_policy: Callable[..., Policy]) -> None:
    """The login page signs a nonce the browser chooses: a key made from the credentials alone
    would let anyone test password guesses offline against it, and then forge cookies."""
    policy = make_policy({"auth": {"basic": {"username": "oncall", "password": "Summer2025!!"}}})
    first, second = (Sessions(session_key(policy, secrets.token_bytes(32))) for _ in range(2))
    nonce = first.login_nonce(None)
    assert first.login_token(nonce) != second.login_token(nonce), "two processes, two keys"
    assert second.read(first.issue("alice")[1]) is None


def test_a_cookie_claiming_to_last_longer_than_a_session_or_not_ascii_opens_nothing() -> None:
    now = [1_800_000_000.0]
    sessions = Sessions(b"k" * 32, lambda: now[0])
    now[0] += 10 * LIFETIME_SECONDS
    _, far = sessions.issue("mallory")  # signed with the key, expiring long after a session could
    now[0] -= 10 * LIFETIME_SECONDS
    assert sessions.read(far) is None
    assert sessions.read("a.b.c.\udcff\udcfe") is None


def test_a_login_never_sends_a_person_on_to_a_path_with_control_characters() -> None:
    assert local_path("/console/\r\nSet-Cookie: pwn=1") == "/console/"
    assert local_path("/console/holds\x00") == "/console/"
