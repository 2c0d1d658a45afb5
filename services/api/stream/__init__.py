"""Server-sent events: the topic fanned out to HTTP clients, resumable by Kafka positions."""
