"""Shared fixtures. Each area's own fixtures live beside its tests; fixtures used across areas live here."""
