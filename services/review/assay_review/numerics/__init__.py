"""Numerical code of review sampling: plain Python, never Django."""
