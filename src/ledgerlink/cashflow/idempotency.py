"""Idempotency-Key for every POST of the API.

The key is claimed by inserting an `IdempotencyRecord` (unique per organisation and key) in the same
transaction as the work, before the work runs. A concurrent request with the same key blocks on that unique
index until the first commits, then fails the insert and replays the stored response; if the first rolled
back, the second simply runs. So one key makes at most one change, whatever the timing.

What is stored is the first *answer*: a success, or a refusal the service made after the request was
parsed (422/409/404). Schema errors are answered before this code runs and are not stored, so a client can
fix a malformed body and retry with the same key. The same key with a different method, path or body is
refused with 409.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest, JsonResponse
from ninja import Schema
from ninja.responses import NinjaJSONEncoder

from ledgerlink.cashflow.errors import ConflictError, ValidationError
from ledgerlink.cashflow.models import IdempotencyRecord

REPLAY_HEADER = "Idempotent-Replayed"
Work = Callable[[], tuple[int, Schema]]


def request_fingerprint(request: HttpRequest) -> str:
    """sha256 over method, path and the body as canonical JSON (so key order and spacing do not matter)."""
    try:
        body = json.dumps(json.loads(request.body or b"null"), sort_keys=True, separators=(",", ":"))
    except ValueError:
        body = request.body.hex()
    return hashlib.sha256(f"{request.method}\n{request.path}\n{body}".encode()).hexdigest()


def error_body(error: ValidationError) -> dict[str, Any]:
    """Field errors in the API's shape; input errors point into the body, state conflicts do not."""
    return error.as_body(() if isinstance(error, ConflictError) else ("body",))


def _execute(work: Work) -> tuple[int, dict[str, Any]]:
    """Run the work in a savepoint: a refusal undoes its partial writes but keeps the key's claim."""
    try:
        with transaction.atomic():
            status, result = work()
            # ninja's encoder, as GET responses use, so a resource reads the same whichever way it came.
            return status, json.loads(json.dumps(result.model_dump(), cls=NinjaJSONEncoder))
    except ValidationError as error:
        return error.status, error_body(error)
    except Http404:
        return 404, {"detail": "Not Found"}


def _replay(record: IdempotencyRecord, fingerprint: str) -> JsonResponse:
    if record.fingerprint != fingerprint:
        conflict = ConflictError(
            "This Idempotency-Key was already used for a different request; send a new key.",
            ("header", "Idempotency-Key"),
        )
        return JsonResponse(conflict.as_body(), status=409)
    response = JsonResponse(record.response_body, status=record.status_code)
    response[REPLAY_HEADER] = "true"
    return response


def respond(request: HttpRequest, idempotency_key: str | None, work: Work) -> JsonResponse:
    """Run `work` once per (organisation, key) and answer with its result, or replay the first answer."""
    if idempotency_key is None:
        with transaction.atomic():
            status, body = _execute(work)
        return JsonResponse(body, status=status)
    organisation = request.ledgerlink_organisation
    fingerprint = request_fingerprint(request)
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    organisation=organisation, key=idempotency_key, fingerprint=fingerprint
                )
        except IntegrityError:
            return _replay(
                IdempotencyRecord.objects.get(organisation=organisation, key=idempotency_key), fingerprint
            )
        status, body = _execute(work)
        record.status_code, record.response_body = status, body
        record.save(update_fields=["status_code", "response_body"])
    return JsonResponse(body, status=status)
