"""The inspector page, GET /__mock__/: requests, stored responses and their events, what is in force.

First what the server renders (test client), then the page in headless
Chromium after the four requests a person would try: a plain one, a
streamed one, ``temperature: 9`` and a wrong key.
"""

from __future__ import annotations

import re

import httpx
import pytest

from mockserver import create_app
from mockserver.delivery.after import AFTER_REPLY
from mockserver.state.store import open_store

from .browser import browser, page, screenshot  # noqa: F401  (fixtures)
from .conftest import API_KEY, FIXTURES
from .servers import LiveServer

REQUEST = {"model": "qwen3.6-plus", "input": "What is a contract test?"}
AUTH = {"Authorization": f"Bearer {API_KEY}"}


def the_four_requests(post) -> dict[str, object]:
    """A plain request, a streamed one, one with temperature 9, one with a wrong key; what each answered."""
    plain = post({**REQUEST}, AUTH)
    streamed = post({**REQUEST, "stream": True}, AUTH)
    hot = post({**REQUEST, "temperature": 9}, AUTH)
    wrong = post(REQUEST, {"Authorization": "Bearer sk-wrong-key-for-the-inspector"})
    return {"plain": plain, "streamed": streamed, "hot": hot, "wrong": wrong}


@pytest.fixture
def mock():
    client = create_app(api_keys=[API_KEY], log_requests=False, scenarios_dir=FIXTURES / "scenarios").test_client()
    return client


def client_post(client):
    def post(body, headers):
        reply = client.post("/v1/responses", json=body, headers=headers)
        reply.get_data()  # a stream runs to its end
        return reply

    return post


def test_the_page_lists_each_request_with_its_status_and_why(mock):
    replies = the_four_requests(client_post(mock))
    page_html = mock.get("/__mock__/").get_data(as_text=True)
    rows = re.findall(r'<tr class="request" data-status="(\d+)">', page_html)
    assert rows == ["401", "400", "200", "200"]  # newest first
    assert "/v1/responses" in page_html and "(stream)" in page_html
    assert "temperature" in page_html and "invalid_parameter" in page_html  # the 400 says which field and code
    assert "无效的令牌" in page_html  # the 401's message
    plain_id = replies["plain"].get_json()["id"]
    request_rows = page_html.split('<table id="requests">')[1].split("</table>")[0].split('<tr class="request"')
    assert f'<a href="responses/{plain_id}">{plain_id}</a>' in request_rows[-1]  # the plain request's own row


def test_the_linked_json_is_the_stored_response(mock):
    created = mock.post("/v1/responses", json=REQUEST, headers=AUTH).get_json()
    linked = mock.get(f"/__mock__/responses/{created['id']}")
    assert linked.status_code == 200 and linked.get_json() == created
    unknown = mock.get("/__mock__/responses/resp_nothing")
    assert unknown.status_code == 404 and "error" in unknown.get_json()


def test_a_streamed_response_shows_its_events_in_order_with_their_timing(mock):
    reply = mock.post("/v1/responses", json={**REQUEST, "stream": True}, headers=AUTH)
    sent = re.findall(r"^event: (\S+)", reply.get_data(as_text=True), re.MULTILINE)
    page_html = mock.get("/__mock__/").get_data(as_text=True)
    events = re.search(r'<table class="events">(.*?)</table>', page_html, re.DOTALL).group(1)
    cells = r'<td class="num">(\d+)</td><td><code>([^<]+)</code></td><td class="num">([\d.]+)</td>'
    shown = re.findall(cells, events)
    assert [kind for _, kind, _ in shown] == sent
    assert [int(number) for number, _, _ in shown] == list(range(len(sent)))
    times = [float(ms) for _, _, ms in shown]
    assert times == sorted(times)
    assert f"{len(sent)} events, completed" in page_html


def test_under_the_mocks_own_server_the_timing_is_kept_once_the_reply_is_sent(mock):
    """The mock's server gives the app a list of work for after the reply (``delivery/after.py``): the
    timing log waits there, so the client's stream ends without waiting for the store."""
    waiting: list = []
    streamed = {**REQUEST, "stream": True}
    reply = mock.post("/v1/responses", json=streamed, headers=AUTH, environ_base={AFTER_REPLY: waiting})
    sent = re.findall(r"^event: (\S+)", reply.get_data(as_text=True), re.MULTILINE)
    reply.close()
    assert len(waiting) == 1 and "events, completed" not in mock.get("/__mock__/").get_data(as_text=True)
    waiting.pop()()  # what the server does once the last byte is out
    assert f"{len(sent)} events, completed" in mock.get("/__mock__/").get_data(as_text=True)


def test_a_plain_response_is_marked_not_streamed(mock):
    mock.post("/v1/responses", json=REQUEST, headers=AUTH)
    assert "not streamed" in mock.get("/__mock__/").get_data(as_text=True)


def test_the_page_shows_the_seed_profile_scenarios_and_faults():
    client = create_app(
        seed=7, faults=["latency=0.01"], fault_rate=0.5, scenarios_dir=FIXTURES / "scenarios"
    ).test_client()
    page_html = client.get("/__mock__/").get_data(as_text=True)
    assert '<b id="profile">gateway</b>' in page_html and '<b id="seed">7</b>' in page_html
    assert "<code>latency=0.01</code> on 50.0% of requests" in page_html
    assert "rate-limited" in page_html and "0 of 2 used" in page_html  # fixtures/scenarios/rate-limited.json


def test_a_prompt_is_text_never_markup(mock):
    mock.post("/v1/responses", json={**REQUEST, "input": "<script>alert(1)</script><b>bold</b>"}, headers=AUTH)
    page_html = mock.get("/__mock__/").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page_html and "&lt;script&gt;alert(1)&lt;/script&gt;" in page_html


def test_no_key_is_ever_shown(mock):
    """Requests are kept without headers; a key a client put in a body is masked too."""
    mock.post("/v1/responses", json={**REQUEST, "input": f"my key is {API_KEY}"}, headers=AUTH)
    mock.post("/v1/responses", json=REQUEST, headers={"Authorization": "Bearer sk-wrong-key-for-the-inspector"})
    page_html = mock.get("/__mock__/").get_data(as_text=True)
    assert API_KEY not in page_html and "sk-wrong-key-for-the-inspector" not in page_html
    assert "my key is sk-***" in page_html


def test_workers_sharing_a_store_show_one_page(tmp_path):
    """Two apps on one SQLite store stand for two workers: each page shows the other's requests and responses."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    first = create_app(api_keys=[API_KEY], log_requests=False, store=open_store(url, 100)).test_client()
    second = create_app(api_keys=[API_KEY], log_requests=False, store=open_store(url, 100)).test_client()
    created = first.post("/v1/responses", json=REQUEST, headers=AUTH).get_json()
    second.post("/v1/responses", json={**REQUEST, "temperature": 9}, headers=AUTH)
    for client in (first, second):
        page_html = client.get("/__mock__/").get_data(as_text=True)
        assert re.findall(r'data-status="(\d+)"', page_html) == ["400", "200"]
        assert f">{created['id']}</a>" in page_html
    assert len(second.get("/__mock__/requests").get_json()["data"]) == 2
    first.post("/__mock__/reset")
    assert second.get("/__mock__/requests").get_json()["data"] == []


# --- in a real browser --------------------------------------------------------------------------


def test_in_chromium_the_page_shows_what_happened(page):  # noqa: F811
    from playwright.sync_api import expect  # here: the page fixture has skipped where playwright is missing

    app = create_app(api_keys=[API_KEY], log_requests=False)
    with LiveServer(app) as server, httpx.Client(base_url=server.url) as http:

        def post(body, headers):
            return http.post("/v1/responses", json=body, headers=headers)

        replies = the_four_requests(post)
        assert [r.status_code for r in replies.values()] == [200, 200, 400, 401]
        plain_id = replies["plain"].json()["id"]
        page.goto(f"{server.url}/__mock__/")
        rows = page.locator("#requests tr.request")
        assert rows.count() == 4
        texts = [rows.nth(i).inner_text() for i in range(4)]
        assert all("/v1/responses" in text for text in texts)
        statuses = [rows.nth(i).locator("td.status").inner_text() for i in range(4)]
        assert statuses == ["401", "400", "200", "200"]
        assert "temperature" in texts[1] and "invalid_parameter" in texts[1]
        link = rows.nth(3).get_by_role("link", name=plain_id)  # in the plain request's row
        assert link.is_visible()
        rows.nth(1).locator("summary").click()  # the refused request's body, on demand
        assert '"temperature": 9' in rows.nth(1).locator("pre").inner_text()
        screenshot(page, "inspector")
        rows.nth(1).locator("summary").click()  # closed again: the page reloads itself only with no body open
        post({**REQUEST, "metadata": {"case": "later"}}, AUTH)
        expect(page.locator("#requests tr.request")).to_have_count(5, timeout=15_000)  # a reload showed it
        page.locator("#responses summary").first.click()  # the streamed response's events
        assert page.locator("#responses table.events").first.is_visible()
        page.get_by_role("link", name=plain_id).first.click()
        page.wait_for_url(f"**/__mock__/responses/{plain_id}")
        assert f'"id":"{plain_id}"' in page.content().replace(" ", "")
        assert API_KEY not in page.content()


def test_in_chromium_the_page_asks_for_the_admin_key(browser):  # noqa: F811
    """With an admin key the page answers 401 with a Basic challenge; the browser, given the key, shows it."""
    admin_key = "inspector-admin-9c1e5a7b3d"
    app = create_app(api_keys=[API_KEY], admin_key=admin_key, log_requests=False)
    with LiveServer(app) as server, httpx.Client(base_url=server.url) as http:
        created = http.post("/v1/responses", json=REQUEST, headers=AUTH).json()
        refused = http.get("/__mock__/")
        assert refused.status_code == 401 and refused.headers["WWW-Authenticate"].startswith("Basic")
        from playwright.sync_api import Error as BrowserError

        def status_without_the_key(**options: object) -> int | str:
            """What Chromium gets with no key or a wrong one: the 401, or its refusal to retry bad credentials."""
            context = browser.new_context(**options)
            try:
                return context.new_page().goto(f"{server.url}/__mock__/").status
            except BrowserError as exc:
                assert "ERR_INVALID_AUTH_CREDENTIALS" in str(exc)
                return "refused"
            finally:
                context.close()

        assert status_without_the_key() in (401, "refused")
        assert status_without_the_key(http_credentials={"username": "me", "password": "not-the-key"}) in (
            401,
            "refused",
        )
        context = browser.new_context(http_credentials={"username": "admin", "password": admin_key})
        try:
            page = context.new_page()
            assert page.goto(f"{server.url}/__mock__/").status == 200
            assert page.get_by_role("link", name=created["id"]).first.is_visible()
            assert admin_key not in page.content() and API_KEY not in page.content()
        finally:
            context.close()
