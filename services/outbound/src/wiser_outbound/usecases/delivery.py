"""Letters to their recipients: a delivery per round, a copy per recipient, attempts recorded before each call.

- `plan` + `start`: on entering `delivering`, the approved set's copies (requester on the packet's channel,
  beneficiary by mail); copies confirmed in an earlier round are carried over, never sent again.
- `send_due`: the scheduler's pass over due copies. An attempt is written (`sending`) and committed before
  the provider is called; a copy found `sending` afterwards (the process died mid-call) is first looked up
  at the provider by our reference, and sent again only if the provider never got it.
- `confirm`: a provider's verified callback (fax delivered, mail accepted for mailing); duplicates are no-ops.
- T16 (`outbound.delivery.completed`) once every copy is confirmed; T17 (`outbound.delivery.failed`) when a
  copy's retry budget is spent. `retry`: T18 on a person's behalf, with a corrected fax number or address.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from wiser_contracts import messages as m

from ..domain import channels as ch
from ..domain import webhooks as wh
from ..domain.retry import Schedule
from .context import Outbound
from .errors import NotAllowed, NotFound
from .ports import Copy, Delivery, Outcome, Send, UnitOfWork

log = logging.getLogger("wiser.outbound.delivery")


class LetterSetNotReady(Exception):
    """Letters has no approved set for a packet in `delivering` yet: try again (the consumer's backoff)."""


@dataclass
class Plan:
    packet_id: uuid.UUID
    version: int
    letter_set: dict[str, Any]
    copies: list[ch.CopyPlan]
    facts: dict[str, Any]
    purpose: str = "decision"


def _facts(detail: dict[str, Any], letter_set: dict[str, Any]) -> dict[str, Any]:
    """What a channel may say about the packet: ids and codes, no PHI."""
    det = detail.get("determination") or {}
    outcome = det.get("outcome") or ("dismissed" if detail.get("dismissal") else None)
    return {
        "tracking_number": detail["tracking_number"],
        "utn": det.get("utn") or detail.get("utn"),
        "outcome": outcome,
        "decision": ch.DECISION_CODE.get(outcome or "", "N"),
        "kind": letter_set.get("kind"),
    }


async def plan(ctx: Outbound, message: m.PacketTransitioned, detail: dict[str, Any]) -> Plan:
    assert message.packet_id is not None
    try:
        letter_set = await ctx.letters.letter_set(message.packet_id)
    except Exception as e:
        raise LetterSetNotReady(f"letters: {type(e).__name__}") from e
    if letter_set.get("status") != "approved":
        raise LetterSetNotReady(f"letter set is {letter_set.get('status')}")
    copies = ch.copies_for(detail, letter_set)
    return Plan(message.packet_id, message.version, letter_set, copies, _facts(detail, letter_set))


async def plan_notice(ctx: Outbound, packet_id: uuid.UUID, version: int, detail: dict[str, Any]) -> Plan | None:
    """The reclassification notice to the requester on the packet's channel (partners on `api` have the
    `packet.reclassified` webhook; esMD has no notice in its PA response): letters approves it itself."""
    channel = ch.REQUESTER_CHANNEL.get(detail["channel"], "mail")
    if channel in ("webhook", "esmd"):
        return None
    try:
        letter_set = await ctx.letters.letter_set(packet_id, kind="notice")
    except Exception as e:
        raise LetterSetNotReady(f"letters: {type(e).__name__}") from e
    if letter_set.get("status") != "approved":
        raise LetterSetNotReady(f"notice is {letter_set.get('status')}")
    letters = [x for x in letter_set.get("letters") or [] if x["recipient"] == "requester"]
    copies = [
        ch.CopyPlan("requester", channel, str(x["letter_id"]), ch.destination(channel, "requester", detail))
        for x in letters
    ]
    return Plan(packet_id, version, letter_set, copies, _facts(detail, letter_set), purpose="notice")


async def start(ctx: Outbound, uow: UnitOfWork, p: Plan, client_id: str, detail: dict[str, Any]) -> uuid.UUID:
    """A new round (in `uow`): fresh copies, except those confirmed in an earlier round; ops' corrections kept."""
    now = ctx.clock()
    previous = await uow.deliveries.latest(p.packet_id, purpose=p.purpose)
    earlier = {c.recipient: c for c in await uow.copies.of_delivery(previous.id)} if previous else {}
    if p.purpose != "decision":
        earlier = {}  # a notice is sent once per reclassification, nothing carried over
    delivery = Delivery(
        uuid.uuid4(),
        p.packet_id,
        previous.round + 1 if previous else 1,
        p.version,
        str(p.letter_set.get("set_id")),
        p.letter_set.get("kind"),
        "sending",
        now,
        purpose=p.purpose,
    )
    await uow.deliveries.add(delivery)
    for planned in p.copies:
        before = earlier.get(planned.recipient)
        copy_id = uuid.uuid4()
        carried = before is not None and before.status == "confirmed" and before.letter_id == planned.letter_id
        dest = planned.destination
        if before is not None and before.destination.get("corrected"):
            dest = {k: v for k, v in before.destination.items() if k != "facts"}  # what ops typed in wins
        copy = Copy(
            id=copy_id,
            delivery_id=delivery.id,
            recipient=planned.recipient,
            channel=planned.channel,
            letter_id=planned.letter_id,
            destination={**dest, "facts": p.facts},
            status="pending",
            attempts=0,
            first_at=now,
            reference=f"wsr-{copy_id.hex}",
            next_attempt_at=now,
        )
        if carried:
            assert before is not None
            copy = replace(
                copy, status="confirmed", confirmed_at=before.confirmed_at, provider_id=before.provider_id,
                next_attempt_at=None,
            )  # fmt: skip
        await uow.copies.add(copy)
        if planned.channel == "webhook" and not carried:
            await _letter_available(ctx, uow, p, client_id, copy, detail)
    await settle(ctx, uow, delivery.id)
    return delivery.id


async def _letter_available(
    ctx: Outbound, uow: UnitOfWork, p: Plan, client_id: str, copy: Copy, detail: dict[str, Any]
) -> None:
    """The api channel: the `letter.available` webhook is the requester's copy; a 2xx confirms it."""
    from .webhooks import queue_events

    event = wh.PartnerEvent(wh.LETTER_AVAILABLE, wh.event_id(copy.id, wh.LETTER_AVAILABLE), ctx.clock())
    extra = {"letter": {"letter_id": copy.letter_id, "url": f"/api/v1/packets/{p.packet_id}/letters/{copy.letter_id}"}}
    queued = await queue_events(ctx, uow, p.packet_id, p.version, "delivering", [event], client_id, detail, extra)
    budget = ctx.schedules["webhook"].budget_seconds
    await uow.copies.update(
        copy.id,
        provider_id=str(event.event_id),
        status="sent" if queued else "pending",
        provider_status="webhook queued" if queued else "no letter.available subscription",
        next_attempt_at=ctx.clock() + timedelta(seconds=budget + 1),  # only its budget ends it here
    )


async def webhook_settled(ctx: Outbound, uow: UnitOfWork, event_id: uuid.UUID, ok: bool) -> None:
    """A `letter.available` webhook was answered 2xx (confirms its copy) or no subscription is left to take it."""
    if not ok and await uow.webhooks.open_for_event(event_id):
        return
    copy = await uow.copies.by_provider_id("webhook", str(event_id))
    if copy is None or copy.status in ("confirmed", "failed"):
        return
    if ok:
        await uow.copies.update(copy.id, status="confirmed", confirmed_at=ctx.clock(), next_attempt_at=None)
    else:
        await uow.copies.update(copy.id, status="failed", last_error="webhook: retries exhausted", next_attempt_at=None)
    await settle(ctx, uow, copy.delivery_id)


async def settle(ctx: Outbound, uow: UnitOfWork, delivery_id: uuid.UUID) -> None:
    """T16 when every copy is confirmed, T17 when one failed; once per delivery (its row is locked)."""
    d = await uow.deliveries.get(delivery_id, lock=True)
    if d is None or d.status != "sending":
        return
    copies = await uow.copies.of_delivery(delivery_id)
    failed = [c for c in copies if c.status == "failed"]
    now = ctx.clock()
    if d.purpose != "decision":  # a notice moves no packet: it is done, or failed for ops to see
        if failed or (copies and all(c.status == "confirmed" for c in copies)):
            await uow.deliveries.finish(delivery_id, "failed" if failed else "completed", now)
        return
    if failed:
        c = failed[0]
        await uow.deliveries.finish(delivery_id, "failed", now, c.last_error)
        await uow.emit(
            m.DeliveryFailed(
                producer="outbound",
                packet_id=d.packet_id,
                packet_version=d.packet_version,
                delivery_id=delivery_id,
                channel=c.channel,
                error=f"{c.recipient} copy: retries exhausted",
            )
        )
    elif copies and all(c.status == "confirmed" for c in copies):
        await uow.deliveries.finish(delivery_id, "completed", now)
        await uow.emit(
            m.DeliveryCompleted(
                producer="outbound",
                packet_id=d.packet_id,
                packet_version=d.packet_version,
                delivery_id=delivery_id,
                channels=tuple(sorted({c.channel for c in copies})),
            )
        )


# -------------------------------------------------------------------------------------------- sending


async def send_due(ctx: Outbound) -> int:
    now = ctx.clock()
    async with ctx.uow() as uow:
        due = await uow.copies.claim_due(now, ctx.batch, now + timedelta(seconds=ctx.claim_seconds))
        await uow.commit()

    async def work(copy: Copy) -> None:
        try:
            await _work(ctx, copy)
        except Exception:  # one copy's trouble never stops the others; its claim lapses and it is tried again
            log.exception("copy not worked", extra={"copy": str(copy.id), "channel": copy.channel})

    await asyncio.gather(*(work(c) for c in due))  # the claimed batch at once: each copy is its own work
    return len(due)


async def _work(ctx: Outbound, copy: Copy) -> None:
    now = ctx.clock()
    schedule = ctx.schedules[copy.channel]
    if copy.channel == "webhook":  # its letter.available deliveries settle it; here only its budget ends it
        if now > copy.first_at + timedelta(seconds=schedule.budget_seconds):
            await _failed(ctx, copy, copy.attempts, Outcome(False, error=copy.provider_status), schedule)
        else:
            await _later(ctx, copy.id, copy.first_at + timedelta(seconds=schedule.budget_seconds + 1))
        return
    channel = ctx.channels[copy.channel]
    if copy.status in ("sending", "sent"):
        # Sent before (or maybe: the process died mid-call): ask the provider about our reference first.
        found = await channel.lookup(copy.reference)
        if found is not None and found.accepted:
            await _answered(ctx, copy, copy.attempts, "recovered" if copy.status == "sending" else "polled", found)
            return
        if copy.status == "sent":
            if found is not None:
                await _failed(ctx, copy, copy.attempts, found, schedule)
            elif now > copy.first_at + timedelta(seconds=schedule.budget_seconds):
                await _failed(ctx, copy, copy.attempts, Outcome(False, error="no confirmation"), schedule)
            else:
                await _later(ctx, copy.id, now + timedelta(seconds=schedule.delays[-1] if schedule.delays else 60))
            return
    breaker = ctx.breakers.of(copy.channel)
    if not breaker.allows(now):
        await _later(ctx, copy.id, now + timedelta(seconds=breaker.reset_seconds))
        return
    n = copy.attempts + 1
    # The attempt is on record before the call: after a crash the copy is `sending` and is looked up first.
    async with ctx.uow() as uow:
        await uow.copies.update(copy.id, status="sending", attempts=n)
        await uow.attempts.started(copy.id, n, now)
        await uow.commit()
    try:
        pdf = await ctx.letters.pdf(copy.letter_id)
        dest = {k: v for k, v in copy.destination.items() if k not in ("facts", "corrected")}
        o = await channel.send(Send(copy.reference, dest, pdf, copy.destination.get("facts") or {}))
    except Exception as e:  # the peer or letters did not answer: an attempt that failed
        o = Outcome(False, error=type(e).__name__)
    if o.accepted:
        breaker.succeeded()
        await _answered(ctx, replace(copy, attempts=n), n, "accepted", o)
    else:
        if o.status_code is None or o.status_code >= 500:
            breaker.failed(now)
        await _failed(ctx, replace(copy, attempts=n), n, o, schedule, record="rejected" if o.status_code else "error")


async def _later(ctx: Outbound, copy_id: uuid.UUID, at: Any) -> None:
    async with ctx.uow() as uow:
        await uow.copies.update(copy_id, next_attempt_at=at)
        await uow.commit()


async def _answered(ctx: Outbound, copy: Copy, n: int, outcome: str, o: Outcome) -> None:
    schedule = ctx.schedules[copy.channel]
    now = ctx.clock()
    async with ctx.uow() as uow:
        if outcome != "polled" or o.confirmed:  # a poll that learns nothing new is not worth a row
            await uow.attempts.finished(copy.id, n, now, outcome, o.status_code, o.response, o.error)
        current = await uow.copies.get(copy.id, lock=True)
        if current is None or current.status in ("confirmed", "failed"):
            await uow.commit()
            return
        if o.confirmed:
            values: dict[str, Any] = {"status": "confirmed", "confirmed_at": now, "next_attempt_at": None}
        else:
            # Waiting for the provider's callback; polled at the last tier in case it never comes.
            wait = schedule.delays[-1] if schedule.delays else 60
            values = {"status": "sent", "next_attempt_at": now + timedelta(seconds=wait)}
        await uow.copies.update(copy.id, provider_id=o.provider_id or current.provider_id, **values)
        await settle(ctx, uow, copy.delivery_id)
        await uow.commit()


async def _failed(ctx: Outbound, copy: Copy, n: int, o: Outcome, schedule: Schedule, record: str | None = None) -> None:
    nxt = schedule.next_attempt(copy.first_at, max(n, 1), ctx.clock())
    async with ctx.uow() as uow:
        if record is not None:
            await uow.attempts.finished(copy.id, n, ctx.clock(), record, o.status_code, o.response, o.error)
        await uow.copies.update(
            copy.id,
            last_error=o.error or f"status {o.status_code}",
            next_attempt_at=nxt,
            status="pending" if nxt is not None else "failed",
        )
        if nxt is None:
            await settle(ctx, uow, copy.delivery_id)
        await uow.commit()


# ------------------------------------------------------------------------------------------ callbacks


async def confirm(
    ctx: Outbound, provider: str, event_id: str, reference: str, delivered: bool, body: dict[str, Any]
) -> str:
    """A provider's verified status callback for our reference. A duplicate (same event id) is harmless."""
    async with ctx.uow() as uow:
        if not await uow.callbacks.first_time(provider, event_id, body):
            return "duplicate"
        copy = await uow.copies.by_reference(reference, lock=True)
        if copy is None or copy.status in ("confirmed", "failed"):
            await uow.commit()
            return "unknown" if copy is None else "settled"
        if delivered:
            await uow.copies.update(
                copy.id, status="confirmed", confirmed_at=ctx.clock(), next_attempt_at=None, provider_status="delivered"
            )
            await settle(ctx, uow, copy.delivery_id)
            await uow.commit()
            return "confirmed"
        await uow.commit()
    # Not delivered (busy line, returned mail): a failed attempt, retried on the channel's schedule.
    outcome = Outcome(False, error=f"{provider}: {body.get('status') or body.get('event_type')}")
    await _failed(ctx, copy, copy.attempts, outcome, ctx.schedules[copy.channel])
    return "retry"


# ------------------------------------------------------------------------------------------------ ops


async def retry(
    ctx: Outbound, packet_id: uuid.UUID, fax: str | None, address: dict[str, Any] | None, requested_by: str, token: str
) -> dict[str, Any]:
    """T18 on a person's behalf: keep the corrected destination for the next round and ask intake to move the
    packet back to `delivering` (intake checks the person's bound token and the rule)."""
    async with ctx.uow() as uow:
        d = await uow.deliveries.latest(packet_id, lock=True)
        if d is None:
            raise NotFound("DELIVERY_NOT_FOUND", "No delivery for this packet.")
        if d.status != "failed":
            raise NotAllowed("DELIVERY_NOT_FAILED", f"The latest delivery is {d.status}; only a failed one is retried.")
        for c in await uow.copies.of_delivery(d.id):
            if c.status == "failed" and (fax or address):
                dest = ch.correct(c.destination, c.channel, fax, address)
                if dest is not c.destination:
                    await uow.copies.update(c.id, destination={**dest, "corrected": True})
        command = m.RetryDelivery(
            producer="outbound", packet_id=packet_id, requested_by=requested_by, on_behalf_of=token
        )
        await uow.emit(command)
        await uow.commit()
    return {"packet_id": str(packet_id), "command_id": str(command.message_id), "status": "requested"}
