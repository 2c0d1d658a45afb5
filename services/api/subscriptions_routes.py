"""HTTP routes of push subscriptions (webhooks): register, list, delete, resume, delivery log."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine

from services.api.subscription_models import (
    DeliveriesPage,
    Delivery,
    Problem,
    Subscription,
    SubscriptionList,
    SubscriptionRequest,
    field_errors,
)
from services.api.subscriptions import (
    SubscriptionNotFound,
    create_subscription,
    delete_subscription,
    deliveries_page,
    get_subscription,
    list_subscriptions,
    resume_subscription,
)

router = APIRouter(prefix="/v1/subscriptions", tags=["subscriptions"])

MAX_BODY_BYTES = 64 * 1024
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": Problem, "description": "No such subscription."}
}


def _problem(status: int, detail: str, errors: list[dict[str, Any]] | None = None) -> JSONResponse:
    body = Problem(detail=detail, errors=errors).model_dump(exclude_none=True)
    return JSONResponse(body, status_code=status)


def _where(request: Request) -> tuple[AsyncEngine, str]:
    """The database, and the topic whose subscriptions this API serves."""
    return request.state.engine, request.state.settings.topic


def _not_found(exc: SubscriptionNotFound) -> HTTPException:
    return HTTPException(404, f"no subscription {exc}")


@router.post(
    "",
    status_code=201,
    response_model=Subscription,
    responses={
        400: {"model": Problem, "description": "The body is not JSON."},
        413: {"model": Problem, "description": "The body is too large."},
        422: {"model": Problem, "description": "A field is missing or not allowed."},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": SubscriptionRequest.model_json_schema()}},
        }
    },
)
async def post_subscription(request: Request) -> JSONResponse:
    """Register a push subscription.

    From now on every event recorded that passes `filter` (`talks_id`, `types`; absent means
    all) is POSTed to `url` as the JSON recorded on the log, signed in `X-Parley-Signature`
    with `secret` (16 to 200 characters, never shown again). See docs/webhooks.md.
    """
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        return _problem(413, f"body exceeds {MAX_BODY_BYTES} bytes")
    try:
        wanted = SubscriptionRequest.model_validate_json(body)
    except ValidationError as exc:
        errors = field_errors(exc)
        if any(e["type"] == "json_invalid" for e in errors):
            return _problem(400, "the body is not valid JSON", errors)
        return _problem(422, "the subscription is not valid", errors)
    row = await create_subscription(
        *_where(request),
        url=wanted.url,
        filter_=wanted.filter.model_dump(mode="json"),
        secret=wanted.secret,
        now=datetime.now(UTC),
    )
    created = Subscription.model_validate(row)
    return JSONResponse(
        created.model_dump(mode="json"),
        status_code=201,
        headers={"Location": f"/v1/subscriptions/{created.id}"},
    )


@router.get("", response_model=SubscriptionList)
async def get_subscriptions(request: Request) -> SubscriptionList:
    """Every subscription, oldest first, with its status (`active` or `paused`)."""
    rows = await list_subscriptions(*_where(request))
    return SubscriptionList(subscriptions=[Subscription.model_validate(r) for r in rows])


@router.get("/{subscription_id}", response_model=Subscription, responses=NOT_FOUND)
async def get_one_subscription(request: Request, subscription_id: UUID) -> Subscription:
    """One subscription: its filter, status and count of consecutive failures."""
    try:
        return Subscription.model_validate(
            await get_subscription(*_where(request), subscription_id)
        )
    except SubscriptionNotFound as exc:
        raise _not_found(exc) from None


@router.delete("/{subscription_id}", status_code=204, responses=NOT_FOUND)
async def delete_one_subscription(request: Request, subscription_id: UUID) -> Response:
    """Stop pushing to this subscription and forget its delivery log."""
    try:
        await delete_subscription(*_where(request), subscription_id)
    except SubscriptionNotFound as exc:
        raise _not_found(exc) from None
    return Response(status_code=204)


@router.post("/{subscription_id}/resume", response_model=Subscription, responses=NOT_FOUND)
async def resume_one_subscription(request: Request, subscription_id: UUID) -> Subscription:
    """Un-pause: the failed delivery is retried at once, then the rest follow in order."""
    try:
        row = await resume_subscription(*_where(request), subscription_id, datetime.now(UTC))
    except SubscriptionNotFound as exc:
        raise _not_found(exc) from None
    return Subscription.model_validate(row)


@router.get(
    "/{subscription_id}/deliveries",
    response_model=DeliveriesPage,
    responses={**NOT_FOUND, 400: {"model": Problem, "description": "A cursor we did not issue."}},
)
async def get_deliveries(
    request: Request,
    subscription_id: UUID,
    status: Literal["pending", "delivered", "failed"] | None = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="Items per page.")] = 100,
    cursor: str | None = None,
) -> DeliveriesPage:
    """The delivery log, newest first, paged with `next_cursor`.

    Each delivery names its event and talks, its `status` (`pending`, `delivered`, or `failed`
    while the subscription is paused), its number of `attempts`, the last HTTP status code or
    error, and when it was queued, last tried, is next tried and was delivered.
    """
    try:
        rows, next_cursor = await deliveries_page(
            *_where(request), subscription_id, status=status, limit=limit, cursor=cursor
        )
    except SubscriptionNotFound as exc:
        raise _not_found(exc) from None
    return DeliveriesPage(
        subscription_id=subscription_id,
        items=[Delivery.model_validate(r) for r in rows],
        next_cursor=next_cursor,
    )
