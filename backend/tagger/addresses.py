"""Which IP addresses are public, including the IPv4 addresses that IPv6 transition forms carry inside.

An IPv6 address can embed an IPv4 one that some gateway on the way turns back into IPv4:
a 6to4 relay, a Teredo server, a NAT64 translator, an ISATAP router. Judged only as IPv6,
2002:7f00:1:: (6to4 for 127.0.0.1) looks global, so each form's IPv4 is judged too.
"""
from __future__ import annotations

import ipaddress
from collections.abc import Iterator

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Carrier-grade NAT space: Python 3.11 calls it neither private nor global.
SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")
# RFC 6052 well-known and RFC 8215 local-use NAT64 prefixes: the IPv4 is in the last 32 bits.
NAT64_PREFIXES = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
# RFC 2765 (SIIT) IPv4-translated addresses, ::ffff:0:a.b.c.d (IPv4-mapped is ::ffff:a.b.c.d).
IPV4_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")
# RFC 5214 ISATAP interface identifier: [0|2]00:5efe:a.b.c.d (u and g bits masked) in the low 64 bits.
ISATAP_MARK, ISATAP_MASK = 0x00005EFE, 0xFCFFFFFF
LOW_32, LOW_64 = 2**32 - 1, 2**64 - 1


def non_public_reason(address: IPAddress) -> str | None:
    """The category that makes `address` non-public, or None if it is public."""
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local, incl. cloud metadata", address.is_link_local),
        ("multicast", address.is_multicast),  # Python calls 224.0.0.1 global
        ("shared address space", address in SHARED_ADDRESS_SPACE),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
        ("not globally routable", not address.is_global),
    )
    return next((name for name, refused in checks if refused), None)


def embedded_ipv4(address: IPAddress) -> Iterator[tuple[str, ipaddress.IPv4Address]]:
    """(form, IPv4 address) for every transition form `address` takes; none for IPv4 or plain IPv6.
    One address may take several forms (an ISATAP identifier behind a 6to4 prefix)."""
    if not isinstance(address, ipaddress.IPv6Address):
        return
    value = int(address)
    if address.ipv4_mapped:
        yield "IPv4-mapped", address.ipv4_mapped
    if 1 < value <= LOW_32:  # ::a.b.c.d, but not :: or ::1
        yield "IPv4-compatible", ipaddress.IPv4Address(value)
    if address in IPV4_TRANSLATED:
        yield "IPv4-translated", ipaddress.IPv4Address(value & LOW_32)
    if address.sixtofour:
        yield "6to4", address.sixtofour
    if address.teredo:
        server, client = address.teredo  # Python undoes the client's obfuscation
        yield "Teredo server", server
        yield "Teredo client", client
    if any(address in prefix for prefix in NAT64_PREFIXES):
        yield "NAT64", ipaddress.IPv4Address(value & LOW_32)
    if ((value & LOW_64) >> 32) & ISATAP_MASK == ISATAP_MARK:
        yield "ISATAP", ipaddress.IPv4Address(value & LOW_32)
