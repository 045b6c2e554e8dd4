"""The base test case: three personas and domain assertions.

- Alice owns the "Acme" workspace.
- Bob is an agent on Alice's workspace.
- Charlie owns "Globex", another workspace, and must never see Acme's data.
"""

from __future__ import annotations

from django.test import TestCase

from kaiku.accounts.models import Membership, Role, User, Workspace
from kaiku.surveys.models import Survey

PASSWORD = "correct-horse-battery-staple"


class BaseTestCase(TestCase):
    workspace: Workspace
    alice: User
    bob: User
    charlie: User
    charlies_workspace: Workspace
    survey: Survey

    @classmethod
    def setUpTestData(cls) -> None:
        cls.workspace = Workspace.objects.create(
            name="Acme", slug="acme", time_zone="Europe/Helsinki"
        )
        cls.alice = User.objects.create_user("alice@example.org", PASSWORD, name="Alice")
        cls.bob = User.objects.create_user("bob@example.org", PASSWORD, name="Bob")
        Membership.objects.create(workspace=cls.workspace, user=cls.alice, role=Role.OWNER)
        Membership.objects.create(workspace=cls.workspace, user=cls.bob, role=Role.AGENT)

        cls.charlies_workspace = Workspace.objects.create(name="Globex", slug="globex")
        cls.charlie = User.objects.create_user("charlie@example.org", PASSWORD, name="Charlie")
        Membership.objects.create(
            workspace=cls.charlies_workspace, user=cls.charlie, role=Role.OWNER
        )
        cls.survey = Survey.objects.create(workspace=cls.workspace, name="Relationship NPS")

    def login_as(self, user: User) -> None:
        self.client.force_login(user)

    def assertRefusedToOutsider(self, url: str, method: str = "get") -> None:
        """Charlie gets a 404 (never a 403 that leaks existence) and sees nothing of Acme."""
        self.client.force_login(self.charlie)
        response = getattr(self.client, method)(url)
        self.assertEqual(response.status_code, 404, f"{method.upper()} {url} as outsider")
        self.assertNotIn(b"Acme", response.content)
        self.client.logout()
