"""wiser_contracts: the one shared language of the WISeR services."""

from . import messages, topology
from .envelope import Command, Event, Message

__all__ = ["Command", "Event", "Message", "messages", "topology"]
