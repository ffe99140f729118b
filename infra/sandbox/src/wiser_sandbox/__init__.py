"""Sandbox peers (HETS, NPPES, PECOS, MAC UTN) answering from shared/fixtures only.

``create_app(fixtures_dir=None)`` builds the FastAPI app; ``python -m wiser_sandbox`` serves it on
127.0.0.1:$WISER_SANDBOX_PORT (8009). Fixtures come from ``WISER_FIXTURES_DIR``, else ``shared/fixtures``
beside the repository root.

HETS ``POST /hets/270`` (raw X12 270 in, ``application/EDI-X12`` 271 out; a malformed 270 gets 400 with a
plain-text "999 R: ..." line). The 271 echoes the 270's TRN and BHT03 and answers as HETS does:

- 2100B (information receiver) NPI not a registered receiver (``hets.REGISTERED_RECEIVERS``: the review
  organisation, 1234567893, or the comma-separated ``WISER_SANDBOX_HETS_RECEIVER_NPIS``): ``AAA*N**43*N`` in
  2100B, no subscriber data.
- MBI not of the MBI pattern: ``AAA*N**72*C``; unknown or a ``not_found`` fixture: ``AAA*N**75*C`` (2100C).
- Dates of service (DTP*291 D8, or an RD8 span) outside the inquiry window (365 days back, 122 ahead of
  today): ``AAA*N**63*C``.
- First or last name not the fixture's (case and spacing aside): ``AAA*N**73*C``; date of birth not the
  fixture's: ``AAA*N**71*C`` (both when both). A rejected 271 echoes the MBI only: never the name on file.
- Otherwise the fixture's name (upper case), DOB and gender, and:

- Part A / Part B with an effective date: ``EB*1**<HETS service types>*MA|MB`` + ``DTP*307*D8*<effective>``;
  without one: ``EB*6**30*MA|MB`` (so ``part_a_only`` has Part B inactive, ``medicaid_only`` both inactive).
- ``medicare_advantage``: also ``EB*R**30*HN`` + ``REF*18*<contract>`` + ``DTP*290*D8*<effective>`` +
  ``LS*2120 NM1*PRP*2*<PLAN NAME> LE*2120``.
- ``deceased``: also ``DTP*442*D8*<date of death>`` in 2100C.
- ``railroad``: the active Part A and Part B loops carry EB05 "RAILROAD MEDICARE" (the plan coverage
  description; MBIs of RRB beneficiaries look like anyone's, so the 271 is where it shows).
  ``wiser_x12.railroad(resp)`` reads it.
- ``medicaid`` fixtures: also ``EB*R**30*MC*MEDICAID`` (``wiser_x12.medicaid(resp)``).

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

Faults ``POST /_sandbox/faults`` ``{peer: hets|nppes|pecos|mac, mode: down|slow|error|reject, count?,
delay_seconds?, aaa_loop?, aaa_code?}``
(one fault per peer, a new one replaces it; each affected request uses up one of ``count``; no count = until
``DELETE /_sandbox/faults``; ``GET`` lists them with what remains):

- ``down``: 503, empty body, ``Connection: close``; served by ``python -m wiser_sandbox`` the connection is
  dropped instead (status line and headers announce a body, then the socket closes).
- ``slow``: wait ``delay_seconds`` (default 5) then answer normally.
- ``error``: 500 JSON; HETS instead answers 200 with a 271 ``AAA*N**42*R`` at 2000A (unable to respond now).
- ``reject`` (HETS only): a 271 with ``AAA*N**<aaa_code>*N`` at ``aaa_loop`` (2000A, 2100A or 2100B; default
  2000A 79): a source-level rejection of our submitter set-up (41, 43, 79, T4...), no subscriber data.

Outbound's providers (fax REST, print-and-mail letters API, esMD PA responses, the email provider's message log,
and an SMTP server with STARTTLS on ``$WISER_SANDBOX_SMTP_PORT``): providers.py and smtp.py; faults apply to
``fax``, ``mail``, ``esmd`` and ``email`` (SMTP answers 421) as to the others.

Health: ``GET /health/live``, ``GET /health/ready`` (never subject to faults).
"""
