"""Parley's services: ingest, projector and api, and the adapters they share (``common``)."""
