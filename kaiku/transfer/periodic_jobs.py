"""The daily retention job (found by kaiku.lib.periodic's autodiscovery, run by `kaiku worker`)."""

from __future__ import annotations

import logging
from datetime import timedelta

from kaiku.lib.periodic import periodic
from kaiku.transfer.gdpr import apply_retention_everywhere
from kaiku.transfer.imports import prune_abandoned_uploads

logger = logging.getLogger(__name__)


@periodic(every=timedelta(days=1), name="transfer.retention")
def apply_retention_daily() -> None:
    """Anonymise what every workspace's retention period has passed (safe to run twice)."""
    for slug, result in apply_retention_everywhere():
        if result.responses or result.contacts:
            logger.info(
                "retention %s: %d answers anonymised, %d contacts erased (before %s)",
                slug,
                result.responses,
                result.contacts,
                result.cutoff.isoformat(),
            )


@periodic(every=timedelta(days=1), name="transfer.prune_uploads")
def prune_uploads_daily() -> None:
    """Uploaded import files that nobody imported within a week are deleted."""
    pruned = prune_abandoned_uploads()
    if pruned:
        logger.info("deleted %d abandoned import uploads", pruned)
