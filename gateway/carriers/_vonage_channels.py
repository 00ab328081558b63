"""Vonage's Messages API beyond SMS: WhatsApp (free text, and a template through a custom object) and MMS (one
message per attachment, by its type), and the application JWT its secure inbound media asks for.

Built from Vonage's public documentation:
  https://developer.vonage.com/en/api/messages (channel whatsapp and mms; message_type text, image, audio, video,
      file, vcard, custom)
  https://developer.vonage.com/messages/concepts/custom-objects (message_type custom: a part of WhatsApp's own
      request, here its template object with a body component's parameters)
  https://developer.vonage.com/messages/concepts/secure-inbound-media (GET on the media URL with
      Authorization: Bearer <the application's JWT>, RS256 with its private key)
  https://developer.vonage.com/en/blog/what-can-i-do-with-mms (MMS types: image jpg/png/gif, audio mp3, video mp4,
      vcard)
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Mapping

import jwt

from gateway.carriers.base import Failure, OutboundSms
from gateway.vocabulary import Channel, FailureClass

# WhatsApp's codes in the Messages API's list (https://developer.vonage.com/en/api-errors/messages): free text
# outside the 24-hour customer-care window, which only a template may cross.
WHATSAPP_ERROR_CODES: Mapping[str, Failure] = {
    "1340": Failure(FailureClass.OUTSIDE_WINDOW, False),
}

# A media type's family -> the MMS message_type that carries it (each {"url", "caption"}; vcard: {"url"} only).
MMS_TYPES = {"image": "image", "audio": "audio", "video": "video"}
VCARD_TYPES = ("text/vcard", "text/x-vcard")
# A media type's family -> the WhatsApp message_type that carries it ({"url", "caption"}); anything else: file.
WHATSAPP_TYPES = {"image": "image", "video": "video"}
JWT_SECONDS = 300  # the media fetch's JWT lives this long (a fetch's timeout is far shorter)


def mms_type(content_type: str) -> str:
    """The MMS message_type for a media type: image, audio, video or vcard; else file (a PDF)."""
    if content_type in VCARD_TYPES:
        return "vcard"
    return MMS_TYPES.get(content_type.partition("/")[0], "file")


def payloads(message: OutboundSms, locale: str) -> list[dict[str, Any]]:
    """The Messages API bodies one OutboundSms takes, without the common fields (to, from, client_ref, webhooks).

    WhatsApp: one text, a picture (image or video, the text as its caption), or the template as a custom object. SMS: one text. MMS: the API takes one attachment per
    message, so one message per picture, in order, the text as the first one's caption (a vcard takes no caption:
    then the text goes first, as an SMS on its own)."""
    if message.channel == Channel.WHATSAPP:
        if message.template is not None:
            return [{"channel": "whatsapp", "message_type": "custom", "custom": template(message, locale)}]
        if message.media_urls:  # one image or video (gateway/media/rules.py as_whatsapp_media), the text its caption
            kind = WHATSAPP_TYPES.get((message.media_types or ("image/jpeg",))[0].partition("/")[0], "file")
            return [{"channel": "whatsapp", "message_type": kind,
                     kind: {"url": message.media_urls[0], **({"caption": message.body} if message.body else {})}}]
        return [{"channel": "whatsapp", "message_type": "text", "text": message.body}]
    if not message.media_urls:
        return [{"channel": "sms", "message_type": "text", "text": message.body}]
    kinds = [mms_type(kind) for kind in message.media_types] or ["image"] * len(message.media_urls)
    kinds += ["image"] * (len(message.media_urls) - len(kinds))
    parts: list[dict[str, Any]] = []
    caption = message.body
    if kinds[0] == "vcard" and caption:
        parts.append({"channel": "sms", "message_type": "text", "text": caption})
        caption = ""
    for n, (url, kind) in enumerate(zip(message.media_urls, kinds)):
        media: dict[str, str] = {"url": url}
        if n == 0 and caption and kind != "vcard":
            media["caption"] = caption
        parts.append({"channel": "mms", "message_type": kind, kind: media})
    return parts


def template(message: OutboundSms, locale: str) -> dict[str, Any]:
    """WhatsApp's template object: the template's name (the community's template_id), its language, and its
    variables as the body's text parameters, in the order of their keys ("1", "2"...)."""
    assert message.template is not None
    variables = message.template.variables
    ordered = sorted(variables, key=lambda key: (not key.isdigit(), int(key) if key.isdigit() else 0, key))
    body = {"type": "body", "parameters": [{"type": "text", "text": variables[key]} for key in ordered]}
    return {"type": "template", "template": {"name": message.template.template_id,
                                             "language": {"policy": "deterministic", "code": locale},
                                             "components": [body] if ordered else []}}


def application_jwt(application_id: str, private_key: str) -> str:
    """A Vonage application JWT (RS256 with the application's private key), for its secure inbound media."""
    now = int(time.time())
    claims = {"application_id": application_id, "iat": now, "exp": now + JWT_SECONDS, "jti": str(uuid.uuid4())}
    return jwt.encode(claims, private_key, algorithm="RS256")
