"""Background jobs of the loop. They take ids (JSON), re-read the rows and are
safe to run twice: each message is claimed on its row before it is sent."""

from __future__ import annotations

from datetime import date

from django_tasks import task

from kaiku.loop import alerts, daily, promoters, replies


@task()
def send_case_alerts(case_id: int) -> int:
    """The new-case alert to the assignee (or the admins) and the Slack-style webhooks."""
    return alerts.send_case_alerts(case_id)


@task()
def send_assignment_alert(case_id: int, user_id: int) -> int:
    return alerts.send_assignment_alert(case_id, user_id)


@task()
def send_overdue_reminder(case_id: int) -> int:
    return alerts.send_overdue_reminder(case_id)


@task()
def send_escalation(case_id: int) -> int:
    return alerts.send_escalation(case_id)


@task()
def send_case_reply(reply_id: int) -> str | None:
    return replies.deliver_reply(reply_id)


@task()
def send_promoter_email(follow_up_id: int) -> str | None:
    return promoters.send_promoter_email(follow_up_id)


@task()
def send_drop_alert(survey_id: int, day: str) -> int:
    return daily.send_drop_alert(survey_id, date.fromisoformat(day))


@task()
def send_digest(membership_id: int, day: str) -> bool:
    return daily.send_digest(membership_id, date.fromisoformat(day))
