"""`kaiku unsubscribe-mail`: process one email sent to the List-Unsubscribe mailto address.

For the mail server to pipe into (RFC 2369's mailto: some mail clients send an
email instead of using the https one-click link), e.g. a Postfix pipe(8)
transport running deploy/unsubscribe-mail.sh with `--recipient
${original_recipient}` (docs/sending.md). The message comes on stdin; the
envelope recipient from --recipient, $ORIGINAL_RECIPIENT (Postfix local(8)) or the
delivery headers. The token in the address names the invitation; its contact is
unsubscribed like the https link does. Exit codes follow sysexits so the mail
server does the right thing: 0 when the message was handled or is not ours (no
bounce back to a stranger), 75 (EX_TEMPFAIL, "try again later") when the
database is unreachable.
"""

from __future__ import annotations

import logging
import os
import sys
from email import message_from_binary_file, policy
from email.message import Message
from typing import IO, Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import DatabaseError

from kaiku.surveys.emails import mailto_token
from kaiku.surveys.models import Invitation
from kaiku.surveys.sending import unsubscribe_contact

logger = logging.getLogger(__name__)

EX_TEMPFAIL = 75
# Where mail servers put the envelope recipient: Postfix's pipe and local(8)
# set ORIGINAL_RECIPIENT; Delivered-To and X-Original-To are added on delivery.
RECIPIENT_HEADERS = ("Delivered-To", "X-Original-To", "To")


class Command(BaseCommand):
    help = "Read one email from stdin and unsubscribe the contact its unsubscribe+<token> names."
    stealth_options = ("stdin",)  # a binary stream instead of sys.stdin (tests, embedding)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--recipient",
            default=os.environ.get("ORIGINAL_RECIPIENT", ""),
            help="the envelope recipient (default: $ORIGINAL_RECIPIENT, else the headers)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        stream: IO[bytes] = options.get("stdin") or sys.stdin.buffer
        message = message_from_binary_file(stream, policy=policy.default)
        token = find_token(options["recipient"], message)
        if token is None:
            logger.info("unsubscribe-mail: no unsubscribe+<token> address; ignored")
            return
        try:
            outcome = unsubscribe_by_token(token)
        except DatabaseError:
            logger.exception("unsubscribe-mail: database unavailable; the mail server will retry")
            sys.exit(EX_TEMPFAIL)
        logger.info("unsubscribe-mail: %s", outcome)
        self.stdout.write(outcome)


def find_token(recipient: str, message: Message) -> str | None:
    """The token of the first <mailbox>+<token>@ address of our mailbox found."""
    candidates = [recipient] + [
        str(value) for name in RECIPIENT_HEADERS for value in message.get_all(name, [])
    ]
    for candidate in candidates:
        for address in candidate.split(","):
            token = mailto_token(address)
            if token:
                return token
    return None


def unsubscribe_by_token(token: str) -> str:
    """What happened, in words for the log; the same action as the https link."""
    invitation = Invitation.objects.select_related("contact").filter(token=token).first()
    if invitation is None:
        return "unknown token; ignored"
    changed = unsubscribe_contact(invitation.contact)
    state = "unsubscribed" if changed else "already unsubscribed"
    return f"contact {invitation.contact_id} {state}"
