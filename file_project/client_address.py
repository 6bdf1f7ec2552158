"""The client's address, one rule for the audit trail, the login lockout, throttling and reports.

``client_address(request)`` is the peer (``REMOTE_ADDR``) unless the peer is one of
``BIOFM_TRUSTED_PROXIES`` (addresses or CIDR networks; none by default). Then
``X-Forwarded-For`` is read from the right: each trusted proxy appended the address it got the
request from, so the right-most entry that is not a trusted proxy is the client; everything to
its left is the client's own word and is never used. An entry that is not an IP address stops
the walk at the last trusted hop.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Any

from django.conf import settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries if entry.strip())


def trusted_networks() -> tuple[Network, ...]:
    return _networks(tuple(getattr(settings, "BIOFM_TRUSTED_PROXIES", ()) or ()))


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address | None, networks: tuple[Network, ...]) -> bool:
    return address is not None and any(address in network for network in networks)


def client_address(request: Any) -> str:
    """The client's IP address as text ("" when the request has none)."""
    meta = getattr(request, "META", None) or {}
    peer = (meta.get("REMOTE_ADDR") or "").strip()
    networks = trusted_networks()
    nearest = _ip(peer)
    if not networks or not _trusted(nearest, networks):
        return peer
    hops = [hop.strip() for hop in meta.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    for hop in reversed([hop for hop in hops if hop]):
        address = _ip(hop)
        if address is None:
            break  # garbage where a proxy's entry should be: trust nothing further left
        if not _trusted(address, networks):
            return str(address)
        nearest = address
    return str(nearest)
