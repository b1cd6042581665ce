"""Signals other apps listen to, so accounts never imports them.

``account_closing(sender=User, user=...)`` is sent inside the transaction that closes an account
(``user_delete``), before the user is deactivated. A receiver may clean up (cancel open orders,
stop copy subscriptions) or refuse the closing by raising a ``DomainError`` (e.g. funds still
held), which rolls the whole closing back."""

from django.dispatch import Signal

account_closing = Signal()
