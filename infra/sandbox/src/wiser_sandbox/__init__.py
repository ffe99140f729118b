"""Sandbox peers (HETS, NPPES, PECOS, MAC UTN) answering from shared/fixtures only.

``create_app(fixtures_dir=None)`` builds the FastAPI app; ``python -m wiser_sandbox`` serves it on
127.0.0.1:$WISER_SANDBOX_PORT (8009). Fixtures come from ``WISER_FIXTURES_DIR``, else ``shared/fixtures``
beside the repository root.

HETS ``POST /hets/270`` (raw X12 270 in, ``application/EDI-X12`` 271 out; a malformed 270 gets 400 with a
plain-text "999 R: ..." line). The 271 echoes the 270's TRN and BHT03, carries the fixture's name (upper case,
as HETS writes names), DOB and gender whatever the 270 said (the caller judges a mismatch), and:

- Part A / Part B with an effective date: ``EB*1**<HETS service types>*MA|MB`` + ``DTP*307*D8*<effective>``;
  without one: ``EB*6**30*MA|MB`` (so ``part_a_only`` has Part B inactive, ``medicaid_only`` both inactive).
- ``medicare_advantage``: also ``EB*R**30*HN`` + ``REF*18*<contract>`` + ``DTP*290*D8*<effective>`` +
  ``LS*2120 NM1*PRP*2*<PLAN NAME> LE*2120``.
- ``deceased``: also ``DTP*442*D8*<date of death>`` in 2100C.
- ``railroad``: the active Part A and Part B loops carry EB05 "RAILROAD MEDICARE" (the plan coverage
  description; MBIs of RRB beneficiaries look like anyone's, so the 271 is where it shows).
  ``wiser_x12.railroad(resp)`` reads it.
- ``medicaid`` fixtures: also ``EB*R**30*MC*MEDICAID`` (``wiser_x12.medicaid(resp)``).
- ``not_found`` or an MBI not in the fixtures: ``AAA*N**75*C`` in 2100C, the MBI echoed, no name/DOB/benefits.

NPPES ``GET /nppes/api/?version=2.1&number=<npi>``: the NPI Registry v2.1 shape; NPI-1 for practitioners,
NPI-2 for facilities, ``basic.status`` A, or D with ``basic.deactivation_date`` (the fixture's
``nppes_deactivation_date``, else 2025-01-01); unknown NPI: ``result_count`` 0; bad or missing version or
number: 200 with ``{"Errors": [...]}`` as the real API does. Taxonomies are a fixed reading of the fixture's
provider type / place of service (``peers.PRACTITIONER_TAXONOMY``, ``peers.FACILITY_TAXONOMY``).

PECOS ``GET /pecos/enrollments/{npi}``: ``{npi, enrolled, status APPROVED|NOT_ENROLLED, enrollment_type,
provider_type, state, ...}``; 404 for an NPI PECOS does not know.

MAC ``POST /mac/utn`` ``{packet_id, state, outcome}`` -> ``{"utn"}``: jurisdiction of the state (NJ JL, OH 15,
OK/TX JH, AZ/WA JF; any other state 422), then ``A``, the 2-digit year and 9 digits derived from a hash of
the packet id; the same packet id always gets the same UTN (per process, and across restarts within a year).

Faults ``POST /_sandbox/faults`` ``{peer: hets|nppes|pecos|mac, mode: down|slow|error, count?, delay_seconds?}``
(one fault per peer, a new one replaces it; each affected request uses up one of ``count``; no count = until
``DELETE /_sandbox/faults``; ``GET`` lists them with what remains):

- ``down``: 503, empty body, ``Connection: close``; served by ``python -m wiser_sandbox`` the connection is
  dropped instead (status line and headers announce a body, then the socket closes).
- ``slow``: wait ``delay_seconds`` (default 5) then answer normally.
- ``error``: 500 JSON; HETS instead answers 200 with a 271 ``AAA*N**42*R`` at 2000A (unable to respond now).

Health: ``GET /health/live``, ``GET /health/ready`` (never subject to faults).
"""
