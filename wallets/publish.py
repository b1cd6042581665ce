"""Live balances after a wallet change: a deposit, a withdrawal's request, cancel or decision
changes a user's balance outside settlement, which pushes those of trades
(``settlement.publish``). Called after the change committed; a push nobody listens to costs one
Redis round."""

from __future__ import annotations

import logging

from django.utils import timezone

from tradehive.money import epoch_ms
from tradehive.push import group_for, groups_listened, push_message, run_sync, send_many
from wallets.models import Asset
from wallets.payloads import balance_payloads

logger = logging.getLogger(__name__)


def balances_publish(*, user_id: int, asset: Asset) -> None:
    """Push ``user_id``'s balance of ``asset`` on their ``balances`` channel, if they listen.
    Failures are logged, not raised: the change is committed and pages resync from REST."""
    try:
        if group_for("balances", user_id=user_id) not in run_sync(
            groups_listened([group_for("balances", user_id=user_id)])
        ):
            return
        payloads = balance_payloads(user_ids=[user_id], assets={asset.pk: asset})
        send_many(
            [push_message("balances", payloads[user_id], epoch_ms(timezone.now()), user_id=user_id)]
        )
    except Exception:  # the push is best effort; the balance itself is committed
        logger.warning("balances push to user %s failed", user_id, exc_info=True)
