"""Parked messages in a service's ops API: list its `<service>.dlq` (and `wiser.unrouted`) and replay them.

`parked_router(consumer)` gives every service the same two routes under `/api/v1/<service>/parked`:

- `GET` (staff): each queue's count and its first messages as they sit there (type, message id, packet id,
  producer, where and why it was dead-lettered, when, how often), read by taking them and putting them back
  (the queues are parking lots; order there does not matter, a replay restores each partition's order);
  joined with the service's `bus_parked` records (`consumer.ParkLog`): the handler's error type, a PHI-free
  text and when it was parked.
- `POST /replay` `{"queue"}` (supervisor, admin): every message back where it came from (`bus.replay_parked`,
  `bus.replay_unrouted`), intact (its `user_id` included); the queue's park records are cleared.
"""

import json
import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Annotated, Any

import aio_pika
from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict

from wiser_contracts import roles, topology
from wiser_contracts.topology import Consumer

from . import bus
from .consumer import ParkLog
from .identity import Identity, identity_dependency, require_roles

REPLAYERS = frozenset({roles.SUPERVISOR, roles.ADMIN})


def _death(headers: dict[str, Any]) -> dict[str, Any]:
    deaths = headers.get("x-death") or []
    if not deaths:
        return {}
    first = deaths[0]
    at = first.get("time")
    return {
        "from_queue": str(first.get("queue", "")),
        "reason": str(first.get("reason", "")),
        "count": int(first.get("count", 1)),
        "at": at.isoformat() if isinstance(at, datetime) else (str(at) if at else None),
    }


def describe(message: Any) -> dict[str, Any]:
    """What ops needs to see of a parked message: ids and codes only (a message body never holds PHI)."""
    headers = dict(message.headers or {})
    kind = message.type or headers.get("type")
    packet_id = headers.get(topology.PARTITION_HEADER)
    try:
        body = json.loads(message.body)
        kind = kind or body.get("type")
        packet_id = body.get("packet_id") or packet_id
        producer = body.get("producer")
    except (ValueError, AttributeError):
        producer, body = None, None
    return {
        "message_id": message.message_id,
        "type": kind,
        "packet_id": str(packet_id) if packet_id else None,
        "producer": producer,
        "user_id": message.user_id,
        "routing_key": message.routing_key,
        "error": headers.get("x-wiser-error") or ("malformed body" if body is None else None),
        **_death(headers),
    }


async def with_errors(listing: dict[str, Any], park_log: ParkLog | None) -> dict[str, Any]:
    """The listing's messages with what the consumer recorded when it parked them (error type, text, when)."""
    if park_log is None or not listing["messages"]:
        return listing
    try:
        found = await park_log.errors([m["message_id"] for m in listing["messages"] if m.get("message_id")])
    except Exception:  # the listing still serves what the queue says (e.g. before the migration ran)
        logging.getLogger("wiser.parked").warning("park records unreadable", extra={"queue": listing["queue"]})
        return listing
    for message in listing["messages"]:
        record = found.get(message.get("message_id") or "")
        if record is None:
            continue
        message["error_type"] = record["error_type"]
        message["error"] = message.get("error") or record["error"]
        message["parked_at"] = record["parked_at"]
    return listing


def _park_log(request: Request) -> ParkLog | None:
    bus_ = getattr(request.app.state, "bus", None)
    log = getattr(bus_, "park_log", None)
    return log if isinstance(log, ParkLog) else None


async def peek(amqp_url: str, queue_name: str, limit: int = 50) -> dict[str, Any]:
    """The queue's count and its first `limit` messages, each put back after reading."""
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        queue = await channel.declare_queue(queue_name, passive=True)
        count = int(queue.declaration_result.message_count or 0)
        seen, taken = [], []
        for _ in range(min(limit, count)):
            incoming = await queue.get(fail=False, no_ack=False)
            if incoming is None:
                break
            taken.append(incoming)
            seen.append(describe(incoming))
        for incoming in taken:
            await incoming.nack(requeue=True)
    finally:
        await connection.close()
    return {"queue": queue_name, "count": count, "messages": seen}


class ReplayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    queue: str


def parked_router(
    consumer: Consumer,
    verifier_of: Callable[[Request], Any],
    staff: Iterable[str] = roles.PEOPLE,
    prefix: str | None = None,
) -> APIRouter:
    """`GET <prefix>/parked`, `POST <prefix>/parked/replay` for one service's parking queue and wiser.unrouted."""
    router = APIRouter(prefix=prefix or f"/api/v1/{consumer.service}", tags=["parked messages"])
    queues = (consumer.dlq_name, topology.UNROUTED_QUEUE.name)

    def _identity(request: Request) -> Identity:
        return identity_dependency(lambda: verifier_of(request))(request)

    def _admin_url(request: Request) -> str:
        settings = request.app.state.settings
        return settings.amqp_admin_url or settings.amqp_url  # type: ignore[no-any-return]

    @router.get("/parked", summary="Parked messages of this service and wiser.unrouted, with why")
    async def parked(
        request: Request,
        identity: Annotated[Identity, Depends(_identity)],
        limit: Annotated[int, Query(ge=0, le=200)] = 50,
    ) -> dict[str, Any]:
        require_roles(identity, staff)
        url = _admin_url(request)
        log = _park_log(request)
        return {
            "service": consumer.service,
            "queues": [await with_errors(await peek(url, q, limit), log) for q in queues],
        }

    @router.post("/parked/replay", summary="Replay this service's parked messages (or wiser.unrouted)")
    async def replay(
        request: Request, body: ReplayIn, identity: Annotated[Identity, Depends(_identity)]
    ) -> dict[str, Any]:
        require_roles(identity, REPLAYERS)
        if body.queue not in queues:
            from .problems import Problem

            raise Problem(422, "Unknown queue", f"queue must be one of {list(queues)}", code="UNKNOWN_QUEUE")
        url = _admin_url(request)
        if body.queue == topology.UNROUTED_QUEUE.name:
            n = await bus.replay_unrouted(url)
        else:
            started = datetime.now(UTC)
            n = await bus.replay_parked(url, consumer)
            log = _park_log(request)
            if log is not None:
                await log.clear(consumer.dlq_name, before=started)
        return {"service": consumer.service, "queue": body.queue, "replayed": n}

    return router
