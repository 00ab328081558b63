"""The types of the WhatsApp endpoints (gateway/api/whatsapp.py): a community's re-engagement template and a
phone's channel and opt-in (README "WhatsApp")."""


from typing import Annotated

from msgspec import Meta, Struct

from gateway.api.types import Strict, text
from gateway.vocabulary import Channel

TemplateId = text(64, description="the carrier's id of an approved WhatsApp template: a Content SID at some, "
                  "WhatsApp's template name (lower-case letters, digits, underscores) at others",
                  pattern=r"^[A-Za-z0-9_-]+$", examples=["HXb5b62575e6e4ff6129ad7c8efe1f983e"])
Preview = text(1024, multiline=True, description="what the template says: the template message's body in the API")
Variables = Annotated[dict[Annotated[str, Meta(min_length=1, max_length=8, pattern=r"^[0-9A-Za-z_]+$")],
                           Annotated[str, Meta(max_length=1024)]],
                      Meta(max_length=10, description="the template's variables by placeholder, e.g. {\"1\": \"Acme\"}")]


class WhatsAppTemplate(Strict):
    """What the community sends a WhatsApp participant whose 24-hour window is closed, instead of the text (which
    waits for their answer)."""

    template_id: TemplateId
    preview: Preview
    variables: Variables = {}


class WhatsAppContact(Strict):
    channel: Channel = Channel.WHATSAPP
    opted_in: bool = False  # true: the platform has their opt-in to WhatsApp messages from the community


class ContactOnNumber(Struct):
    number: str
    channel: Channel
    opted_in: bool  # recorded through the API, or they wrote on WhatsApp
    window_open: bool  # their 24-hour customer-service window with this number


class RecordedContact(Struct):
    phone: str
    numbers: list[ContactOnNumber]
