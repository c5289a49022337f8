"""`python -m ledgerlink.devtools.services postgres|redis URL`: exit 0 when the service answers."""

import socket
import sys
from urllib.parse import urlparse


def reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    address = (parsed.hostname or "127.0.0.1", parsed.port or default_port)
    try:
        with socket.create_connection(address, timeout=2):
            return True
    except OSError:
        return False


def main(argv: list[str]) -> int:
    kind, url = argv[1], argv[2]
    return 0 if reachable(url, {"postgres": 5432, "redis": 6379}[kind]) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
