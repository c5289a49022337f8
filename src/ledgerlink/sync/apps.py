from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class SyncConfig(AppConfig):
    name = "ledgerlink.sync"
    label = "sync"
    verbose_name = "Sync engine"

    def ready(self) -> None:
        from ledgerlink.cashflow.api import api
        from ledgerlink.cashflow.events import register_handler
        from ledgerlink.ledgers import models as ledger_models
        from ledgerlink.ledgers.signals import ledger_call_made, rate_budget_reported, sync_allowed_again
        from ledgerlink.sync import audit, doorbell, outbox, ratelimit, requeue, tasks
        from ledgerlink.sync.api import router

        register_handler(outbox.on_domain_event)
        doorbell.install(tasks.enqueue_sync)  # importing tasks also registers the huey tasks
        # The engine's part of API v1 (cashflow never imports its consumers), before any URL is generated.
        api.add_router("/", router)
        ledger_call_made.connect(audit.count_call, dispatch_uid="sync-count-calls")
        # Every answer's word on the rate budget, whichever call it came with, paces every process.
        rate_budget_reported.connect(ratelimit.on_budget_reported, dispatch_uid="sync-rate-budget")
        sync_allowed_again.connect(requeue.on_sync_allowed_again, dispatch_uid="sync-allowed-again")
        for model in (
            ledger_models.TaxRateMapping,
            ledger_models.LineTypeMapping,
            ledger_models.PaymentAccountMapping,
            ledger_models.TrackingMapping,
        ):
            post_save.connect(
                requeue.on_mapping_changed, sender=model, dispatch_uid=f"sync-remap-{model.__name__}"
            )
            post_delete.connect(
                requeue.on_mapping_changed, sender=model, dispatch_uid=f"sync-unmap-{model.__name__}"
            )
        post_save.connect(
            requeue.on_connection_saved,
            sender=ledger_models.Connection,
            dispatch_uid="sync-connection-resume",
        )
