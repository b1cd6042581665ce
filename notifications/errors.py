"""Domain errors of notifications (mapped to the API envelope by tradehive.exceptions)."""

from tradehive.errors import NotFound


class NotificationNotFound(NotFound):
    code = "notification_not_found"
    default_message = "No such notification."
