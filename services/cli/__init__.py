"""``parley``: the command-line tool (``parley load FILE`` posts a file of events to the ingest)."""
