"""Helpers for the email delivery tests: an SMTP server that can refuse, and shortcuts.

`ScriptedSmtpServer` is tests.smtp's real aiosmtpd server whose answers to RCPT
and DATA can be scripted per address ("451 …" a few times, then accept; "550 …"
always), which is how real servers reject or defer mail.

    class MyTest(ScriptedSmtpMixin, BaseTestCase):
        def test_it(self) -> None:
            self.smtp.refuse("gone@example.org", "550 5.1.1 User unknown")
            self.smtp.defer("busy@example.org", times=2)  # 451 twice, then accepted
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from email.message import EmailMessage
from typing import Any, ClassVar

from django.db.models import QuerySet
from django.test import SimpleTestCase

from kaiku.contacts.models import Contact
from kaiku.surveys import delivery
from kaiku.surveys.models import Invitation, Survey
from kaiku.surveys.sending import SendSummary, schedule_invitations
from tests.smtp import SmtpServer, _Collector, text_part

TOKEN_IN_LINK = re.compile(r"/r/([A-Za-z0-9_-]+)/\?score=")


class _ScriptedCollector(_Collector):
    def __init__(self) -> None:
        super().__init__()
        # address → replies still to give at RCPT (None: always this reply)
        self.rcpt: dict[str, list[str]] = {}
        self.always_rcpt: dict[str, str] = {}
        self.data_reply: str | None = None

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        address = address.lower()
        if address in self.always_rcpt:
            return self.always_rcpt[address]
        queue = self.rcpt.get(address)
        if queue:
            return queue.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_reply is not None:
            return self.data_reply
        return await super().handle_DATA(server, session, envelope)


class ScriptedSmtpServer(SmtpServer):
    def __init__(self) -> None:
        super().__init__()
        self._collector: _ScriptedCollector = _ScriptedCollector()

    def refuse(self, address: str, reply: str = "550 5.1.1 User unknown") -> None:
        """Every RCPT TO this address gets `reply`."""
        self._collector.always_rcpt[address.lower()] = reply

    def defer(self, address: str, times: int = 1, reply: str = "451 4.3.0 Try again later") -> None:
        """The next `times` RCPTs to this address get `reply`; then it is accepted."""
        self._collector.rcpt[address.lower()] = [reply] * times

    def reject_data(self, reply: str | None) -> None:
        """Every DATA gets `reply` (None: accept again)."""
        self._collector.data_reply = reply

    def reset_script(self) -> None:
        self._collector.rcpt.clear()
        self._collector.always_rcpt.clear()
        self._collector.data_reply = None


class ScriptedSmtpMixin(SimpleTestCase):
    """Like tests.smtp.SmtpTestMixin, with a ScriptedSmtpServer as `self.smtp`."""

    smtp: ClassVar[ScriptedSmtpServer]

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        server = ScriptedSmtpServer()
        cls.enterClassContext(server)
        cls.smtp = server
        cls.enterClassContext(cls.smtp.settings())

    def setUp(self) -> None:
        super().setUp()
        self.smtp.clear()
        self.smtp.reset_script()


def make_contacts(
    workspace: Any, count: int, prefix: str = "person", **fields: Any
) -> list[Contact]:
    return [
        Contact.objects.create(
            workspace=workspace, email=f"{prefix}{i}@example.org", name=f"Person {i}", **fields
        )
        for i in range(count)
    ]


def contacts_of(workspace: Any) -> QuerySet[Contact]:
    return Contact.objects.filter(workspace=workspace)


def schedule(
    survey: Survey, contacts: Iterable[Contact] | None = None, **kwargs: Any
) -> SendSummary:
    """schedule_invitations() for these contacts (default: all the workspace's)."""
    qs = contacts_of(survey.workspace)
    if contacts is not None:
        qs = qs.filter(pk__in=[c.pk for c in contacts])
    return schedule_invitations(survey, qs, **kwargs)


def dispatch_and_deliver() -> delivery.DeliveryStats:
    """The dispatcher's claim, then each send job, called as units of work (no queue)."""
    dispatched = delivery.dispatch_due()
    total = delivery.DeliveryStats()
    for ids in dispatched.invitations:
        _add(total, delivery.deliver_invitations(ids))
    for ids in dispatched.reminders:
        _add(total, delivery.deliver_reminders(ids))
    return total


def _add(total: delivery.DeliveryStats, stats: delivery.DeliveryStats) -> None:
    for name, value in stats.as_dict().items():
        setattr(total, name, getattr(total, name) + value)


def token_of(message: EmailMessage) -> str:
    """The invitation token in a received email's score links (all links carry the same one)."""
    tokens = set(TOKEN_IN_LINK.findall(text_part(message)))
    assert len(tokens) == 1, tokens
    return tokens.pop()


def tokens_received(messages: Iterable[EmailMessage]) -> list[str]:
    return [token_of(message) for message in messages]


def invitation_for(message: EmailMessage) -> Invitation:
    return Invitation.objects.get(token=token_of(message))
