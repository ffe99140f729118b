"""wiser_gateway: not built yet. Its subscriptions are declared in wiser_contracts.topology; nothing here runs."""
