"""Generate the AsyncAPI document of the whole bus from the contracts.

python -m wiser_contracts.asyncapi > docs/asyncapi.json   (make docs)
"""

import sys
from typing import Any

from faststream.rabbit import RabbitBroker
from faststream.specification import AsyncAPI

from . import topology
from .envelope import Message
from .messages import ALL_MESSAGES


def _handler_for(message: type[Message]) -> Any:
    async def handler(body: Any) -> None:
        """Documented subscriber; the real handler lives in the consuming service."""

    handler.__annotations__["body"] = message

    handler.__doc__ = (message.__doc__ or "").strip()
    return handler


def build_broker() -> RabbitBroker:
    broker = RabbitBroker(description="WISeR prior-authorization message bus")
    for sub in topology.ALL_SUBSCRIPTIONS:
        broker.subscriber(
            sub.queue(), sub.exchange, title=f"{sub.queue_name}:consume", description=sub.message.__doc__
        )(_handler_for(sub.message))
    for message in ALL_MESSAGES:
        broker.publisher(
            routing_key=message.TYPE,
            exchange=topology.exchange_for(message),
            title=f"{message.TYPE}:publish",
            description=(message.__doc__ or "").strip(),
            schema=message,
        )
    return broker


def document() -> str:
    spec = AsyncAPI(build_broker(), title="WISeR bus", version="1.0.0", schema_version="3.0.0")
    return spec.to_specification().to_json()


if __name__ == "__main__":
    sys.stdout.write(document() + "\n")
