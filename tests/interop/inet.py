"""What the python of the interop tests shares, without scapy: reading a
TCP stream, and the Internet checksum.  lib.sh puts this folder on
PYTHONPATH, so the scripts (and the heredocs of the .sh tests) import it."""
import struct


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
