"""The audit log: one helper writes every entry, so every entry names its actor the same way."""

from __future__ import annotations

from typing import Any, TypeAlias

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser

from kaiku.accounts.models import User, Workspace
from kaiku.api.models import ApiKey
from kaiku.transfer.models import ActorType, AuditLog

# A signed-in person, an API key, or a job ("system", or any other label such
# as "cli" for management commands). None means "system".
Actor: TypeAlias = AbstractBaseUser | AnonymousUser | ApiKey | str | None

SYSTEM = "system"


def audit(
    workspace: Workspace,
    actor: Actor,
    action: str,
    obj: Any = None,
    *,
    object_type: str = "",
    object_id: Any = "",
    details: dict[str, Any] | None = None,
) -> AuditLog:
    """Add one entry. `obj` (a model instance) fills object type and id unless given."""
    if obj is not None:
        object_type = object_type or obj._meta.model_name
        object_id = object_id or obj.pk
    return AuditLog.objects.create(
        workspace=workspace,
        action=action,
        object_type=object_type,
        object_id=str(object_id or ""),
        details=details or {},
        **actor_fields(actor),
    )


def actor_fields(actor: Actor) -> dict[str, Any]:
    if isinstance(actor, User):
        return {"actor_type": ActorType.USER, "user": actor, "actor_label": actor.email}
    if isinstance(actor, ApiKey):
        label = f"API key {actor.name} (kaiku_{actor.prefix}_…)"
        return {"actor_type": ActorType.API_KEY, "api_key": actor, "actor_label": label[:200]}
    label = actor if isinstance(actor, str) and actor else SYSTEM
    return {"actor_type": ActorType.SYSTEM, "actor_label": label[:200]}
