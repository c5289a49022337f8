"""The limiter's own call log holds one [epoch seconds, calls] entry per permit (ratelimit.CallLog) instead of
one timestamp per call: each logged call becomes an entry of one, so no minute's count is lost."""

from django.db import migrations


def to_entries(apps, schema_editor):  # type: ignore[no-untyped-def]
    TenantBudget = apps.get_model("sync", "TenantBudget")
    for budget in TenantBudget.objects.all():
        budget.minute_calls = [
            entry if isinstance(entry, list) else [entry, 1] for entry in budget.minute_calls
        ]
        budget.save(update_fields=["minute_calls"])


def to_timestamps(apps, schema_editor):  # type: ignore[no-untyped-def]
    TenantBudget = apps.get_model("sync", "TenantBudget")
    for budget in TenantBudget.objects.all():
        budget.minute_calls = [taken for taken, calls in budget.minute_calls for _ in range(int(calls))]
        budget.save(update_fields=["minute_calls"])


class Migration(migrations.Migration):
    dependencies = [("sync", "0004_claim_and_progress_indexes")]

    operations = [migrations.RunPython(to_entries, to_timestamps)]
