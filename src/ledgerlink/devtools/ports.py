"""Loopback ports for the demo's and the tests' local servers."""

import socket


def free_port(host: str = "127.0.0.1") -> int:
    """A port the OS says is free right now (a race is possible but harmless on a single-user machine)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
