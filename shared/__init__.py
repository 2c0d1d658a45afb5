"""What every service shares, and nothing that does I/O: event models, vocabularies, the fold."""
