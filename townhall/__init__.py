"""Townhall: a real-time deliberation server for live open forums."""

__version__ = "0.1.0"
