"""Previews on the texts tab: the invitation email and the respondent page, as they would look.

Both render the real templates (kaiku.surveys.emails, respond/score.html) for
a survey whose texts may not be saved yet: the unsaved wording is put in the
survey's prefetched `text_set`, which `Survey.texts()` reads, so nothing is
written to show a preview. The pages embed the HTML in sandboxed iframes
(`srcdoc`, no scripts, no forms), so a preview can neither run code nor record
an answer.
"""

from __future__ import annotations

import copy
import secrets
from collections.abc import Mapping

from django.http import HttpRequest

from kaiku.responses.pages import SCALE_ENDS, render_page, scale_choices
from kaiku.surveys.emails import RenderedEmail, render_preview
from kaiku.surveys.models import Survey, SurveyText


def with_texts(survey: Survey, language: str, values: Mapping[str, str]) -> Survey:
    """A copy of `survey` whose texts in `language` are `values` (blank = built-in)."""
    saved = [text for text in survey.text_set.all() if text.language != language]
    draft = SurveyText(survey=survey, language=language, **dict(values))
    preview = copy.copy(survey)
    preview._prefetched_objects_cache = {"text_set": [*saved, draft]}  # type: ignore[attr-defined]
    return preview


def email_preview(survey: Survey, language: str) -> RenderedEmail:
    return render_preview(survey, language)


def respondent_preview(request: HttpRequest, survey: Survey, language: str) -> str:
    """The first respondent page (question and scale) as HTML, in `language`."""
    low, high = SCALE_ENDS.get(survey.kind, ("", ""))
    context = {
        "question": survey.texts(language).question,
        "scale": scale_choices(survey),
        "low": low,
        "high": high,
        "selected": None,
        "autosubmit": False,
        "nonce": secrets.token_urlsafe(16),
        "action": "#",
        "error": None,
        "kiosk": False,
    }
    response = render_page(request, "respond/score.html", survey, language, context)
    return response.content.decode()
