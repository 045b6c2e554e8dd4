"""Survey pages: create, overview and the settings tabs (general, texts, channels, follow-up,
reminders). Sending, waves and the delivery log are in send_views.py.

Thin views: the access helper first (outsiders 404 before anything else, a
member without the role 403), then parse, call one action, redirect.
Every member sees the overview and the delivery log; owners and admins the rest.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.forms import BaseForm
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kaiku.accounts.access import get_manager_membership, get_membership, get_survey_for_member
from kaiku.accounts.models import SUPPORTED_LANGUAGES, Membership
from kaiku.lib.security import csp_update, inline_style_sources
from kaiku.responses.identity import sign_uid
from kaiku.responses.models import KioskDevice
from kaiku.surveys import actions, previews
from kaiku.surveys.forms import (
    ChannelsForm,
    FollowUpForm,
    GeneralForm,
    KioskForm,
    NewSurveyForm,
    RemindersForm,
    TextsForm,
)
from kaiku.surveys.models import Invitation, InvitationStatus, Survey, SurveyText

# (tab, label, url name, managers only)
TABS = (
    ("overview", gettext_lazy("Overview"), "surveys:detail", False),
    ("general", gettext_lazy("General"), "surveys:settings", True),
    ("texts", gettext_lazy("Texts"), "surveys:texts", True),
    ("channels", gettext_lazy("Channels"), "surveys:channels", True),
    ("follow_up", gettext_lazy("Follow-up"), "surveys:follow_up", True),
    ("reminders", gettext_lazy("Reminders"), "surveys:reminders", True),
    ("send", gettext_lazy("Send"), "surveys:send", True),
    ("waves", gettext_lazy("Waves"), "surveys:waves", True),
    ("log", gettext_lazy("Delivery log"), "surveys:log", False),
)


def survey_page(
    request: HttpRequest,
    membership: Membership,
    survey: Survey,
    tab: str,
    template: str,
    context: dict[str, Any],
    status: int = 200,
) -> HttpResponse:
    """Render a tab of the survey with the tab bar and what every tab needs."""
    slug = membership.workspace.slug
    tabs = [
        {
            "key": key,
            "label": label,
            "url": reverse(url_name, kwargs={"workspace_slug": slug, "survey_id": survey.pk}),
            "current": key == tab,
        }
        for key, label, url_name, managers_only in TABS
        if membership.can_manage or not managers_only
    ]
    base = {"workspace": membership.workspace, "membership": membership, "survey": survey}
    return render(request, template, {**base, "tabs": tabs, **context}, status=status)


def _settings_saved(
    request: HttpRequest, membership: Membership, survey: Survey, name: str
) -> HttpResponse:
    messages.success(request, _("Saved."))
    return redirect(name, workspace_slug=membership.workspace.slug, survey_id=survey.pk)


def _apply_errors(form: BaseForm, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


# --- Create and overview ------------------------------------------------------------


@login_required
def new(request: HttpRequest, workspace_slug: str) -> HttpResponse:
    membership = get_manager_membership(request, workspace_slug)
    initial = {"default_language": (membership.workspace.languages or ["en"])[0]}
    form = NewSurveyForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            survey = actions.create_survey(membership, **form.cleaned_data)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("Survey created. Check its texts, then send it."))
            return redirect("surveys:texts", workspace_slug=workspace_slug, survey_id=survey.pk)
    context = {"workspace": membership.workspace, "membership": membership, "form": form}
    return render(request, "surveys/new.html", context, status=400 if form.is_bound else 200)


@login_required
def detail(request: HttpRequest, workspace_slug: str, survey_id: int) -> HttpResponse:
    membership = get_membership(request, workspace_slug)
    survey = get_survey_for_member(membership, survey_id)
    counts = dict(
        Invitation.objects.filter(survey=survey)
        .order_by()
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    statuses = [(s.value, s.label, counts.get(s.value, 0)) for s in InvitationStatus]
    context = {
        "statuses": statuses,
        "invited": sum(counts.values()),
        "answers": survey.responses.count(),
        "kiosks": KioskDevice.objects.filter(survey=survey, is_active=True).count(),
        "waves": survey.waves.filter(is_active=True).count(),
        "public_url": public_url(survey),
        "languages": [code for code in SUPPORTED_LANGUAGES if code in survey.workspace.languages],
    }
    return survey_page(request, membership, survey, "overview", "surveys/detail.html", context)


def public_url(survey: Survey) -> str:
    return settings.SITE_URL.rstrip("/") + reverse("respond:public", args=[survey.public_id])


def _manager_and_survey(
    request: HttpRequest, workspace_slug: str, survey_id: int
) -> tuple[Membership, Survey]:
    """Outsiders 404 (get_membership), then the survey (404), then the role (403)."""
    membership = get_membership(request, workspace_slug)
    survey = get_survey_for_member(membership, survey_id)
    if not membership.can_manage:
        raise PermissionDenied
    return membership, survey


# --- General, follow-up, reminders ------------------------------------------------------


@login_required
def general(request: HttpRequest, workspace_slug: str, survey_id: int) -> HttpResponse:
    membership, survey = _manager_and_survey(request, workspace_slug, survey_id)
    form = GeneralForm(request.POST or None, instance=Survey.objects.get(pk=survey.pk))
    if request.method == "POST" and form.is_valid():
        try:
            actions.update_survey_settings(membership, survey, **_changed(form))
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            return _settings_saved(request, membership, survey, "surveys:settings")
    status = 400 if form.is_bound else 200
    context = {"form": form}
    return survey_page(
        request, membership, survey, "general", "surveys/general.html", context, status
    )


def _changed(form: BaseForm) -> dict[str, Any]:
    return {name: form.cleaned_data[name] for name in form.fields}


@login_required
def follow_up(request: HttpRequest, workspace_slug: str, survey_id: int) -> HttpResponse:
    membership, survey = _manager_and_survey(request, workspace_slug, survey_id)
    form = FollowUpForm(request.POST or None, instance=Survey.objects.get(pk=survey.pk))
    if request.method == "POST" and form.is_valid():
        try:
            actions.update_survey_settings(membership, survey, **_changed(form))
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            return _settings_saved(request, membership, survey, "surveys:follow_up")
    status = 400 if form.is_bound else 200
    return survey_page(
        request, membership, survey, "follow_up", "surveys/follow_up.html", {"form": form}, status
    )


@login_required
def reminders(request: HttpRequest, workspace_slug: str, survey_id: int) -> HttpResponse:
    membership, survey = _manager_and_survey(request, workspace_slug, survey_id)
    initial = {"reminder_days": survey.reminder_days, "recontact_days": survey.recontact_days}
    days = membership.workspace.recontact_days
    form = RemindersForm(request.POST or None, initial=initial, workspace_days=days)
    if request.method == "POST" and form.is_valid():
        try:
            actions.update_survey_settings(membership, survey, **form.cleaned_data)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            return _settings_saved(request, membership, survey, "surveys:reminders")
    status = 400 if form.is_bound else 200
    return survey_page(
        request, membership, survey, "reminders", "surveys/reminders.html", {"form": form}, status
    )


# --- Texts and previews ------------------------------------------------------------------


@login_required
def texts(request: HttpRequest, workspace_slug: str, survey_id: int) -> HttpResponse:
    """One language's texts; "Preview" shows unsaved wording, "Save" keeps it."""
    membership, survey = _manager_and_survey(request, workspace_slug, survey_id)
    language = request.POST.get("language") or request.GET.get("lang") or survey.default_language
    if language not in SUPPORTED_LANGUAGES:
        raise Http404
    saved = SurveyText.objects.filter(survey=survey, language=language).first()
    initial = {name: getattr(saved, name, "") for name in actions.TEXT_FIELDS}
    form = TextsForm(request.POST or None, initial=initial, survey=survey, language=language)
    shown = survey
    status = 200
    if request.method == "POST":
        if not form.is_valid():
            status = 400
        elif request.POST.get("action") == "preview":
            shown = previews.with_texts(survey, language, form.cleaned_data)
        else:
            try:
                actions.save_survey_texts(membership, survey, language, form.cleaned_data)
            except ValidationError as exc:
                _apply_errors(form, exc)
                status = 400
            else:
                messages.success(request, _("Texts saved."))
                url = reverse(
                    "surveys:texts",
                    kwargs={"workspace_slug": workspace_slug, "survey_id": survey.pk},
                )
                return redirect(f"{url}?lang={language}")
    context = {
        "form": form,
        "language": language,
        "languages": SUPPORTED_LANGUAGES,
        "offered": membership.workspace.languages,
        "saved_languages": set(survey.text_set.values_list("language", flat=True)),
        "email": previews.email_preview(shown, language),
        "respondent_html": previews.respondent_preview(request, shown, language),
        "drafting": shown is not survey,
    }
    template = "surveys/texts.html"
    response = survey_page(request, membership, survey, "texts", template, context, status)
    # The previews are srcdoc iframes, which inherit this page's Content-Security-Policy:
    # allow exactly their inline styles (rendered by Kaiku from escaped texts) by hash.
    previews_html = context["email"].html + context["respondent_html"]
    csp_update(response, style_src=inline_style_sources(previews_html))
    return response


# --- Channels and kiosks -------------------------------------------------------------------


@login_required
def channels(request: HttpRequest, workspace_slug: str, survey_id: int) -> HttpResponse:
    membership, survey = _manager_and_survey(request, workspace_slug, survey_id)
    initial = {
        "hidden_properties": ", ".join(survey.hidden_properties),
        "widget_origins": "\n".join(survey.widget_origins),
    }
    form = ChannelsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            actions.update_survey_settings(membership, survey, **form.cleaned_data)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            return _settings_saved(request, membership, survey, "surveys:channels")
    status = 400 if form.is_bound else 200
    return _channels_page(request, membership, survey, form, KioskForm(), status)


def _channels_page(
    request: HttpRequest,
    membership: Membership,
    survey: Survey,
    form: ChannelsForm,
    kiosk_form: KioskForm,
    status: int = 200,
) -> HttpResponse:
    example_uid = request.GET.get("uid", "").strip()[:128]
    site = settings.SITE_URL.rstrip("/")
    context = {
        "form": form,
        "kiosk_form": kiosk_form,
        "public_url": public_url(survey),
        "example_uid": example_uid,
        "signed_url": (
            f"{public_url(survey)}?uid={example_uid}&sig={sign_uid(survey.workspace, example_uid)}"
            if example_uid
            else ""
        ),
        "widget_src": site + reverse("widget:script"),
        "site_url": site,
        "kiosks": KioskDevice.objects.filter(survey=survey).order_by("-is_active", "name"),
    }
    return survey_page(
        request, membership, survey, "channels", "surveys/channels.html", context, status
    )


@login_required
def kiosk_create(request: HttpRequest, workspace_slug: str, survey_id: int) -> HttpResponse:
    membership, survey = _manager_and_survey(request, workspace_slug, survey_id)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form = KioskForm(request.POST)
    if form.is_valid():
        try:
            device = actions.create_kiosk_device(membership, survey, **form.cleaned_data)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("Kiosk %(name)s added.") % {"name": device.name})
            return redirect("surveys:channels", workspace_slug=workspace_slug, survey_id=survey.pk)
    channels_form = ChannelsForm(
        initial={
            "hidden_properties": ", ".join(survey.hidden_properties),
            "widget_origins": "\n".join(survey.widget_origins),
        }
    )
    return _channels_page(request, membership, survey, channels_form, form, status=400)


def get_kiosk_for_survey(survey: Survey, kioskdevice_id: int) -> KioskDevice:
    device = KioskDevice.objects.filter(survey=survey, pk=kioskdevice_id).first()
    if device is None:
        raise Http404
    return device


@login_required
def kiosk_deactivate(
    request: HttpRequest, workspace_slug: str, survey_id: int, kioskdevice_id: int
) -> HttpResponse:
    membership, survey = _manager_and_survey(request, workspace_slug, survey_id)
    device = get_kiosk_for_survey(survey, kioskdevice_id)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    actions.deactivate_kiosk_device(membership, device)
    messages.success(request, _("Kiosk %(name)s deactivated.") % {"name": device.name})
    return redirect("surveys:channels", workspace_slug=workspace_slug, survey_id=survey.pk)
