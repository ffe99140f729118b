"""RabbitMQ topology, declared once: publish and subscribe with these objects, never bare strings.

Exchanges every service shares:

- `wiser.events` (topic): routing key = the event's `routing_key()` (its TYPE; a transition adds its
  target state, `intake.packet.transitioned.clinical_queue`). Events nobody is bound to go through
  its alternate exchange `wiser.unrouted` (fanout) into the durable queue `wiser.unrouted`, where ops
  can see and replay them.
- `wiser.commands` (direct): routing key = the command's TYPE; published `mandatory`, so a command
  nobody consumes comes back to its relay instead of vanishing.
- `wiser.dlx` (direct): parked messages, routed to `<service>.dlq`.

Each consuming service has one input exchange, `wiser.<service>.in` (`x-consistent-hash`, hashing
the packet id carried in the `x-wiser-key` header), bound to `wiser.events` / `wiser.commands` for
exactly the messages it acts on (its *interests*), and N partition queues `<service>.p<NN>` bound to
it. One packet's messages always land in one partition, so a partition consumed by one replica at a
time sees them in the order each producer published them; different packets spread over partitions
and are worked on in parallel. A partition queue dead-letters into `<service>.dlq` (parking), and
the parking queue dead-letters back into the input exchange, so a replay keeps every property of
the original message (its `user_id` included) and lands in the right partition again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from faststream.rabbit import ExchangeType, QueueType, RabbitExchange, RabbitQueue

from . import messages as m
from .envelope import Message

PARTITION_HEADER = "x-wiser-key"
"""AMQP header the consistent-hash exchanges hash: the packet id (the message id for messages without one)."""

UNROUTED = RabbitExchange("wiser.unrouted", type=ExchangeType.FANOUT, durable=True)
EVENTS = RabbitExchange(
    "wiser.events", type=ExchangeType.TOPIC, durable=True, arguments={"alternate-exchange": UNROUTED.name}
)
COMMANDS = RabbitExchange("wiser.commands", type=ExchangeType.DIRECT, durable=True)
DLX = RabbitExchange("wiser.dlx", type=ExchangeType.DIRECT, durable=True)
SHARED_EXCHANGES: tuple[RabbitExchange, ...] = (UNROUTED, EVENTS, COMMANDS, DLX)
UNROUTED_QUEUE = RabbitQueue(
    "wiser.unrouted",
    durable=True,
    # A replay dead-letters the message back into wiser.events with its routing key and properties intact.
    arguments={"x-dead-letter-exchange": EVENTS.name},
)

DEFAULT_PARTITIONS = 8


def exchange_for(message: type[Message]) -> RabbitExchange:
    return COMMANDS if message.KIND == "command" else EVENTS


def owner_of(message: type[Message] | str) -> str:
    """The service that owns (and alone may publish) a message type: the first part of its TYPE."""
    kind = message if isinstance(message, str) else message.TYPE
    return kind.split(".", 1)[0]


# Services that send commands to intake on a person's behalf (the person's token inside says who and what).
COMMAND_SENDERS: tuple[str, ...] = ("validation", "clinical", "letters", "outbound")


def publishers_of(message: type[Message]) -> tuple[str, ...]:
    """The services allowed to publish `message` (checked against the AMQP `user_id` by consumers)."""
    return COMMAND_SENDERS if message.KIND == "command" else (owner_of(message),)


@dataclass(frozen=True)
class Interest:
    """One message type a service acts on, handled by `handler` (also the key of its inbox records)."""

    handler: str
    message: type[Message]
    states: tuple[m.PacketState, ...] | None = None  # transitions only: the target states bound; None = all

    def binding_keys(self) -> tuple[str, ...]:
        if self.message is m.PacketTransitioned:
            if self.states is None:
                return (f"{m.PacketTransitioned.TYPE}.*",)
            return tuple(f"{m.PacketTransitioned.TYPE}.{s.value}" for s in self.states)
        return (self.message.TYPE,)


@dataclass(frozen=True)
class Consumer:
    """Everything one consuming service receives, and the queues it receives it on."""

    service: str
    interests: tuple[Interest, ...]
    partitions: int = DEFAULT_PARTITIONS
    fanout: bool = False  # every replica sees every message on a queue of its own (live updates), no partitions
    by_type: dict[str, Interest] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_type", {i.message.TYPE: i for i in self.interests})

    @property
    def exchange(self) -> RabbitExchange:
        return RabbitExchange(
            f"wiser.{self.service}.in",
            type=ExchangeType.X_CONSISTENT_HASH,
            durable=True,
            arguments={"hash-header": PARTITION_HEADER},
        )

    @property
    def dlq_name(self) -> str:
        return f"{self.service}.dlq"

    def partition_name(self, index: int) -> str:
        return f"{self.service}.p{index:02d}"

    def partition_queue(self, index: int, quorum: bool = True) -> RabbitQueue:
        arguments: dict[str, object] = {
            "x-dead-letter-exchange": DLX.name,
            "x-dead-letter-routing-key": self.dlq_name,
            # A second replica that subscribes by mistake waits instead of reordering.
            "x-single-active-consumer": True,
        }
        return RabbitQueue(  # type: ignore[call-overload,no-any-return]
            self.partition_name(index),
            durable=True,
            queue_type=QueueType.QUORUM if quorum else QueueType.CLASSIC,
            arguments=arguments,
        )

    def dlq(self) -> RabbitQueue:
        return RabbitQueue(self.dlq_name, durable=True, arguments={"x-dead-letter-exchange": self.exchange.name})

    def bindings(self) -> tuple[tuple[RabbitExchange, str], ...]:
        """(source exchange, routing key) pairs bound to this service's input exchange."""
        return tuple((exchange_for(i.message), key) for i in self.interests for key in i.binding_keys())

    def inbox_key(self, interest: Interest) -> str:
        return f"{self.service}.{interest.handler}"


def _interests(pairs: list[tuple[str, type[Message]]]) -> tuple[Interest, ...]:
    return tuple(Interest(handler, msg) for handler, msg in pairs)


S = m.PacketState

# Intake moves packets on every outcome event (T2–T4, T7–T18) and on its commands.
INTAKE = Consumer(
    "intake",
    _interests(
        [
            ("on_packet_validated", m.PacketValidated),
            ("on_review_assigned", m.ReviewAssigned),
            ("on_review_released", m.ReviewReleased),
            ("on_review_escalated", m.ReviewEscalated),
            ("on_review_returned", m.ReviewReturned),
            ("on_review_reassigned", m.ReviewReassigned),
            ("on_review_reclassified", m.ReviewReclassified),
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
        ]
    ),
)

VALIDATION = Consumer(
    "validation",
    (
        Interest("on_packet_transitioned", m.PacketTransitioned, (S.VALIDATING, S.DETERMINED, S.CLOSED)),
        Interest("on_utn_assigned", m.UtnAssigned),
    ),
)

# The services later issues build bind what STATE_MACHINE.md says they act on.
CLINICAL = Consumer(
    "clinical", (Interest("on_packet_transitioned", m.PacketTransitioned, (S.CLINICAL_QUEUE, S.CLOSED)),)
)
LETTERS = Consumer(
    "letters",
    (
        Interest("on_packet_transitioned", m.PacketTransitioned, (S.DETERMINED, S.LETTER_REVIEW, S.CLOSED)),
        Interest("on_packet_utn_recorded", m.PacketUtnRecorded),
        Interest("on_packet_reclassified", m.PacketReclassified),
    ),
)
# Outbound delivers letters (delivering) and partner webhooks for every partner-visible event.
OUTBOUND = Consumer(
    "outbound",
    (
        # Who submitted it (so a transition needs no call to intake to find the partner), then what happens to it.
        Interest("on_packet_received", m.PacketReceived),
        Interest("on_packet_transitioned", m.PacketTransitioned),
        Interest("on_packet_reclassified", m.PacketReclassified),
        # Registrations on intake's partner API reach outbound, which owns them (services/outbound/README.md).
        Interest("on_webhook_registered", m.WebhookRegistered),
        Interest("on_webhook_removed", m.WebhookRemoved),
    ),
)
ANALYTICS = Consumer(
    "analytics",
    (
        Interest("on_packet_received", m.PacketReceived),
        Interest("on_packet_transitioned", m.PacketTransitioned),
        Interest("on_packet_sla_breached", m.PacketSlaBreached),
        Interest("on_packet_corrected", m.PacketCorrected),
        Interest("on_packet_utn_recorded", m.PacketUtnRecorded),
        Interest("on_packet_reclassified", m.PacketReclassified),
        Interest("on_packet_reassigned", m.PacketReassigned),
        Interest("on_review_assigned", m.ReviewAssigned),
        Interest("on_review_escalated", m.ReviewEscalated),
        Interest("on_determination_recorded", m.DeterminationRecorded),
    ),
)
GATEWAY = Consumer("gateway", (Interest("on_packet_transitioned", m.PacketTransitioned),), fanout=True)

CONSUMERS: tuple[Consumer, ...] = (INTAKE, VALIDATION, CLINICAL, LETTERS, OUTBOUND, ANALYTICS, GATEWAY)
BY_SERVICE: dict[str, Consumer] = {c.service: c for c in CONSUMERS}
