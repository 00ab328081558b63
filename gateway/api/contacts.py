"""/v1/communities/{id}/contacts: contacts with a name, merge fields, tags and the SMS preference; the list, the
CSV export and the CSV import as streams (README "Contacts"). Under /v1/communities/{id}, so a token limited to some
communities reaches exactly their contacts (gateway/api/scope.py)."""

from __future__ import annotations

import asyncio

import structlog

from aiohttp import web
from msgspec import UNSET

from gateway.api import contact_types as ct
from gateway.api.contract import PHONE_ERRORS, Routes
from gateway.api.validation import path_id
from gateway.errors import Conflict, InvalidInput, NotFound, TooLarge, UnsupportedMedia
from gateway.keys import CONFIG, LINE_TYPES, POOL
from gateway.ops.middleware import error_body
from gateway.platform import communities, contact_import
from gateway.relay import contact_data
from gateway.relay.contact_data import Change
from gateway.relay.phones import mask, to_e164
from gateway.storage import communities as community_rows, contacts as rows
from gateway.storage.communities import Community
from gateway.storage.contacts import Contact
from gateway.verification import numbers

log = structlog.get_logger(__name__)
routes = Routes("contacts")
ONE = "/v1/communities/{id}/contacts/{phone}"
CSV = {"text/csv": {"schema": {"type": "string"}}}
RECORDED = ("phone", "preference", "preference_changed_at", "preference_keyword", "preference_source", "dnd",
            "dnd_reason", "dnd_at", "first_inbound_at", "marketing_preference", "name", "fields", "tags", "created_at",
            "updated_at")


def render(contact: Contact) -> ct.ContactWithData:
    return ct.ContactWithData(**{name: getattr(contact, name) for name in RECORDED if name != "tags"},
                              tags=list(contact.tags))


@routes.get("/v1/communities/{id}/contacts", query=ct.ContactsQuery, answer=ct.ContactList, content=CSV,
            errors=("community_not_found",))
async def contacts(request: web.Request, query: ct.ContactsQuery) -> ct.ContactList | web.StreamResponse:
    """Contacts, their data and SMS preference
    ?preference= and ?tag= filter, after= pages (by phone). Accept: text/csv exports every one as a stream (no row
    cap): phone, name, preference, tags (joined with ';'), what the gateway recorded, then a field.<name> column per
    merge field (?fields=first_name,reward_amount names them; default: every field the contacts have)."""
    pool = request.app[POOL]
    community = await communities.find(pool, path_id(request))
    if "text/csv" in request.headers.get("Accept", ""):
        return await _export(request, community, query)
    if query.fields is not None:
        raise InvalidInput("invalid_query", "fields: only for the CSV export (Accept: text/csv)")
    page = await rows.list_contacts(pool, community_id=community.id, preference=query.preference, after=query.after,
                                    limit=query.limit, tag=query.tag)
    return ct.ContactList(contacts=[render(contact) for contact in page])


async def _export(request: web.Request, community: Community, query: ct.ContactsQuery) -> web.StreamResponse:
    pool = request.app[POOL]
    if query.fields is None:
        names = await rows.contact_field_names(pool, community_id=community.id, preference=query.preference,
                                               tag=query.tag)
    else:
        names = [name.strip() for name in query.fields.split(",") if name.strip()]
        for name in names:
            contact_data.check_field_name(name, "fields")
        names = list(dict.fromkeys(names))
    response = web.StreamResponse(headers={"Content-Disposition": "attachment; filename=contacts.csv"})
    response.content_type, response.charset = "text/csv", "utf-8"
    await response.prepare(request)

    async def write(text: str) -> None:
        await response.write(text.encode())
    try:
        written = await contact_import.export_csv(pool, write, community_id=community.id, preference=query.preference,
                                                  tag=query.tag, after=query.after, field_names=names)
    except Exception:
        # The answer has begun: no error body can follow. The connection is cut before the chunked body's end, so
        # the client sees a broken download, never a short file that looks whole.
        log.exception("contacts_export_failed", community_id=community.id)
        request.transport.close()
        return response
    await response.write_eof()
    log.info("contacts_exported", community_id=community.id, rows=written)
    return response


async def _community_phone(request: web.Request, judged: bool) -> tuple[Community, str]:
    """The community and the phone in the path: judged as a phone to be texted (the line-type lookup too; none of
    the gateway's own numbers, as a send refuses them), or only read (to find one)."""
    community = await communities.find(request.app[POOL], path_id(request))
    raw = request.match_info["phone"]
    if judged:
        checked = await numbers.check(request.app[LINE_TYPES], raw, field="phone", policy=numbers.Policy.of(community))
        if await community_rows.find_number_owner(request.app[POOL], phone=checked.phone) is not None:
            raise InvalidInput("invalid_number", f"phone: {contact_import.OWN_NUMBER}")
        return community, checked.phone
    return community, to_e164(raw, field="phone", region=community.default_region)


async def _stored(request: web.Request, community: Community, change: Change, replace: bool) -> ct.ContactWithData:
    pool = request.app[POOL]
    for _ in range(2):  # created by another request meanwhile: the second run updates it
        result = await contact_import.upsert(pool, community.id, [change], replace_fields=replace)
        if change.phone not in result.lost:
            break
    if change.phone in result.refused:
        raise Conflict("contact_opted_out", contact_import.STOPPED)
    return render(await rows.find_contact(pool, community_id=community.id, phone=change.phone))


@routes.route("PUT", ONE, body=ct.ContactData, answer=ct.ContactWithData,
              errors=("community_not_found", *PHONE_ERRORS, "contact_opted_out"))
async def put(request: web.Request, body: ct.ContactData) -> ct.ContactWithData:
    """Create or replace a contact's data
    The name, fields and tags as given (left out: removed); the preference, when given, is recorded as the platform's
    own capture (preference_source "api"). An opt-in of a contact who texted STOP is 409 contact_opted_out; one of
    the gateway's own numbers is 422 invalid_number (it is no contact)."""
    community, phone = await _community_phone(request, judged=True)
    change = Change(phone, contact_data.check_name(body.name or ""), contact_data.check_fields(body.fields),
                    contact_data.check_tags(body.tags), body.preference, body.marketing_preference)
    return await _stored(request, community, change, replace=True)


@routes.patch(ONE, body=ct.ContactChange, answer=ct.ContactWithData,
              errors=("community_not_found", *PHONE_ERRORS, "contact_opted_out"))
async def patch(request: web.Request, body: ct.ContactChange) -> ct.ContactWithData:
    """Change some of a contact's data (creating the contact if needed)
    Fields merge: a field set to null is removed. Tags, when given, replace the tags."""
    community, phone = await _community_phone(request, judged=True)
    change = Change(
        phone, None if body.name is UNSET else contact_data.check_name(body.name or ""),
        None if body.fields is UNSET else contact_data.check_fields(body.fields, removable=True),
        None if body.tags is UNSET else contact_data.check_tags(body.tags),
        None if body.preference is UNSET else body.preference,
        None if body.marketing_preference is UNSET else body.marketing_preference)
    return await _stored(request, community, change, replace=False)


@routes.get(ONE, answer=ct.ContactWithData, errors=("community_not_found", "invalid_number", "contact_not_found"))
async def get(request: web.Request) -> ct.ContactWithData:
    """One contact"""
    community, phone = await _community_phone(request, judged=False)
    found = await rows.find_contact(request.app[POOL], community_id=community.id, phone=phone)
    if found is None:
        raise NotFound("contact_not_found", f"community {community.id} has no contact {mask(phone)}")
    return render(found)


@routes.post("/v1/communities/{id}/contacts/import", answer=ct.ImportResult, streamed=CSV,
             errors=("community_not_found", "invalid_csv", "body_too_large", "unsupported_media_type",
                     "body_timeout"))
async def import_contacts(request: web.Request) -> ct.ImportResult | web.Response:
    """Import contacts from CSV, as a stream
    Columns: phone (required), name, preference (opted_in, opted_out; empty: unchanged), tags (joined with ';'),
    marketing_preference (as preference), and any other column a merge field (field.first_name or first_name); an
    export imports back. A column left out leaves that part as it is; an empty cell removes a name, field or the tags.
    Stored 1,000 rows at a time; bad rows (among them one of the gateway's own numbers, or text beyond the
    header's columns) are counted and listed (the first 100), not stored, and do not stop the file."""
    settings = request.app[CONFIG].contacts
    community = await communities.find(request.app[POOL], path_id(request))
    if request.content_type != "text/csv":
        raise UnsupportedMedia("unsupported_media_type", "send the contacts as text/csv")
    if (request.content_length or 0) > settings.import_max_bytes:
        raise TooLarge("body_too_large", f"the CSV is over contacts.import_max_bytes ({settings.import_max_bytes} "
                                         "bytes): split the file")
    policy = numbers.Policy.of(community)
    try:
        async with asyncio.timeout(settings.import_timeout):
            done = await contact_import.import_csv(
                request.app[POOL], request.content.iter_any(), community_id=community.id,
                max_bytes=settings.import_max_bytes,
                phone_of=lambda raw: numbers.check_offline(raw, field="phone", policy=policy))
    except TimeoutError:
        response = error_body(408, "body_timeout", f"the import took longer than contacts.import_timeout "
                                                   f"({settings.import_timeout:g} s); the rows before are stored")
        response.force_close()
        return response
    return ct.ImportResult(rows=done.rows, created=done.created, updated=done.updated, unchanged=done.unchanged,
                           rejected=done.rejected,
                           rejections=[ct.Rejection(row=row, reason=reason) for row, reason in done.rejections])
