"""Adapters and plumbing shared by the services: settings fields, Kafka admin, health routes."""
