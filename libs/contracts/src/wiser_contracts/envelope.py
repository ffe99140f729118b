"""The envelope every message carries, and how it maps onto AMQP."""

from __future__ import annotations

import builtins
import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, Field


def utcnow() -> datetime:
    return datetime.now(UTC)


M = TypeVar("M", bound="Message")


class Message(BaseModel):
    """Base of every event and command: metadata first, payload in subclasses.

    Consumers ignore unknown fields (additive changes keep the major version).
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    TYPE: ClassVar[str] = ""
    KIND: ClassVar[str] = "event"
    SCHEMA_VERSION: ClassVar[int] = 1

    message_id: uuid.UUID = Field(
        default_factory=uuid.uuid4, description="Unique id of this message; consumers dedup on it."
    )
    type: str = Field(default="", description="The routing key of this message, e.g. `intake.packet.received`.")
    schema_version: int = Field(default=1, description="Major version of this message's schema.")
    occurred_at: datetime = Field(default_factory=utcnow, description="When it happened (UTC).")
    packet_id: uuid.UUID | None = Field(default=None, description="The packet this message is about.")
    correlation_id: uuid.UUID | None = Field(
        default=None, description="Id shared by every message of one packet's journey (the packet id by default)."
    )
    causation_id: uuid.UUID | None = Field(default=None, description="message_id of the message that caused this one.")
    producer: str = Field(default="", description="Service that produced the message.")

    def model_post_init(self, __context: Any) -> None:
        # Type and version always come from the class, never from the caller.
        object.__setattr__(self, "type", self.TYPE)
        object.__setattr__(self, "schema_version", self.SCHEMA_VERSION)
        if self.correlation_id is None and self.packet_id is not None:
            object.__setattr__(self, "correlation_id", self.packet_id)

    def caused(self, cls: builtins.type[M], **fields: Any) -> M:
        """Build a message of `cls` caused by this one (same packet and correlation)."""
        fields.setdefault("packet_id", self.packet_id)
        fields.setdefault("correlation_id", self.correlation_id)
        fields.setdefault("causation_id", self.message_id)
        return cls(**fields)

    def routing_key(self) -> str:
        """The key it is published with (its TYPE; a transition adds its target state)."""
        return self.TYPE

    def amqp_headers(self) -> dict[str, str]:
        """Metadata mirrored into AMQP headers (trace headers are added by the publisher).

        `x-wiser-key` is what the consumers' consistent-hash exchanges hash: the packet id, so one
        packet's messages stay in one partition.
        """
        headers = {
            "x-wiser-key": str(self.packet_id or self.message_id),
            "message_id": str(self.message_id),
            "type": self.type,
            "schema_version": str(self.schema_version),
            "occurred_at": self.occurred_at.isoformat(),
            "producer": self.producer,
        }
        for key in ("packet_id", "correlation_id", "causation_id"):
            value = getattr(self, key)
            if value is not None:
                headers[key] = str(value)
        return headers


class Event(Message):
    KIND: ClassVar[str] = "event"


class Command(Message):
    KIND: ClassVar[str] = "command"
