"""Assay console: the pages people work in, on top of the five services APIs."""
