"""The webhook worker: pushes the events each subscription asked for to its URL, in order."""
