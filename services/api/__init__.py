"""The API: answers current-state queries from the read models."""
