"""Autopilot: people enrolled through the Delighted API are asked again every period."""

from __future__ import annotations

import logging
from datetime import timedelta

from kaiku.delighted.actions import run_autopilot
from kaiku.delighted.models import DelightedSettings
from kaiku.lib.periodic import periodic

logger = logging.getLogger("kaiku.delighted")


@periodic(every=timedelta(hours=1), name="delighted.autopilot")
def autopilot_sweep() -> None:
    """Each workspace with Autopilot on: schedule the period's survey for new periods.

    Safe to run twice: invitations carry a per-membership, per-period idempotency key.
    """
    for configured in DelightedSettings.objects.filter(autopilot_active=True).select_related(
        "workspace", "target_survey"
    ):
        asked = run_autopilot(configured)
        if asked:
            logger.info("Autopilot: %d invitations in workspace %s", asked, configured.workspace_id)
