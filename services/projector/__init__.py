"""The projector: consumes the event log and builds the read models in the database."""
