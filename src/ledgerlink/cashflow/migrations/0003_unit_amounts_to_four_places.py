"""Unit amounts take four decimal places (prices per watt or kWh): cents become ten-thousandths."""

from django.db import migrations, models
from django.db.models import F


def cents_to_ten_thousandths(apps, schema_editor):
    apps.get_model("cashflow", "InvoiceLine").objects.update(unit_amount_e4=F("unit_amount_e4") * 100)


def ten_thousandths_to_cents(apps, schema_editor):
    # Back to cents; a price with digits past the cent cannot go back and is rounded down.
    apps.get_model("cashflow", "InvoiceLine").objects.update(unit_amount_e4=F("unit_amount_e4") / 100)


class Migration(migrations.Migration):
    dependencies = [("cashflow", "0002_signin_throttle")]

    operations = [
        migrations.RenameField("invoiceline", "unit_amount_minor", "unit_amount_e4"),
        migrations.AlterField(
            model_name="invoiceline",
            name="unit_amount_e4",
            field=models.BigIntegerField(help_text="The unit amount in ten-thousandths (0.0275 -> 275)"),
        ),
        migrations.RunPython(cents_to_ten_thousandths, ten_thousandths_to_cents),
    ]
