"""Outbound: delivers approved letters on the packet's channel (and the beneficiary copy by mail) and partner
webhooks, with retries, confirmations and a dead letter for what cannot be delivered."""
