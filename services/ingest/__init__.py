"""The ingest service: validates events and publishes them to Kafka."""
