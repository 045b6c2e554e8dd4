"""Property names the analytics never segment by, and why."""

from __future__ import annotations

# Properties that identify a company or person: never offered as filters or breakdowns, never
# shown on shared links or in report emails.
IDENTIFYING = frozenset({"email", "name", "phone", "company", "user_id", "external_id"})
# Lifecycle dates have a value per customer: segmented as tenure instead, not rolled up.
LIFECYCLE = frozenset({"customer_since", "churned_at"})
NOT_ROLLED = IDENTIFYING | LIFECYCLE
