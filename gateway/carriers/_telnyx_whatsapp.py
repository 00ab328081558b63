"""Telnyx's WhatsApp: the messaging webhooks it posts for SMS (the same Ed25519 signature, message.received,
message.sent and message.finalized) with payload.type WHATSAPP, and its own send endpoint,
POST /v2/messages/whatsapp, whose whatsapp_message is WhatsApp's own message object (Meta's Cloud API: text,
template, image, video, audio, document).

Built from Telnyx's public documentation:
  https://developers.telnyx.com/docs/messaging/whatsapp/send-messages (POST /v2/messages/whatsapp: from, to,
      whatsapp_message {type, text | template | image | ...}, webhook_url; the profile follows from `from`)
  https://developers.telnyx.com/api-reference/whatsapp-messaging/send-a-whatsapp-message.md (the answer: data.id,
      data.type, data.body the message as sent; media {link, caption}; template {name, language {code, policy},
      components [{type body, parameters [{type text, text}]}]} or Telnyx's own template_id)
  https://support.telnyx.com/en/articles/13986487-how-to-configure-whatsapp-webhooks (the WhatsApp Business
      Account's webhook URL receives inbound messages with their type and content, media as a URL; statuses go to
      the webhook_url given with each send)
  Telnyx's WhatsApp guides (team-telnyx skills, "WhatsApp-Specific Errors"): 131047 free text outside the 24-hour
      window (Meta's Cloud API code, passed through), 131026 not a WhatsApp user, 40008 Meta's catch-all.

The stored pages show no inbound WhatsApp webhook body in full: it is read as the send's answer is shaped
(payload.type "WHATSAPP", payload.body WhatsApp's message object), with payload.text and payload.media read as on
SMS where Telnyx fills them. Check it against your account before relying on it (README "Telnyx").
"""

from __future__ import annotations

from typing import Any, Mapping

from gateway.carriers.base import Failure, OutboundSms
from gateway.vocabulary import FailureClass

WHATSAPP = "whatsapp"  # payload.type, compared in lower case ("WHATSAPP" in the answers Telnyx documents)
MAX_MEDIA = 10

WHATSAPP_ERROR_CODES: Mapping[str, Failure] = {
    "131047": Failure(FailureClass.OUTSIDE_WINDOW, False),  # re-engagement: more than 24 hours since they wrote
    "131026": Failure(FailureClass.INVALID_NUMBER, False),  # not (or not yet) a WhatsApp user: temporary DND
}

# WhatsApp's media message types, each {"link", "caption"}; what else the gateway relays goes as a document.
MEDIA_TYPES = {"image": "image", "video": "video", "audio": "audio"}
INBOUND_MEDIA = ("image", "video", "audio", "document", "sticker", "voice")


def is_whatsapp(payload: Mapping[str, Any]) -> bool:
    kind = payload.get("type")
    return isinstance(kind, str) and kind.lower() == WHATSAPP


def inbound_content(payload: Mapping[str, Any]) -> tuple[Any, list[Any]]:
    """(the text, the media URLs) of an inbound WhatsApp message, unchecked: payload.body's text, caption, button or
    reply title and media link where it has them, else payload.text and payload.media[].url."""
    body = payload.get("body") if isinstance(payload.get("body"), dict) else {}
    kind = body.get("type")
    content = body.get(kind) if isinstance(kind, str) and isinstance(body.get(kind), dict) else {}
    text = content.get("body") if kind == "text" else content.get("caption") if kind in INBOUND_MEDIA \
        else content.get("text") if kind == "button" else _reply_title(content) if kind == "interactive" else None
    links = [content.get("link") or content.get("url")] if kind in INBOUND_MEDIA else []
    media = payload.get("media")
    if not links and isinstance(media, list):
        links = [item.get("url") if isinstance(item, dict) else None for item in media]
    return (text if text is not None else payload.get("text")), links


def _reply_title(content: Mapping[str, Any]) -> Any:
    """A tapped button or list row of an interactive message: its title is what the participant said."""
    for key in ("button_reply", "list_reply"):
        if isinstance(content.get(key), dict):
            return content[key].get("title")
    return None


def message_object(message: OutboundSms, locale: str) -> dict[str, Any]:
    """whatsapp_message for one OutboundSms: the template, a picture (the first media URL, the text as its caption),
    or free text."""
    if message.template is not None:
        return {"type": "template", "template": template(message, locale)}
    if message.media_urls:
        content_type = message.media_types[0] if message.media_types else "image/jpeg"
        kind = MEDIA_TYPES.get(content_type.partition("/")[0], "document")
        media: dict[str, str] = {"link": message.media_urls[0]}
        if message.body and kind != "audio":  # WhatsApp's audio takes no caption
            media["caption"] = message.body
        return {"type": kind, kind: media}
    return {"type": "text", "text": {"body": message.body}}


def template(message: OutboundSms, locale: str) -> dict[str, Any]:
    """The template by its name at WhatsApp (the community's template_id) and language; its variables as the body's
    text parameters in the order of their keys ("1", "2"...)."""
    assert message.template is not None
    variables = message.template.variables
    ordered = sorted(variables, key=lambda key: (not key.isdigit(), int(key) if key.isdigit() else 0, key))
    body = {"type": "body", "parameters": [{"type": "text", "text": variables[key]} for key in ordered]}
    return {"name": message.template.template_id, "language": {"policy": "deterministic", "code": locale},
            "components": [body] if ordered else []}
