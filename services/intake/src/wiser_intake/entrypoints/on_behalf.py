"""Who a command acts for: the person in its gateway-signed `on_behalf_of` token, never its body's claims.

A command without a token, or with one that does not authorize it (another
signer, another packet or action, not valid when the command was issued, too
old), acts for nobody: an actor without roles, which the state machine refuses
(ROLE_FORBIDDEN), so nothing changes. `requested_by_roles` is never read.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TypeAlias

from wiser_contracts import messages as m
from wiser_servicekit.identity import CommandTokenRefused, Identity, IdentityVerifier

log = logging.getLogger("wiser.intake.on_behalf")

OnBehalfCommand: TypeAlias = m.WithdrawPacket | m.RevalidatePacket | m.RetryDelivery
NOBODY = m.Actor(type=m.ActorType.USER, id="unverified", roles=())


@dataclass(frozen=True)
class CommandAuthority:
    verifier: IdentityVerifier
    max_age: float  # seconds a person's command token keeps its authority after the gateway issued it

    def person(self, command: OnBehalfCommand) -> Identity:
        """The person the command acts for; CommandTokenRefused if its token does not authorize it."""
        return self.verifier.command(
            command.on_behalf_of,
            packet_id=command.packet_id,
            action=command.type,
            issued_at=command.occurred_at,
            max_age=self.max_age,
        )


_authority: CommandAuthority | None = None


def configure_command_authority(authority: CommandAuthority) -> None:
    """Install the process's command authority (the composition root does this once)."""
    global _authority
    _authority = authority


def command_actor(command: OnBehalfCommand) -> m.Actor:
    """The verified person as the command's actor, or an actor without roles when that cannot be proved."""
    try:
        if _authority is None:
            raise CommandTokenRefused("no command authority configured")
        person = _authority.person(command)
    except CommandTokenRefused as e:
        log.warning(
            "command refused: its on_behalf_of does not authorize it",
            extra={
                "message_id": str(command.message_id),
                "packet_id": str(command.packet_id),
                "type": command.type,
                "producer": command.producer,
                "reason": e.reason,
            },
        )
        return NOBODY
    return m.Actor(type=m.ActorType.USER, id=person.user_id, roles=tuple(sorted(person.roles)))
