"""A command made on behalf of a person acts only with that person's gateway-signed token, bound to it.

The body's `requested_by_roles` is never believed: intake reads the actor from
`on_behalf_of`, which the gateway signs for one packet and one action.
"""

from __future__ import annotations

import uuid

from wiser_contracts import messages as m
from wiser_servicekit.identity import issue_command_token
from wiser_servicekit.testing import BusProbe

from .conftest import PRIVATE_KEYS
from .test_lifecycle import Ctx, _packet


def withdraw(pid: uuid.UUID, token: str | None) -> m.WithdrawPacket:
    return m.WithdrawPacket(
        packet_id=pid,
        producer="gateway",
        requested_by="sup-1",
        requested_by_roles=("supervisor",),
        reason="duplicate",
        on_behalf_of=token,
    )


async def test_a_withdrawal_needs_a_supervisors_token_bound_to_that_packet_and_action(
    system, api, producer, partner_headers
) -> None:
    ctx = Ctx(system, api, producer, partner_headers)
    created = await api.post("/api/v1/packets", headers=partner_headers, json=_packet())
    pid = uuid.UUID(created.json()["packet_id"])
    before = await ctx.wait(pid, m.PacketState.VALIDATING)
    action = m.WithdrawPacket.TYPE
    refused = {
        "no token, roles claimed in the body": withdraw(pid, None),
        "a token bound to another packet": withdraw(pid, system.on_behalf(uuid.uuid4(), action, "supervisor")),
        "a token bound to another action": withdraw(pid, system.on_behalf(pid, m.RevalidatePacket.TYPE, "supervisor")),
        "validation's key claiming supervisor": withdraw(
            pid,
            issue_command_token(
                PRIVATE_KEYS["validation"], "sup-1", ["supervisor"], pid, action, issuer="wiser-validation"
            ),
        ),
        "a person who is not a supervisor": withdraw(pid, system.on_behalf(pid, action, "ops_tier1")),
    }
    async with BusProbe(system.infra.amqp_url, ("intake.transition.rejected",)) as probe:
        for message in refused.values():
            await producer.publish(message)
        rejected = await probe.wait_for("intake.transition.rejected", pid, count=len(refused))
    assert {r["trigger_message_id"] for r in rejected} == {str(msg.message_id) for msg in refused.values()}
    assert {r["code"] for r in rejected} == {"ROLE_FORBIDDEN"}
    after = await ctx.detail(pid)
    assert (after["state"], after["version"], len(after["history"])) == (
        before["state"],
        before["version"],
        len(before["history"]),
    )

    await producer.publish(withdraw(pid, system.on_behalf(pid, action, "supervisor", user="sup-9")))
    closed = await ctx.wait(pid, m.PacketState.CLOSED)
    assert closed["closure_reason"] == "withdrawn"
    assert (closed["history"][-1]["transition"], closed["history"][-1]["actor_id"]) == ("T19", "sup-9")
