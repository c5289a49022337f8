"""The web app: setup wizard, mapping, sync console and billing panel."""
