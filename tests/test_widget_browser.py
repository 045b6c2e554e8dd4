"""The web widget in a real browser, on a customer page served from another origin.

Kaiku runs in pytest-django's live server (http://localhost:PORT); the customer's
page comes from a separate http.server on http://127.0.0.1:OTHER_PORT, so every
call the widget makes is cross-origin, as on a real customer site. Screenshots go
to test-artifacts/ (gitignored).
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Callable, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from kaiku.accounts.models import Workspace
from kaiku.contacts.models import Contact
from kaiku.responses.identity import sign_uid
from kaiku.responses.models import Response
from kaiku.surveys.models import Survey

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 667}

# The customer's own styles, deliberately hostile: none of it may reach the card.
HOST_PAGE = """<!doctype html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
{csp}
<title>Acme app</title>
<style nonce="n0nce">
  body {{ font: 18px/1.6 Georgia, serif; color: #400; margin: 2rem; background: #fbf7ef; }}
  * {{ letter-spacing: 2px; }}
  button {{ background: hotpink !important; font-size: 40px; border-radius: 0; }}
  p {{ color: red; text-transform: uppercase; }}
  div {{ padding: 30px; }}
</style>
<script nonce="n0nce">
  window.KaikuSettings = {settings};
  window.kaikuEvents = [];
  ["ready", "show", "answer", "comment", "dismiss", "skip"].forEach(function (name) {{
    addEventListener("kaiku:" + name, function (e) {{ kaikuEvents.push([name, e.detail]); }});
  }});
</script>
<script src="{script}" data-survey="{survey}" async></script>
</head>
<body>
  <h1>Acme dashboard</h1>
  <p>Welcome back. Here is what happened in your account this week.</p>
  <div><button type="button">A host page button</button></div>
</body>
</html>
"""


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def host_site(tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """Start customer sites: call with a name, get its origin (http://127.0.0.1:PORT)."""
    servers: list[ThreadingHTTPServer] = []

    def start(name: str) -> str:
        root = tmp_path / name
        root.mkdir()
        handler = functools.partial(_QuietHandler, directory=str(root))
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def write_page(
    tmp_path: Path,
    name: str,
    live_url: str,
    survey: Survey,
    settings: dict[str, Any],
    strict_csp: bool = False,
) -> None:
    # A strict policy as security-minded customers run it: nonces for their own
    # inline code, Kaiku allowed for scripts and fetches, no 'unsafe-inline'.
    policy = (
        f"default-src 'self'; script-src 'nonce-n0nce' {live_url}; "
        f"connect-src {live_url}; style-src 'self' 'nonce-n0nce'"
    )
    csp = f'<meta http-equiv="Content-Security-Policy" content="{policy}">'
    html = HOST_PAGE.format(
        csp=csp if strict_csp else "",
        lang=settings.get("language", "en"),
        settings=json.dumps(settings),
        script=f"{live_url}/widget/v1/kaiku.js",
        survey=survey.public_id,
    )
    (tmp_path / name / "index.html").write_text(html)


def make_survey(origins: list[str]) -> Survey:
    workspace = Workspace.objects.create(name="Acme", slug="acme", brand_color="#0f766e")
    return Survey.objects.create(workspace=workspace, name="In-app NPS", widget_origins=origins)


def events(page: Any) -> list[list[Any]]:
    return page.evaluate("window.kaikuEvents")


def wait_for_event(page: Any, name: str) -> dict[str, Any]:
    page.wait_for_function(f"kaikuEvents.some(e => e[0] === {name!r})")
    return next(detail for event, detail in events(page) if event == name)


def screenshot(page: Any, name: str) -> None:
    """Save a PNG once the card's slide-in animation has finished."""
    page.evaluate(
        """() => { const host = document.querySelector("kaiku-widget");
                   const card = host && host.shadowRoot.querySelector(".card");
                   return card && Promise.all(card.getAnimations().map(a => a.finished)); }"""
    )
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def test_a_verified_user_answers_and_is_not_asked_again(
    live_server: Any, browser: Any, host_site: Callable[[str], str], tmp_path: Path
) -> None:
    origin = host_site("shop")
    survey = make_survey([origin])
    settings = {
        "user_id": "u-42",
        "user_hash": sign_uid(survey.workspace, "u-42"),
        "properties": {"plan": "pro"},
        "language": "fi",
        "delay": 0,
    }
    write_page(tmp_path, "shop", live_server.url, survey, settings, strict_csp=True)
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security" in m.text else 0)
    page.goto(f"{origin}/index.html")

    dialog = page.get_by_role("dialog")
    dialog.wait_for()
    assert "suosittelisit" in dialog.inner_text()
    assert dialog.get_attribute("aria-modal") == "false"
    assert dialog.get_attribute("aria-label")
    # Our styles apply under the page's strict CSP, and the page's
    # `button { background: hotpink !important }` stays outside the card.
    score_9 = dialog.get_by_text("9", exact=True)
    background = score_9.evaluate("b => getComputedStyle(b).backgroundColor")
    assert background == "rgb(244, 245, 247)", background
    assert violations == []
    assert score_9.get_attribute("aria-label")
    screenshot(page, "widget-desktop-question")

    score_9.click()
    comment = dialog.locator("textarea")
    comment.wait_for()
    assert comment.evaluate("t => t.getRootNode().activeElement === t"), "focus moves to comment"
    comment.fill("Nopea ja selkeä.")
    screenshot(page, "widget-desktop-comment")
    dialog.locator("button.send").click()
    dialog.get_by_text("Kiitos palautteestasi!").wait_for()
    wait_for_event(page, "comment")
    screenshot(page, "widget-desktop-thanks")

    answer = Response.objects.get()
    assert (answer.score, answer.comment, answer.channel) == (9, "Nopea ja selkeä.", "widget")
    assert answer.language == "fi"
    assert answer.contact == Contact.objects.get(workspace=survey.workspace, external_id="u-42")
    assert answer.properties == {"plan": "pro"}

    page.reload()
    assert wait_for_event(page, "skip") == {"reason": "answered"}
    assert page.locator("kaiku-widget").count() == 0
    assert Response.objects.count() == 1
    context.close()


def test_on_a_phone_the_card_is_a_bottom_sheet_and_escape_dismisses_it(
    live_server: Any, browser: Any, host_site: Callable[[str], str], tmp_path: Path
) -> None:
    origin = host_site("shop")
    survey = make_survey([origin])
    write_page(tmp_path, "shop", live_server.url, survey, {"language": "en", "delay": 0})
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True)
    page = context.new_page()
    page.goto(f"{origin}/index.html")

    dialog = page.get_by_role("dialog", name="Feedback")
    dialog.wait_for()
    screenshot(page, "widget-phone-375")
    box = dialog.bounding_box()
    assert box is not None
    assert (box["x"], box["width"]) == (0, PHONE["width"])
    assert abs(box["y"] + box["height"] - PHONE["height"]) < 1
    buttons = dialog.locator("button.s")
    assert buttons.count() == 11
    last = buttons.nth(10).bounding_box()
    assert last is not None
    assert last["x"] + last["width"] <= PHONE["width"]
    assert last["width"] >= 24
    assert last["height"] >= 24

    page.keyboard.press("Tab")  # the page's own button
    page.keyboard.press("Tab")  # into the card: close
    page.keyboard.press("Tab")  # score 0
    focused = page.evaluate("document.activeElement.shadowRoot.activeElement.textContent")
    assert focused == "0"
    page.keyboard.press("Escape")
    wait_for_event(page, "dismiss")
    assert page.locator("kaiku-widget").count() == 0
    assert page.evaluate("document.activeElement === document.body")

    page.reload()
    assert wait_for_event(page, "skip") == {"reason": "dismissed"}
    assert page.locator("kaiku-widget").count() == 0
    # An explicit Kaiku.show() (a "Give feedback" link) still opens it, focused.
    assert page.evaluate("Kaiku.show()") is True
    assert page.evaluate("document.activeElement.tagName") == "KAIKU-WIDGET"
    page.evaluate("Kaiku.hide()")
    assert page.locator("kaiku-widget").count() == 0
    assert not Response.objects.exists()
    context.close()


def test_a_keyboard_user_answers_and_an_unverified_claim_stays_anonymous(
    live_server: Any, browser: Any, host_site: Callable[[str], str], tmp_path: Path
) -> None:
    origin = host_site("shop")
    survey = make_survey([origin])
    settings = {"user_id": "u-42", "user_hash": "0" * 64, "autoShow": False}
    write_page(tmp_path, "shop", live_server.url, survey, settings)
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.goto(f"{origin}/index.html")
    wait_for_event(page, "ready")
    page.wait_for_timeout(300)
    assert page.locator("kaiku-widget").count() == 0, "autoShow: false waits for Kaiku.show()"

    assert page.evaluate("Kaiku.show()") is True
    dialog = page.get_by_role("dialog")
    page.keyboard.press("Tab")  # from score 0 (focused by show()) to 1
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # score 2
    comment = dialog.locator("textarea")
    comment.wait_for()
    page.keyboard.type("Search is broken")
    screenshot(page, "widget-phone-comment")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # Send
    wait_for_event(page, "comment")

    answer = Response.objects.get()
    assert (answer.score, answer.comment) == (2, "Search is broken")
    assert answer.contact is None
    assert not Contact.objects.exists()
    context.close()


def test_a_site_that_is_not_allowed_gets_no_prompt(
    live_server: Any, browser: Any, host_site: Callable[[str], str], tmp_path: Path
) -> None:
    allowed = host_site("shop")
    other = host_site("copycat")  # another port: another origin
    survey = make_survey([allowed])
    write_page(tmp_path, "copycat", live_server.url, survey, {"delay": 0})
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    failures: list[str] = []
    page.on("requestfailed", lambda request: failures.append(request.url))
    page.goto(f"{other}/index.html")

    assert wait_for_event(page, "skip") == {"reason": "error"}
    assert page.locator("kaiku-widget").count() == 0
    assert any("/eligibility" in url for url in failures), "the browser blocked it (CORS)"
    assert page.evaluate("Kaiku.show()") is False
    # A forged POST straight from the page is refused too.
    status = page.evaluate(
        """url => fetch(url, {method: "POST", body: '{"score": 10}',
                  headers: {"Content-Type": "application/json"}})
                  .then(r => r.status, () => "blocked")""",
        f"{live_server.url}/widget/v1/surveys/{survey.public_id}/responses",
    )
    assert status == "blocked"
    assert not Response.objects.exists()
    context.close()
