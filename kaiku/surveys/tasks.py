"""Background jobs that deliver survey invitations (see kaiku.surveys.delivery).

Jobs take ids (JSON), re-read the rows and act only on those still claimed,
so running one twice sends nothing twice. Retries are not the job queue's:
a transient SMTP error puts that one invitation back on the schedule with a
backoff (Invitation.send_at), where the dispatcher finds it again; the job
itself always succeeds unless the database is gone.
"""

from __future__ import annotations

from django_tasks import task

from kaiku.surveys import delivery


@task()
def dispatch_due_invitations() -> int:
    """Claim due invitations and reminders (within each workspace's rate) and
    enqueue their send jobs. Also run every 30 s by the workers' scheduler."""
    return delivery.dispatch_due().count


@task()
def send_invitations(invitation_ids: list[int]) -> dict[str, int]:
    """Email a batch of claimed invitations over one SMTP connection."""
    return delivery.deliver_invitations(invitation_ids).as_dict()


@task()
def send_reminders(invitation_ids: list[int]) -> dict[str, int]:
    """Email the one reminder of a batch of claimed invitations."""
    return delivery.deliver_reminders(invitation_ids).as_dict()
