"""The bell's unread count in a real browser against the live stack: a notification created
while the page's subscription is still on its way is counted (the REST read waits for the
server's confirmation of the subscription, ``static/js/notifications.js``)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, WebSocketRoute, expect

from notifications.models import Notification
from notifications.services import notification_send
from tradehive.testing.exchange import log_in, off_the_loop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_notification_created_before_the_subscription_took_hold_is_counted(
    page: Page, web_stack: str, web_user
) -> None:
    # given a page whose subscription to its notifications is held back on the way to the server
    user = web_user("bell")
    held: list[tuple[WebSocketRoute, str | bytes]] = []
    holding = True

    def route(ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()

        def to_server(message: str | bytes) -> None:
            if holding and isinstance(message, str) and '"notifications"' in message:
                held.append((server, message))
            else:
                server.send(message)

        ws.on_message(to_server)

    page.route_web_socket("**/ws/", route)
    log_in(page, web_stack, "bell", "/wallet/")
    for _ in range(200):
        if held:
            break
        page.wait_for_timeout(25)
    assert held, "the page never asked for its notifications"

    # when a notification is created in that gap, and then the subscription reaches the server
    off_the_loop(
        lambda: notification_send(
            user_id=user.pk,
            kind=Notification.Kind.WITHDRAWAL_COMPLETED,
            key="gap-1",
            title="Withdrawal of 1 KRW completed",
        )
    )
    holding = False
    for server, message in held:
        server.send(message)

    # then the bell counts it (read once the subscription was confirmed), and lists it
    expect(page.locator("[data-notifications] [data-unread]")).to_have_text("1")
    page.get_by_role("button", name="Notifications, 1 unread").click()
    expect(page.locator("#notify-panel")).to_contain_text("Withdrawal of 1 KRW completed")
