"""RabbitMQ topology, declared once: publish and subscribe with these objects.

- `wiser.events` (topic): routing key = the event's TYPE.
- `wiser.commands` (direct): routing key = the command's TYPE.
- `wiser.dlx` (direct): parked messages, routed by their queue's name to `<queue>.dlq`.

Each consuming service has one durable queue per handler, `<consumer>.<handler>`,
plus delay queues `<queue>.retry.<n>` (TTL, dead-lettered back to the queue) and a
parking queue `<queue>.dlq`.
"""

from __future__ import annotations

from dataclasses import dataclass

from faststream.rabbit import ExchangeType, QueueType, RabbitExchange, RabbitQueue

from . import messages as m
from .envelope import Message

EVENTS = RabbitExchange("wiser.events", type=ExchangeType.TOPIC, durable=True)
COMMANDS = RabbitExchange("wiser.commands", type=ExchangeType.DIRECT, durable=True)
DLX = RabbitExchange("wiser.dlx", type=ExchangeType.DIRECT, durable=True)

# Backoff between attempts of a failing handler (seconds); after the last, the message is parked.
RETRY_DELAYS: tuple[float, ...] = (1.0, 5.0, 30.0)


def exchange_for(message: type[Message]) -> RabbitExchange:
    return COMMANDS if message.KIND == "command" else EVENTS


@dataclass(frozen=True)
class Subscription:
    """One handler of one consuming service for one message type."""

    consumer: str
    handler: str
    message: type[Message]

    @property
    def queue_name(self) -> str:
        return f"{self.consumer}.{self.handler}"

    @property
    def exchange(self) -> RabbitExchange:
        return exchange_for(self.message)

    @property
    def routing_key(self) -> str:
        return self.message.TYPE

    def queue(self, quorum: bool = True) -> RabbitQueue:
        if quorum:
            return RabbitQueue(self.queue_name, queue_type=QueueType.QUORUM, durable=True, routing_key=self.routing_key)
        return RabbitQueue(self.queue_name, durable=True, routing_key=self.routing_key)

    def retry_queue(self, attempt: int) -> RabbitQueue:
        """Delay queue for the given retry attempt (1-based); expires back into the main queue."""
        delay_ms = int(RETRY_DELAYS[attempt - 1] * 1000)
        return RabbitQueue(
            f"{self.queue_name}.retry.{attempt}",
            durable=True,
            arguments={
                "x-message-ttl": delay_ms,
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": self.queue_name,
            },
        )

    def dlq(self) -> RabbitQueue:
        return RabbitQueue(f"{self.queue_name}.dlq", durable=True, routing_key=self.queue_name)


def _subs(consumer: str, pairs: list[tuple[str, type[Message]]]) -> tuple[Subscription, ...]:
    return tuple(Subscription(consumer, handler, msg) for handler, msg in pairs)


# Intake moves packets on every outcome event (T2–T4, T7–T18) and on its commands.
INTAKE = _subs(
    "intake",
    [
        ("on_packet_validated", m.PacketValidated),
        ("on_review_assigned", m.ReviewAssigned),
        ("on_review_released", m.ReviewReleased),
        ("on_review_escalated", m.ReviewEscalated),
        ("on_review_returned", m.ReviewReturned),
        ("on_determination_recorded", m.DeterminationRecorded),
        ("on_utn_assigned", m.UtnAssigned),
        ("on_letter_drafted", m.LetterDrafted),
        ("on_letter_approved", m.LetterApproved),
        ("on_letter_rejected", m.LetterRejected),
        ("on_delivery_completed", m.DeliveryCompleted),
        ("on_delivery_failed", m.DeliveryFailed),
        ("retry_delivery", m.RetryDelivery),
        ("withdraw_packet", m.WithdrawPacket),
        ("revalidate_packet", m.RevalidatePacket),
    ],
)

# Services that later issues build subscribe to intake's transitions here.
VALIDATION = _subs(
    "validation",
    [("on_packet_transitioned", m.PacketTransitioned), ("on_utn_assigned", m.UtnAssigned)],
)
CLINICAL = _subs("clinical", [("on_packet_transitioned", m.PacketTransitioned)])
LETTERS = _subs("letters", [("on_packet_transitioned", m.PacketTransitioned)])
OUTBOUND = _subs("outbound", [("on_packet_transitioned", m.PacketTransitioned)])
ANALYTICS = _subs(
    "analytics",
    [
        ("on_packet_received", m.PacketReceived),
        ("on_packet_transitioned", m.PacketTransitioned),
        ("on_packet_sla_breached", m.PacketSlaBreached),
    ],
)
GATEWAY = _subs("gateway", [("on_packet_transitioned", m.PacketTransitioned)])

ALL_SUBSCRIPTIONS: tuple[Subscription, ...] = INTAKE + VALIDATION + CLINICAL + LETTERS + OUTBOUND + ANALYTICS + GATEWAY
