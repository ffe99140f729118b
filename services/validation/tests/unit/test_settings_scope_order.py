"""DOMAIN.md's changed rows: served states as a setting, inpatient and emergency settings out of scope, and
duplicates judged in intake's receipt order whatever order validation runs in."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from wiser_validation.config import Settings
from wiser_validation.domain import History, OpenRequest, PacketFacts
from wiser_validation.domain import checks as c
from wiser_validation.reference import ReferenceSet

Facts = Callable[..., PacketFacts]

# ------------------------------------------------------------------ served states


def test_by_default_every_wiser_state_is_served(facts: Facts, ref: ReferenceSet) -> None:
    assert c.served_states(ref) == {"NJ", "OH", "OK", "TX", "AZ", "WA"}
    assert all(c.check_jurisdiction(facts(state=s), ref) == [] for s in ("NJ", "OH", "OK", "TX", "AZ", "WA"))


def test_a_wiser_state_this_deployment_does_not_serve_is_the_wrong_jurisdiction(
    facts: Facts, ref: ReferenceSet
) -> None:
    served = {"NJ", "OH"}
    assert c.check_jurisdiction(facts(state="OH"), ref, served) == []
    (finding,) = c.check_jurisdiction(facts(state="TX"), ref, served)
    assert (finding.code, finding.severity) == ("WRONG_JURISDICTION", "dismiss")
    assert "served: NJ, OH" in finding.message


def test_a_served_state_outside_the_wiser_states_is_never_served(facts: Facts, ref: ReferenceSet) -> None:
    assert c.served_states(ref, {"nj", "NY"}) == {"NJ"}
    assert [f.code for f in c.check_jurisdiction(facts(state="NY"), ref, {"NJ", "NY"})] == ["WRONG_JURISDICTION"]


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("WISER_VALIDATION_SERVED_STATES", "WISER_VALIDATION_INFORMATION_RECEIVER_NPI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WISER_ENV", "dev")
    return monkeypatch


def test_the_served_states_setting(env: pytest.MonkeyPatch) -> None:
    monkeypatch = env
    assert Settings().served() is None
    monkeypatch.setenv("WISER_VALIDATION_SERVED_STATES", " nj, oh ")
    assert Settings().served() == {"NJ", "OH"}
    monkeypatch.setenv("WISER_VALIDATION_SERVED_STATES", "NJ,New Jersey")
    with pytest.raises(ValidationError):
        Settings()


def test_the_information_receiver_npi_setting_must_be_a_valid_npi(env: pytest.MonkeyPatch) -> None:
    monkeypatch = env
    assert Settings().information_receiver_npi == "1234567893"
    monkeypatch.setenv("WISER_VALIDATION_INFORMATION_RECEIVER_NPI", "1234567890")
    with pytest.raises(ValidationError):
        Settings()


def test_the_sandboxs_receiver_npi_is_refused_in_production(env: pytest.MonkeyPatch) -> None:
    settings = Settings()
    with pytest.raises(ValueError, match="INFORMATION_RECEIVER_NPI"):
        Settings._real_receiver(settings.model_copy(update={"env": "prod"}))


# ------------------------------------------------------------------ inpatient and emergency settings


@pytest.mark.parametrize(("pos", "what"), [("21", "inpatient"), ("23", "emergency")])
def test_inpatient_and_emergency_department_settings_are_not_wiser_services(
    facts: Facts, ref: ReferenceSet, pos: str, what: str
) -> None:
    findings = c.check_service_scope(facts(place_of_service=pos), ref)
    dismissal = [f for f in findings if f.severity == "dismiss"]
    assert [(f.code, f.field) for f in dismissal] == [("NON_WISER_SERVICE", "place_of_service")]
    assert what in dismissal[0].message and f"POS {pos}" in dismissal[0].message
    assert [f.field for f in findings if f.severity == "info"] == ["services[0].code"]


@pytest.mark.parametrize("pos", ["11", "12", "19", "22", "24"])
def test_the_sites_of_service_of_the_model_stay_in_scope(facts: Facts, ref: ReferenceSet, pos: str) -> None:
    assert c.check_service_scope(facts(place_of_service=pos), ref) == []


# ------------------------------------------------------------------ duplicates in receipt order

RECEIVED = datetime(2026, 5, 1, 14, 30, tzinfo=UTC)


def other(received_at: datetime | None, tracking_number: str = "WSR-0000050", packet_id: str = "pkt-0") -> OpenRequest:
    return OpenRequest("1151056334", "9J06YC0QA26", "sacral_nerve_stimulation", packet_id, received_at, tracking_number)


def ours(facts: Facts) -> PacketFacts:
    return facts(received_at=RECEIVED.isoformat(), tracking_number="WSR-0000100")


def test_the_packets_receipt_order_is_read_from_intake(facts: Facts) -> None:
    assert ours(facts).receipt_order == (RECEIVED, "WSR-0000100")


@pytest.mark.parametrize(
    ("received_at", "tracking_number", "duplicate"),
    [
        (RECEIVED - timedelta(seconds=1), "WSR-0000900", True),  # received earlier
        (RECEIVED, "WSR-0000050", True),  # same moment, earlier tracking number
        (RECEIVED, "WSR-0000200", False),  # same moment, later tracking number
        (RECEIVED + timedelta(seconds=1), "WSR-0000001", False),  # received later, even if validated first
    ],
)
def test_only_a_request_received_earlier_makes_this_one_a_duplicate(
    facts: Facts, ref: ReferenceSet, received_at: datetime, tracking_number: str, duplicate: bool
) -> None:
    history = History(open_requests=(other(received_at, tracking_number),))
    codes = [f.code for f in c.check_duplicate(ours(facts), history, ref)]
    assert codes == (["DUPLICATE_REQUEST"] if duplicate else [])


def test_whatever_order_they_are_validated_in_only_the_later_one_is_the_duplicate(
    facts: Facts, ref: ReferenceSet
) -> None:
    first = facts(packet_id="pkt-a", received_at=RECEIVED.isoformat(), tracking_number="WSR-0000001")
    second = facts(
        packet_id="pkt-b", received_at=(RECEIVED + timedelta(minutes=1)).isoformat(), tracking_number="WSR-0000002"
    )

    def as_open(p: PacketFacts) -> OpenRequest:
        return other(p.received_at, p.tracking_number, p.packet_id)

    both = History(open_requests=(as_open(first), as_open(second)))
    for order in ((first, second), (second, first)):
        verdicts = {p.packet_id: [f.code for f in c.check_duplicate(p, both, ref)] for p in order}
        assert verdicts == {"pkt-a": [], "pkt-b": ["DUPLICATE_REQUEST"]}
