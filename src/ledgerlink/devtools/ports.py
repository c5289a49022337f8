"""Loopback ports for the demo's and the tests' local servers."""

import socket


def free_port(host: str = "127.0.0.1") -> int:
    """A port the OS says is free right now (a race is possible but harmless on a single-user machine)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a server could listen on the port now. SO_REUSEADDR as servers set it, so a port whose last
    connections linger in TIME_WAIT counts as free, while one with a listener does not."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True
