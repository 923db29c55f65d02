"""Refuse tagger connections to loopback, private and other non-public addresses (SSRF).

Users choose the tagger URL; unguarded, the worker would POST wherever they say: to
the cloud metadata service, to Redis, to the operator's intranet. `check_url` rejects
bad URLs early, at submission. The real protection is `guarded_session`: each of its
connections resolves the host once, checks every address and connects to a checked
address, so a DNS answer that changes between check and connect (rebinding) is moot.
"""
from __future__ import annotations

import ipaddress
import socket
import sys
import unicodedata
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util.connection import allowed_gai_family
from urllib3.util.timeout import Timeout

from engine.errors import InvalidOptionError
from backend.tagger.addresses import IPAddress, embedded_ipv4, non_public_reason
from backend.tagger.transport import PhasedConnectionMixin, PhasedPoolMixin, causes

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ALLOWED_NETWORKS_SETTING = "AUDIOLIME_TAGGER_ALLOWED_NETWORKS"
DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_URL_LENGTH = 2048  # characters: what browsers and servers commonly accept; the URL is stored with the job


class InvalidTaggerUrlError(InvalidOptionError):
    """A tagger URL that is not http(s), carries credentials, control characters or whitespace,
    is over MAX_URL_LENGTH, has no host or no valid port (1 to 65535), or does not resolve."""


class RefusedAddressError(InvalidOptionError):
    """A tagger host that is, or resolves to, an address the network policy refuses."""
    title = "Tagger address refused"


@dataclass(frozen=True)
class NetworkPolicy:
    """Tagger addresses may be public, or in `allowed_networks` (e.g. 127.0.0.0/8)."""

    allowed_networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_string(cls, text: str) -> NetworkPolicy:
        """Parse a comma-separated list such as "127.0.0.0/8, ::1/128" ("" allows nothing)."""
        return cls(tuple(_parse_network(e.strip()) for e in text.split(",") if e.strip()))

    def check_address(self, ip: str | IPAddress) -> None:
        """Raise RefusedAddressError unless `ip` is public or in an allowed network, and so is
        every IPv4 address it embeds (6to4, Teredo, NAT64, ISATAP...: a gateway may deliver to it)."""
        address = ipaddress.ip_address(ip)
        for form, inner in embedded_ipv4(address):
            reason = self._refusal(inner)
            if reason is not None:
                raise RefusedAddressError(f"address {ip} is not public ({form} address of {inner}: {reason})")
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            return  # ::ffff:10.0.0.1 is 10.0.0.1 on the wire: judged (and allowed) as that alone
        reason = self._refusal(address)
        if reason is not None:
            raise RefusedAddressError(f"address {ip} is not public ({reason})")

    def _refusal(self, address: IPAddress) -> str | None:
        reason = non_public_reason(address)
        return None if reason is None or self._allows(address) else reason

    def _allows(self, address: IPAddress) -> bool:
        return any(address in network for network in self.allowed_networks)


def _parse_network(entry: str) -> IPNetwork:
    try:
        return ipaddress.ip_network(entry, strict=False)
    except ValueError:
        raise InvalidOptionError(
            f"{ALLOWED_NETWORKS_SETTING}: {entry!r} is not a network such as 127.0.0.0/8"
        ) from None


def check_url(url: str, policy: NetworkPolicy) -> None:
    """Reject a bad tagger URL at submission; `guarded_session` checks again at connect."""
    _, host, port = check_url_syntax(url)
    try:
        _resolve_checked(host, port, policy)
    except (socket.gaierror, UnicodeError) as exc:
        raise InvalidTaggerUrlError(f"cannot resolve host {host!r}: {exc}") from exc


def check_url_syntax(url: str) -> tuple[str, str, int]:
    """Scheme, host and port of a tagger URL that can be sent as it is; no DNS lookup.
    What is refused here would fail later, or worse be sent as something else."""
    if len(url) > MAX_URL_LENGTH:
        raise InvalidTaggerUrlError(f"tagger URL is {len(url):,} characters long; at most {MAX_URL_LENGTH:,} "
                                    "are accepted")
    _check_url_characters(url)
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # e.g. unbalanced brackets around an IPv6 address
        raise InvalidTaggerUrlError(f"tagger URL {url!r} is malformed: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise InvalidTaggerUrlError(
            f"tagger URL scheme {scheme or '(none)'!r} is not accepted; only http and https are"
        )
    if "@" in parts.netloc:
        raise InvalidTaggerUrlError("tagger URL must not contain credentials (user:pass@)")
    if not parts.hostname:
        raise InvalidTaggerUrlError(f"tagger URL {url!r} has no host")
    return scheme, parts.hostname, _port(parts, scheme, url)


def _port(parts, scheme: str, url: str) -> int:
    try:
        port = parts.port
    except ValueError as exc:
        raise InvalidTaggerUrlError(f"tagger URL {url!r} has an invalid port ({exc}); ports are 1 to 65535") from exc
    if port == 0:  # urllib3 would quietly send it to the scheme's default port
        raise InvalidTaggerUrlError(f"tagger URL {url!r} has an invalid port 0; ports are 1 to 65535")
    return DEFAULT_PORTS[scheme] if port is None else port


def _check_url_characters(url: str) -> None:
    """urlsplit silently drops CR, LF and tab, requests percent-encodes spaces; neither is
    what the user meant, so a URL with control characters or whitespace is refused."""
    for position, character in enumerate(url):
        if character.isspace() or unicodedata.category(character) == "Cc":
            raise InvalidTaggerUrlError(
                f"tagger URL has the control or whitespace character {character!r} (U+{ord(character):04X}) at "
                f"position {position}; URLs cannot carry these (percent-encode them where they belong)")


def _resolve_checked(host: str, port: int, policy: NetworkPolicy, family=socket.AF_UNSPEC) -> list:
    """getaddrinfo's answer for `host`, refused if ANY address is refused: a client may
    try them all, and round-robin DNS may hand out the bad one next time."""
    infos = socket.getaddrinfo(host, port, family, socket.SOCK_STREAM)
    if not infos:
        raise socket.gaierror(f"no addresses for {host!r}")
    for *_, sockaddr in infos:
        try:
            policy.check_address(sockaddr[0])
        except RefusedAddressError as exc:
            raise RefusedAddressError(
                f"tagger host {host!r} resolves to a refused address: {exc}; an operator can "
                f"allow networks with the setting {ALLOWED_NETWORKS_SETTING} (e.g. 127.0.0.0/8)"
            ) from exc
    return infos


class _GuardedConnectionMixin(PhasedConnectionMixin):
    """urllib3's socket opening, but resolve once, check, and connect to what was checked."""

    def __init__(self, *args, network_policy: NetworkPolicy, **kwargs):
        self.network_policy = network_policy
        super().__init__(*args, **kwargs)

    def _new_conn(self) -> socket.socket:
        host = self._dns_host.strip("[]")  # keeps a trailing dot for DNS, as urllib3 does
        try:
            infos = _resolve_checked(host, self.port, self.network_policy, allowed_gai_family())
            sock = _connect_first(infos, self.timeout, self.source_address, self.socket_options)
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc
        except TimeoutError as exc:
            raise ConnectTimeoutError(self, f"Connection to {self.host} timed out") from exc
        except OSError as exc:
            raise NewConnectionError(self, f"Failed to establish a new connection: {exc}") from exc
        sys.audit("http.client.connect", self, self.host, self.port)
        return sock


def _connect_first(infos: list, timeout, source_address, socket_options) -> socket.socket:
    """Connect to the first reachable address of `infos`, without resolving again."""
    last_error = OSError("no addresses to connect to")
    for family, socktype, proto, _, sockaddr in infos:
        sock = socket.socket(family, socktype, proto)
        try:
            for option in socket_options or ():
                sock.setsockopt(*option)
            sock.settimeout(Timeout.resolve_default_timeout(timeout))
            if source_address:
                sock.bind(source_address)
            sock.connect(sockaddr)
            return sock
        except OSError as exc:
            sock.close()
            last_error = exc
    raise last_error


class GuardedHTTPConnection(_GuardedConnectionMixin, HTTPConnection):
    pass


class GuardedHTTPSConnection(_GuardedConnectionMixin, HTTPSConnection):
    """Only the TCP connect changes: the certificate and SNI still use the URL's host name."""


class GuardedHTTPConnectionPool(PhasedPoolMixin, HTTPConnectionPool):
    ConnectionCls = GuardedHTTPConnection


class GuardedHTTPSConnectionPool(PhasedPoolMixin, HTTPSConnectionPool):
    ConnectionCls = GuardedHTTPSConnection


class GuardedAdapter(HTTPAdapter):
    """An HTTPAdapter whose pools open only guarded connections. Proxies are refused:
    the proxy, not this process, would connect to the tagger, out of the check's reach."""

    __attrs__ = HTTPAdapter.__attrs__ + ["network_policy"]  # survives pickling

    def __init__(self, network_policy: NetworkPolicy, pool_maxsize: int = 10, max_retries: int = 0):
        self.network_policy = network_policy  # before super(): it calls init_poolmanager
        super().__init__(pool_maxsize=pool_maxsize, max_retries=max_retries)

    def init_poolmanager(self, connections, maxsize, block=False, **pool_kwargs):
        # Pool kwargs reach each connection's __init__: that is how the policy travels.
        super().init_poolmanager(connections, maxsize, block, network_policy=self.network_policy, **pool_kwargs)
        manager = self.poolmanager
        manager.pool_classes_by_scheme = {"http": GuardedHTTPConnectionPool, "https": GuardedHTTPSConnectionPool}
        # Pool keys are namedtuples of urllib3's known kwargs; the policy (one per manager) stays out.
        manager.key_fn_by_scheme = {s: _without_policy(fn) for s, fn in manager.key_fn_by_scheme.items()}

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        raise RefusedAddressError(f"the guarded tagger session does not use proxies (got {proxy})")


def _without_policy(key_fn):
    return lambda context: key_fn({k: v for k, v in context.items() if k != "network_policy"})


class GuardedSession(requests.Session):
    """Never follows redirects, whatever `allow_redirects` says: a 3xx may point anywhere,
    and the caller should see it rather than have it followed. (max_redirects=0 does not
    do this in requests: it raises TooManyRedirects even with allow_redirects=False.)"""

    def send(self, request, **kwargs):
        kwargs["allow_redirects"] = False
        return super().send(request, **kwargs)


def guarded_session(policy: NetworkPolicy, *, pool_maxsize: int = 10) -> requests.Session:
    """A Session (build one per process) whose http(s) connections obey `policy`.

    Callers still pass allow_redirects=False, to say what happens. Environment proxies
    and .netrc are ignored (trust_env=False); retries are the caller's (max_retries=0).
    A refused address raises RefusedAddressError from `session.post(...)`; catch
    requests' exceptions too and ask `refused_cause(exc)`, which finds it if wrapped.
    """
    session = GuardedSession()
    session.trust_env = False
    adapter = GuardedAdapter(policy, pool_maxsize=pool_maxsize, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def refused_cause(exc: BaseException | None) -> RefusedAddressError | None:
    """The RefusedAddressError that is `exc` or lies behind it (cause/context chain,
    urllib3's `reason`, requests' `args`); None if the failure had another cause."""
    return next((cause for cause in causes(exc) if isinstance(cause, RefusedAddressError)), None)
