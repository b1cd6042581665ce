"""The audit log: ``audit_record`` is the only writer of ``AuditEvent``.

Event names in use (dotted, stable; add new ones here):
- ``login.ok``, ``login.failed``, ``login.locked``, ``logout``
- ``mfa.enabled``, ``mfa.disabled``, ``mfa.reset_by_admin``
- ``password.changed``, ``token.refresh_reuse``, ``account.deleted``, ``account.disabled``
- ``wallet.adjustment``, ``withdrawal.requested``, ``withdrawal.completed``,
  ``withdrawal.rejected``, ``withdrawal.cancelled``
- ``market.created``, ``market.changed``, ``market.status_changed``
- ``api_key.created``, ``api_key.revoked``, ``api_key.withdraw`` (a withdrawal requested with a
  signed key)"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from accounts.models import AuditEvent, User
from tradehive.client_ip import client_ip


def audit_record(
    *,
    event: str,
    user: User | None = None,
    actor: User | None = None,
    request: HttpRequest | None = None,
    **details: Any,
) -> AuditEvent:
    """Append one audit entry (inside the caller's transaction, if any). The address is
    ``tradehive.client_ip``'s: a forwarded header counts only from a trusted proxy."""
    user_agent = ""
    if request is not None:
        user_agent = str(request.META.get("HTTP_USER_AGENT", ""))[:300]
    return AuditEvent.objects.create(
        user=user if user is not None and user.pk else None,
        actor=actor,
        event=event,
        ip=client_ip(request),
        user_agent=user_agent,
        details=details,
    )
