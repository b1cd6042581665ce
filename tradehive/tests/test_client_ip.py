"""tradehive.client_ip: X-Forwarded-For counts only when a trusted proxy sent the request."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory, override_settings

from tradehive.client_ip import address_parse, client_address, client_ip, trusted_networks

NGINX = trusted_networks(("10.0.0.5",))


def test_without_trusted_proxies_the_peer_is_the_client_whatever_the_header_says() -> None:
    # when a client sends a forged header straight to the application
    address = client_address(
        remote_addr="198.51.100.7", forwarded_for="1.2.3.4", trusted=trusted_networks(())
    )
    # then its own address counts
    assert address == "198.51.100.7"


def test_an_untrusted_peer_cannot_forward_for_anyone() -> None:
    # given a trusted proxy configured, but a request from somewhere else
    address = client_address(
        remote_addr="198.51.100.7", forwarded_for="10.0.0.5, 1.2.3.4", trusted=NGINX
    )
    # then the header is ignored
    assert address == "198.51.100.7"


def test_behind_a_trusted_proxy_the_right_most_untrusted_address_is_the_client() -> None:
    # given nginx appending the peer it saw to a header the client forged
    address = client_address(
        remote_addr="10.0.0.5", forwarded_for="1.2.3.4, 198.51.100.7", trusted=NGINX
    )
    # then the address nginx saw counts, not the forged one left of it
    assert address == "198.51.100.7"


def test_a_chain_of_trusted_proxies_is_walked_from_the_right() -> None:
    # given a load balancer (10.1.0.0/16) in front of nginx, both trusted
    trusted = trusted_networks(("10.0.0.5", "10.1.0.0/16"))
    # when the client forged two hops and the proxies appended theirs
    address = client_address(
        remote_addr="10.0.0.5",
        forwarded_for="9.9.9.9, 8.8.8.8, 203.0.113.9, 10.1.2.3",
        trusted=trusted,
    )
    # then the first address right-to-left that no trusted proxy owns is the client
    assert address == "203.0.113.9"


def test_garbage_in_the_header_stops_the_walk_at_what_a_proxy_vouched_for() -> None:
    assert (
        client_address(remote_addr="10.0.0.5", forwarded_for="1.2.3.4, not-an-ip", trusted=NGINX)
        == "10.0.0.5"
    )
    assert client_address(remote_addr="10.0.0.5", forwarded_for=None, trusted=NGINX) == "10.0.0.5"


def test_addresses_are_read_in_every_spelling_proxies_use() -> None:
    assert str(address_parse("203.0.113.9:51234")) == "203.0.113.9"
    assert str(address_parse("[2001:db8::1]:443")) == "2001:db8::1"
    assert str(address_parse(" 2001:db8::1 ")) == "2001:db8::1"
    assert str(address_parse("::ffff:203.0.113.9")) == "203.0.113.9"
    assert address_parse("unknown") is None
    assert address_parse("") is None


def test_a_bad_trusted_proxies_entry_is_a_configuration_error() -> None:
    with pytest.raises(ImproperlyConfigured, match="not-a-network"):
        trusted_networks(("10.0.0.5", "not-a-network"))


@override_settings(TRUSTED_PROXIES=["127.0.0.1", "10.0.0.0/8"])
def test_client_ip_of_a_request_uses_the_settings() -> None:
    factory = RequestFactory()
    # given one request through the proxy and one straight from a client, both forging
    proxied = factory.get("/", REMOTE_ADDR="10.9.8.7", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9")
    direct = factory.get("/", REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR="6.6.6.6")
    # then
    assert client_ip(proxied) == "203.0.113.9"
    assert client_ip(direct) == "198.51.100.7"
    assert client_ip(None) is None
