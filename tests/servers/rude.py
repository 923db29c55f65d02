"""A TCP server that fails an HTTP exchange at one chosen phase, for the client's error messages.

    python -m tests.servers.rude --port 0 --behaviour BEHAVIOUR   # prints "listening on URL"

Behaviours:
  never-accept          the listen queue is full (the server filled it itself) and nothing is
                        accepted: a client's connect times out
  never-read            connections are accepted and held, but nothing is read: a request larger
                        than the socket buffers cannot be sent
  reset-while-sending   64 KiB of the request are read, then the connection is reset (RST)
  close-before-answer   the whole request is read, then the connection is closed without an answer
  reset-mid-answer      the whole request is read, the answer's headers and part of its body are
                        sent, then the connection is reset
  read-slowly           the request is read at 64 KiB every 10 ms (steady, never stalled), then
                        answered 200 "ok"
"""
from __future__ import annotations

import socket
import struct
import threading
import time

from tests.servers.serving import argument_parser

BEHAVIOURS = ("never-accept", "never-read", "reset-while-sending", "close-before-answer", "reset-mid-answer",
              "read-slowly")
PARTIAL_ANSWER = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
                  b'{"labels": ["low", "mid"], "scores": [[0.1,')


def read_request(connection: socket.socket, pause: float = 0.0) -> None:
    """Headers, then as many body bytes as Content-Length says, `pause` seconds between reads."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk:
            return
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), 0)
    received = len(body)
    while received < length:
        time.sleep(pause)
        chunk = connection.recv(65536 if pause else 1 << 20)
        if not chunk:
            return
        received += len(chunk)


def reset(connection: socket.socket) -> None:
    """Close with an RST instead of a FIN: SO_LINGER on, with a zero timeout."""
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    connection.close()


def serve_one(connection: socket.socket, behaviour: str, held: list) -> None:
    if behaviour == "never-read":
        held.append(connection)  # kept open, never read
        return
    if behaviour == "reset-while-sending":
        received = 0
        while received < 65536:
            chunk = connection.recv(65536 - received)
            if not chunk:
                break
            received += len(chunk)
        reset(connection)
        return
    read_request(connection, pause=0.01 if behaviour == "read-slowly" else 0.0)
    if behaviour == "read-slowly":
        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        connection.close()
        return
    if behaviour == "close-before-answer":
        connection.close()
        return
    connection.sendall(PARTIAL_ANSWER)
    time.sleep(0.2)  # let the client read what came, then break off mid-body
    reset(connection)


def fill_listen_queue(listener: socket.socket) -> list[socket.socket]:
    """Connect to our own listener until the kernel's accept queue is full (listen(0) holds one)."""
    address = listener.getsockname()
    fillers = []
    for _ in range(2):
        filler = socket.socket()
        filler.settimeout(0.5)
        try:
            filler.connect(address)
        except OSError:
            filler.close()
            break
        fillers.append(filler)
    return fillers


def main(argv: list[str] | None = None) -> None:
    parser = argument_parser("rude", __doc__)  # a raw socket, not an HTTP server: its own loop
    parser.add_argument("--behaviour", choices=BEHAVIOURS, required=True)
    args = parser.parse_args(argv)
    listener = socket.create_server((args.host, args.port), backlog=0 if args.behaviour == "never-accept" else 16)
    held = fill_listen_queue(listener) if args.behaviour == "never-accept" else []
    host, port = listener.getsockname()[:2]
    print(f"listening on http://{host}:{port}", flush=True)
    try:
        while args.behaviour != "never-accept":
            connection, _ = listener.accept()
            threading.Thread(target=serve_one, args=(connection, args.behaviour, held), daemon=True).start()
        threading.Event().wait()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
