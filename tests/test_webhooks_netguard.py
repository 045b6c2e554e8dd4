"""Webhooks refuse private addresses (SSRF), at save time and again at every send."""

from __future__ import annotations

import ipaddress
import socket
from typing import Any
from unittest import mock

from django.test import SimpleTestCase, override_settings

from kaiku.responses.actions import record_response
from kaiku.webhooks import netguard, transport
from kaiku.webhooks.actions import create_endpoint
from kaiku.webhooks.models import DeliveryStatus, WebhookDelivery
from kaiku.webhooks.netguard import UnsafeUrl, check_url, is_public
from tests.smtp import IMMEDIATE_TASKS
from tests.test_webhooks import WebhookTestCase
from tests.webhook_server import WebhookReceiver


def resolving_to(*addresses: str) -> Any:
    """A getaddrinfo stand-in: every name resolves to `addresses`."""

    def fake(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        family = socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, port)) for address in addresses]

    return mock.patch.object(netguard.socket, "getaddrinfo", side_effect=fake)


@override_settings(WEBHOOKS_ALLOW_PRIVATE=False)
class AddressCheckTest(SimpleTestCase):
    def test_private_and_special_addresses_are_refused(self) -> None:
        for url in [
            "http://127.0.0.1/hook",
            "http://127.9.9.9:8080/hook",
            "http://10.1.2.3/hook",
            "http://172.16.0.1/",
            "http://192.168.1.10/",
            "http://169.254.169.254/latest/meta-data/",  # cloud metadata
            "http://[::1]/hook",
            "http://[fe80::1]/",
            "http://[fd00::1]/",
            "http://[::ffff:127.0.0.1]/",  # IPv4-mapped loopback
            "http://0.0.0.0/",
            "http://100.64.0.1/",  # shared address space
            "http://224.0.0.1/",  # multicast
            "http://240.0.0.1/",  # reserved
            "http://localhost:8000/hook",  # resolves to loopback
        ]:
            with self.subTest(url=url), self.assertRaises(UnsafeUrl) as raised:
                check_url(url)
            self.assertEqual(raised.exception.code, "private", url)

    def test_public_addresses_pass(self) -> None:
        self.assertTrue(is_public(ipaddress.ip_address("93.184.216.34")))
        self.assertTrue(is_public(ipaddress.ip_address("2606:2800:220:1:248:1893:25c8:1946")))
        with resolving_to("93.184.216.34"):
            target = check_url("https://hooks.example.com/kaiku?x=1")
        self.assertEqual(
            (target.host, target.port, target.path), ("hooks.example.com", 443, "/kaiku?x=1")
        )

    def test_one_private_address_among_public_ones_is_enough_to_refuse(self) -> None:
        with resolving_to("93.184.216.34", "10.0.0.5"), self.assertRaises(UnsafeUrl):
            check_url("https://mixed.example.com/")

    def test_other_schemes_and_credentials_are_refused(self) -> None:
        for url, code in [
            ("ftp://example.com/x", "scheme"),
            ("file:///etc/passwd", "scheme"),
            ("gopher://example.com/", "scheme"),
            ("https://user:pass@example.com/", "credentials"),
            ("https:///nohost", "invalid"),
            ("http://example.com:99999/", "invalid"),
        ]:
            with self.subTest(url=url), self.assertRaises(UnsafeUrl) as raised:
                check_url(url)
            self.assertEqual(raised.exception.code, code)

    def test_a_name_that_does_not_resolve_is_not_permanent(self) -> None:
        with (
            mock.patch.object(netguard.socket, "getaddrinfo", side_effect=socket.gaierror),
            self.assertRaises(UnsafeUrl) as raised,
        ):
            check_url("https://no-such-host.invalid/")
        self.assertEqual(raised.exception.code, "unresolvable")
        self.assertFalse(raised.exception.permanent)

    @override_settings(WEBHOOKS_ALLOW_PRIVATE=True)
    def test_the_setting_allows_private_addresses(self) -> None:
        for url in [
            "http://127.0.0.1/hook",
            "http://10.1.2.3/",
            "http://[::1]/",
            "http://localhost/",
        ]:
            with self.subTest(url=url):
                check_url(url)

    def test_the_transport_refuses_before_connecting(self) -> None:
        with mock.patch.object(transport.socket, "socket") as opened:
            result = transport.post("http://127.0.0.1:1/", b"{}", {}, timeout=1)
        opened.assert_not_called()
        self.assertTrue(result.refused)
        self.assertIsNone(result.status_code)
        self.assertIn("private", result.error)


@override_settings(TASKS=IMMEDIATE_TASKS, WEBHOOKS_ALLOW_PRIVATE=True)
class SendTimeCheckTest(WebhookTestCase):
    def test_a_receiver_on_loopback_is_refused_at_send_time_when_not_allowed(self) -> None:
        with WebhookReceiver() as receiver:
            self.add_endpoint(receiver)  # allowed when saved …
            with self.settings(WEBHOOKS_ALLOW_PRIVATE=False):  # … not any more
                self.answer()
        self.assertEqual(receiver.requests, [])
        delivery = WebhookDelivery.objects.get()
        self.assertEqual(delivery.status, DeliveryStatus.FAILED)  # permanent: not retried
        self.assertIn("private", delivery.last_error)

    def test_dns_rebinding_to_a_private_address_is_refused(self) -> None:
        with self.settings(WEBHOOKS_ALLOW_PRIVATE=False):
            with resolving_to("93.184.216.34"):
                create_endpoint(
                    self.workspace, url="https://rebind.example.com/hook", events=self.events
                )
            # The name now answers with a private address; the send must not connect.
            with (
                resolving_to("127.0.0.1"),
                mock.patch.object(transport.socket, "socket") as opened,
            ):
                self.answer()
        opened.assert_not_called()
        self.assertEqual(WebhookDelivery.objects.get().status, DeliveryStatus.FAILED)

    def test_the_request_goes_to_the_checked_address(self) -> None:
        with WebhookReceiver() as receiver:
            port = receiver.port
            url = f"http://kaiku-receiver.test:{port}/hooks/kaiku"
            with resolving_to("127.0.0.1"):
                self.add_endpoint(receiver, url=url)
                self.answer()
        [request] = receiver.requests
        self.assertEqual(request.headers["Host"], f"kaiku-receiver.test:{port}")

    def test_creating_an_endpoint_refuses_private_urls(self) -> None:
        with self.settings(WEBHOOKS_ALLOW_PRIVATE=False), self.assertRaises(UnsafeUrl):
            create_endpoint(self.workspace, url="http://10.0.0.1/", events=self.events)
        with self.settings(WEBHOOKS_ALLOW_PRIVATE=False):
            record_response(survey=self.survey, score=9, channel="link")
        self.assertFalse(WebhookDelivery.objects.exists())
