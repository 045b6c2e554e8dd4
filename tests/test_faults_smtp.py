"""The SMTP server down for a while: invitations wait with backoff, then go out exactly once.

The dispatcher and the send jobs are called as units of work (tests.delivery_helpers),
time_machine moves the clock past the backoff, and the mail server is a real aiosmtpd
server that the test stops and starts again on the same port, as a restarted relay would.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta

import time_machine
from aiosmtpd.controller import Controller
from django.utils import timezone

from kaiku.surveys import delivery
from kaiku.surveys.models import DeliveryAttempt, Invitation, InvitationStatus
from tests.base import BaseTestCase
from tests.delivery_helpers import dispatch_and_deliver, make_contacts, schedule, tokens_received
from tests.smtp import SmtpServer

INVITATIONS = 250  # three send jobs of up to 100 (delivery.BATCH_SIZE)


class RestartableSmtpServer(SmtpServer):
    """The test SMTP server, startable again on the port it had (a relay coming back)."""

    def start_again(self) -> None:
        controller = Controller(self._collector, hostname=self.host, port=self.port)
        controller.start()
        self._controller = controller


class SmtpOutageTests(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.workspace.email_rate_per_minute = 100_000
        self.workspace.save(update_fields=["email_rate_per_minute"])
        make_contacts(self.workspace, INVITATIONS)
        self.smtp = RestartableSmtpServer()
        self.smtp.start()
        self.addCleanup(self.smtp.stop)
        self.enterContext(self.smtp.settings())
        self.start = timezone.now()

    def at(self, minutes: float) -> time_machine.travel:
        return time_machine.travel(self.start + timedelta(minutes=minutes), tick=False)

    def test_an_outage_mid_send_is_retried_and_every_invitation_goes_out_once(self) -> None:
        with self.at(0):
            schedule(self.survey)
            dispatched = delivery.dispatch_due()
            first, *rest = dispatched.invitations
            assert delivery.deliver_invitations(first).sent == len(first) == 100
            self.smtp.stop()  # the relay goes down between two batches
            for ids in rest:
                assert delivery.deliver_invitations(ids).retry == len(ids)
        waiting = Invitation.objects.filter(status=InvitationStatus.SCHEDULED)
        assert waiting.count() == INVITATIONS - 100
        self.assert_backoff(waiting.values_list("send_at", flat=True), 5)
        # Still down at the first retry, 5 minutes (±20%) later: the next wait is 30.
        with self.at(7):
            assert dispatch_and_deliver().retry == INVITATIONS - 100
        self.assert_backoff(waiting.values_list("send_at", flat=True), 30, since=7)
        self.smtp.start_again()
        with self.at(20):
            assert dispatch_and_deliver().sent == 0, "nothing before its retry time"
        with self.at(45):
            assert dispatch_and_deliver().sent == INVITATIONS - 100
        with self.at(60):
            assert dispatch_and_deliver().sent == 0
        self.assert_each_sent_once()

    def test_a_long_outage_needs_no_operator(self) -> None:
        """Down for two hours: three failed tries each, then sent on the fourth."""
        with self.at(0):
            schedule(self.survey)
        self.smtp.stop()
        clock = 0.0
        for expected_wait in (5, 30):
            with self.at(clock):
                assert dispatch_and_deliver().retry == INVITATIONS
            clock += expected_wait * 1.25
        with self.at(clock):
            assert dispatch_and_deliver().retry == INVITATIONS  # third failure: wait 2 h
        self.smtp.start_again()
        with self.at(clock + 2 * 60 * 1.25):
            assert dispatch_and_deliver().sent == INVITATIONS
        self.assert_each_sent_once()
        outcomes = Counter(DeliveryAttempt.objects.values_list("outcome", flat=True))
        assert outcomes == {"retry": 3 * INVITATIONS, "sent": INVITATIONS}
        assert set(Invitation.objects.values_list("attempts", flat=True)) == {4}

    def assert_backoff(
        self, send_times: Iterable[datetime], minutes: float, since: float = 0
    ) -> None:
        base = self.start + timedelta(minutes=since)
        waits = [(when - base).total_seconds() / 60 for when in send_times]
        assert min(waits) >= minutes * 0.8 - 0.01, min(waits)
        assert max(waits) <= minutes * 1.2 + 0.01, max(waits)
        assert max(waits) - min(waits) > minutes * 0.1, "jittered, not all at once"

    def assert_each_sent_once(self) -> None:
        tokens = Counter(tokens_received(self.smtp.messages))
        expected = set(Invitation.objects.values_list("token", flat=True))
        assert set(tokens) == expected
        assert max(tokens.values()) == 1
        assert set(Invitation.objects.values_list("status", flat=True)) == {"sent"}
