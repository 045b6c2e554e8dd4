"""Who may manage whom: the role rules in one place, shared by actions, forms and templates.

- Owners manage everyone, including other owners.
- Admins manage admins, agents and viewers; they can neither grant the owner
  role nor change or remove an owner.
- Agents and viewers manage nobody.

That a workspace keeps at least one owner is enforced in the actions, under a
lock, because it depends on the other rows.
"""

from __future__ import annotations

from kaiku.accounts.models import Role

# Highest first: the order role pickers list them in.
ROLE_ORDER = (Role.OWNER, Role.ADMIN, Role.AGENT, Role.VIEWER)


def can_manage_role(actor_role: str, role: str) -> bool:
    """May someone with `actor_role` grant `role`, or change or remove a member who has it?"""
    if actor_role == Role.OWNER:
        return True
    if actor_role == Role.ADMIN:
        return role != Role.OWNER
    return False


def assignable_roles(actor_role: str) -> list[Role]:
    """The roles someone with `actor_role` may grant, highest first."""
    return [role for role in ROLE_ORDER if can_manage_role(actor_role, role)]
