"""A real SMTP server for tests, and helpers to read what it received.

Emails in Kaiku go through Django's SMTP backend in production, so the tests
that matter send them the same way: to an aiosmtpd server listening on
127.0.0.1 on a free port, in a background thread. Nothing leaves the machine.

Use the mixin in a TestCase (one server per class, emptied before each test)::

    from tests.smtp import SmtpTestMixin, link_in, text_part

    class InvitationEmailTest(SmtpTestMixin, BaseTestCase):
        def test_it_emails_a_link(self) -> None:
            with self.captureOnCommitCallbacks(execute=True):
                invite_teammate(...)             # enqueues the email job on commit
            [message] = self.smtp.wait_for(1)    # email.message.EmailMessage
            self.assertEqual(message["To"], "dan@example.org")
            path = link_in(text_part(message))   # "/accounts/invitations/…/"
            self.client.get(path)

or the server and its settings directly, anywhere::

    with SmtpServer() as smtp, smtp.settings():
        ...
        smtp.wait_for(2, timeout=5)

`smtp.settings()` points Django's SMTP backend at the server and runs
background jobs inline (django-tasks ImmediateBackend), so a job enqueued
after commit has delivered its email by the time the on-commit callbacks ran.

API: `SmtpServer.messages` (parsed `EmailMessage`s, in arrival order),
`.envelopes` (SMTP envelope: `mail_from`, `rcpt_tos`, raw `content`),
`.wait_for(n, timeout)`, `.clear()`, `.host`, `.port`, `.settings()`;
module helpers `text_part`, `html_part`, `links_in`, `link_in`.
"""

from __future__ import annotations

import email
import email.policy
import re
import socket
import threading
import time
from email.message import EmailMessage
from types import TracebackType
from typing import Any, ClassVar
from urllib.parse import urlsplit

from aiosmtpd.controller import Controller
from django.conf import settings
from django.test import SimpleTestCase, override_settings

IMMEDIATE_TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


class _Collector:
    """The aiosmtpd handler: keeps every envelope and wakes up waiters."""

    def __init__(self) -> None:
        self.envelopes: list[Any] = []
        self.arrived = threading.Condition()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.arrived:
            self.envelopes.append(envelope)
            self.arrived.notify_all()
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class SmtpServer:
    """An SMTP server on 127.0.0.1 that keeps what it receives. Start/stop or use `with`."""

    host = "127.0.0.1"

    def __init__(self) -> None:
        self._collector = _Collector()
        self.port = 0
        self._controller: Controller | None = None

    def start(self) -> SmtpServer:
        # The port is probed, then bound by aiosmtpd: another process may take
        # it in between, hence the retries.
        for _attempt in range(5):
            self.port = _free_port()
            controller = Controller(self._collector, hostname=self.host, port=self.port)
            try:
                controller.start()
            except (OSError, RuntimeError):
                continue
            self._controller = controller
            return self
        raise RuntimeError("could not start the test SMTP server")

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> SmtpServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def envelopes(self) -> list[Any]:
        with self._collector.arrived:
            return list(self._collector.envelopes)

    @property
    def messages(self) -> list[EmailMessage]:
        return [_parse(envelope.content) for envelope in self.envelopes]

    def clear(self) -> None:
        with self._collector.arrived:
            self._collector.envelopes.clear()

    def wait_for(self, count: int = 1, timeout: float = 5.0) -> list[EmailMessage]:
        """The messages once at least `count` arrived; AssertionError after `timeout` s."""
        deadline = time.monotonic() + timeout
        with self._collector.arrived:
            while len(self._collector.envelopes) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    got = len(self._collector.envelopes)
                    raise AssertionError(f"expected {count} email(s), received {got}")
                self._collector.arrived.wait(left)
        return self.messages

    def settings(self) -> override_settings:
        """Settings that send email here and run background jobs inline."""
        return override_settings(
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST=self.host,
            EMAIL_PORT=self.port,
            EMAIL_HOST_USER="",
            EMAIL_HOST_PASSWORD="",
            EMAIL_USE_TLS=False,
            EMAIL_USE_SSL=False,
            EMAIL_TIMEOUT=5,
            TASKS=IMMEDIATE_TASKS,
        )


class SmtpTestMixin(SimpleTestCase):
    """One SmtpServer per test class as `self.smtp`, emptied before each test.

    Put it first: `class MyTest(SmtpTestMixin, BaseTestCase)`.
    """

    smtp: ClassVar[SmtpServer]

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.smtp = cls.enterClassContext(SmtpServer())
        cls.enterClassContext(cls.smtp.settings())

    def setUp(self) -> None:
        super().setUp()
        self.smtp.clear()


def _parse(content: bytes | str) -> EmailMessage:
    raw = content if isinstance(content, bytes) else content.encode()
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def _part(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    if part is None or part.get_content_subtype() != subtype:
        raise AssertionError(f"the email has no text/{subtype} part")
    assert isinstance(part, EmailMessage)
    return str(part.get_content())


def text_part(message: EmailMessage) -> str:
    """The decoded text/plain body."""
    return _part(message, "plain")


def html_part(message: EmailMessage) -> str:
    """The decoded text/html body."""
    return _part(message, "html")


def links_in(body: str) -> list[str]:
    """Every absolute link to this Kaiku (settings.SITE_URL) in a text or HTML body, in order."""
    pattern = re.escape(settings.SITE_URL) + r"/[^\s\"'<>]*"
    return re.findall(pattern, body)


def link_in(body: str) -> str:
    """The one Kaiku link in a body, as a path for the test client."""
    links = set(links_in(body))
    if len(links) != 1:
        raise AssertionError(f"expected one link to {settings.SITE_URL}, found {sorted(links)}")
    return urlsplit(links.pop()).path
