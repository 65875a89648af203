"""Writes of the assignment service, one module per area."""
