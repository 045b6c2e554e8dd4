"""`kaiku unsubscribe-mail`: the List-Unsubscribe mailto, processed from a mail server's pipe.

The invitation goes out through a real SMTP server with KAIKU_EMAIL_UNSUBSCRIBE set;
the test reads the mailto address from the received List-Unsubscribe header and
writes the email a mail client sends there, which the command reads as bytes on
stdin, as Postfix's pipe would hand it over.
"""

from __future__ import annotations

import io
import re
from email.message import EmailMessage

from django.core.management import call_command
from django.test import override_settings

from kaiku.contacts.models import Contact
from kaiku.surveys.models import Invitation, InvitationStatus, Survey
from tests.base import BaseTestCase
from tests.delivery_helpers import dispatch_and_deliver, make_contacts, schedule
from tests.smtp import SmtpTestMixin

MAILBOX = "optout@mail.acme.example"


def client_email(to: str, sender: str = "dana@example.org") -> bytes:
    """What a mail client sends for `mailto:…?subject=unsubscribe`."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = "unsubscribe"
    message.set_content("This message will unsubscribe you.")
    return bytes(message)


def pipe(raw: bytes, recipient: str = "") -> str:
    out = io.StringIO()
    call_command("unsubscribe-mail", recipient=recipient, stdin=io.BytesIO(raw), stdout=out)
    return out.getvalue()


@override_settings(EMAIL_UNSUBSCRIBE_ADDRESS=MAILBOX)
class UnsubscribeMailTests(SmtpTestMixin, BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        [self.dana] = make_contacts(self.workspace, 1, "dana")
        schedule(self.survey)
        dispatch_and_deliver()
        [message] = self.smtp.wait_for(1)
        found = re.search(r"<mailto:([^?>]+)\?subject=unsubscribe>", message["List-Unsubscribe"])
        assert found, message["List-Unsubscribe"]
        self.address = found.group(1)
        assert self.address.startswith("optout+")
        assert self.address.endswith("@mail.acme.example")
        # A second survey already has an invitation waiting for Dana.
        self.other = Survey.objects.create(workspace=self.workspace, name="CSAT", kind="csat")
        self.waiting = Invitation.objects.create(
            workspace=self.workspace, survey=self.other, contact=self.dana
        )

    def test_the_email_a_client_sends_unsubscribes_the_contact(self) -> None:
        output = pipe(client_email(self.address))
        assert output.strip() == f"contact {self.dana.pk} unsubscribed"
        self.dana.refresh_from_db()
        assert self.dana.unsubscribed_at is not None
        self.waiting.refresh_from_db()
        assert self.waiting.status == InvitationStatus.SKIPPED

    def test_the_envelope_recipient_wins_and_a_second_email_changes_nothing(self) -> None:
        # Forwarded or Bcc'd: the To header names someone else; the mail server knows.
        assert "unsubscribed" in pipe(client_email("someone@example.org"), self.address)
        first = Contact.objects.get(pk=self.dana.pk).unsubscribed_at
        assert "already unsubscribed" in pipe(client_email(self.address))
        assert Contact.objects.get(pk=self.dana.pk).unsubscribed_at == first

    def test_strangers_and_other_mailboxes_are_ignored(self) -> None:
        token = self.address.split("+")[1].split("@")[0]
        for to in (
            "optout+not-a-token@mail.acme.example",
            f"sales+{token}@mail.acme.example",  # our token, but not our mailbox
            "surveys@acme.example",
        ):
            with self.subTest(to=to):
                output = pipe(client_email(to))
                assert "unsubscribed" not in output
        assert Contact.objects.get(pk=self.dana.pk).unsubscribed_at is None

    def test_only_the_named_contact_is_unsubscribed(self) -> None:
        charlies = Contact.objects.create(workspace=self.charlies_workspace, email=self.dana.email)
        pipe(client_email(self.address))
        charlies.refresh_from_db()
        assert charlies.unsubscribed_at is None, "same email, another workspace: untouched"

    def test_without_a_configured_mailbox_the_default_address_works(self) -> None:
        token = self.address.split("+")[1].split("@")[0]
        with override_settings(EMAIL_UNSUBSCRIBE_ADDRESS=""):
            # unsubscribe@ the From domain (localhost in tests), as the header then says.
            assert "unsubscribed" in pipe(client_email(f"unsubscribe+{token}@localhost"))
        assert Contact.objects.get(pk=self.dana.pk).unsubscribed_at is not None

    def test_a_broken_message_is_ignored_without_an_error(self) -> None:
        assert pipe(b"\x00\xff not an email at all") == ""
