from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "ledgerlink.billing"
    label = "billing"

    def ready(self) -> None:
        from ledgerlink.billing import api, receivers
        from ledgerlink.cashflow.api import api as cashflow_api
        from ledgerlink.ledgers.signals import connect_requested, ledger_call_made, sync_requested

        connect_requested.connect(receivers.block_connect_until_enabled, dispatch_uid="billing.connect_gate")
        ledger_call_made.connect(receivers.count_ledger_call, dispatch_uid="billing.ledger_usage")
        sync_requested.connect(receivers.hold_sync_after_service, dispatch_uid="billing.sync_gate")
        api.mount(cashflow_api)
