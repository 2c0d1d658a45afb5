"""The timeline page: a static single-page view of the talks, served at ``/`` and ``/ui``.

The page is plain HTML, CSS and JavaScript shipped with the package (``services/api/web/``);
it reads the public API from the browser. It holds no data itself, so it needs no key.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

WEB_DIR = Path(__file__).resolve().parent / "web"

router = APIRouter(include_in_schema=False)
router.mount("/ui", StaticFiles(directory=WEB_DIR), name="ui")


@router.get("/")
async def index() -> FileResponse:
    """The timeline page."""
    return FileResponse(WEB_DIR / "index.html", headers={"Cache-Control": "no-cache"})
