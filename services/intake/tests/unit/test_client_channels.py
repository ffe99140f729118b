"""Each partner client is registered for one intake channel (PARTNER_API.md); the rest are `api`."""

from wiser_intake.config import Settings


def test_a_client_named_for_a_channel_submits_on_it_and_any_other_is_api() -> None:
    s = Settings(env="test", client_channels="ehr-fax=fax, gw-1=esmd")
    assert s.channel_of("ehr-fax") == "fax" and s.channel_of("gw-1") == "esmd"
    assert s.channel_of("someone-else") == "api"
    dev = Settings(env="test")
    assert [dev.channel_of(f"demo-{c}") for c in ("esmd", "fax", "mail", "portal")] == ["esmd", "fax", "mail", "portal"]
