"""``ledgerlink sandbox xero|quickbooks --port PORT [--state FILE] [--time-scale N] [--control-token T]``.

Runs a sandbox as its own program (it imports nothing of the product). Prints one ``READY <url>`` line once
the socket listens, which the test and demo helpers wait for.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

from .control.plane import ControlPlane, Options
from .control.server import SandboxHTTPServer

PROVIDERS = ("xero", "quickbooks")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ledgerlink sandbox", description="Run a local ledger sandbox.")
    parser.add_argument("provider", choices=PROVIDERS)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True, help="0 picks a free port")
    parser.add_argument("--state", type=Path, help="persist state to this JSON file (default: memory only)")
    parser.add_argument("--time-scale", type=float, default=1.0, help="sandbox seconds per real second")
    parser.add_argument(
        "--control-token",
        default=os.environ.get("LEDGERLINK_SANDBOX_TOKEN"),
        help="X-Sandbox-Token for /_sandbox (default: $LEDGERLINK_SANDBOX_TOKEN, else a random one)",
    )
    parser.add_argument(
        "--idempotency-retention",
        type=float,
        help="sandbox seconds an idempotency key is kept (default: Xero 360, QuickBooks 86400)",
    )
    return parser


def make_plane(provider: str, options: Options) -> ControlPlane:
    """The WSGI app of one sandbox."""
    if provider == "xero":
        from .xero.routes import XeroProvider

        return ControlPlane(options, XeroProvider)
    if provider == "quickbooks":
        from .quickbooks.routes import QuickBooksProvider

        return ControlPlane(options, QuickBooksProvider)
    raise ValueError(f"unknown sandbox provider {provider!r}")


def _stop(signum: int, frame: object) -> None:
    """SIGTERM ends serve_forever like Ctrl-C, so the state file is written on the way out."""
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.time_scale <= 0:
        print("--time-scale must be positive", file=sys.stderr)
        return 2
    options = Options(args.state, args.time_scale, args.control_token, args.idempotency_retention)
    plane = make_plane(args.provider, options)
    server = SandboxHTTPServer((args.host, args.port), plane)
    signal.signal(signal.SIGTERM, _stop)
    url = f"http://{args.host}:{server.port}"
    if not args.control_token:
        print(f"control token: {plane.control_token}", flush=True)
    print(f"READY {url} ({args.provider} sandbox, time scale {args.time_scale:g})", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        plane.store.save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
