"""What the python of the interop and run tests shares, without scapy: a
TCP listener, reading a TCP stream, and the Internet checksum.  lib.sh
(sourced by tests/run/lib_run.sh too) puts this folder on PYTHONPATH, so
the scripts (tests/run/*_peer.py too, and the heredocs of the .sh tests)
import it."""
import socket
import struct


def listen_tcp(port, backlog):
    """A TCP socket listening on every address at PORT (SO_REUSEADDR: a test
    run again at once finds the port free), after printing "listening", the
    line the shell tests wait for."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(backlog)
    print("listening", flush=True)
    return s


def recv_all(sock, size=4096):
    """Everything SOCK receives until the peer's end of stream."""
    got = b""
    while True:
        b = sock.recv(size)
        if not b:
            return got
        got += b


def recv_exact(sock, n):
    """N bytes from SOCK, or fewer if the stream ends first."""
    got = b""
    while len(got) < n:
        b = sock.recv(n - len(got))
        if not b:
            break
        got += b
    return got


def csum(data):
    """The Internet checksum of DATA (RFC 1071)."""
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF
