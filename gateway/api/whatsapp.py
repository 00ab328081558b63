"""/v1/communities/{id}/whatsapp/...: the community's re-engagement template, and a phone's channel and opt-in
(README "WhatsApp")."""

from __future__ import annotations

from aiohttp import web

from gateway.api import whatsapp_types as wt
from gateway.api.contract import Routes
from gateway.api.validation import path_id
from gateway.errors import Conflict, InvalidInput, NotFound
from gateway.keys import CARRIERS, POOL, WHATSAPP
from gateway.messaging import whatsapp
from gateway.platform import communities
from gateway.relay.phones import mask, to_e164
from gateway.storage import whatsapp as storage

import structlog

log = structlog.get_logger(__name__)
routes = Routes("whatsapp")


@routes.route("PUT", "/v1/communities/{id}/whatsapp/template", body=wt.WhatsAppTemplate, answer=wt.WhatsAppTemplate,
            errors=("community_not_found",))
async def set_template(request: web.Request, body: wt.WhatsAppTemplate) -> wt.WhatsAppTemplate:
    """Set the community's WhatsApp re-engagement template
    Sent once to a WhatsApp participant whose 24-hour window is closed when a text to them is held; the text goes
    when they answer. template_id is in the format of the carriers of the community's numbers: a Content SID for
    some, WhatsApp's template name for others (422 invalid_field otherwise)."""
    community_id = path_id(request)
    community = await communities.find(request.app[POOL], community_id)
    if problem := whatsapp.template_problem(request.app[CARRIERS], community.number_carriers, body.template_id):
        raise InvalidInput("invalid_field", f"template_id: {problem}")
    template = {"template_id": body.template_id, "variables": dict(body.variables), "preview": body.preview}
    if not await storage.set_template(request.app[POOL], community_id=community_id, template=template):
        raise NotFound("community_not_found", f"no community {community_id}")
    log.info("whatsapp_template_set", community_id=community_id)
    await whatsapp.template_set(request.app[WHATSAPP], community_id=community_id)
    return body


@routes.route("PUT", "/v1/communities/{id}/whatsapp/contacts/{phone}", body=wt.WhatsAppContact, answer=wt.RecordedContact,
            errors=("community_not_found", "invalid_number", "community_has_no_numbers"))
async def record_contact(request: web.Request, body: wt.WhatsAppContact) -> wt.RecordedContact:
    """Record a phone's channel and WhatsApp opt-in with the community
    For each of the community's numbers: channel whatsapp sends them WhatsApp (opted_in true: they agreed to
    business-initiated messages; without it, nothing goes to them until they write); sms sends SMS again."""
    pool = request.app[POOL]
    community = await communities.find(pool, path_id(request))
    phone = to_e164(request.match_info["phone"], field="phone", region=community.default_region)
    rows = await storage.record_contact(pool, community_id=community.id, phone=phone, channel=body.channel,
                                        opted_in=body.opted_in)
    if not rows:
        raise Conflict("community_has_no_numbers", "the community owns no phone numbers")
    await whatsapp.recorded(request.app[WHATSAPP], community_id=community.id, phone=phone, channel=body.channel,
                            opted_in=body.opted_in)
    log.info("whatsapp_contact_recorded", community_id=community.id, phone=mask(phone), channel=body.channel.value,
             opted_in=body.opted_in)
    return wt.RecordedContact(phone=phone, numbers=[
        wt.ContactOnNumber(number=row.number, channel=row.channel, opted_in=row.opted_in,
                           window_open=row.window_open) for row in rows])
