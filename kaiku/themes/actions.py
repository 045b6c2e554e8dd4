"""Every change to a taxonomy or to an answer's themes goes through these actions.

Taxonomy changes (owners and admins) bump the workspace's taxonomy version and
queue the recompute job after commit, so every comment is re-themed in the
background with the new keywords. Manual tags (owners, admins and agents) write
`manual` rows that automatic assignment never overrides.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import partial

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from kaiku.accounts.models import MANAGER_ROLES, SUPPORTED_LANGUAGES, Membership, Role, Workspace
from kaiku.responses.models import Response
from kaiku.themes.models import (
    MAX_PHRASE_LENGTH,
    ResponseTheme,
    Source,
    Taxonomy,
    Theme,
    ThemeKeyword,
)
from kaiku.themes.starter import STARTER_KEYWORDS
from kaiku.themes.tasks import recompute_themes
from kaiku.themes.text.assign import KeywordError, parse_keyword
from kaiku.themes.text.normalise import normaliser

TAGGER_ROLES = MANAGER_ROLES | {Role.AGENT}
MAX_NAME_LENGTH = 80


def ensure_starter_taxonomy(workspace: Workspace) -> Taxonomy:
    """The workspace's taxonomy, created with the built-in starter themes the first time.

    Idempotent and race-safe: the one-per-workspace Taxonomy row decides who
    creates the themes. Theme rows are never deleted (only deactivated or
    merged), so a team that removed a starter theme does not get it back.
    """
    existing = Taxonomy.objects.filter(workspace=workspace).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            taxonomy = Taxonomy.objects.create(workspace=workspace)
            for key, per_language in STARTER_KEYWORDS.items():
                theme, _created = Theme.objects.get_or_create(workspace=workspace, key=key)
                ThemeKeyword.objects.bulk_create(
                    [
                        ThemeKeyword(theme=theme, language=language, phrase=phrase)
                        for language, phrases in per_language.items()
                        for phrase in phrases
                    ],
                    ignore_conflicts=True,
                )
    except IntegrityError:  # another request or worker created it first
        return Taxonomy.objects.get(workspace=workspace)
    _queue_recompute(workspace.pk)
    return taxonomy


# --- Taxonomy (owners and admins) ------------------------------------------------------


def _check_manager(membership: Membership) -> None:
    if membership.role not in MANAGER_ROLES:
        raise PermissionDenied(_("Only owners and admins can change the themes."))


def _check_theme(membership: Membership, theme: Theme) -> None:
    if theme.workspace_id != membership.workspace_id:
        raise PermissionDenied


def clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": _("Give the theme a name.")})
    if len(name) > MAX_NAME_LENGTH:
        raise ValidationError({"name": _("At most %(max)d characters.") % {"max": MAX_NAME_LENGTH}})
    return name


def clean_keywords(language: str, phrases: Iterable[str]) -> list[str]:
    """Keywords as stored: trimmed, lowercase, unique, each one the matcher can use."""
    if language not in SUPPORTED_LANGUAGES:
        raise ValidationError({"language": _("Unknown language.")})
    norm = normaliser(language)
    cleaned: list[str] = []
    for raw in phrases:
        phrase = " ".join(raw.lower().split())
        if not phrase or phrase in cleaned:
            continue
        if len(phrase) > MAX_PHRASE_LENGTH:
            raise ValidationError(
                {
                    "keywords": _("%(phrase)s: at most %(max)d characters.")
                    % {"phrase": phrase[:30], "max": MAX_PHRASE_LENGTH}
                }
            )
        try:
            parse_keyword(phrase, norm)
        except KeywordError as exc:
            raise ValidationError({"keywords": str(exc)}) from None
        cleaned.append(phrase)
    return cleaned


def split_keywords(text: str) -> list[str]:
    """A textarea's keywords: one per line, or separated by commas."""
    return [part for line in text.splitlines() for part in line.split(",") if part.strip()]


def _unique_key(workspace_id: int, name: str) -> str:
    base = slugify(name)[:50] or "theme"
    key, n = base, 2
    while Theme.objects.filter(workspace_id=workspace_id, key=key).exists():
        key, n = f"{base}-{n}", n + 1
    return key


def create_theme(
    membership: Membership, name: str, keywords: Mapping[str, Sequence[str]] | None = None
) -> Theme:
    _check_manager(membership)
    name = clean_name(name)
    cleaned = {lang: clean_keywords(lang, phrases) for lang, phrases in (keywords or {}).items()}
    ensure_starter_taxonomy(membership.workspace)
    with transaction.atomic():
        theme = Theme.objects.create(
            workspace_id=membership.workspace_id,
            key=_unique_key(membership.workspace_id, name),
            name=name,
        )
        ThemeKeyword.objects.bulk_create(
            ThemeKeyword(theme=theme, language=lang, phrase=phrase)
            for lang, phrases in cleaned.items()
            for phrase in phrases
        )
        _taxonomy_changed(membership.workspace_id)
    return theme


def rename_theme(membership: Membership, theme: Theme, name: str) -> Theme:
    """Names show everywhere at once; nothing needs recomputing."""
    _check_manager(membership)
    _check_theme(membership, theme)
    theme.name = clean_name(name)
    theme.save(update_fields=["name"])
    return theme


def set_keywords(
    membership: Membership, theme: Theme, language: str, phrases: Iterable[str]
) -> list[str]:
    """Replace the theme's keywords in one language."""
    _check_manager(membership)
    _check_theme(membership, theme)
    cleaned = clean_keywords(language, phrases)
    with transaction.atomic():
        ThemeKeyword.objects.filter(theme=theme, language=language).exclude(
            phrase__in=cleaned
        ).delete()
        ThemeKeyword.objects.bulk_create(
            [ThemeKeyword(theme=theme, language=language, phrase=p) for p in cleaned],
            ignore_conflicts=True,
        )
        _taxonomy_changed(membership.workspace_id)
    return cleaned


def set_theme_active(membership: Membership, theme: Theme, active: bool) -> Theme:
    _check_manager(membership)
    _check_theme(membership, theme)
    with transaction.atomic():
        theme.is_active = active
        theme.save(update_fields=["is_active"])
        _taxonomy_changed(membership.workspace_id)
    return theme


def merge_themes(membership: Membership, source: Theme, target: Theme) -> Theme:
    """Fold `source` into `target`: its keywords and its answers' tags move over.

    Where an answer has both, the target's row stays (a manual row on either
    side is kept as manual). The source is deactivated and remembers the target.
    """
    _check_manager(membership)
    _check_theme(membership, source)
    _check_theme(membership, target)
    if source.pk == target.pk:
        raise ValidationError({"target": _("Choose another theme to merge into.")})
    if not target.is_active:
        raise ValidationError({"target": _("Merge into an active theme.")})
    with transaction.atomic():
        for keyword in ThemeKeyword.objects.filter(theme=source):
            ThemeKeyword.objects.get_or_create(
                theme=target, language=keyword.language, phrase=keyword.phrase
            )
        ThemeKeyword.objects.filter(theme=source).delete()
        both = ResponseTheme.objects.filter(
            theme=target,
            response_id__in=ResponseTheme.objects.filter(theme=source).values("response_id"),
        )
        # A person's tag on the source survives the merge on the target.
        ResponseTheme.objects.filter(
            pk__in=both.values("pk"),
            response_id__in=ResponseTheme.objects.filter(
                theme=source, source=Source.MANUAL, removed=False
            ).values("response_id"),
        ).update(source=Source.MANUAL, removed=False)
        ResponseTheme.objects.filter(
            theme=source, response_id__in=both.values("response_id")
        ).delete()
        ResponseTheme.objects.filter(theme=source).update(theme=target)
        source.is_active = False
        source.merged_into = target
        source.save(update_fields=["is_active", "merged_into"])
        _taxonomy_changed(membership.workspace_id)
    return target


def split_theme(
    membership: Membership, theme: Theme, name: str, keywords: Mapping[str, Sequence[str]]
) -> Theme:
    """A new theme taking the given keywords from `theme`; automatic tags follow on recompute.

    Manual tags stay on the original: a person tagged the broader theme.
    """
    _check_manager(membership)
    _check_theme(membership, theme)
    moving = {lang: clean_keywords(lang, phrases) for lang, phrases in keywords.items()}
    if not any(moving.values()):
        raise ValidationError({"keywords": _("Choose the keywords the new theme takes.")})
    name = clean_name(name)
    with transaction.atomic():
        new = Theme.objects.create(
            workspace_id=membership.workspace_id,
            key=_unique_key(membership.workspace_id, name),
            name=name,
        )
        for lang, phrases in moving.items():
            ThemeKeyword.objects.filter(theme=theme, language=lang, phrase__in=phrases).delete()
            ThemeKeyword.objects.bulk_create(
                [ThemeKeyword(theme=new, language=lang, phrase=p) for p in phrases],
                ignore_conflicts=True,
            )
        _taxonomy_changed(membership.workspace_id)
    return new


def accept_suggestion(
    membership: Membership, name: str, language: str, phrases: Sequence[str]
) -> Theme:
    """A discovery suggestion (log-odds term or NMF topic) becomes a theme."""
    terms = [p.removeprefix("NOT_").replace(" NOT_", " ") for p in phrases]
    return create_theme(membership, name, {language: terms})


# --- Manual tags (owners, admins and agents) ----------------------------------------------


def tag_response(membership: Membership, response: Response, theme: Theme, present: bool) -> None:
    """A person says the answer does (present) or does not mention the theme; wins over auto."""
    if membership.role not in TAGGER_ROLES:
        raise PermissionDenied(_("Viewers cannot tag answers."))
    if response.workspace_id != membership.workspace_id:
        raise PermissionDenied
    _check_theme(membership, theme)
    ResponseTheme.objects.update_or_create(
        response=response,
        theme=theme,
        defaults={"source": Source.MANUAL, "removed": not present},
    )


def clear_manual_tag(membership: Membership, response: Response, theme: Theme) -> None:
    """Hand the answer's theme back to automatic assignment."""
    if membership.role not in TAGGER_ROLES:
        raise PermissionDenied(_("Viewers cannot tag answers."))
    if response.workspace_id != membership.workspace_id:
        raise PermissionDenied
    ResponseTheme.objects.filter(response=response, theme=theme, source=Source.MANUAL).delete()
    from kaiku.themes.assignment import assign_themes

    transaction.on_commit(partial(assign_themes, response.pk))


# --- Internals ---------------------------------------------------------------------------


def _taxonomy_changed(workspace_id: int) -> None:
    Taxonomy.objects.filter(workspace_id=workspace_id).update(
        version=F("version") + 1, updated_at=timezone.now()
    )
    _queue_recompute(workspace_id)


def _queue_recompute(workspace_id: int) -> None:
    # robust: a queue hiccup is logged; the next change or a manual run catches up.
    transaction.on_commit(partial(recompute_themes.enqueue, workspace_id), robust=True)
