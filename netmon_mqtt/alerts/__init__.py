"""Notifications that reach a person without Home Assistant (``alerts:`` in the file)."""
