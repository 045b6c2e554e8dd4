"""Background jobs that email people about their account.

Jobs take ids and re-read the rows: an invitation revoked or accepted before the
worker picks the job up sends nothing. Enqueued after commit by the actions
(and by the password reset form), so a slow or unreachable SMTP server never
holds a transaction or a request.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_tasks import task

from kaiku.accounts.models import Role, TeamInvitation, User
from kaiku.lib.mail import send_email

EMAIL_DIR = "accounts/email"


@task()
def send_team_invitation_email(invitation_id: int, language: str) -> None:
    invitation = (
        TeamInvitation.objects.select_related("workspace", "invited_by")
        .filter(pk=invitation_id, accepted_at=None)
        .first()
    )
    if invitation is None or invitation.is_expired():
        return
    inviter = invitation.invited_by
    context = {
        "invitation": invitation,
        "workspace": invitation.workspace,
        "inviter_name": inviter.get_full_name() if inviter else "",
        # The lazy label, so it renders in the recipient's language.
        "role": Role(invitation.role).label,
        "link": settings.SITE_URL + reverse("accounts:invitation", args=[invitation.token]),
        "days": settings.TEAM_INVITATION_DAYS,
    }
    send_email(
        invitation.email,
        f"{EMAIL_DIR}/team_invitation_subject.txt",
        f"{EMAIL_DIR}/team_invitation.txt",
        f"{EMAIL_DIR}/team_invitation.html",
        context,
        language,
    )


@task()
def send_password_reset_email(user_id: int) -> None:
    # The token is made here rather than passed in, so it is never stored in
    # the job queue's table.
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None or not user.has_usable_password():
        return
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    path = reverse("accounts:password_reset_confirm", kwargs={"uidb64": uid, "token": token})
    context = {"user": user, "link": settings.SITE_URL + path}
    send_email(
        user.email,
        f"{EMAIL_DIR}/password_reset_subject.txt",
        f"{EMAIL_DIR}/password_reset.txt",
        f"{EMAIL_DIR}/password_reset.html",
        context,
        user.language,
    )
