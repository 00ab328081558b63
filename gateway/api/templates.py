"""/v1/communities/{id}/templates: message templates, their review, preview and test send (README "Templates").
Under /v1/communities/{id}, so a token limited to some communities reaches exactly their templates."""

from __future__ import annotations

from aiohttp import web
from msgspec import UNSET

from gateway.api import render, types
from gateway.api import template_types as tt
from gateway.api.contract import PHONE_ERRORS, Routes
from gateway.api.conversations import refuse_if_unwanted
from gateway.api.scope import caller
from gateway.api.validation import ascii_number, path_id
from gateway.errors import NotFound, NotPermitted
from gateway.keys import DISPATCHER, LINE_TYPES, POOL
from gateway.platform import communities, templates
from gateway.relay import contact_data
from gateway.relay import templates as rules
from gateway.storage import messages, templates as rows
from gateway.storage.templates import Template
from gateway.verification import numbers
from gateway.vocabulary import TemplateCategory

routes = Routes("templates")
ALL = "/v1/communities/{id}/templates"
ONE = ALL + "/{template_id}"
FOUND = ("community_not_found", "template_not_found")


def render_template(t: Template) -> tt.Template:
    return tt.Template(id=t.id, community_id=t.community_id, name=t.name, category=t.category, body=t.body,
                       fields=rules.merge_fields(t.body), state=t.state, review_note=t.review_note,
                       reviewed_by=t.reviewed_by, reviewed_at=t.reviewed_at, created_at=t.created_at,
                       updated_at=t.updated_at)


def _template_id(request: web.Request) -> int:
    number = ascii_number(request.match_info["template_id"])
    if number is None or number >= 2 ** 62:
        raise NotFound("template_not_found", "no such template")
    return number


async def _found(request: web.Request) -> Template:
    community = await communities.find(request.app[POOL], path_id(request))
    return await templates.find(request.app[POOL], community.id, _template_id(request))


@routes.post(ALL, body=tt.NewTemplate, answer=tt.Template, status=201, errors=("community_not_found",
                                                                                "template_name_taken"))
async def create(request: web.Request, body: tt.NewTemplate) -> tt.Template:
    """Create a template (a draft)"""
    community = await communities.find(request.app[POOL], path_id(request))
    return render_template(await templates.create(request.app[POOL], community.id, body.name,
                                                  TemplateCategory(body.category), body.body))


@routes.get(ALL, query=tt.TemplatesQuery, answer=tt.Templates, errors=("community_not_found",))
async def list_templates(request: web.Request, query: tt.TemplatesQuery) -> tt.Templates:
    """A community's templates, by id
    ?state= filters; after= (the last id of the page before) pages."""
    community = await communities.find(request.app[POOL], path_id(request))
    found = await rows.list_templates(request.app[POOL], community_id=community.id, state=query.state,
                                      after=query.after, limit=query.limit)
    return tt.Templates(templates=[render_template(t) for t in found])


@routes.get(ONE, answer=tt.Template, errors=FOUND)
async def get(request: web.Request) -> tt.Template:
    """One template"""
    return render_template(await _found(request))


@routes.patch(ONE, body=tt.TemplateChange, answer=tt.Template, errors=(*FOUND, "template_name_taken"))
async def update(request: web.Request, body: tt.TemplateChange) -> tt.Template:
    """Change a template
    A new body or category takes it back to draft: it must be submitted and approved again. A field given as null
    is refused (422 invalid_field): a template always has a name, a category and a body."""
    community = await communities.find(request.app[POOL], path_id(request))
    return render_template(await templates.update(
        request.app[POOL], community.id, _template_id(request), None if body.name is UNSET else body.name,
        None if body.category is UNSET else TemplateCategory(body.category), None if body.body is UNSET else body.body))


@routes.delete(ONE, status=204, errors=(*FOUND, "template_in_use"))
async def delete(request: web.Request) -> None:
    """Delete a template no message was sent from"""
    community = await communities.find(request.app[POOL], path_id(request))
    await templates.delete(request.app[POOL], community.id, _template_id(request))


@routes.post(ONE + "/submit", answer=tt.Template, errors=(*FOUND, "wrong_template_state"))
async def submit(request: web.Request) -> tt.Template:
    """Submit a draft (or rejected) template for review"""
    return await _review(request, "submit", None)


@routes.post(ONE + "/approve", body=tt.Review, optional_body=True, answer=tt.Template,
             errors=(*FOUND, "wrong_template_state", "not_a_reviewer"))
async def approve(request: web.Request, body: tt.Review) -> tt.Template:
    """Approve a submitted template (a token with the reviewer right)
    Only an approved template sends (triggered sends, broadcasts)."""
    return await _review(request, "approve", body.note)


@routes.post(ONE + "/reject", body=tt.Review, optional_body=True, answer=tt.Template,
             errors=(*FOUND, "wrong_template_state", "not_a_reviewer"))
async def reject(request: web.Request, body: tt.Review) -> tt.Template:
    """Reject a submitted template, saying why (a token with the reviewer right)"""
    return await _review(request, "reject", body.note)


async def _review(request: web.Request, action: str, note: str | None) -> tt.Template:
    token = caller(request)
    if action != "submit" and token is not None and not token.reviewer:
        raise NotPermitted("not_a_reviewer", f"the API token {token.name!r} may not review templates (a token with "
                                             "reviewer = true may: README \"Templates\")")
    community = await communities.find(request.app[POOL], path_id(request))
    return render_template(await templates.review(request.app[POOL], community.id, _template_id(request), action,
                                                  token, note))


def _preview(body: str, data: dict, identification: str) -> tt.Preview:
    shown = rules.preview(body, contact_data.check_fields(data, "data"), identification)

    def billed(text: rules.Text) -> tt.Billed:
        return tt.Billed(text=text.text, characters=text.characters, segments=text.segments, encoding=text.encoding,
                         non_gsm_characters=[tt.Character(character=c, code_point=f"U+{ord(c):04X}")
                                             for c in text.non_gsm])
    text = billed(shown.text)
    return tt.Preview(text=text.text, characters=text.characters, segments=text.segments, encoding=text.encoding,
                      non_gsm_characters=text.non_gsm_characters, fields=shown.fields, missing=shown.missing,
                      warnings=shown.warnings, first_text=billed(shown.first_text))


@routes.post(ONE + "/preview", body=tt.PreviewData, optional_body=True, answer=tt.Preview, errors=FOUND)
async def preview(request: web.Request, body: tt.PreviewData) -> tt.Preview:
    """Render a template with sample data: the text, its segments and encoding, and warnings
    A field without a sample value is listed in missing and shown as its placeholder. A character that makes the
    text UCS-2 (a curly quote) is named, with what it costs. first_text: as the first text to a phone that never
    wrote to the community (with the sender identification)."""
    community = await communities.find(request.app[POOL], path_id(request))
    found = await templates.find(request.app[POOL], community.id, _template_id(request))
    return _preview(found.body, body.data, templates.identification(community))


@routes.post(ALL + "/preview", body=tt.UnsavedPreview, answer=tt.Preview, errors=("community_not_found",))
async def preview_unsaved(request: web.Request, body: tt.UnsavedPreview) -> tt.Preview:
    """Render a body not saved as a template yet, as a template's preview does"""
    community = await communities.find(request.app[POOL], path_id(request))
    return _preview(body.body, body.data, templates.identification(community))


@routes.post(ONE + "/test", body=tt.TestSend, answer=types.Message, status=201,
             errors=(*FOUND, *PHONE_ERRORS, "missing_fields", "message_too_long", "recipient_opted_out",
                     "recipient_on_dnd", "community_has_no_numbers"))
async def send_test(request: web.Request, body: tt.TestSend) -> types.Message:
    """Text a template to a team member's phone, in any state ("[Test] " before it)
    Rendered with data over the fields of the contact at that phone; through the normal outbound path (test mode's
    allow list, opt-outs, DND, the sender identification on a first text)."""
    pool = request.app[POOL]
    community = await communities.find(pool, path_id(request))
    found = await templates.find(pool, community.id, _template_id(request))
    to = await numbers.check(request.app[LINE_TYPES], body.to, field="to", policy=numbers.Policy.of(community))
    stored = await templates.send_test(pool, request.app[DISPATCHER], community, found, to.phone,
                                       contact_data.check_fields(body.data, "data"))
    refuse_if_unwanted(stored)
    return render.message(await messages.find_message(pool, message_id=stored.id))
