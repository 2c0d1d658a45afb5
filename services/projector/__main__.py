"""``python -m services.projector [run|migrate]``: project the log, or migrate the schema."""

import argparse
import asyncio

from services.common.logs import configure_logging
from services.projector.app import run
from services.projector.migrate import upgrade_to_head
from services.projector.settings import get_settings

parser = argparse.ArgumentParser(prog="python -m services.projector")
parser.add_argument("command", nargs="?", default="run", choices=["run", "migrate"])
args = parser.parse_args()
settings = get_settings()
configure_logging(settings.log_level)
if args.command == "migrate":
    upgrade_to_head(settings.database_url)
else:
    asyncio.run(run(settings))
