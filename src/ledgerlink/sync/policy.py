"""Pure rules of the engine: idempotency keys, backoff, and how long a ledger remembers a key."""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from collections.abc import Mapping

from django.conf import settings

from ledgerlink.ledgers.contract import LedgerRequest

# Replay only while comfortably inside the window: a replay that lands just after expiry would execute again.
KEY_SAFETY_MARGIN = dt.timedelta(seconds=45)

BACKOFF_BASE_S = 2.0
BACKOFF_CAP_S = 3600.0
MAX_TRANSIENT_ATTEMPTS = 12  # after this many transient failures in a row, ask the user


def replay_is_safe(since: dt.datetime, lifetime: dt.timedelta, now: dt.datetime) -> bool:
    """True while a request sent at `since` can still be replayed with its key and be answered from cache."""
    return now - since < lifetime - KEY_SAFETY_MARGIN


def request_key(
    connection_id: object, step: str, request: LedgerRequest, generations: Mapping[str, int]
) -> str:
    """The Idempotency-Key for one request: a digest of the connection, the step of the operation (a key
    re-used on a different request is refused, so each step has its own), the method and path, and each
    item's record id and generation. The same records at the same generation give the same key, so a replay
    after an unknown outcome is recognised; a new generation (after a look-up found nothing, or a cached
    error) gives a new one. 35 characters: within every ledger's limit (the tightest is 36)."""
    # The deployment's secret first: ledgers scope keys per app, and two deployments sharing an app (staging
    # and production) number their connections and records alike.
    deployment = hashlib.sha256(settings.SECRET_KEY.encode()).hexdigest()[:16]
    parts = [deployment, str(connection_id), step, request.method, request.path]
    parts += [f"{item.record_id}.{generations[item.record_id]}" for item in request.items]
    return "ll-" + hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def backoff_delay(
    attempts: int,
    retry_after_s: float | None = None,
    rng: random.Random | None = None,
    time_scale: float = 1.0,
) -> float:
    """Exponential backoff with full jitter (a random delay up to base x 2^attempts, capped), never sooner
    than the ledger's Retry-After and never less than a second. The backoff waits out a ledger's trouble,
    so it runs on the ledger's clock: against a sandbox at `time_scale` N it is N times shorter (Retry-After
    is a real wait as given)."""
    ceiling = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** min(attempts, 20))
    delay = (rng or random).uniform(0, ceiling)
    return max(max(delay, 1.0) / time_scale, retry_after_s or 0.0)
