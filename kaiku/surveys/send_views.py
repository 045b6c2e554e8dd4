"""The send dialog, recurring waves and the delivery log of a survey.

Send: the filter form (GET, so a filtered audience is a shareable link) shows
how many contacts would be invited and how many skipped and why
(kaiku.surveys.sending.preview_send); the confirm form POSTs the same filter
with a one-time form token and the timing. Owners and admins only; every
member may read the delivery log.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django_stubs_ext import StrOrPromise

from kaiku.accounts.access import get_manager_membership, get_membership, get_survey_for_member
from kaiku.accounts.models import Membership
from kaiku.contacts.filters import (
    ContactFilter,
    FilterError,
    apply_filter,
    describe_filter,
    from_query_string,
    parse_filter,
)
from kaiku.contacts.forms import filter_context, filter_form_context
from kaiku.surveys import actions
from kaiku.surveys.forms import SendForm, WaveForm
from kaiku.surveys.models import DeliveryAttempt, Invitation, InvitationStatus, Survey, Wave
from kaiku.surveys.sending import SendSummary, SurveyInactive, preview_send
from kaiku.surveys.views import _apply_errors, _manager_and_survey, survey_page

LOG_PAGE_SIZE = 50

# Why a contact is not invited (kaiku.surveys.throttling codes), in words.
SKIP_LABELS: dict[str, StrOrPromise] = {
    "no_email": gettext_lazy("no email address"),
    "unsubscribed": gettext_lazy("unsubscribed"),
    "bounced": gettext_lazy("email bounced"),
    "already_answered": gettext_lazy("already answered this survey"),
    "throttled": gettext_lazy("surveyed recently"),
    "cancelled": gettext_lazy("cancelled"),
}


def skip_lines(summary: SendSummary) -> list[tuple[str, StrOrPromise, int]]:
    return [
        (reason, SKIP_LABELS.get(reason, reason), n) for reason, n in summary.skipped.items() if n
    ]


# --- Send ---------------------------------------------------------------------------


@login_required
def send_choose(request: HttpRequest, workspace_slug: str) -> HttpResponse:
    """From the contacts list: the chosen survey's send dialog with the list's filter."""
    membership = get_manager_membership(request, workspace_slug)
    raw = request.GET.get("survey", "")
    if not raw.isdigit():
        raise Http404
    survey = get_survey_for_member(membership, int(raw))
    url = reverse("surveys:send", kwargs={"workspace_slug": workspace_slug, "survey_id": survey.pk})
    query = request.GET.get("filter", "")
    return redirect(f"{url}?{query}" if query else url)


@login_required
def send(request: HttpRequest, workspace_slug: str, survey_id: int) -> HttpResponse:
    membership, survey = _manager_and_survey(request, workspace_slug, survey_id)
    if request.method == "POST":
        return _confirm(request, membership, survey)
    contact_filter, context = filter_context(membership, request.GET)
    form = SendForm(initial={"filter": contact_filter.to_query_string() if contact_filter else ""})
    return _send_page(request, membership, survey, contact_filter, context, form)


def _send_page(
    request: HttpRequest,
    membership: Membership,
    survey: Survey,
    contact_filter: ContactFilter | None,
    context: dict[str, Any],
    form: SendForm,
    status: int = 200,
) -> HttpResponse:
    summary = None
    if contact_filter is not None:
        try:
            summary = preview_send(survey, apply_filter(membership.workspace, contact_filter))
        except FilterError as exc:
            context["filter_errors"] = exc.messages
    if summary is None:
        status = 400
    context.update(
        {
            "form": form,
            "summary": summary,
            "skips": skip_lines(summary) if summary else [],
            "description": _describe(membership, contact_filter),
            "time_zone": membership.workspace.time_zone,
        }
    )
    return survey_page(request, membership, survey, "send", "surveys/send.html", context, status)


def _describe(membership: Membership, contact_filter: ContactFilter | None) -> list[str]:
    if contact_filter is None:
        return []
    names = dict(
        Survey.objects.filter(workspace_id=membership.workspace_id).values_list("pk", "name")
    )
    return describe_filter(contact_filter, names)


def _confirm(request: HttpRequest, membership: Membership, survey: Survey) -> HttpResponse:
    with timezone.override(membership.workspace.tzinfo):
        form = SendForm(request.POST)
        valid = form.is_valid()
    query = request.POST.get("filter", "")
    contact_filter, context = filter_context(membership, query)
    if valid and contact_filter is not None:
        try:
            summary = actions.send_survey(
                membership,
                survey,
                contact_filter,
                form_token=form.cleaned_data["form_token"],
                send_at=form.cleaned_data["send_at"],
                spread_until=form.cleaned_data["spread_until"],
            )
        except actions.AlreadySent:
            messages.info(request, _("This send was already made; nothing was sent again."))
            return _to_log(membership, survey)
        except SurveyInactive:
            form.add_error(None, _("The survey is inactive: activate it on the General tab first."))
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _sent_message(summary))
            return _to_log(membership, survey)
    return _send_page(request, membership, survey, contact_filter, context, form, status=400)


def _sent_message(summary: SendSummary) -> str:
    scheduled = ngettext(
        "%(n)d invitation scheduled", "%(n)d invitations scheduled", summary.scheduled
    ) % {"n": summary.scheduled}
    skipped = ngettext(
        "%(n)d contact skipped.", "%(n)d contacts skipped.", summary.skipped_total
    ) % {"n": summary.skipped_total}
    # Translators: "5 invitations scheduled" + ", " + "2 contacts skipped."
    return _("%(scheduled)s, %(skipped)s") % {"scheduled": scheduled, "skipped": skipped}


def _to_log(membership: Membership, survey: Survey) -> HttpResponse:
    return redirect("surveys:log", workspace_slug=membership.workspace.slug, survey_id=survey.pk)


# --- Waves -------------------------------------------------------------------------------


def get_wave_for_survey(survey: Survey, wave_id: int) -> Wave:
    wave = Wave.objects.filter(survey=survey, pk=wave_id).first()
    if wave is None:
        raise Http404
    return wave


@login_required
def waves(request: HttpRequest, workspace_slug: str, survey_id: int) -> HttpResponse:
    membership, survey = _manager_and_survey(request, workspace_slug, survey_id)
    form = WaveForm(request.POST or None)
    if request.method == "POST":
        wave_filter = _posted_filter(request)
        if form.is_valid():
            try:
                actions.create_wave(
                    membership, survey, contact_filter=wave_filter, **form.cleaned_data
                )
            except ValidationError as exc:
                _apply_errors(form, exc)
            else:
                messages.success(request, _("Wave created. It runs on the next working day."))
                return redirect("surveys:waves", workspace_slug=workspace_slug, survey_id=survey.pk)
        context = filter_form_context(membership, wave_filter, _filter_errors(wave_filter))
        return _waves_page(request, membership, survey, form, context, status=400)
    return _waves_page(request, membership, survey, form, filter_form_context(membership, {}))


def _posted_filter(request: HttpRequest) -> dict[str, Any]:
    return from_query_string(request.POST)


def _filter_errors(raw: dict[str, Any]) -> list[str]:
    try:
        parse_filter(raw)
    except FilterError as exc:
        return exc.messages
    return []


def _waves_page(
    request: HttpRequest,
    membership: Membership,
    survey: Survey,
    form: WaveForm,
    context: dict[str, Any],
    status: int = 200,
) -> HttpResponse:
    names = dict(
        Survey.objects.filter(workspace_id=membership.workspace_id).values_list("pk", "name")
    )
    rows = []
    for wave in survey.waves.all():
        try:
            description = describe_filter(parse_filter(wave.contact_filter), names)
        except FilterError:
            description = [_("invalid filter: edit the wave")]
        rows.append({"wave": wave, "description": description})
    context.update({"form": form, "rows": rows})
    return survey_page(request, membership, survey, "waves", "surveys/waves.html", context, status)


@login_required
def wave_edit(
    request: HttpRequest, workspace_slug: str, survey_id: int, wave_id: int
) -> HttpResponse:
    membership, survey = _manager_and_survey(request, workspace_slug, survey_id)
    wave = get_wave_for_survey(survey, wave_id)
    initial = {
        "name": wave.name,
        "every_days": wave.every_days,
        "daily_cap": wave.daily_cap,
        "is_active": wave.is_active,
    }
    form = WaveForm(request.POST or None, initial=initial)
    raw = _stored_filter(wave)
    if request.method == "POST":
        raw = _posted_filter(request)
        if form.is_valid():
            try:
                actions.update_wave(membership, wave, contact_filter=raw, **form.cleaned_data)
            except ValidationError as exc:
                _apply_errors(form, exc)
            else:
                messages.success(request, _("Wave saved."))
                return redirect("surveys:waves", workspace_slug=workspace_slug, survey_id=survey.pk)
    context = filter_form_context(membership, raw, _filter_errors(raw) if form.is_bound else [])
    context.update({"form": form, "wave": wave})
    status = 400 if form.is_bound else 200
    return survey_page(
        request, membership, survey, "waves", "surveys/wave_edit.html", context, status
    )


def _stored_filter(wave: Wave) -> dict[str, Any]:
    """The stored filter in the form's (query string) shape, so the fields show it."""
    try:
        return from_query_string(parse_filter(wave.contact_filter).to_query_string())
    except FilterError:
        return {}


@login_required
def wave_toggle(
    request: HttpRequest, workspace_slug: str, survey_id: int, wave_id: int
) -> HttpResponse:
    membership, survey = _manager_and_survey(request, workspace_slug, survey_id)
    wave = get_wave_for_survey(survey, wave_id)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    wave = actions.update_wave(membership, wave, is_active=not wave.is_active)
    if wave.is_active:
        messages.success(request, _("Wave %(name)s resumed.") % {"name": wave.name})
    else:
        messages.success(request, _("Wave %(name)s paused.") % {"name": wave.name})
    return redirect("surveys:waves", workspace_slug=workspace_slug, survey_id=survey.pk)


# --- Delivery log ------------------------------------------------------------------------


@login_required
def delivery_log(request: HttpRequest, workspace_slug: str, survey_id: int) -> HttpResponse:
    membership = get_membership(request, workspace_slug)
    survey = get_survey_for_member(membership, survey_id)
    status = request.GET.get("status", "")
    invitations = (
        Invitation.objects.filter(survey=survey)
        .select_related("contact", "wave")
        # Every SMTP attempt of the page's invitations, in one more query.
        .prefetch_related(
            Prefetch("attempts_log", queryset=DeliveryAttempt.objects.order_by("created_at"))
        )
    )
    if status:
        if status not in InvitationStatus.values:
            raise Http404
        invitations = invitations.filter(status=status)
    # Newest first by created_at: the (survey, -created_at) index serves it.
    invitations = invitations.order_by("-created_at", "-pk")
    page = Paginator(invitations, LOG_PAGE_SIZE).get_page(request.GET.get("page"))
    for invitation in page.object_list:
        # Throttling codes in words; SMTP errors and other reasons as recorded.
        reason = invitation.status_reason
        invitation.reason_text = SKIP_LABELS.get(reason, reason)
    context = {
        "page": page,
        "status": status,
        "statuses": InvitationStatus.choices,
        "query": f"status={status}" if status else "",
    }
    return survey_page(request, membership, survey, "log", "surveys/log.html", context)
