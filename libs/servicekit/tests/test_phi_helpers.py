"""PHI helpers, pure: name blind indexes (prefix search without the name) and span scrubbing."""

from __future__ import annotations

from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.trace import Status, StatusCode

from wiser_servicekit.crypto import FieldCipher, name_words
from wiser_servicekit.telemetry import scrub

CIPHER = FieldCipher("lkmEalAzjmWSOdjF-clDIbA8T4j2ZobgKk8WjJDl7SY=", "test-index-key")


def finds(term: str, *names: str) -> bool:
    query = CIPHER.name_query(term)
    return bool(query) and set(query) <= set(CIPHER.name_index(*names))


def test_names_are_normalised_into_words() -> None:
    assert name_words("  Zoë O'Brien-Smith ") == ["zoe", "obrien", "smith"]
    assert name_words("MARY ann") == ["mary", "ann"]


def test_prefixes_of_three_or_more_and_whole_words_match_in_any_order() -> None:
    names = ("Mary-Ann", "Smithers")
    for term in ("smi", "SMITHERS", "mary smith", "Smithers, Mary", "ann", "mar smithe", "mary-ann"):
        assert finds(term, *names), term
    for term in ("sm", "mithers", "mary jones", "smithersx", "", "  "):
        assert not finds(term, *names), term


def test_tokens_depend_on_the_key_and_hold_no_name() -> None:
    other = FieldCipher("lkmEalAzjmWSOdjF-clDIbA8T4j2ZobgKk8WjJDl7SY=", "another-key")
    assert set(CIPHER.name_index("Quillon")).isdisjoint(other.name_index("Quillon"))
    assert all(isinstance(t, int) for t in CIPHER.name_index("Quillon"))


def test_free_text_round_trips_encrypted() -> None:
    token = CIPHER.encrypt_text("called Quillon at home")
    assert "Quillon" not in token and CIPHER.decrypt_text(token) == "called Quillon at home"


def test_a_scrubbed_span_keeps_no_query_and_no_exception_words() -> None:
    span = ReadableSpan(
        name="GET /api/v1/ops/packets?q=Quillon",
        attributes={
            "http.target": "/api/v1/ops/packets?q=Avery+Quillon",
            "http.url": "http://intake:8001/api/v1/ops/packets?q=9J06YC0QA26#x",
            "url.query": "q=Quillon",
            "http.route": "/api/v1/ops/packets",
            "http.status_code": 200,
        },
        events=[
            Event(
                "exception",
                {
                    "exception.type": "X12Error",
                    "exception.message": "value 'QUILLON*AVERY' contains the separator '*'",
                    "exception.stacktrace": "Traceback ... X12Error: value 'QUILLON*AVERY'",
                    "exception.escaped": "False",
                },
            )
        ],
        status=Status(StatusCode.ERROR, "X12Error: value 'QUILLON*AVERY'"),
    )
    clean = scrub(span)
    assert "quillon" not in clean.to_json().lower() and "9j06yc0qa26" not in clean.to_json().lower()
    assert clean.name == "GET /api/v1/ops/packets"
    assert clean.attributes == {
        "http.target": "/api/v1/ops/packets",
        "http.url": "http://intake:8001/api/v1/ops/packets",
        "http.route": "/api/v1/ops/packets",
        "http.status_code": 200,
    }
    assert clean.events[0].attributes == {"exception.type": "X12Error", "exception.escaped": "False"}
    assert clean.status.status_code == StatusCode.ERROR and clean.status.description == "X12Error"
