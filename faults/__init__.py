"""Faults on real processes, each re-runnable with one command and ending with a tally.

``python -m faults kill-projector|kafka-down|postgres-down [--events N]`` starts its own Kafka
and PostgreSQL (deploy/local/infra.sh), the services it needs as processes, loads events
through the ingest, injects its fault, then counts every acknowledged event in the read
models. What each scenario proves: docs/reliability.md.
"""
