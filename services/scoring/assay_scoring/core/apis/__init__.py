"""Thin DRF views of the scoring service, one module per resource."""
