"""The bell's unread count in a real browser against the live stack (``static/js/
notifications.js``): a notification created while the page's subscription is still on its way
is counted (the REST read waits for the server's confirmation of the subscription), and one
the REST read already counted is not counted again when its push arrives after the read."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, Route, WebSocketRoute, expect

from notifications.models import Notification
from notifications.services import notification_send
from tradehive.testing.exchange import log_in, off_the_loop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The start of a push's frame on the private notifications channel (realtime.protocol).
PUSH = '{"channel":"notifications",'


def _wait_for(page: Page, held: list[Any], what: str) -> None:
    """Let the page run (route handlers are called while it does) until ``held`` has
    something, at most 5 s."""
    for _ in range(200):
        if held:
            return
        page.wait_for_timeout(25)
    raise AssertionError(what)


def _notify(user_id: int, key: str, title: str) -> None:
    """A withdrawal notification created and pushed as the exchange does, off the test's loop."""
    off_the_loop(
        lambda: notification_send(
            user_id=user_id, kind=Notification.Kind.WITHDRAWAL_COMPLETED, key=key, title=title
        )
    )


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
    _wait_for(page, held, "the page never asked for its notifications")

    # when a notification is created in that gap, and then the subscription reaches the server
    _notify(user.pk, "gap-1", "Withdrawal of 1 KRW completed")
    holding = False
    for server, message in held:
        server.send(message)

    # then the bell counts it (read once the subscription was confirmed), and lists it
    expect(page.locator("[data-notifications] [data-unread]")).to_have_text("1")
    page.get_by_role("button", name="Notifications, 1 unread").click()
    expect(page.locator("#notify-panel")).to_contain_text("Withdrawal of 1 KRW completed")


def test_a_notification_the_unread_read_counted_is_not_counted_again_when_its_push_comes(
    page: Page, web_stack: str, web_user
) -> None:
    # given a page whose bell reads its two lists (the latest and the unread) once subscribed:
    # the latest is answered at once, the unread held back, and pushes to the page held too
    user = web_user("bell2")
    held_reads: list[Route] = []
    held_pushes: list[tuple[WebSocketRoute, str | bytes]] = []
    holding = True

    def reads(route: Route) -> None:
        if holding and "unread=true" in route.request.url:
            held_reads.append(route)
        else:
            route.continue_()

    def sockets(ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()

        def to_page(message: str | bytes) -> None:
            if holding and isinstance(message, str) and message.startswith(PUSH):
                held_pushes.append((ws, message))
            else:
                ws.send(message)

        server.on_message(to_page)

    page.route("**/api/v1/notifications?*", reads)
    page.route_web_socket("**/ws/", sockets)
    latest = re.compile(r"/api/v1/notifications\?(?!.*unread=true)")
    with page.expect_response(latest):  # the latest list's answer (empty) reaches the page
        log_in(page, web_stack, "bell2", "/wallet/")
    _wait_for(page, held_reads, "the bell never read its unread notifications")

    # when a notification is created between the two reads: the unread read, let through now,
    # counts it, and its push reaches the page only after that read was answered
    _notify(user.pk, "between-1", "Withdrawal of 2 KRW completed")
    _wait_for(page, held_pushes, "the notification was never pushed")
    holding = False
    for route in held_reads:
        route.continue_()
    bell = page.locator("[data-notifications]")
    expect(bell.locator("[data-unread]")).to_have_text("1")
    for ws, message in held_pushes:
        ws.send(message)

    # then the push is shown (the bell pulses) and the count stays 1
    expect(bell).to_have_class(re.compile(r"\bpulse\b"))
    expect(bell.locator("[data-unread]")).to_have_text("1")
    page.get_by_role("button", name="Notifications, 1 unread").click()
    expect(page.locator("#notify-panel")).to_contain_text("Withdrawal of 2 KRW completed")
