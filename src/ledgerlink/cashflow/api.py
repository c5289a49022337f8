"""CashFlow's JSON API v1 (django-ninja); OpenAPI at /api/v1/docs."""

from ninja import NinjaAPI

api = NinjaAPI(title="LedgerLink API", version="1", urls_namespace="api-v1")


@api.get("/health", auth=None)
def health(request) -> dict:
    return {"status": "ok"}
