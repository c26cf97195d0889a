"""The console over real HTTP: branding by host, sessions, CSRF, roles and tenant isolation."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ledgerbridge import store
from ledgerbridge.engine import Client
from tests.browser import world as world_mod
from tests.browser.world import HOST_A, HOST_B, PASSWORD, World


@pytest.fixture
def world(db: store.Database, db_path: Path) -> World:
    """The two-partner world."""
    return world_mod.build(db, db_path)


@pytest.fixture
def base_url(world: World) -> Iterator[str]:
    """The served app's base URL."""
    with world_mod.serve(world) as port:
        yield f"http://127.0.0.1:{port}"


def _client(base_url: str, host: str, **headers: str) -> httpx.Client:
    return httpx.Client(base_url=base_url, headers={"Host": host, **headers}, timeout=30)


def _login(client: httpx.Client, email: str, password: str = PASSWORD) -> httpx.Response:
    form = client.get("/login")
    token = re.search(r'name="login_token" value="([^"]+)"', form.text)
    assert token, form.text
    data = {"email": email, "password": password, "login_token": token.group(1)}
    return client.post("/login", data=data)


def _csrf(client: httpx.Client, path: str = "/exceptions") -> str:
    page = client.get(path)
    found = re.search(r'<meta name="csrf-token" content="([^"]+)">', page.text)
    assert found, page.text
    return found.group(1)


def _status(db: store.Database, exception_id: str) -> str:
    return str(Client(db).show_exception(exception_id)["status"])


def test_console_login_page_wears_the_brand_of_the_host(base_url: str) -> None:
    """Each partner's host shows its own name, colour and support address, never the other's."""
    for host, mine, theirs in (
        (HOST_A, world_mod.BRAND_A, world_mod.BRAND_B),
        (HOST_B, world_mod.BRAND_B, world_mod.BRAND_A),
    ):
        with _client(base_url, host) as client:
            page = client.get("/login")
        assert page.status_code == 200
        assert f"<title>Sign in · {mine['display_name']}</title>" in page.text
        assert mine["primary_colour"] in page.text and mine["support_email"] in page.text
        assert theirs["display_name"] not in page.text and theirs["support_email"] not in page.text
        assert "ledgerbridge" not in page.text.lower()


def test_console_session_cookie_is_httponly_samesite_and_secure_behind_https(
    base_url: str, world: World
) -> None:
    """The session cookie is HttpOnly and SameSite=Lax, and Secure when the request is HTTPS."""
    with _client(base_url, HOST_A) as client:
        answer = _login(client, world.users["operator_a"])
    assert answer.status_code == 303 and answer.headers["location"] == "/fleet"
    cookie = answer.headers["set-cookie"].lower()
    assert "console_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    assert "secure" not in cookie
    with _client(base_url, HOST_A, **{"X-Forwarded-Proto": "https"}) as client:
        secure = _login(client, world.users["operator_a"])
    assert "; secure" in secure.headers["set-cookie"].lower()


def test_console_refuses_a_user_under_another_partners_host(base_url: str, world: World) -> None:
    """Partner B's operator cannot sign in on partner A's domain, and a wrong password fails."""
    with _client(base_url, HOST_A) as client:
        answer = _login(client, world.users["operator_b"])
        assert answer.status_code == 401
        assert "password is wrong" in answer.text
        assert _login(client, world.users["operator_a"], "not-the-password").status_code == 401
        assert client.get("/fleet", follow_redirects=False).headers["location"] == "/login"


def test_console_refuses_forged_and_cross_tenant_posts(base_url: str, world: World) -> None:
    """Posts without the session's CSRF token, or at another partner's exception, change nothing."""
    refused = world.exceptions["refused"]
    with _client(base_url, HOST_A) as client:
        _login(client, world.users["operator_a"])
        token = _csrf(client)
        assert client.post(f"/exceptions/{refused}/retry").status_code == 403
        wrong = client.post(f"/exceptions/{refused}/retry", data={"csrf_token": "forged"})
        assert wrong.status_code == 403
        other_site = client.post(
            f"/exceptions/{refused}/retry",
            data={"csrf_token": token},
            headers={"Origin": "http://evil.example"},
        )
        assert other_site.status_code == 403
        foreign = world.exceptions["initech_hours"]
        answer = client.post(f"/exceptions/{foreign}/retry", data={"csrf_token": token})
        assert answer.status_code == 404
        assert "ledgerbridge" not in answer.text.lower()
    assert _status(world.db, refused) == "open"
    assert _status(world.db, world.exceptions["initech_hours"]) == "open"


def test_console_tenant_viewer_sees_one_tenant_and_cannot_act(base_url: str, world: World) -> None:
    """A tenant viewer sees only its tenant, has no action buttons, and its posts are refused."""
    mine = world.exceptions["fabrikam_hours"]
    with _client(base_url, HOST_A) as client:
        answer = _login(client, world.users["viewer_a"])
        fabrikam = world.tenants["Fabrikam Advisory"]
        assert answer.headers["location"] == f"/tenants/{fabrikam}"
        queue = client.get("/exceptions")
        assert mine in queue.text and world.exceptions["refused"] not in queue.text
        assert "Contoso" not in queue.text and "Retry selected" not in queue.text
        detail = client.get(f"/exceptions/{mine}")
        assert "hours must be more than 0" in detail.text and ">Retry<" not in detail.text
        contoso = world.tenants["Contoso Consulting"]
        assert client.get(f"/tenants/{contoso}").status_code == 404
        assert client.get(f"/exceptions/{world.exceptions['refused']}").status_code == 404
        token = _csrf(client)
        answer = client.post(f"/exceptions/{mine}/retry", data={"csrf_token": token})
        assert answer.status_code == 403
        tested = client.post(
            f"/tenants/{fabrikam}/connections/erp/test", data={"csrf_token": token}
        )
        assert tested.status_code == 403
    assert _status(world.db, mine) == "open"


def test_console_bulk_skip_is_audited_with_the_user_as_actor(base_url: str, world: World) -> None:
    """Skipping selected exceptions in bulk resolves them and writes the user to the audit log."""
    mine = world.exceptions["fabrikam_hours"]
    with _client(base_url, HOST_A) as client:
        _login(client, world.users["operator_a"])
        token = _csrf(client)
        answer = client.post(
            "/exceptions/bulk",
            data={"csrf_token": token, "action": "skip", "reason": "entered twice", "ids": [mine]},
            headers={"X-Console-Partial": "1"},
        )
        assert answer.status_code == 200 and "1 exception skipped" in answer.text
        audit = client.get("/audit", params={"action": "exception.skipped"})
    assert world.users["operator_a"] in audit.text
    shown = Client(world.db).show_exception(mine)
    assert shown["status"] == "resolved" and shown["note"] == "entered twice"
    assert shown["resolved_by"].startswith("user:usr_")


def test_console_exports_are_sorted_and_complete() -> None:
    """The console package's __all__ is sorted and names what it exposes."""
    from ledgerbridge import console

    assert console.__all__ == sorted(console.__all__)
    assert all(hasattr(console, name) for name in console.__all__)


def test_console_sign_out_ends_the_session_for_copied_cookies_too(
    base_url: str, world: World
) -> None:
    """After sign-out, a copy of the session cookie taken earlier opens nothing."""
    with _client(base_url, HOST_A) as client:
        assert _login(client, world.users["operator_a"]).status_code == 303
        copied = client.cookies.get("console_session")
        assert copied and client.get("/fleet").status_code == 200
        token = _csrf(client, "/fleet")
        assert client.post("/logout", data={"csrf_token": token}).status_code == 303
    with _client(base_url, HOST_A) as thief:
        thief.cookies.set("console_session", copied)
        answer = thief.get("/fleet")
    assert answer.status_code in (303, 401)
    assert "Sign in" in answer.text or answer.headers.get("location") == "/login"
    with world.db.read() as conn:
        rows = conn.execute(store.tables.console_sessions.select()).all()
    assert copied not in {r.token_hash for r in rows}  # only digests are kept


def test_console_sign_in_is_throttled_after_repeated_failures(base_url: str, world: World) -> None:
    """Five wrong passwords for one account lock it from that address for a while, with
    Retry-After; the right password is refused too until then, and other accounts are not."""
    email = world.users["operator_a"]
    with _client(base_url, HOST_A) as client:
        failures = [_login(client, email, "wrong-password").status_code for _ in range(5)]
        locked = _login(client, email)
        other = _login(client, world.users["viewer_a"])
    assert failures == [401] * 5
    assert locked.status_code == 429
    assert 0 < int(locked.headers["retry-after"]) <= 15 * 60
    assert "too many failed sign-ins" in locked.text
    assert other.status_code == 303
