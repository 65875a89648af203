"""Payload schemas per producing service; each module defines SCHEMAS = {(type, version): schema}."""
