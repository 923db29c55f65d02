"""The SSRF guard, against real HTTP(S) servers on loopback."""
import datetime
import ipaddress
import socket
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from engine.errors import InvalidOptionError
from backend.tagger.netguard import (
    MAX_URL_LENGTH,
    InvalidTaggerUrlError,
    NetworkPolicy,
    RefusedAddressError,
    check_url,
    check_url_syntax,
    guarded_session,
    refused_cause,
)

PUBLIC = NetworkPolicy()
LOOPBACK_ALLOWED = NetworkPolicy.from_string("127.0.0.0/8, ::1/128")


class _RecordingHandler(BaseHTTPRequestHandler):
    """Counts the requests that reach it; answers 200, or 302 to `server.redirect_to`."""

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.requests.append(self.path)
        if self.server.redirect_to:
            self.send_response(302)
            self.send_header("Location", self.server.redirect_to)
        else:
            self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@pytest.fixture
def serve():
    """Start recording servers in threads: serve(host, redirect_to=..., ssl_context=...)."""
    servers = []

    def start(host="127.0.0.1", redirect_to=None, ssl_context=None):
        server = ThreadingHTTPServer((host, 0), _RecordingHandler)
        server.requests, server.redirect_to = [], redirect_to
        if ssl_context is not None:
            server.socket = ssl_context.wrap_socket(server.socket, server_side=True)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def session_for():
    sessions = []

    def build(policy):
        sessions.append(guarded_session(policy, pool_maxsize=2))
        return sessions[-1]

    yield build
    for session in sessions:
        session.close()


def _url(server, path="/", scheme="http", host=None):
    address, port = server.server_address[:2]
    return f"{scheme}://{host or address}:{port}{path}"


# check_address and from_string

@pytest.mark.parametrize(
    "address, reason",
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.0.0.1", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("fc00::1", "private"),
        ("fd12:3456::1", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "shared address space"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.0.0.1", "private"),
        ("::ffff:169.254.169.254", "link-local"),
    ],
)
def test_check_address_refuses_non_public(address, reason):
    with pytest.raises(RefusedAddressError, match=reason):
        PUBLIC.check_address(address)


# IPv6 transition forms carrying an IPv4 address a gateway may deliver to: (address, message).
TRANSITION_FORMS = [
    ("::ffff:127.0.0.1", "IPv4-mapped address of 127.0.0.1: loopback"),
    ("::127.0.0.1", "IPv4-compatible address of 127.0.0.1: loopback"),
    ("::10.0.0.1", "IPv4-compatible address of 10.0.0.1: private"),
    ("::ffff:0:7f00:1", "IPv4-translated address of 127.0.0.1: loopback"),
    ("2002:7f00:1::", "6to4 address of 127.0.0.1: loopback"),
    ("2002:a00:1::1", "6to4 address of 10.0.0.1: private"),
    ("2002:a9fe:a9fe:1::1", "6to4 address of 169.254.169.254: link-local, incl. cloud metadata"),
    ("2002:6440:1::", "6to4 address of 100.64.0.1: shared address space"),
    ("2001:0:7f00:1::", "Teredo server address of 127.0.0.1: loopback"),
    ("2001:0:4136:e378:8000:63bf:f5ff:fffe", "Teredo client address of 10.0.0.1: private"),
    ("2001:0:4136:e378::3f57:fefe", "Teredo client address of 192.168.1.1: private"),
    ("64:ff9b::7f00:1", "NAT64 address of 127.0.0.1: loopback"),
    ("64:ff9b::a9fe:a9fe", "NAT64 address of 169.254.169.254: link-local, incl. cloud metadata"),
    ("64:ff9b:1::a00:1", "NAT64 address of 10.0.0.1: private"),
    ("64:ff9b:1:ffff::c0a8:101", "NAT64 address of 192.168.1.1: private"),
    ("2a00:1450:4001::5efe:7f00:1", "ISATAP address of 127.0.0.1: loopback"),
    ("2a00:1450:4001::200:5efe:a00:1", "ISATAP address of 10.0.0.1: private"),
    ("2a00:1450:4001:1:200:5efe:a9fe:a9fe", "ISATAP address of 169.254.169.254: link-local, incl. cloud metadata"),
]


@pytest.mark.parametrize("address, message", TRANSITION_FORMS)
def test_check_address_judges_the_ipv4_inside_ipv6_transition_forms(address, message):
    with pytest.raises(RefusedAddressError) as refused:
        PUBLIC.check_address(address)
    assert str(refused.value) == f"address {address} is not public ({message})"


def test_allowed_networks_allow_the_ipv4_inside_as_well():
    # What a transition form delivers to is judged as that IPv4 address would be: allowing
    # 10.0.0.0/8 allows its 6to4 form too (the IPv6 address itself, 2002::/16, is global).
    NetworkPolicy.from_string("10.0.0.0/8").check_address("2002:a00:1::")
    with pytest.raises(RefusedAddressError, match="6to4 address of 192.168.0.1: private"):
        NetworkPolicy.from_string("10.0.0.0/8").check_address("2002:c0a8:1::")


@pytest.mark.parametrize("address", [
    "8.8.8.8", "1.1.1.1", "2001:4860:4860::8888",
    "2002:808:808::1",  # 6to4 of 8.8.8.8
    "2a00:1450:4001::5efe:808:808",  # ISATAP of 8.8.8.8 behind a public prefix
    "2a00:1450:4001::5efe",  # looks like half an ISATAP identifier, is not one
])
def test_check_address_allows_public(address):
    PUBLIC.check_address(address)
    PUBLIC.check_address(ipaddress.ip_address(address))


def test_allowed_networks_let_only_their_addresses_through():
    policy = NetworkPolicy.from_string("127.0.0.0/8")
    policy.check_address("127.0.0.1")
    policy.check_address("::ffff:127.0.0.1")
    for refused in ("10.0.0.1", "::1", "169.254.169.254"):
        with pytest.raises(RefusedAddressError):
            policy.check_address(refused)


def test_from_string():
    assert NetworkPolicy.from_string("").allowed_networks == ()
    assert NetworkPolicy.from_string(" 127.0.0.0/8, ::1/128 ,").allowed_networks == (
        ipaddress.ip_network("127.0.0.0/8"),
        ipaddress.ip_network("::1/128"),
    )
    with pytest.raises(InvalidOptionError, match="'not-a-net'"):
        NetworkPolicy.from_string("127.0.0.0/8, not-a-net")


def test_errors_are_invalid_options():
    assert issubclass(InvalidTaggerUrlError, InvalidOptionError)
    assert issubclass(RefusedAddressError, InvalidOptionError)


# check_url

@pytest.mark.parametrize(
    "url, message",
    [
        ("ftp://example.com/tagger", "'ftp'.*only http and https"),
        ("file:///etc/passwd", "'file'.*only http and https"),
        ("gopher://example.com/", "'gopher'.*only http and https"),
        ("example.com/tagger", "'\\(none\\)'.*only http and https"),
        ("http://user:pw@example.com/", "credentials"),
        ("http:///tagger", "no host"),
        ("http://example.com:99999/", "invalid port"),
        ("http://example.com:0/", "invalid port 0; ports are 1 to 65535"),
        ("http://8.8.8.8:0/tag", "invalid port 0"),
        ("http://example.com:-1/", "invalid port"),
        ("http://example.com:+80/", "invalid port"),
        ("http://[::1/", "malformed"),
    ],
)
def test_check_url_rejects_bad_urls(url, message):
    with pytest.raises(InvalidTaggerUrlError, match=message):
        check_url(url, PUBLIC)


@pytest.mark.parametrize(
    "url, shown",
    [
        ("http://tagger.example/pre\r\ndict", "'\\r' (U+000D) at position 25"),
        ("http://tagger.example/predict\n", "'\\n' (U+000A) at position 29"),
        ("http://tagger.example\r\nX-Injected: 1/", "'\\r' (U+000D)"),
        ("http://tagger.example/a b", "' ' (U+0020)"),
        ("http://tagger.example/a\tb", "'\\t' (U+0009)"),
        ("http://tagger.example/\x00", "'\\x00' (U+0000)"),
        ("http://tagger.example/\x7f", "'\\x7f' (U+007F)"),
        ("http://tagger.example/\x85", "'\\x85' (U+0085)"),
        ("http://tagger.example/\u00a0", "'\\xa0' (U+00A0)"),
        ("http://tagger.example/\u2028", "'\\u2028' (U+2028)"),
        (" http://tagger.example/", "' ' (U+0020) at position 0"),
        ("http://8.8.8.8/predict ", "' ' (U+0020)"),
    ],
)
def test_check_url_refuses_control_characters_and_whitespace(url, shown):
    with pytest.raises(InvalidTaggerUrlError) as refused:
        check_url(url, PUBLIC)
    assert f"control or whitespace character {shown}" in str(refused.value)


def test_check_url_refuses_overlong_urls_without_quoting_them():
    base = "http://8.8.8.8/"
    check_url_syntax(base + "a" * (MAX_URL_LENGTH - len(base)))  # exactly the limit
    with pytest.raises(InvalidTaggerUrlError) as refused:
        check_url(base + "a" * 100_000, PUBLIC)
    assert str(refused.value) == "tagger URL is 100,015 characters long; at most 2,048 are accepted"
    assert MAX_URL_LENGTH == 2048


@pytest.mark.parametrize("url, port", [("http://8.8.8.8:1/", 1), ("https://8.8.8.8:65535/", 65535),
                                       ("http://8.8.8.8/", 80), ("https://8.8.8.8/", 443),
                                       ("http://8.8.8.8:/", 80), ("http://8.8.8.8:0080/", 80)])
def test_check_url_accepts_ports_1_to_65535(url, port):
    check_url(url, PUBLIC)
    assert check_url_syntax(url)[2] == port


@pytest.mark.parametrize("address, message", TRANSITION_FORMS)
def test_check_url_refuses_transition_forms_at_submission(address, message):
    with pytest.raises(RefusedAddressError) as refused:
        check_url(f"http://[{address}]:8080/predict", PUBLIC)
    assert message in str(refused.value) and "resolves to a refused address" in str(refused.value)


def test_check_url_refuses_localhost_unless_allowed():
    with pytest.raises(RefusedAddressError) as refused:
        check_url("http://localhost:1/", PUBLIC)
    message = str(refused.value)
    assert "'localhost'" in message and "loopback" in message
    assert "AUDIOLIME_TAGGER_ALLOWED_NETWORKS" in message
    check_url("http://localhost:1/", LOOPBACK_ALLOWED)


def test_check_url_accepts_public_addresses():
    check_url("http://8.8.8.8/tag", PUBLIC)
    check_url("https://[2001:4860:4860::8888]:8443/tag", PUBLIC)


def test_check_url_rejects_unresolvable_host():
    with pytest.raises(InvalidTaggerUrlError, match="cannot resolve host 'no-such-host.invalid'"):
        check_url("http://no-such-host.invalid/", PUBLIC)


# guarded_session

def test_session_posts_to_an_allowed_address(serve, session_for):
    server = serve()
    response = session_for(LOOPBACK_ALLOWED).post(_url(server, "/tag"), data=b"audio", timeout=5)
    assert (response.status_code, response.text) == (200, "ok")
    assert server.requests == ["/tag"]


def test_session_refuses_before_connecting(serve, session_for):
    server = serve()
    with pytest.raises((RefusedAddressError, requests.exceptions.ConnectionError)) as raised:
        session_for(PUBLIC).post(_url(server, host="localhost"), data=b"audio", timeout=5)
    refused = refused_cause(raised.value)
    assert refused is not None and "127.0.0.1" in str(refused)
    assert server.requests == []


_CONNECTS: list = []  # what sockets of this process connected to, while `connects` records


def _record_connects(event, args):
    if event == "socket.connect" and _CONNECTS and _CONNECTS[0] == "recording":
        _CONNECTS.append(args[1])


@pytest.fixture
def connects():
    """The addresses this process's sockets connect to during the test (an audit hook sees them all)."""
    if not getattr(sys, "_netguard_test_hook", False):
        sys.addaudithook(_record_connects)  # hooks cannot be removed: installed once, recording on demand
        sys._netguard_test_hook = True
    _CONNECTS[:] = ["recording"]
    yield _CONNECTS
    _CONNECTS.clear()


def test_the_connect_recorder_sees_connections(serve, session_for, connects):
    server = serve()
    assert session_for(LOOPBACK_ALLOWED).post(_url(server), data=b"audio", timeout=5).status_code == 200
    assert server.server_address in connects[1:]


@pytest.mark.parametrize("address, message", TRANSITION_FORMS)
def test_session_refuses_transition_forms_before_connecting(session_for, connects, address, message):
    with pytest.raises((RefusedAddressError, requests.exceptions.ConnectionError)) as raised:
        session_for(PUBLIC).post(f"http://[{address}]:8080/predict", data=b"audio", timeout=2)
    refused = refused_cause(raised.value)
    assert refused is not None and message in str(refused)
    assert connects == ["recording"]  # no socket was connected anywhere


def test_refused_cause_digs_through_wrappers():
    refused = RefusedAddressError("address 10.0.0.1 is not public (private)")
    try:
        try:
            raise refused
        except RefusedAddressError as exc:
            raise requests.exceptions.ConnectionError(exc) from exc
    except requests.exceptions.ConnectionError as wrapped:
        assert refused_cause(wrapped) is refused
    assert refused_cause(requests.exceptions.ConnectionError("refused")) is None
    assert refused_cause(None) is None


def test_session_ignores_environment_proxies_and_refuses_explicit_ones(serve, session_for, monkeypatch):
    # A proxy would connect to the tagger on our behalf, out of reach of the check.
    tagger, proxy = serve(), serve()
    monkeypatch.setenv("HTTP_PROXY", _url(proxy))
    session = session_for(LOOPBACK_ALLOWED)
    assert session.post(_url(tagger), data=b"audio", timeout=5).status_code == 200
    with pytest.raises(RefusedAddressError, match="proxies"):
        session.post(_url(tagger), proxies={"http": _url(proxy)}, timeout=5)
    assert tagger.requests == ["/"] and proxy.requests == []


@pytest.mark.parametrize("allowed", ["127.0.0.1/32", "127.0.0.0/8"])
def test_session_does_not_follow_redirects(serve, session_for, allowed):
    # With 127.0.0.1/32 the target is refused; with 127.0.0.0/8 it would be allowed:
    # either way the redirect is handed back, not followed.
    target = serve("127.0.0.2")
    redirecting = serve(redirect_to=_url(target))
    session = session_for(NetworkPolicy.from_string(allowed))
    response = session.post(_url(redirecting), data=b"audio", timeout=5)  # allow_redirects defaults to True
    assert response.status_code == 302
    assert response.headers["Location"] == _url(target)
    assert target.requests == []


def test_session_resolves_each_connection_once(serve, session_for, monkeypatch):
    server = serve()
    lookups = _fake_resolver(monkeypatch, "tagger.test", [server.server_address])
    response = session_for(LOOPBACK_ALLOWED).post(_url(server, host="tagger.test"), timeout=5)
    assert response.status_code == 200
    assert lookups == ["tagger.test"]


def test_dns_rebinding_is_refused_at_connect(serve, session_for, monkeypatch):
    # The resolver is what an attacker controls here, so it is the one thing faked:
    # public for the submission-time check, loopback when the worker connects.
    server = serve()
    lookups = _fake_resolver(
        monkeypatch, "rebind.test", [("93.184.215.14", 80), server.server_address]
    )
    url = _url(server, host="rebind.test")
    check_url(url, PUBLIC)
    with pytest.raises((RefusedAddressError, requests.exceptions.ConnectionError)) as raised:
        session_for(PUBLIC).post(url, data=b"audio", timeout=5)
    assert "127.0.0.1" in str(refused_cause(raised.value))
    assert lookups == ["rebind.test", "rebind.test"]
    assert server.requests == []


def _fake_resolver(monkeypatch, name, answers):
    """Resolve `name` to answers[0], then answers[1]...; other names as usual."""
    real, lookups = socket.getaddrinfo, []

    def getaddrinfo(host, port, *args, **kwargs):
        if host != name:
            return real(host, port, *args, **kwargs)
        address, answer_port = answers[min(len(lookups), len(answers) - 1)]
        lookups.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, answer_port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return lookups


# TLS: only the TCP connect goes to the checked address

@pytest.fixture(scope="module")
def localhost_cert(tmp_path_factory):
    """A self-signed certificate for DNS name `localhost` (cert and key in one PEM file)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    path = tmp_path_factory.mktemp("tls") / "localhost.pem"
    path.write_bytes(
        cert.public_bytes(serialization.Encoding.PEM)
        + key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(path)


def _tls_context(cert_path, server_names):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path)
    context.sni_callback = lambda sock, server_name, ctx: server_names.append(server_name)
    return context


def test_https_verifies_certificate_and_sends_sni(serve, session_for, localhost_cert):
    server_names = []
    server = serve(ssl_context=_tls_context(localhost_cert, server_names))
    session = session_for(LOOPBACK_ALLOWED)
    url = _url(server, scheme="https", host="localhost")

    response = session.post(url, data=b"audio", verify=localhost_cert, timeout=5)
    assert response.status_code == 200
    assert server_names == ["localhost"]

    with pytest.raises(requests.exceptions.SSLError) as untrusted:  # not in the default CA bundle
        session.post(url, data=b"audio", timeout=5)
    assert refused_cause(untrusted.value) is None
    assert server.requests == ["/"]


def test_https_refuses_before_the_handshake(serve, session_for, localhost_cert):
    server_names = []
    server = serve(ssl_context=_tls_context(localhost_cert, server_names))
    with pytest.raises((RefusedAddressError, requests.exceptions.ConnectionError)) as raised:
        session_for(PUBLIC).post(
            _url(server, scheme="https", host="localhost"), verify=localhost_cert, timeout=5
        )
    assert refused_cause(raised.value) is not None
    assert server_names == [] and server.requests == []
