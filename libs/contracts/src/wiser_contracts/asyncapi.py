"""Generate the AsyncAPI document of the whole bus from the contracts.

python -m wiser_contracts.asyncapi > docs/asyncapi.json   (make docs)
"""

import sys
from typing import Any

from faststream.rabbit import RabbitBroker, RabbitQueue
from faststream.specification import AsyncAPI

from . import topology
from .envelope import Message
from .messages import ALL_MESSAGES, PacketTransitioned


def _handler_for(message: type[Message]) -> Any:
    async def handler(body: Any) -> None:
        """Documented subscriber; the real handler lives in the consuming service."""

    handler.__annotations__["body"] = message

    handler.__doc__ = (message.__doc__ or "").strip()
    return handler


def build_broker() -> RabbitBroker:
    broker = RabbitBroker(description="WISeR prior-authorization message bus")
    for consumer in topology.CONSUMERS:
        for interest in consumer.interests:
            for exchange, key in ((topology.exchange_for(interest.message), k) for k in interest.binding_keys()):
                queue = RabbitQueue(f"{consumer.service}.p<NN>", routing_key=key, declare=False)
                broker.subscriber(
                    queue,
                    exchange,
                    title=f"{consumer.service}.{interest.handler}({key}):consume",
                    description=f"{consumer.service} receives `{key}` on its partition queues "
                    f"`{consumer.service}.p<NN>` (hashed by packet id). {(interest.message.__doc__ or '').strip()}",
                )(_handler_for(interest.message))
    for message in ALL_MESSAGES:
        key = f"{message.TYPE}.<to_state>" if message is PacketTransitioned else message.TYPE
        broker.publisher(
            routing_key=key,
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
