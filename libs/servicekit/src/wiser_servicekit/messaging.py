"""What a service runs on the bus, composed once: its publisher and outbox relay, and its partitioned
consumer with the leases that spread partitions over replicas (see `bus`, `outbox`, `consumer`)."""

from __future__ import annotations

import logging

from faststream.rabbit import RabbitBroker
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from wiser_contracts.topology import Consumer

from .broker_users import user_for
from .bus import Publisher
from .consumer import Handler, ParkLog, PartitionedConsumer, PartitionLeases, parked_table
from .outbox import OutboxRelay, asyncpg_dsn
from .settings import ServiceSettings

log = logging.getLogger("wiser.messaging")


def make_broker(amqp_url: str, service: str) -> RabbitBroker:
    """A FastStream broker (the gateway's per-replica live-update queue)."""
    return RabbitBroker(amqp_url, app_id=service, logger=None, graceful_timeout=10.0)


class ServiceBus:
    def __init__(
        self,
        service: str,
        settings: ServiceSettings,
        sessions: async_sessionmaker[AsyncSession],
        outbox: Table,
        consumer: Consumer | None = None,
        handlers: dict[str, Handler] | None = None,
        leases: tuple[Table, Table] | None = None,
    ) -> None:
        self.service = service
        self.settings = settings
        self.publisher = Publisher(settings.amqp_url, service)
        self.relay = OutboxRelay(
            service, sessions, outbox, self.publisher, listen_dsn=asyncpg_dsn(settings.database_url)
        )
        self.park_log: ParkLog | None = None
        self.consumer: PartitionedConsumer | None = None
        self.leases: PartitionLeases | None = None
        if consumer is not None:
            assert handlers is not None and leases is not None
            prefix = settings.broker_user_prefix
            self.park_log = ParkLog(sessions, parked_table(leases[0].metadata))  # in the leases' schema
            self.consumer = PartitionedConsumer(
                consumer,
                handlers,
                settings.amqp_url,
                concurrency=settings.consumer_concurrency,
                prefetch=settings.prefetch,
                retry_delays=tuple(settings.retry_delays),
                defer_budget=settings.defer_budget_seconds,
                producer_user=(lambda owner: user_for(owner, prefix)) if settings.verify_producers else None,
                park_log=self.park_log,
            )
            self.leases = PartitionLeases(
                self.consumer,
                sessions,
                *leases,
                ttl=settings.lease_ttl_seconds,
                interval=settings.lease_interval_seconds,
            )

    async def start(self) -> None:
        await self.publisher.connect()
        if self.settings.outbox_relay_enabled:
            self.relay.start()
        if self.consumer is not None and self.leases is not None:
            await self.consumer.connect()
            await self.leases.rebalance()
            self.leases.start()

    async def stop(self) -> None:
        if self.leases is not None:
            await self.leases.stop()
        await self.relay.stop()
        await self.publisher.close()

    async def ping(self, timeout: float = 2.0) -> bool:
        ok = await self.publisher.ping()
        if self.consumer is not None:
            ok = ok and await self.consumer.ping()
        return ok

    def wake_relay(self) -> None:
        self.relay.wake()


BUS_ACTIONS = ("list", "replay", "unrouted", "replay-unrouted", "outbox", "replay-outbox")


async def bus_command(settings: ServiceSettings, consumer: Consumer, outbox: Table, action: str) -> None:
    """`python -m wiser_<svc> dlq <action>`: parked messages (`list`, `replay`), `wiser.unrouted`
    (`unrouted`, `replay-unrouted`) and outbox rows the relay gave up on (`outbox`, `replay-outbox`)."""
    from .bus import dlq_command
    from .db import make_engine, make_sessionmaker
    from .outbox import parked_rows, replay_parked_rows

    if action in ("outbox", "replay-outbox"):
        engine = make_engine(settings.database_url, settings.db_schema, 2)
        sessions = make_sessionmaker(engine)
        try:
            if action == "outbox":
                for row in await parked_rows(sessions, outbox):
                    print(
                        f"{row['id']} {row['type']} packet={row['packet_id']} "
                        f"attempts={row['attempts']}: {row['last_error']}"
                    )
            else:
                print(f"outbox: {await replay_parked_rows(sessions, outbox)} rows given a fresh budget")
        finally:
            await engine.dispose()
        return
    await dlq_command(settings.amqp_admin_url or settings.amqp_url, consumer, action)
