"""Ask on every channel, in a real browser: create a survey, word it in Finnish, see the
email, import contacts from CSV, check the counts and send.

Screenshots go to test-artifacts/ (gitignored) at desktop and phone widths.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from kaiku.accounts.models import Membership, Role, User, Workspace
from kaiku.contacts.models import Contact
from kaiku.surveys.models import Invitation, Survey
from tests.base import PASSWORD

pytestmark = [pytest.mark.browser]

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
ARTIFACTS.mkdir(exist_ok=True)
WIDTHS = {"desktop": (1280, 900), "phone": (375, 812)}
CSV = (
    "Sähköposti;Nimi;Kieli;Asiakasnumero;Sopimus\n"
    "matti@example.fi;Matti Virtanen;fi;C-1;pro\n"
    "liisa@example.fi;Liisa Korhonen;fi;C-2;pro\n"
    "kadri@example.ee;Kadri Tamm;et;C-3;free\n"
    "gone@example.fi;Ei Enää;fi;C-4;pro\n"
)


@pytest.fixture
def acme(transactional_db: None, settings: Any, tmp_path: Path) -> Workspace:
    settings.DATA_DIR = tmp_path  # uploads go to a temporary folder
    workspace = Workspace.objects.create(name="Acme", slug="acme", time_zone="Europe/Helsinki")
    alice = User.objects.create_user("alice@example.org", PASSWORD, name="Alice")
    Membership.objects.create(workspace=workspace, user=alice, role=Role.OWNER)
    # Someone who unsubscribed earlier and is in the file again: imported, never asked.
    Contact.objects.create(
        workspace=workspace, email="gone@example.fi", unsubscribed_at=timezone.now()
    )
    return workspace


@pytest.fixture
def page_for(browser: Any) -> Iterator[Any]:
    contexts: list[Any] = []

    def open_page(width: int, height: int) -> Any:
        context = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


# Elements reaching past the right edge: what makes a phone page scroll sideways.
OVERFLOWING = """() => [...document.querySelectorAll('body *')]
  .filter(el => el.getBoundingClientRect().right > window.innerWidth + 1)
  .filter(el => getComputedStyle(el.parentElement).overflowX === 'visible')
  .map(el => el.tagName + '.' + el.className).slice(0, 10)"""


def shoot(page: Any, name: str, device: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"ask-{name}-{device}.png"), full_page=True)
    # Nothing sticks out sideways: wide tables scroll inside their own box.
    wide = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert wide, (name, page.evaluate(OVERFLOWING))


@pytest.mark.parametrize("device", list(WIDTHS))
def test_alice_asks_her_customers(
    page_for: Any, live_server: Any, acme: Workspace, device: str
) -> None:
    page = page_for(*WIDTHS[device])
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on(
        "response",
        lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None,
    )

    page.goto(f"{live_server.url}/accounts/login/")
    page.fill('input[name="username"]', "alice@example.org")
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    page.wait_for_url(f"{live_server.url}/w/acme/")

    # 1. A new NPS survey, default language Finnish.
    page.click("text=New survey")
    page.fill('input[name="name"]', "Asiakassuhde NPS")
    page.check('input[name="kind"][value="nps"]')
    page.select_option('select[name="default_language"]', "fi")
    page.click("button:has-text('Create the survey')")
    page.wait_for_url(re.compile(r"/surveys/\d+/texts/$"))
    survey = Survey.objects.get(workspace=acme, name="Asiakassuhde NPS")
    assert (survey.scale_min, survey.scale_max, survey.default_language) == (0, 10, "fi")

    # 2. Finnish texts, previewed before saving, then saved.
    page.click("nav.subtabs a[lang='fi']")
    question = "Kuinka todennäköisesti suosittelisit Acmea ystävällesi?"
    page.fill('textarea[name="question"]', question)
    page.fill('textarea[name="follow_up_detractor"]', "Mitä voisimme tehdä paremmin?")
    page.click("button:has-text('Preview')")
    email = page.frame_locator("iframe.email-frame")
    assert question in email.locator("body").inner_text()
    respondent = page.frame_locator("iframe.page-frame")
    assert question in respondent.locator("body").inner_text()
    assert "Subject:" in page.locator(".email-subject").inner_text()
    # Chromium paints a sandboxed frame only once it has been on screen.
    page.locator("iframe.page-frame").scroll_into_view_if_needed()
    page.locator("iframe.page-frame").screenshot(
        path=str(ARTIFACTS / f"ask-respondent-preview-{device}.png")
    )
    page.locator("iframe.email-frame").scroll_into_view_if_needed()
    shoot(page, "texts-preview", device)
    page.click("button:has-text('Save')")
    page.wait_for_url(re.compile(r"\?lang=fi$"))
    assert survey.texts("fi").question == question

    # 3. Contacts from a CSV file, with the mapping step.
    page.click("nav a:has-text('Contacts')")
    page.click("text=Import from CSV")
    page.set_input_files(
        'input[name="file"]',
        {"name": "asiakkaat.csv", "mimeType": "text/csv", "buffer": CSV.encode("utf-8-sig")},
    )
    page.click("button:has-text('Upload and continue')")
    page.wait_for_url(re.compile(r"/contacts/import/map/"))
    assert page.input_value("#target-0") == "email"
    assert page.input_value("#target-3") == "external_id"
    assert page.input_value("#target-4") == "property"
    page.fill("#property-4", "plan")  # "Sopimus" becomes the property "plan"
    page.click("button:has-text('Check the rows')")
    assert "3 new contacts, 1 updated, 0 unchanged." in page.locator(".report").inner_text()
    shoot(page, "import-report", device)
    page.click("button:has-text('Import 4 rows')")
    page.wait_for_url(f"{live_server.url}/w/acme/contacts/")
    assert "4 contacts" in page.locator(".count").first.inner_text()
    assert Contact.objects.get(workspace=acme, external_id="C-1").properties == {"plan": "pro"}
    shoot(page, "contacts", device)

    # 4. The send dialog: the Finnish pro customers; one of them unsubscribed.
    send_url = f"{live_server.url}/w/acme/surveys/{survey.pk}/send/"
    page.goto(send_url)
    page.fill("#prop-1", "plan")
    page.select_option("#op-1", "eq")
    page.fill("#val-1", "pro")
    page.click("button:has-text('Count the contacts')")
    counts = " ".join(page.locator(".send-summary .counts").inner_text().split())
    assert counts == "2 will be sent, 1 skipped (unsubscribed: 1)", counts
    shoot(page, "send-dialog", device)
    page.click("button:has-text('Send to 2 contacts')")
    page.wait_for_url(re.compile(r"/log/$"))
    assert "2 invitations scheduled, 1 contact skipped." in page.locator(".messages").inner_text()
    assert Invitation.objects.filter(survey=survey).count() == 2
    assert page.locator(".log-table tbody tr").count() == 2
    shoot(page, "delivery-log", device)

    # 5. The channels tab: public link and a kiosk.
    page.click("nav.survey-tabs a:has-text('Channels')")
    page.fill('input[name="name"]', "Vastaanotto")
    page.click("button:has-text('Add the kiosk')")
    assert "/k/" in page.locator(".kiosk-link input").first.input_value()
    shoot(page, "channels", device)

    assert problems == []
