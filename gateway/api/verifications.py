"""/v1/verifications: text a one-time code to a phone, then check what the person typed."""

from __future__ import annotations

from aiohttp import web

from gateway.platform import communities
from gateway.verification import numbers
from gateway.verification import codes as verification
from gateway.api import render, types
from gateway.api.contract import PHONE_ERRORS, Routes
from gateway.api.conversations import UNWANTED, refuse_if_unwanted
from gateway.errors import InvalidInput
from gateway.keys import LINE_TYPES, POOL, VERIFIER
from gateway.storage import communities as number_rows
from gateway.api.validation import path_id
from gateway.vocabulary import VerificationStatus

routes = Routes("verifications")


@routes.post("/v1/verifications", body=types.NewVerification, answer=types.StartedVerification, status=201,
             errors=("community_not_found", *PHONE_ERRORS, "too_many_codes", *UNWANTED))
async def start(request: web.Request, body: types.NewVerification) -> types.StartedVerification:
    """Text a one-time code to a phone"""
    pool = request.app[POOL]
    community = await communities.find(pool, body.community_id)
    checked = await numbers.check(request.app[LINE_TYPES], body.phone, field="phone",
                                  policy=numbers.Policy.of(community))
    if await number_rows.find_number_owner(pool, phone=checked.phone) is not None:
        # A code from our number to our number comes back in as a text to the gateway (out of session, auto-reply).
        raise InvalidInput("invalid_number", "phone: one of the gateway's own numbers")
    started = await request.app[VERIFIER].start(community, checked.phone)
    refuse_if_unwanted(started.message)
    row = await verification.get(pool, started.verification_id)
    return render.verification(row, types.StartedVerification, line_type=checked.line_type)


@routes.get("/v1/verifications/{id}", answer=types.Verification, errors=("verification_not_found",))
async def get(request: web.Request) -> types.Verification:
    """A verification (a pending one past its expiry shows as expired)"""
    return render.verification(await verification.get(request.app[POOL], path_id(request)))


@routes.post("/v1/verifications/{id}/check", body=types.Code, answer=types.CheckResult,
             errors=("verification_not_found", "verification_failed", "verification_not_pending"))
async def check(request: web.Request, body: types.Code) -> types.CheckResult:
    """Check the code a person typed
    Answers approved, pending (with attempts_left), failed or expired."""
    result = await request.app[VERIFIER].check(path_id(request), body.code.strip())
    if result.status == VerificationStatus.PENDING:
        return types.CheckResult(status=result.status, attempts_left=result.attempts_left)
    return types.CheckResult(status=result.status)
