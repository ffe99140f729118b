"""Outbound's use cases over in-memory fakes (fakes.py): webhooks fanned out, signed bodies frozen, retried to
the budget; deliveries per channel to T16 or T17; a crash mid-send; callbacks; T18 with a correction."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from wiser_contracts import messages as m
from wiser_outbound.domain.retry import Schedule
from wiser_outbound.usecases import delivery, webhooks
from wiser_outbound.usecases.ports import Outcome
from wiser_outbound.usecases.scheduler import Scheduler
from wiser_outbound.usecases.transitions import on_transitioned
from wiser_servicekit.seal import DEMO_SEAL_KEYS, Sealer

from .fakes import World, world

KEY = "outbound.on_packet_transitioned"
T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def packet(channel: str = "api", client: str = "partner-1") -> dict[str, Any]:
    pid = str(uuid.uuid4())
    return {
        "packet_id": pid, "tracking_number": "WSR-1", "external_ref": "EHR-1", "partner_client_id": client,
        "channel": channel, "state": "delivering", "version": 12, "review_type": "standard",
        "received_at": T0.isoformat(), "due_at": T0.isoformat(), "updated_at": T0.isoformat(),
        "determination": {"outcome": "affirmed", "utn": "JLA26001234567", "lines": []}, "dismissal": None,
        "letters": [{"letter_id": "r1", "kind": "affirmation"}],
        "beneficiary": {"first_name": "Avery", "last_name": "Quillon",
                        "address": {"line1": "1 Main St", "city": "Newark", "state": "NJ", "zip": "07102"}},
        "practitioner": {"fax": "+12015550100", "address": {"line1": "2 Elm St", "city": "Newark", "state": "NJ",
                                                            "zip": "07102"}},
        "requester": {"fax": "+12015550111", "email": "pa@example.org"},
        "history": [
            {"transition": "T1", "from": "received", "to": "validating", "version": 2, "at": "a"},
            {"transition": "T9", "from": "clinical_review", "to": "determined", "version": 6, "at": "b"},
            {"transition": "T14", "from": "letter_review", "to": "delivering", "version": 12, "at": "c"},
        ],
    }  # fmt: skip


def transition(p: dict[str, Any], to: str, version: int, frm: str = "letter_review") -> m.PacketTransitioned:
    return m.PacketTransitioned(
        producer="intake", packet_id=p["packet_id"], transition="T14", from_state=frm, to_state=to, version=version,
        actor=m.Actor(type="system", id="letters"),
    )  # fmt: skip


async def subscribe(w: World, client: str, events: tuple[str, ...], url: str = "https://partner.example/h") -> str:
    msg = m.WebhookRegistered(
        producer="intake", webhook_id=uuid.uuid4(), client_id=client, url=url, events=events,
        sealed_secret=Sealer(DEMO_SEAL_KEYS).seal("whsec_test"), registered_at=T0,
    )  # fmt: skip
    await webhooks.subscription_registered(w.ctx, msg, "outbound.on_webhook_registered")
    return str(msg.webhook_id)


def ready(w: World, p: dict[str, Any]) -> None:
    w.intake.packets[p["packet_id"]] = p
    w.letters.sets[p["packet_id"]] = {
        "packet_id": p["packet_id"], "set_id": "s1", "status": "approved", "kind": "affirmation",
        "letters": [{"letter_id": "r1", "recipient": "requester"}, {"letter_id": "b1", "recipient": "beneficiary"}],
    }  # fmt: skip


async def run(w: World, rounds: int = 1, step: float = 0.0) -> None:
    scheduler = Scheduler(w.ctx, 1)
    for _ in range(rounds):
        await scheduler.once()
        w.clock.advance(step)


# ------------------------------------------------------------------------------------------- webhooks


async def test_a_subscribed_event_is_queued_once_frozen_as_the_packet_was_and_signed_with_its_secret() -> None:
    w = world()
    await subscribe(w, "partner-1", ("packet.transitioned", "packet.determined"))
    await subscribe(w, "partner-2", ("packet.transitioned",))  # another partner's: never sees this packet
    p = packet()
    ready(w, p)
    msg = transition(p, "determined", 6, frm="clinical_review")
    await on_transitioned(w.ctx, msg, KEY)
    await on_transitioned(w.ctx, msg, KEY)  # redelivered: nothing new
    await run(w)
    kinds = sorted(g["kind"] for g in w.receiver.got)
    assert kinds == ["packet.determined", "packet.transitioned"]
    body = json.loads(w.receiver.got[0]["body"])
    assert body["packet"]["state"] == "determined"
    assert [h["to"] for h in body["packet"]["history"]] == ["validating", "determined"]  # not what came later
    assert body["packet"]["letters"] == [] and w.receiver.got[0]["secret"] == "whsec_test"
    assert all(g["url"] == "https://partner.example/h" for g in w.receiver.got)


async def test_nobody_subscribed_means_intake_is_not_even_asked() -> None:
    w = world()
    p = packet()
    ready(w, p)
    await webhooks.owner_of(w.ctx, uuid.UUID(p["packet_id"]))  # the first look learns the owner
    reads = w.intake.reads
    await on_transitioned(w.ctx, transition(p, "clinical_queue", 3, frm="validating"), KEY)
    assert w.intake.reads == reads and w.t.webhooks == {}


async def test_the_received_event_names_the_partner_so_no_transition_asks_intake() -> None:
    w = world()
    await subscribe(w, "partner-1", ("packet.determined",))
    p = packet()
    ready(w, p)
    received = m.PacketReceived(
        producer="intake", packet_id=p["packet_id"], tracking_number="WSR-1", channel="api", review_type="standard",
        state_of_service="NJ", received_at=T0, due_at=T0, partner_client_id="partner-1",
    )  # fmt: skip
    await webhooks.packet_received(w.ctx, received, "outbound.on_packet_received")
    commits = w.store.commits
    await on_transitioned(w.ctx, transition(p, "clinical_queue", 3, frm="validating"), KEY)
    assert w.intake.reads == 0 and w.t.webhooks == {} and w.store.commits == commits + 1  # one transaction
    await on_transitioned(w.ctx, transition(p, "determined", 6, frm="clinical_review"), KEY)
    assert [d.kind for d in w.t.webhooks.values()] == ["packet.determined"]  # subscribed: queued as before


async def test_a_receiver_down_gets_the_same_event_id_later_and_every_failure_is_recorded() -> None:
    w = world()
    w.receiver.answers = [None, 503, 204]
    await subscribe(w, "partner-1", ("packet.transitioned",))
    p = packet()
    ready(w, p)
    await on_transitioned(w.ctx, transition(p, "clinical_queue", 3, frm="validating"), KEY)
    await run(w, rounds=4, step=61)
    (d,) = w.t.webhooks.values()
    assert d.status == "delivered" and d.attempts == 3
    attempts = w.t.webhook_state[d.id]["attempts"]
    assert [(a.status_code, a.error) for a in attempts] == [(None, "ConnectError"), (503, None), (204, None)]
    assert len(w.receiver.got) == 2 and w.receiver.got[0]["event_id"] == w.receiver.got[1]["event_id"]


async def test_a_webhook_fails_after_its_budget_and_a_removed_subscription_gets_nothing_more() -> None:
    w = world(Schedule((10.0,), budget_seconds=25))
    w.receiver.answers = [500] * 10
    hook = await subscribe(w, "partner-1", ("packet.transitioned",))
    p = packet()
    ready(w, p)
    await on_transitioned(w.ctx, transition(p, "clinical_queue", 3, frm="validating"), KEY)
    w.ctx.breakers.threshold = 100
    await run(w, rounds=5, step=11)
    (d,) = w.t.webhooks.values()
    assert d.status == "failed" and d.attempts == 3
    await webhooks.subscription_removed(
        w.ctx, m.WebhookRemoved(producer="intake", webhook_id=uuid.UUID(hook), client_id="partner-1"), "k"
    )
    await on_transitioned(w.ctx, transition(p, "clinical_review", 4, frm="clinical_queue"), KEY)
    assert len(w.t.webhooks) == 1


async def test_a_removal_heard_before_its_registration_leaves_it_removed() -> None:
    w = world()
    hook = uuid.uuid4()
    await webhooks.subscription_removed(
        w.ctx, m.WebhookRemoved(producer="intake", webhook_id=hook, client_id="partner-1"), "k"
    )
    msg = m.WebhookRegistered(
        producer="intake", webhook_id=hook, client_id="partner-1", url="https://x.example/",
        events=("packet.transitioned",), sealed_secret=Sealer(DEMO_SEAL_KEYS).seal("s"), registered_at=T0,
    )  # fmt: skip
    await webhooks.subscription_registered(w.ctx, msg, "k2")
    assert w.t.subscriptions[hook].removed


def moved(p: dict[str, Any], frm: str, to: str, version: int, at: datetime) -> m.PacketTransitioned:
    return m.PacketTransitioned(
        producer="intake", packet_id=p["packet_id"], transition="T", from_state=frm, to_state=to, version=version,
        actor=m.Actor(type="system", id="intake"), occurred_at=at,
    )  # fmt: skip


async def test_a_registration_heard_after_its_partners_events_still_gets_those_that_came_after_it() -> None:
    # The registration and the packet's events travel on different partitions: outbound handled the packet's
    # events first. Those that occurred after the registration are queued for it when it arrives; earlier ones not.
    w = world()
    p = packet()
    ready(w, p)
    await on_transitioned(w.ctx, moved(p, "received", "validating", 2, T0 - timedelta(minutes=1)), KEY)
    queued = moved(p, "validating", "clinical_queue", 3, T0 + timedelta(seconds=5))
    await on_transitioned(w.ctx, queued, KEY)
    await on_transitioned(w.ctx, moved(p, "clinical_review", "determined", 6, T0 + timedelta(seconds=9)), KEY)
    assert w.t.webhooks == {}
    hook = await subscribe(w, "partner-1", ("packet.transitioned", "packet.determined"))  # registered at T0
    kinds = sorted(d.kind for d in w.t.webhooks.values())
    assert kinds == ["packet.determined", "packet.transitioned", "packet.transitioned"]
    assert all(str(d.subscription_id) == hook for d in w.t.webhooks.values())
    await run(w)
    states = sorted(json.loads(g["body"])["packet"]["state"] for g in w.receiver.got)
    assert states == ["clinical_queue", "determined", "determined"]  # each as the packet was then
    # Handled again (a redelivery): nothing twice; a later transition as usual.
    await on_transitioned(w.ctx, queued, KEY)
    assert len(w.t.webhooks) == 3
    await on_transitioned(w.ctx, moved(p, "determined", "letter_review", 7, T0 + timedelta(seconds=20)), KEY)
    assert len(w.t.webhooks) == 4


async def test_what_was_heard_is_forgotten_after_the_catch_up_window() -> None:
    w = world()
    p = packet()
    ready(w, p)
    await on_transitioned(w.ctx, moved(p, "received", "validating", 2, w.ctx.clock() - timedelta(hours=2)), KEY)
    await on_transitioned(w.ctx, moved(p, "validating", "clinical_queue", 3, w.ctx.clock()), KEY)
    assert await webhooks.forget_old(w.ctx) == 1 and len(w.t.heard) == 1


async def test_reclassification_is_a_partner_event_of_its_own() -> None:
    w = world()
    await subscribe(w, "partner-1", ("packet.reclassified",))
    p = packet()
    ready(w, p)
    msg = m.PacketReclassified(producer="intake", packet_id=p["packet_id"], due_at=T0, version=4)
    await webhooks.on_reclassified(w.ctx, msg, "k")
    await run(w)
    assert [g["kind"] for g in w.receiver.got] == ["packet.reclassified"]


# ------------------------------------------------------------------------------------------ deliveries


@pytest.mark.parametrize(("channel", "via"), [("fax", "fax"), ("mail", "mail"), ("esmd", "esmd"), ("portal", "email")])
async def test_each_channel_reaches_t16_once_both_copies_are_confirmed(channel: str, via: str) -> None:
    w = world()
    p = packet(channel)
    ready(w, p)
    await on_transitioned(w.ctx, transition(p, "delivering", 12), KEY)
    await run(w)
    assert len(w.providers[via].sent) == 1 + (via == "mail")
    # Fax and mail confirm later (callback or the provider's status when polled); esMD and SMTP at once.
    for provider in ("fax", "mail"):
        for r in w.providers[provider].sent:
            w.providers[provider].deliver(r.reference)
    await run(w, rounds=2, step=61)
    assert [type(x).__name__ for x in w.t.outbox] == ["DeliveryCompleted"]
    done = w.t.outbox[0]
    assert done.packet_version == 12 and set(done.channels) == {via, "mail"}
    beneficiary = [r for r in w.providers["mail"].sent if r.destination["name"] == "Avery Quillon"]
    assert len(beneficiary) == 1 and "Quillon" not in json.dumps(done.model_dump(mode="json"))


async def test_the_api_channel_is_confirmed_by_the_partners_2xx_to_letter_available() -> None:
    w = world()
    await subscribe(w, "partner-1", ("letter.available",))
    p = packet("api")
    ready(w, p)
    await on_transitioned(w.ctx, transition(p, "delivering", 12), KEY)
    await run(w)
    for r in w.providers["mail"].sent:
        w.providers["mail"].deliver(r.reference)
    await run(w, rounds=2, step=61)
    (got,) = w.receiver.got
    body = json.loads(got["body"])
    assert got["kind"] == "letter.available" and body["letter"]["letter_id"] == "r1"
    assert [type(x).__name__ for x in w.t.outbox] == ["DeliveryCompleted"]


async def test_a_provider_down_past_the_budget_is_t17_and_a_corrected_retry_sends_only_what_failed() -> None:
    w = world(Schedule((10.0,), budget_seconds=25))
    p = packet("fax")
    ready(w, p)
    w.providers["fax"].raise_on_send = True
    await on_transitioned(w.ctx, transition(p, "delivering", 12), KEY)
    await run(w)
    for r in w.providers["mail"].sent:
        w.providers["mail"].deliver(r.reference)
    w.ctx.breakers.threshold = 100
    await run(w, rounds=6, step=11)
    (failed,) = w.t.outbox
    assert isinstance(failed, m.DeliveryFailed) and failed.channel == "fax" and failed.packet_version == 12
    mailed = len(w.providers["mail"].sent)

    w.providers["fax"].raise_on_send = False
    result = await delivery.retry(w.ctx, uuid.UUID(p["packet_id"]), "+12015550123", None, "ops2", "tok")
    command = w.t.outbox[-1]
    assert isinstance(command, m.RetryDelivery) and command.on_behalf_of == "tok" and result["status"] == "requested"
    await on_transitioned(w.ctx, transition(p, "delivering", 14, frm="delivery_failed"), KEY)
    await run(w)
    for r in w.providers["fax"].sent:
        w.providers["fax"].deliver(r.reference)
    await run(w, rounds=2, step=61)
    assert w.providers["fax"].sent[-1].destination == {"fax": "+12015550123"}
    assert len(w.providers["mail"].sent) == mailed  # the beneficiary's copy was confirmed in round 1
    assert isinstance(w.t.outbox[-1], m.DeliveryCompleted) and w.t.outbox[-1].packet_version == 14


async def test_a_retry_is_refused_unless_the_latest_delivery_failed() -> None:
    w = world()
    with pytest.raises(delivery.NotFound):
        await delivery.retry(w.ctx, uuid.uuid4(), None, None, "u", "t")
    p = packet("fax")
    ready(w, p)
    await on_transitioned(w.ctx, transition(p, "delivering", 12), KEY)
    with pytest.raises(delivery.NotAllowed):
        await delivery.retry(w.ctx, uuid.UUID(p["packet_id"]), None, None, "u", "t")
    assert not any(isinstance(x, m.RetryDelivery) for x in w.t.outbox)


@pytest.mark.parametrize("channel", ["fax", "mail", "esmd", "email"])
async def test_a_crash_mid_send_is_looked_up_at_the_provider_and_sent_once(channel: str) -> None:
    w = world()
    p = packet({"email": "portal"}.get(channel, channel))
    ready(w, p)
    await on_transitioned(w.ctx, transition(p, "delivering", 12), KEY)
    requester = next(c for c in w.t.copies.values() if c.recipient == "requester")
    provider = w.providers[channel]
    # The attempt was recorded and the provider took it; the answer was never saved (the process died).
    async with w.ctx.uow() as uow:
        await uow.copies.update(requester.id, status="sending", attempts=1)
        await uow.attempts.started(requester.id, 1, T0)
        await uow.commit()
    from wiser_outbound.usecases.ports import Send

    await provider.send(Send(requester.reference, {}, b"%PDF", {}))
    await run(w)
    mine = [s for s in provider.sent if s.reference == requester.reference]
    assert len(mine) == 1
    assert w.store.tables.attempts[0]["outcome"] == "recovered"


async def test_a_crash_before_the_provider_got_it_sends_it_then() -> None:
    w = world()
    p = packet("fax")
    ready(w, p)
    await on_transitioned(w.ctx, transition(p, "delivering", 12), KEY)
    requester = next(c for c in w.t.copies.values() if c.recipient == "requester")
    async with w.ctx.uow() as uow:
        await uow.copies.update(requester.id, status="sending", attempts=1)
        await uow.commit()
    await run(w)
    assert [s.reference for s in w.providers["fax"].sent].count(requester.reference) == 1


async def test_a_signed_callback_confirms_once_and_a_failed_fax_is_retried() -> None:
    w = world()
    p = packet("fax")
    ready(w, p)
    await on_transitioned(w.ctx, transition(p, "delivering", 12), KEY)
    await run(w)
    fax = next(c for c in w.t.copies.values() if c.channel == "fax")
    assert await delivery.confirm(w.ctx, "fax", "e1", fax.reference, False, {"status": "failed"}) == "retry"
    assert w.t.copies[fax.id].status == "pending"
    assert await delivery.confirm(w.ctx, "fax", "e1", fax.reference, False, {"status": "failed"}) == "duplicate"
    w.clock.advance(11)
    await run(w)
    fax = w.t.copies[fax.id]
    assert await delivery.confirm(w.ctx, "fax", "e2", fax.reference, True, {"status": "delivered"}) == "confirmed"
    assert await delivery.confirm(w.ctx, "fax", "e3", fax.reference, True, {"status": "delivered"}) == "settled"
    assert w.t.copies[fax.id].status == "confirmed" and len(w.providers["fax"].sent) == 2


async def test_a_set_not_approved_yet_is_tried_again_and_nothing_is_half_written() -> None:
    w = world()
    p = packet("fax")
    w.intake.packets[p["packet_id"]] = p
    with pytest.raises(delivery.LetterSetNotReady):
        await on_transitioned(w.ctx, transition(p, "delivering", 12), KEY)
    assert w.t.deliveries == {} and w.t.inbox == set()


async def test_a_provider_refusing_an_address_is_an_attempt_with_its_answer() -> None:
    w = world(Schedule((10.0,), budget_seconds=25))
    w.providers["mail"].answers = [Outcome(False, status_code=422, response='{"error":"invalid_address"}')] * 5
    p = packet("mail")
    ready(w, p)
    await on_transitioned(w.ctx, transition(p, "delivering", 12), KEY)
    await run(w, rounds=4, step=11)
    outcomes = [a for a in w.t.attempts if a["outcome"] == "rejected"]
    assert outcomes and outcomes[0]["status"] == 422 and "invalid_address" in outcomes[0]["response"]
    assert isinstance(w.t.outbox[-1], m.DeliveryFailed)


@pytest.mark.parametrize(("channel", "via"), [("fax", "fax"), ("mail", "mail"), ("portal", "email")])
async def test_a_reclassification_notice_goes_to_the_requester_on_other_channels_and_moves_nothing(
    channel: str, via: str
) -> None:
    w = world()
    p = packet(channel)
    w.intake.packets[p["packet_id"]] = p
    msg = m.PacketReclassified(producer="intake", packet_id=p["packet_id"], due_at=T0, version=4)
    with pytest.raises(delivery.LetterSetNotReady):  # letters drafts it from the same event: not yet
        await webhooks.on_reclassified(w.ctx, msg, "k")
    w.letters.notices[p["packet_id"]] = {
        "set_id": "n1", "status": "approved", "kind": "reclassification_notice",
        "letters": [{"letter_id": "n-r1", "recipient": "requester"}],
    }  # fmt: skip
    await webhooks.on_reclassified(w.ctx, msg, "k")
    await run(w)
    for r in w.providers[via].sent:
        if via in ("fax", "mail"):
            w.providers[via].deliver(r.reference)
    await run(w, rounds=2, step=61)
    (sent,) = w.providers[via].sent
    assert sent.packet["kind"] == "reclassification_notice"
    (notice,) = w.t.deliveries.values()
    assert notice.purpose == "notice" and notice.status == "completed"
    assert w.t.outbox == []  # no T16: the packet is still in review


async def test_the_api_channel_gets_the_reclassified_webhook_and_no_letter() -> None:
    w = world()
    p = packet("api")
    w.intake.packets[p["packet_id"]] = p
    msg = m.PacketReclassified(producer="intake", packet_id=p["packet_id"], due_at=T0, version=4)
    await webhooks.on_reclassified(w.ctx, msg, "k")
    assert w.t.deliveries == {}
