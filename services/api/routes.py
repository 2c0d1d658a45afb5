"""HTTP routes of the API."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Path, Request

from services.api.queries import TalksNotFound, talks_state
from services.api.responses import TalksStateView

router = APIRouter(prefix="/v1", tags=["state"])

TalksId = Path(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=64, description="lower-case slug")


@router.get("/talks/{talks_id}/state", response_model=TalksStateView)
async def get_state(request: Request, talks_id: str = TalksId) -> TalksStateView:
    """The current state of the talks: its rounds, as far as the projector has got."""
    try:
        return await talks_state(request.state.engine, talks_id)
    except TalksNotFound:
        raise HTTPException(404, f"no events recorded for talks {talks_id!r}") from None
