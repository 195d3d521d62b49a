"""Cloud API webhook bodies parse into typed records, whatever Meta (or an attacker) sends (M1).

The literal payloads below are Meta's own examples from the `messages` webhook reference pages (text, image,
interactive button reply, location, reaction, sent and failed status, unsupported), with the same ids and
values, so the parser is checked against what Meta documents rather than against our own builders. Two are
Meta's documented syntax filled in with those values: a `delivered` status (the reference only shows `sent`)
and a username user's message (business-scoped user id, no `from`/`wa_id`).
"""

from __future__ import annotations

import base64
import contextlib
import copy
import dataclasses
import json
import random
from datetime import UTC, datetime
from typing import Any

import pytest

from services.whatsapp import payload_builders as pb
from services.whatsapp.payloads import ErrorDetail, InboundMessage, MediaRef, ParsedWebhook, parse_webhook

WABA_ID = '102290129340398'
PHONE_NUMBER_ID = '106540352242922'
DISPLAY_NUMBER = '15550783881'
SHEENA = '16505551234'


def _one_message(payload: Any) -> InboundMessage:
    parsed = parse_webhook(payload)
    assert parsed.problems == []
    assert len(parsed.messages) == 1
    return parsed.messages[0]


def _value(messages: object = None, **extra: Any) -> dict[str, Any]:
    """A Meta envelope around `messages`, for hand-written message objects (malformed on purpose, too)."""
    value: dict[str, Any] = {
        'messaging_product': 'whatsapp',
        'metadata': {'display_phone_number': DISPLAY_NUMBER, 'phone_number_id': PHONE_NUMBER_ID},
        'contacts': [{'profile': {'name': 'Sheena Nelson'}, 'wa_id': SHEENA}],
    }
    if messages is not None:
        value['messages'] = messages
    value.update(extra)
    return {
        'object': 'whatsapp_business_account',
        'entry': [{'id': WABA_ID, 'changes': [{'value': value, 'field': 'messages'}]}],
    }


# --- Meta's reference examples, verbatim ----------------------------------------------------------------

TEXT_EXAMPLE = json.loads("""
{
  "object": "whatsapp_business_account",
  "entry": [
    {
      "id": "102290129340398",
      "changes": [
        {
          "value": {
            "messaging_product": "whatsapp",
            "metadata": {
              "display_phone_number": "15550783881",
              "phone_number_id": "106540352242922"
            },
            "contacts": [
              {
                "profile": {
                  "name": "Sheena Nelson"
                },
                "wa_id": "16505551234"
              }
            ],
            "messages": [
              {
                "from": "16505551234",
                "id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=",
                "timestamp": "1749416383",
                "type": "text",
                "text": {
                  "body": "Does it come in another color?"
                }
              }
            ]
          },
          "field": "messages"
        }
      ]
    }
  ]
}
""")

IMAGE_EXAMPLE = json.loads("""
{
  "object": "whatsapp_business_account",
  "entry": [
    {
      "id": "102290129340398",
      "changes": [
        {
          "value": {
            "messaging_product": "whatsapp",
            "metadata": {
              "display_phone_number": "15550783881",
              "phone_number_id": "106540352242922"
            },
            "contacts": [
              {
                "profile": {
                  "name": "Sheena Nelson"
                },
                "wa_id": "16505551234"
              }
            ],
            "messages": [
              {
                "from": "16505551234",
                "id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=",
                "timestamp": "1744344496",
                "type": "image",
                "image": {
                  "caption": "Taj Mahal",
                  "mime_type": "image/jpeg",
                  "sha256": "SfInY0gGKTsJlUWbwxC1k+FAD0FZHvzwfpvO0zX0GUI=",
                  "id": "1003383421387256",
                  "url": "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=133..."
                }
              }
            ]
          },
          "field": "messages"
        }
      ]
    }
  ]
}
""")

BUTTON_REPLY_EXAMPLE = json.loads("""
{
  "object": "whatsapp_business_account",
  "entry": [
    {
      "id": "102290129340398",
      "changes": [
        {
          "value": {
            "messaging_product": "whatsapp",
            "metadata": {
              "display_phone_number": "15550783881",
              "phone_number_id": "106540352242922"
            },
            "contacts": [
              {
                "profile": {
                  "name": "Sheena Nelson"
                },
                "wa_id": "16505551234"
              }
            ],
            "messages": [
              {
                "context": {
                  "from": "15550783881",
                  "id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3MEM2RUJFNkI0RENGQTVDRjUA"
                },
                "from": "16505551234",
                "id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTZBQzg0MzQ4QjRCM0NGNkVGOAA=",
                "timestamp": "1750025136",
                "type": "interactive",
                "interactive": {
                  "type": "button_reply",
                  "button_reply": {
                    "id": "cancel-button",
                    "title": "Cancel"
                  }
                }
              }
            ]
          },
          "field": "messages"
        }
      ]
    }
  ]
}
""")

LOCATION_EXAMPLE = json.loads("""
{
  "object": "whatsapp_business_account",
  "entry": [
    {
      "id": "102290129340398",
      "changes": [
        {
          "value": {
            "messaging_product": "whatsapp",
            "metadata": {
              "display_phone_number": "15550783881",
              "phone_number_id": "106540352242922"
            },
            "contacts": [
              {
                "profile": {
                  "name": "Sheena Nelson"
                },
                "wa_id": "16505551234"
              }
            ],
            "messages": [
              {
                "from": "16505551234",
                "id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=",
                "timestamp": "1744344496",
                "location": {
                  "address": "101 Forest Ave, Palo Alto, CA 94301",
                  "latitude": 37.44221496582,
                  "longitude": -122.16165924072,
                  "name": "Philz Coffee",
                  "url": "https://philzcoffee.com/"
                },
                "type": "location"
              }
            ]
          },
          "field": "messages"
        }
      ]
    }
  ]
}
""")

REACTION_EXAMPLE = json.loads("""
{
  "object": "whatsapp_business_account",
  "entry": [
    {
      "id": "102290129340398",
      "changes": [
        {
          "value": {
            "messaging_product": "whatsapp",
            "metadata": {
              "display_phone_number": "15550783881",
              "phone_number_id": "106540352242922"
            },
            "contacts": [
              {
                "profile": {
                  "name": "Sheena Nelson"
                },
                "wa_id": "16505551234"
              }
            ],
            "messages": [
              {
                "from": "16505551234",
                "id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=",
                "timestamp": "1749419544",
                "type": "reaction",
                "reaction": {
                  "message_id": "wamid.HBgLMTQxMjU1NTA4MjkVAgASGBQzQUNCNjk5RDUwNUZGMUZEM0VBRAA=",
                  "emoji": "👍"
                }
              }
            ]
          },
          "field": "messages"
        }
      ]
    }
  ]
}
""")

# Meta's status syntax filled in for a `delivered` status: pricing rides on sent and one of delivered/read;
# the conversation object only appears before v24.0 and its expiration_timestamp only on `sent`.
STATUS_DELIVERED_EXAMPLE = json.loads("""
{
  "object": "whatsapp_business_account",
  "entry": [
    {
      "id": "102290129340398",
      "changes": [
        {
          "value": {
            "messaging_product": "whatsapp",
            "metadata": {
              "display_phone_number": "15550783881",
              "phone_number_id": "106540352242922"
            },
            "statuses": [
              {
                "id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=",
                "status": "delivered",
                "timestamp": "1750030075",
                "recipient_id": "16505551234",
                "biz_opaque_callback_data": "1744434060",
                "conversation": {
                  "id": "72b14d6bd5407799e66f64d1b338e567",
                  "origin": {
                    "type": "marketing"
                  }
                },
                "pricing": {
                  "billable": true,
                  "pricing_model": "PMP",
                  "type": "regular",
                  "category": "marketing"
                }
              }
            ]
          },
          "field": "messages"
        }
      ]
    }
  ]
}
""")

STATUS_SENT_EXAMPLE = json.loads("""
{
  "object": "whatsapp_business_account",
  "entry": [
    {
      "id": "102290129340398",
      "changes": [
        {
          "value": {
            "messaging_product": "whatsapp",
            "metadata": {
              "display_phone_number": "15550783881",
              "phone_number_id": "106540352242922"
            },
            "statuses": [
              {
                "id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=",
                "status": "sent",
                "timestamp": "1750030073",
                "recipient_id": "16505551234",
                "conversation": {
                  "id": "72b14d6bd5407799e66f64d1b338e567",
                  "expiration_timestamp": "1750116480",
                  "origin": {
                    "type": "marketing"
                  }
                },
                "pricing": {
                  "billable": true,
                  "pricing_model": "PMP",
                  "type": "regular",
                  "category": "marketing"
                }
              }
            ]
          },
          "field": "messages"
        }
      ]
    }
  ]
}
""")

# Meta's failed-status example; wrapper levels folded so the long error details fit in 120 columns.
STATUS_FAILED_EXAMPLE = json.loads("""
{
  "object": "whatsapp_business_account",
  "entry": [{
    "id": "102290129340398",
    "changes": [{
      "value": {
        "messaging_product": "whatsapp",
        "metadata": {
          "display_phone_number": "15550783881",
          "phone_number_id": "106540352242922"
        },
        "statuses": [{
          "id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI0QUQ2MjA4NEYyRkExNjMyREUA",
          "status": "failed",
          "timestamp": "1751142888",
          "recipient_id": "16505551234",
          "errors": [{
            "code": 131049,
            "title": "This message was not delivered to maintain healthy ecosystem engagement.",
            "message": "This message was not delivered to maintain healthy ecosystem engagement.",
            "error_data": {
              "details": "In order to maintain a healthy ecosystem engagement, the message failed to be delivered."
            },
            "href": "/documentation/business-messaging/whatsapp/support/error-codes"
          }]
        }]
      },
      "field": "messages"
    }]
  }]
}
""")

UNSUPPORTED_EXAMPLE = json.loads("""
{
  "object": "whatsapp_business_account",
  "entry": [
    {
      "id": "102290129340398",
      "changes": [
        {
          "value": {
            "messaging_product": "whatsapp",
            "metadata": {
              "display_phone_number": "15550783881",
              "phone_number_id": "106540352242922"
            },
            "contacts": [
              {
                "profile": {
                  "name": "Sheena Nelson"
                },
                "wa_id": "16505551234"
              }
            ],
            "messages": [
              {
                "from": "16505551234",
                "id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=",
                "timestamp": "1750090702",
                "errors": [
                  {
                    "code": 131051,
                    "title": "Message type unknown",
                    "message": "Message type unknown",
                    "error_data": {
                      "details": "Message type is currently not supported."
                    }
                  }
                ],
                "type": "unsupported",
                "unsupported": {
                  "type": "edit"
                }
              }
            ]
          },
          "field": "messages"
        }
      ]
    }
  ]
}
""")

# A user who adopted a username: no `from` and no `wa_id`, only the business-scoped user id.
USERNAME_USER_EXAMPLE = json.loads("""
{
  "object": "whatsapp_business_account",
  "entry": [
    {
      "id": "102290129340398",
      "changes": [
        {
          "value": {
            "messaging_product": "whatsapp",
            "metadata": {
              "display_phone_number": "15550783881",
              "phone_number_id": "106540352242922"
            },
            "contacts": [
              {
                "profile": {
                  "name": "Sheena Nelson",
                  "username": "realsheenanelson"
                },
                "user_id": "US.13491208655302741918"
              }
            ],
            "messages": [
              {
                "from_user_id": "US.13491208655302741918",
                "id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=",
                "timestamp": "1749416383",
                "type": "text",
                "text": {
                  "body": "Does it come in another color?"
                }
              }
            ]
          },
          "field": "messages"
        }
      ]
    }
  ]
}
""")


# --- every type ------------------------------------------------------------------------------------------


def test_text_message_from_the_reference() -> None:
    message = _one_message(TEXT_EXAMPLE)
    assert message.phone_number_id == PHONE_NUMBER_ID
    assert message.display_phone_number == DISPLAY_NUMBER
    assert message.wa_message_id == 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA='
    assert message.from_wa_id == SHEENA
    assert message.from_user_id is None
    assert message.profile_name == 'Sheena Nelson'
    assert message.timestamp == datetime(2025, 6, 8, 20, 59, 43, tzinfo=UTC)
    assert message.type == 'text'
    assert message.text == 'Does it come in another color?'
    assert message.media is None
    assert message.reply_to_wa_message_id is None
    assert not message.forwarded and not message.frequently_forwarded
    assert message.fields == {}
    assert message.errors == ()
    assert message.raw is TEXT_EXAMPLE['entry'][0]['changes'][0]['value']['messages'][0]
    assert parse_webhook(TEXT_EXAMPLE).phone_number_ids == {PHONE_NUMBER_ID}


def test_records_are_frozen_and_complete() -> None:
    # The parser fills records without running __init__ (for speed); they must still be whole and immutable.
    parsed = parse_webhook(pb.merge_envelopes(IMAGE_EXAMPLE, STATUS_FAILED_EXAMPLE))
    records = [parsed.messages[0], parsed.messages[0].media, parsed.statuses[0], parsed.statuses[0].errors[0]]
    for record in records:
        assert record is not None  # the image message has its media
        assert all(hasattr(record, f.name) for f in dataclasses.fields(record))
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(record, dataclasses.fields(record)[0].name, 'changed')


def test_image_message_keeps_media_reference_and_caption() -> None:
    message = _one_message(IMAGE_EXAMPLE)
    assert message.type == 'image'
    assert message.text == 'Taj Mahal'
    assert message.media == MediaRef(
        wa_media_id='1003383421387256',
        mime_type='image/jpeg',
        sha256='SfInY0gGKTsJlUWbwxC1k+FAD0FZHvzwfpvO0zX0GUI=',
        caption='Taj Mahal',
        url='https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=133...',
    )


def test_interactive_button_reply_is_a_reply_to_our_message() -> None:
    message = _one_message(BUTTON_REPLY_EXAMPLE)
    assert message.type == 'interactive'
    assert message.text == 'Cancel'
    assert message.fields == {'reply_type': 'button_reply', 'id': 'cancel-button', 'title': 'Cancel', 'description': ''}
    assert message.reply_to_wa_message_id == 'wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3MEM2RUJFNkI0RENGQTVDRjUA'


def test_interactive_list_reply() -> None:
    message = _one_message(
        _value(
            [
                {
                    'context': {
                        'from': DISPLAY_NUMBER,
                        'id': 'wamid.HBgLMTQxMjU1NTA4MjkVAgASGBQzQUNCNjk5RDUwNUZGMUZEM0VBRAA=',
                    },
                    'from': SHEENA,
                    'id': 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=',
                    'timestamp': '1749854575',
                    'type': 'interactive',
                    'interactive': {
                        'type': 'list_reply',
                        'list_reply': {
                            'id': 'priority_express',
                            'title': 'Priority Mail Express',
                            'description': 'Next Day to 2 Days',
                        },
                    },
                }
            ]
        )
    )
    assert message.text == 'Priority Mail Express'
    assert message.fields == {
        'reply_type': 'list_reply',
        'id': 'priority_express',
        'title': 'Priority Mail Express',
        'description': 'Next Day to 2 Days',
    }
    assert message.reply_to_wa_message_id == 'wamid.HBgLMTQxMjU1NTA4MjkVAgASGBQzQUNCNjk5RDUwNUZGMUZEM0VBRAA='


def test_interactive_flow_reply_keeps_the_answers() -> None:
    message = _one_message(
        _value(
            [
                {
                    'from': SHEENA,
                    'id': 'wamid.FLOW',
                    'timestamp': '1749854575',
                    'type': 'interactive',
                    'interactive': {
                        'type': 'nfm_reply',
                        'nfm_reply': {'name': 'flow', 'body': 'Sent', 'response_json': '{"flow_token": "order-7781"}'},
                    },
                }
            ]
        )
    )
    assert message.fields['reply_type'] == 'nfm_reply'
    assert json.loads(message.fields['response_json']) == {'flow_token': 'order-7781'}
    assert message.text == 'Sent'


def test_location_with_numeric_coordinates() -> None:
    message = _one_message(LOCATION_EXAMPLE)
    assert message.type == 'location'
    assert message.fields == {
        'latitude': 37.44221496582,
        'longitude': -122.16165924072,
        'name': 'Philz Coffee',
        'address': '101 Forest Ave, Palo Alto, CA 94301',
        'url': 'https://philzcoffee.com/',
    }
    assert message.text == 'Philz Coffee, 101 Forest Ave, Palo Alto, CA 94301'


def test_location_pin_without_name_shows_coordinates_and_accepts_strings() -> None:
    message = _one_message(
        _value(
            [
                {
                    'from': SHEENA,
                    'id': 'wamid.PIN',
                    'timestamp': '1744344496',
                    'type': 'location',
                    'location': {'latitude': '-34.6037', 'longitude': '-58.3816'},
                }
            ]
        )
    )
    assert message.fields['latitude'] == -34.6037
    assert message.text == '-34.6037,-58.3816'


def test_reaction_and_removed_reaction() -> None:
    message = _one_message(REACTION_EXAMPLE)
    assert message.type == 'reaction'
    assert message.text == '👍'
    assert message.fields == {
        'message_id': 'wamid.HBgLMTQxMjU1NTA4MjkVAgASGBQzQUNCNjk5RDUwNUZGMUZEM0VBRAA=',
        'emoji': '👍',
    }
    removed = copy.deepcopy(REACTION_EXAMPLE)
    del removed['entry'][0]['changes'][0]['value']['messages'][0]['reaction']['emoji']
    assert _one_message(removed).fields['emoji'] == ''


def test_contacts_message_keeps_the_cards() -> None:
    cards = [
        {
            'name': {'first_name': 'Barbara', 'last_name': 'Johnson', 'formatted_name': 'Barbara J. Johnson'},
            'org': {'company': 'Social Tsunami'},
            'phones': [{'phone': '+1 (415) 555-0829', 'wa_id': '14125550829', 'type': 'MOBILE'}],
        }
    ]
    message = _one_message(
        _value([{'from': SHEENA, 'id': 'wamid.CARD', 'timestamp': '1744344496', 'type': 'contacts', 'contacts': cards}])
    )
    assert message.fields == {'contacts': cards}
    assert message.text == 'Barbara J. Johnson'


def test_template_quick_reply_button() -> None:
    message = _one_message(
        _value(
            [
                {
                    'context': {
                        'from': DISPLAY_NUMBER,
                        'id': 'wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJDQzBFNjA4ODRBQkY4RjA2QTMA',
                    },
                    'from': SHEENA,
                    'id': 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=',
                    'timestamp': '1744344496',
                    'type': 'button',
                    'button': {'payload': 'Unsubscribe', 'text': 'Unsubscribe'},
                }
            ]
        )
    )
    assert message.type == 'button'
    assert message.fields == {'payload': 'Unsubscribe', 'text': 'Unsubscribe'}
    assert message.text == 'Unsubscribe'
    assert message.reply_to_wa_message_id == 'wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJDQzBFNjA4ODRBQkY4RjA2QTMA'


@pytest.mark.parametrize(
    ('builder', 'expected'),
    [
        (
            lambda: pb.document_message(
                from_=SHEENA, media_id='1003383421387256', filename='receipt.pdf', caption='my receipt'
            ),
            MediaRef(
                '1003383421387256', 'application/pdf', pb._fake_sha256('1003383421387256'), 'receipt.pdf', 'my receipt'
            ),
        ),
        (
            lambda: pb.audio_message(from_=SHEENA, media_id='1908647269898587', sha256='fbzXtA2M5Ay7XULRf7ZbrHzGUzk='),
            MediaRef('1908647269898587', 'audio/ogg; codecs=opus', 'fbzXtA2M5Ay7XULRf7ZbrHzGUzk=', voice=True),
        ),
        (
            lambda: pb.video_message(from_=SHEENA, media_id='731675419373506', caption='Timelapse of growth'),
            MediaRef('731675419373506', 'video/mp4', pb._fake_sha256('731675419373506'), caption='Timelapse of growth'),
        ),
        (
            lambda: pb.sticker_message(
                from_=SHEENA,
                media_id='1908647269898587',
                animated=True,
                sha256='wvqXMe6n7n1W0zphvLPoLj+s/NtKqmr3zZ7YzTP7xFI=',
            ),
            MediaRef('1908647269898587', 'image/webp', 'wvqXMe6n7n1W0zphvLPoLj+s/NtKqmr3zZ7YzTP7xFI=', animated=True),
        ),
    ],
)
def test_other_media_types(builder: Any, expected: MediaRef) -> None:
    raw = builder()
    message = _one_message(
        pb.envelope(phone_number_id=PHONE_NUMBER_ID, display_phone_number=DISPLAY_NUMBER, messages=[raw])
    )
    assert message.type == raw['type']
    assert message.media == expected
    assert message.text == expected.caption


def test_media_without_id_is_kept_and_flagged() -> None:
    parsed = parse_webhook(
        _value(
            [
                {
                    'from': SHEENA,
                    'id': 'wamid.NOID',
                    'timestamp': '1744344496',
                    'type': 'image',
                    'image': {'caption': 'VIN', 'mime_type': 'image/jpeg'},
                }
            ]
        )
    )
    assert [m.text for m in parsed.messages] == ['VIN']
    assert parsed.messages[0].media is None
    assert parsed.problems == ['entry[0].changes[0].value.messages[0] (wamid.NOID): image without media id']


def test_system_order_and_request_welcome() -> None:
    system = {
        'from': SHEENA,
        'id': 'wamid.SYS',
        'timestamp': '1744344496',
        'type': 'system',
        'system': {
            'body': 'User Sheena Nelson changed from 16505551234 to 12195555358',
            'wa_id': '12195555358',
            'type': 'user_changed_number',
        },
    }
    order = pb.order_message(
        from_=SHEENA,
        catalog_id='194836987003835',
        text='Love these!',
        timestamp=1744344497,
        product_items=[{'product_retailer_id': 'di9ozbzfi4', 'quantity': 2, 'item_price': 30, 'currency': 'USD'}],
    )
    welcome = pb.request_welcome_message(from_=SHEENA, timestamp=1744344498)
    body = _value([system, order, welcome])
    del body['entry'][0]['changes'][0]['value']['contacts']  # Meta sends system messages without contacts
    parsed = parse_webhook(body)
    assert parsed.problems == []
    system_message, order_message, welcome_message = parsed.messages
    assert system_message.type == 'system'
    assert system_message.profile_name == ''
    assert system_message.fields['system_type'] == 'user_changed_number'
    assert system_message.fields['new_wa_id'] == '12195555358'
    assert order_message.type == 'order'
    assert order_message.fields['product_items'][0]['product_retailer_id'] == 'di9ozbzfi4'
    assert order_message.text == 'Love these!'
    assert (welcome_message.type, welcome_message.text, welcome_message.fields) == ('request_welcome', '', {})


# --- context, identity, referral -------------------------------------------------------------------------


def test_reply_context_versus_forwarded() -> None:
    reply = pb.text_message(
        from_=SHEENA, body='sí, ese', reply_to='wamid.OURS', reply_to_from=DISPLAY_NUMBER, timestamp=1744344496
    )
    forwarded = pb.text_message(from_=SHEENA, body='mirá esto', forwarded=True, timestamp=1744344497)
    viral = pb.text_message(from_=SHEENA, body='cadena', frequently_forwarded=True, timestamp=1744344498)
    parsed = parse_webhook(
        pb.envelope(
            phone_number_id=PHONE_NUMBER_ID, display_phone_number=DISPLAY_NUMBER, messages=[reply, forwarded, viral]
        )
    )
    assert reply['context'] == {'from': DISPLAY_NUMBER, 'id': 'wamid.OURS'}
    assert forwarded['context'] == {'forwarded': True}
    assert [(m.reply_to_wa_message_id, m.forwarded, m.frequently_forwarded) for m in parsed.messages] == [
        ('wamid.OURS', False, False),
        (None, True, False),
        (None, False, True),
    ]


def test_click_to_whatsapp_referral_and_product_inquiry_are_kept() -> None:
    referral = {
        'source_url': 'https://fb.me/3cr4Wqqkv',
        'source_id': '120226305854810726',
        'source_type': 'ad',
        'body': 'Summer Succulents are here!',
        'headline': 'Chat with us',
        'media_type': 'image',
        'image_url': 'https://scontent.xx.fbcdn.net/v/t45.1...',
        'ctwa_clid': 'Aff-n8ZTODiE79d22KtAwQKj9e',
        'welcome_message': {'text': 'Hi there! Let us know how we can help!'},
    }
    ad = pb.text_message(from_=SHEENA, body='Can I get more info?', referral=referral, timestamp=1744344496)
    inquiry = {
        'context': {
            'from': DISPLAY_NUMBER,
            'id': 'wamid.HBgLMTY1MDM4Nzk0MzkVAgARGA9wcm9kdWN0X2lucXVpcnkA',
            'referred_product': {'catalog_id': '194836987003835', 'product_retailer_id': 'di9ozbzfi4'},
        },
        'from': SHEENA,
        'id': 'wamid.INQ',
        'timestamp': '1744344497',
        'type': 'text',
        'text': {'body': 'Is this in stock?'},
    }
    parsed = parse_webhook(_value([ad, inquiry]))
    assert parsed.messages[0].fields == {'referral': referral}
    assert parsed.messages[1].fields['referred_product']['product_retailer_id'] == 'di9ozbzfi4'


def test_username_user_without_wa_id_is_known_by_user_id() -> None:
    message = _one_message(USERNAME_USER_EXAMPLE)
    assert message.from_wa_id is None
    assert message.from_user_id == 'US.13491208655302741918'
    assert message.profile_name == 'Sheena Nelson'


def test_user_id_taken_from_contacts_and_wa_id_from_contacts() -> None:
    # Current payloads carry both; a message may name the sender one way and the contact the other.
    body = _value(
        [
            {'from': SHEENA, 'id': 'wamid.A', 'timestamp': '1779372805', 'type': 'text', 'text': {'body': 'Hey'}},
            {
                'from_user_id': 'AR.1410018717833190',
                'id': 'wamid.B',
                'timestamp': '1779372806',
                'type': 'text',
                'text': {'body': 'Hola'},
            },
        ]
    )
    body['entry'][0]['changes'][0]['value']['contacts'] = [
        {
            'profile': {'name': 'Sheena Nelson'},
            'wa_id': SHEENA,
            'user_id': 'US.13491208655302741918',
            'country_code': 'US',
        },
        {'profile': {'name': 'Lucía'}, 'wa_id': '5491155550101', 'user_id': 'AR.1410018717833190'},
    ]
    first, second = parse_webhook(body).messages
    assert (first.from_wa_id, first.from_user_id, first.profile_name) == (
        SHEENA,
        'US.13491208655302741918',
        'Sheena Nelson',
    )
    assert (second.from_wa_id, second.from_user_id, second.profile_name) == (
        '5491155550101',
        'AR.1410018717833190',
        'Lucía',
    )


def test_profile_names_are_matched_per_sender_in_a_batched_change() -> None:
    contacts = [pb.contact(wa_id='5491155550101', name='Lucía'), pb.contact(wa_id='5493515550102', name='Tomás')]
    messages = [
        pb.text_message(from_='5493515550102', body='pastillas de freno', timestamp=1744344496),
        pb.text_message(from_='5491155550101', body='filtro de aceite', timestamp=1744344497),
        pb.text_message(from_='5492615550103', body='sin contacto', timestamp=1744344498),
    ]
    parsed = parse_webhook(
        pb.envelope(
            phone_number_id=PHONE_NUMBER_ID, display_phone_number=DISPLAY_NUMBER, messages=messages, contacts=contacts
        )
    )
    assert [(m.from_wa_id, m.profile_name) for m in parsed.messages] == [
        ('5493515550102', 'Tomás'),
        ('5491155550101', 'Lucía'),
        ('5492615550103', ''),
    ]


def test_sender_digits_stay_strings() -> None:
    body = _value(
        [{'from': 5491155550101, 'id': 'wamid.NUM', 'timestamp': 1744344496, 'type': 'text', 'text': {'body': 'x'}}]
    )
    message = parse_webhook(body).messages[0]
    assert message.from_wa_id == '5491155550101'
    assert message.timestamp == datetime.fromtimestamp(1744344496, UTC)


# --- batches and order ------------------------------------------------------------------------------------


def test_every_entry_change_message_and_status_is_parsed() -> None:
    branch_a = pb.envelope(
        phone_number_id='1001',
        display_phone_number='5491140000001',
        contacts=[pb.contact(wa_id='5491155550101', name='Lucía')],
        messages=[pb.text_message(from_='5491155550101', body=f'm{i}', timestamp=1744344400 + i) for i in range(3)],
    )
    branch_b = pb.envelope(
        phone_number_id='1002',
        display_phone_number='5493510000002',
        statuses=[
            pb.status(
                wa_message_id='wamid.OUT1', status='delivered', recipient_id='5493515550102', timestamp=1744344410
            )
        ],
    )
    body = pb.merge_envelopes(branch_a, branch_b)
    # A second change inside the first entry, as Meta does when it batches.
    extra_change = pb.envelope(
        phone_number_id='1003',
        display_phone_number='5492610000003',
        messages=[pb.image_message(from_='5492615550103', media_id='777', timestamp=1744344401)],
    )['entry'][0]['changes'][0]
    body['entry'][0]['changes'].append(extra_change)

    parsed = parse_webhook(body)
    assert parsed.problems == []
    assert len(body['entry']) == 2
    assert parsed.phone_number_ids == {'1001', '1002', '1003'}
    assert [(m.phone_number_id, m.text) for m in parsed.messages] == [
        ('1001', 'm0'),
        ('1001', 'm1'),
        ('1003', ''),
        ('1001', 'm2'),
    ]
    assert [(s.phone_number_id, s.wa_message_id, s.status) for s in parsed.statuses] == [
        ('1002', 'wamid.OUT1', 'delivered')
    ]


def test_messages_come_back_sorted_by_timestamp_keeping_ties_in_arrival_order() -> None:
    messages = [
        pb.text_message(from_=SHEENA, body=body, timestamp=ts, wa_message_id=f'wamid.{body}')
        for body, ts in [('c', 300), ('a', 100), ('b1', 200), ('b2', 200), ('b3', 200)]
    ]
    parsed = parse_webhook(
        pb.envelope(phone_number_id=PHONE_NUMBER_ID, display_phone_number=DISPLAY_NUMBER, messages=messages)
    )
    assert [m.text for m in parsed.messages] == ['a', 'b1', 'b2', 'b3', 'c']


def test_statuses_out_of_order_come_back_sorted() -> None:
    wamid = 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA='
    statuses = [
        pb.status(wa_message_id=wamid, status='read', recipient_id=SHEENA, timestamp=1750030090),
        pb.status(wa_message_id=wamid, status='sent', recipient_id=SHEENA, timestamp=1750030073),
        pb.status(wa_message_id=wamid, status='delivered', recipient_id=SHEENA, timestamp=1750030075),
    ]
    # Meta may also split them across entries of one POST.
    body = pb.merge_envelopes(
        *(
            pb.envelope(phone_number_id=PHONE_NUMBER_ID, display_phone_number=DISPLAY_NUMBER, statuses=[s])
            for s in statuses
        )
    )
    assert [s.status for s in parse_webhook(body).statuses] == ['sent', 'delivered', 'read']


def test_a_1000_message_batch_parses_completely() -> None:
    makers = [
        lambda i, wa: pb.text_message(from_=wa, body=f'consulta {i}'),
        lambda i, wa: pb.image_message(from_=wa, media_id=f'{10**15 + i}', caption='foto del VIN'),
        lambda i, wa: pb.interactive_button_reply(from_=wa, id='quote-yes', title='Sí', reply_to='wamid.Q'),
        lambda i, wa: pb.location_message(from_=wa, latitude=-34.6037, longitude=-58.3816),
        lambda i, wa: pb.reaction_message(from_=wa, message_id='wamid.Q', emoji='👍'),
        lambda i, wa: pb.unknown_type_message(from_=wa, type_name='poll_vote', body={'option': i}),
    ]
    senders = [f'54911{5550000 + i}' for i in range(1000)]
    messages = [makers[i % len(makers)](i, wa) for i, wa in enumerate(senders)]
    body = pb.envelope(
        phone_number_id=PHONE_NUMBER_ID,
        display_phone_number=DISPLAY_NUMBER,
        messages=messages,
        contacts=[pb.contact(wa_id=wa, name=f'Cliente {i}') for i, wa in enumerate(senders)],
    )
    parsed = parse_webhook(json.loads(json.dumps(body)))
    assert parsed.problems == []
    assert len(parsed.messages) == 1000
    assert len({m.wa_message_id for m in parsed.messages}) == 1000
    assert {m.from_wa_id for m in parsed.messages} == set(senders)
    names = {wa: f'Cliente {i}' for i, wa in enumerate(senders)}
    assert all(m.profile_name == names[m.from_wa_id or ''] for m in parsed.messages)
    assert sum(m.type == 'unsupported' for m in parsed.messages) == sum(i % len(makers) == 5 for i in range(1000))


# --- statuses ---------------------------------------------------------------------------------------------


def test_delivered_status_with_pricing_and_conversation() -> None:
    parsed = parse_webhook(STATUS_DELIVERED_EXAMPLE)
    assert parsed.problems == []
    [status] = parsed.statuses
    assert status.phone_number_id == PHONE_NUMBER_ID
    assert status.wa_message_id == 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA='
    assert status.status == 'delivered'
    assert status.timestamp == datetime.fromtimestamp(1750030075, UTC)
    assert status.recipient_id == SHEENA
    assert status.recipient_user_id is None
    assert status.biz_opaque_callback_data == '1744434060'
    assert status.errors == ()
    assert status.raw['pricing'] == {
        'billable': True,
        'pricing_model': 'PMP',
        'type': 'regular',
        'category': 'marketing',
    }
    assert parsed.messages == []


def test_failed_status_carries_code_title_and_details() -> None:
    [status] = parse_webhook(STATUS_FAILED_EXAMPLE).statuses
    assert status.status == 'failed'
    assert status.errors == (
        ErrorDetail(
            code=131049,
            title='This message was not delivered to maintain healthy ecosystem engagement.',
            message='This message was not delivered to maintain healthy ecosystem engagement.',
            details='In order to maintain a healthy ecosystem engagement, the message failed to be delivered.',
        ),
    )


def test_status_strings_are_lowercased_and_unknown_ones_kept() -> None:
    statuses = [
        pb.status(wa_message_id='wamid.A', status='DELIVERED', recipient_id=SHEENA, timestamp=1),
        pb.status(wa_message_id='wamid.B', status='played', recipient_id=SHEENA, timestamp=2),
        pb.status(wa_message_id='wamid.C', status='held_for_review', recipient_id=SHEENA, timestamp=3),
    ]
    parsed = parse_webhook(
        pb.envelope(phone_number_id=PHONE_NUMBER_ID, display_phone_number=DISPLAY_NUMBER, statuses=statuses)
    )
    assert [s.status for s in parsed.statuses] == ['delivered', 'played', 'held_for_review']


def test_status_sent_to_a_business_scoped_user_id_has_no_recipient_id() -> None:
    item = pb.status(
        wa_message_id='wamid.A',
        status='read',
        recipient_id=None,
        recipient_user_id='US.13491208655302741918',
        timestamp=1750030090,
    )
    [status] = parse_webhook(
        pb.envelope(phone_number_id=PHONE_NUMBER_ID, display_phone_number=DISPLAY_NUMBER, statuses=[item])
    ).statuses
    assert (status.recipient_id, status.recipient_user_id) == (None, 'US.13491208655302741918')


def test_account_level_errors() -> None:
    body = pb.envelope(
        phone_number_id=PHONE_NUMBER_ID,
        display_phone_number=DISPLAY_NUMBER,
        errors=[
            pb.error(code=130501, title='Unsupported message type', details='Message type is not currently supported')
        ],
    )
    parsed = parse_webhook(body)
    assert parsed.account_errors == [
        ErrorDetail(
            130501, 'Unsupported message type', 'Unsupported message type', 'Message type is not currently supported'
        )
    ]
    assert parsed.problems == []


# --- unsupported and unknown ------------------------------------------------------------------------------


def test_meta_unsupported_message_is_stored_with_its_error() -> None:
    message = _one_message(UNSUPPORTED_EXAMPLE)
    assert message.type == 'unsupported'
    assert message.text == ''
    assert message.fields == {
        'unsupported_type': 'edit',
        'errors': [
            {
                'code': 131051,
                'title': 'Message type unknown',
                'message': 'Message type unknown',
                'details': 'Message type is currently not supported.',
            }
        ],
    }
    assert message.errors[0].code == 131051


def test_a_type_meta_adds_later_becomes_unsupported_with_raw_kept() -> None:
    raw = pb.unknown_type_message(
        from_=SHEENA, type_name='poll_vote', body={'poll_id': 'p1', 'option': 2}, timestamp=1744344496
    )
    message = _one_message(_value([raw]))
    assert message.type == 'unsupported'
    assert message.fields == {'original_type': 'poll_vote', 'errors': []}  # every unsupported has an errors list
    assert message.raw == {
        'from': SHEENA,
        'id': raw['id'],
        'timestamp': '1744344496',
        'type': 'poll_vote',
        'poll_vote': {'poll_id': 'p1', 'option': 2},
    }
    assert message.profile_name == 'Sheena Nelson'


def test_a_message_without_type_is_kept_as_unsupported_and_flagged() -> None:
    parsed = parse_webhook(_value([{'from': SHEENA, 'id': 'wamid.T', 'timestamp': '1744344496'}]))
    assert [(m.type, m.fields['original_type']) for m in parsed.messages] == [('unsupported', None)]
    assert parsed.problems == ['entry[0].changes[0].value.messages[0] (wamid.T): missing type, stored as unsupported']


# --- odd shapes: problems, never exceptions ---------------------------------------------------------------


def _with_message(message: Any) -> dict[str, Any]:
    return _value([message])


GOOD = {'from': SHEENA, 'id': 'wamid.OK', 'timestamp': '1744344496', 'type': 'text', 'text': {'body': 'ok'}}


@pytest.mark.parametrize(
    ('payload', 'problem'),
    [
        ([], 'payload is a list, not an object'),
        ('x', 'payload is a str, not an object'),
        (None, 'payload is a NoneType, not an object'),
        (42, 'payload is a int, not an object'),
        ({}, "object is None, not 'whatsapp_business_account'"),
        ({'object': 'page', 'entry': []}, "object is 'page', not 'whatsapp_business_account'"),
        ({'object': 'whatsapp_business_account'}, 'entry is missing or not a list'),
        ({'object': 'whatsapp_business_account', 'entry': {'id': '1'}}, 'entry is missing or not a list'),
        ({'object': 'whatsapp_business_account', 'entry': ['x']}, 'entry[0]: not an object'),
        ({'object': 'whatsapp_business_account', 'entry': [{'id': '1'}]}, 'entry[0]: changes is missing or not a list'),
        ({'object': 'whatsapp_business_account', 'entry': [{'changes': [7]}]}, 'entry[0].changes[0]: not an object'),
        (
            {'object': 'whatsapp_business_account', 'entry': [{'changes': [{'field': 'messages'}]}]},
            'entry[0].changes[0]: value is missing or not an object',
        ),
        (
            {'object': 'whatsapp_business_account', 'entry': [{'changes': [{'field': 'messages', 'value': {}}]}]},
            'entry[0].changes[0].value: metadata is missing',
        ),
        (_value(), 'entry[0].changes[0].value: no messages, statuses or errors'),
        (_value(messages={'id': 'x'}), 'entry[0].changes[0].value.messages: not a list'),
        (_value(statuses='sent'), 'entry[0].changes[0].value.statuses: not a list'),
        (_with_message('hello'), 'entry[0].changes[0].value.messages[0]: not an object'),
        (_with_message({**GOOD, 'id': None}), 'entry[0].changes[0].value.messages[0]: missing id'),
        (_with_message({**GOOD, 'id': ''}), 'entry[0].changes[0].value.messages[0]: missing id'),
        (
            _with_message({k: v for k, v in GOOD.items() if k != 'timestamp'}),
            'entry[0].changes[0].value.messages[0] (wamid.OK): missing or bad timestamp None',
        ),
        (
            _with_message({**GOOD, 'timestamp': 'yesterday'}),
            "entry[0].changes[0].value.messages[0] (wamid.OK): missing or bad timestamp 'yesterday'",
        ),
        (
            _with_message({**GOOD, 'timestamp': '-5'}),
            "entry[0].changes[0].value.messages[0] (wamid.OK): missing or bad timestamp '-5'",
        ),
        (
            _with_message({**GOOD, 'timestamp': '99999999999999999999'}),
            "entry[0].changes[0].value.messages[0] (wamid.OK): missing or bad timestamp '99999999999999999999'",
        ),
        (
            _with_message({**GOOD, 'timestamp': ['1744344496']}),
            "entry[0].changes[0].value.messages[0] (wamid.OK): missing or bad timestamp ['1744344496']",
        ),
        (
            _with_message({**GOOD, 'timestamp': True}),
            'entry[0].changes[0].value.messages[0] (wamid.OK): missing or bad timestamp True',
        ),
        (_value(statuses=[{'status': 'sent', 'timestamp': '1'}]), 'entry[0].changes[0].value.statuses[0]: missing id'),
        (
            _value(statuses=[{'id': 'wamid.S', 'timestamp': '1'}]),
            'entry[0].changes[0].value.statuses[0] (wamid.S): missing status',
        ),
        (
            _value(statuses=[{'id': 'wamid.S', 'status': 'read', 'timestamp': 'soon'}]),
            "entry[0].changes[0].value.statuses[0] (wamid.S): missing or bad timestamp 'soon'",
        ),
    ],
)
def test_odd_shapes_become_problems_not_exceptions(payload: Any, problem: str) -> None:
    parsed = parse_webhook(payload)
    assert isinstance(parsed, ParsedWebhook)
    assert problem in parsed.problems
    assert parsed.messages == [] and parsed.statuses == []


def test_bad_items_are_skipped_and_the_rest_of_the_batch_kept() -> None:
    no_id = {**GOOD, 'id': None}
    bad_time = {**GOOD, 'id': 'wamid.LATE', 'timestamp': 'soon'}
    parsed = parse_webhook(_value([GOOD, no_id, bad_time, {**GOOD, 'id': 'wamid.OK2'}]))
    assert [m.wa_message_id for m in parsed.messages] == ['wamid.OK', 'wamid.OK2']
    assert parsed.problems == [
        'entry[0].changes[0].value.messages[1]: missing id',
        "entry[0].changes[0].value.messages[2] (wamid.LATE): missing or bad timestamp 'soon'",
    ]


def test_other_webhook_fields_are_noted_but_do_not_stop_messages() -> None:
    body = _value([GOOD])
    body['entry'][0]['changes'].insert(
        0, {'field': 'account_update', 'value': {'phone_number': DISPLAY_NUMBER, 'event': 'VERIFIED_ACCOUNT'}}
    )
    parsed = parse_webhook(body)
    assert [m.wa_message_id for m in parsed.messages] == ['wamid.OK']
    assert parsed.problems == ["entry[0].changes[0]: field 'account_update' ignored"]


def test_timestamps_as_strings_or_numbers() -> None:
    body = _value(
        [
            {**GOOD, 'id': 'wamid.S', 'timestamp': '1744344496'},
            {**GOOD, 'id': 'wamid.I', 'timestamp': 1744344497},
            {**GOOD, 'id': 'wamid.F', 'timestamp': 1744344498.0},
        ]
    )
    parsed = parse_webhook(body)
    assert parsed.problems == []
    assert [int(m.timestamp.timestamp()) for m in parsed.messages] == [1744344496, 1744344497, 1744344498]
    assert all(m.timestamp.tzinfo is UTC for m in parsed.messages)


def test_randomly_damaged_payloads_never_raise() -> None:
    seeds = [
        TEXT_EXAMPLE,
        IMAGE_EXAMPLE,
        BUTTON_REPLY_EXAMPLE,
        LOCATION_EXAMPLE,
        REACTION_EXAMPLE,
        STATUS_DELIVERED_EXAMPLE,
        STATUS_FAILED_EXAMPLE,
        UNSUPPORTED_EXAMPLE,
        USERNAME_USER_EXAMPLE,
    ]
    junk: list[Any] = [None, True, 0, -1, 1.5, float('nan'), '', 'x', [], {}, [None], {'a': []}, 10**30]
    rng = random.Random(20260101)  # fixed: a failure must be reproducible

    def nodes(value: Any, parent: Any = None, key: Any = None) -> list[tuple[Any, Any]]:
        found = [(parent, key)] if parent is not None else []
        items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
        for k, child in items:
            found.extend(nodes(child, value, k))
        return found

    for _ in range(400):
        payload = copy.deepcopy(rng.choice(seeds))
        for parent, key in rng.sample(nodes(payload), k=3):
            # An earlier replacement may have removed this spot already.
            with contextlib.suppress(KeyError, IndexError, TypeError):
                parent[key] = rng.choice(junk)
        parsed = parse_webhook(payload)
        assert isinstance(parsed, ParsedWebhook)


# --- builders --------------------------------------------------------------------------------------------


def test_builders_reproduce_metas_reference_examples_exactly() -> None:
    wamid = 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA='
    sheena = [pb.contact(wa_id=SHEENA, name='Sheena Nelson')]

    def wrap(**kwargs: Any) -> dict[str, Any]:
        return pb.envelope(phone_number_id=PHONE_NUMBER_ID, display_phone_number=DISPLAY_NUMBER, **kwargs)

    assert (
        wrap(
            contacts=sheena,
            messages=[
                pb.text_message(
                    from_=SHEENA,
                    body='Does it come in another color?',
                    wa_message_id=wamid,
                    timestamp=1749416383,
                )
            ],
        )
        == TEXT_EXAMPLE
    )
    assert (
        wrap(
            contacts=sheena,
            messages=[
                pb.image_message(
                    from_=SHEENA,
                    media_id='1003383421387256',
                    sha256='SfInY0gGKTsJlUWbwxC1k+FAD0FZHvzwfpvO0zX0GUI=',
                    caption='Taj Mahal',
                    wa_message_id=wamid,
                    timestamp=1744344496,
                    url='https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=133...',
                )
            ],
        )
        == IMAGE_EXAMPLE
    )
    assert (
        wrap(
            contacts=sheena,
            messages=[
                pb.interactive_button_reply(
                    from_=SHEENA,
                    id='cancel-button',
                    title='Cancel',
                    reply_to='wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3MEM2RUJFNkI0RENGQTVDRjUA',
                    reply_to_from=DISPLAY_NUMBER,
                    wa_message_id='wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTZBQzg0MzQ4QjRCM0NGNkVGOAA=',
                    timestamp=1750025136,
                )
            ],
        )
        == BUTTON_REPLY_EXAMPLE
    )
    other = 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA='
    assert (
        wrap(
            contacts=sheena,
            messages=[
                pb.location_message(
                    from_=SHEENA,
                    latitude=37.44221496582,
                    longitude=-122.16165924072,
                    name='Philz Coffee',
                    address='101 Forest Ave, Palo Alto, CA 94301',
                    url='https://philzcoffee.com/',
                    wa_message_id=other,
                    timestamp=1744344496,
                )
            ],
        )
        == LOCATION_EXAMPLE
    )
    assert (
        wrap(
            contacts=sheena,
            messages=[
                pb.reaction_message(
                    from_=SHEENA,
                    message_id='wamid.HBgLMTQxMjU1NTA4MjkVAgASGBQzQUNCNjk5RDUwNUZGMUZEM0VBRAA=',
                    emoji='👍',
                    wa_message_id=other,
                    timestamp=1749419544,
                )
            ],
        )
        == REACTION_EXAMPLE
    )
    assert (
        wrap(
            contacts=sheena,
            messages=[
                pb.unsupported_message(
                    from_=SHEENA,
                    unsupported_type='edit',
                    wa_message_id=other,
                    timestamp=1750090702,
                )
            ],
        )
        == UNSUPPORTED_EXAMPLE
    )
    assert (
        wrap(
            statuses=[
                pb.status(
                    wa_message_id=other,
                    status='sent',
                    recipient_id=SHEENA,
                    timestamp=1750030073,
                    pricing=True,
                    conversation=True,
                    pricing_category='marketing',
                    pricing_type='regular',
                    conversation_id='72b14d6bd5407799e66f64d1b338e567',
                    conversation_expiration=1750116480,
                )
            ]
        )
        == STATUS_SENT_EXAMPLE
    )
    assert (
        wrap(
            statuses=[
                pb.status(
                    wa_message_id=other,
                    status='delivered',
                    recipient_id=SHEENA,
                    timestamp=1750030075,
                    pricing=True,
                    conversation=True,
                    pricing_category='marketing',
                    pricing_type='regular',
                    conversation_id='72b14d6bd5407799e66f64d1b338e567',
                    biz_opaque_callback_data='1744434060',
                )
            ]
        )
        == STATUS_DELIVERED_EXAMPLE
    )
    assert (
        wrap(
            statuses=[
                pb.failed_status(
                    wa_message_id='wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI0QUQ2MjA4NEYyRkExNjMyREUA',
                    recipient_id=SHEENA,
                    code=131049,
                    title='This message was not delivered to maintain healthy ecosystem engagement.',
                    details='In order to maintain a healthy ecosystem engagement, the message failed to be delivered.',
                    timestamp=1751142888,
                )
            ]
        )
        == STATUS_FAILED_EXAMPLE
    )
    assert (
        wrap(
            contacts=[
                pb.contact(
                    wa_id=None, name='Sheena Nelson', user_id='US.13491208655302741918', username='realsheenanelson'
                )
            ],
            messages=[
                pb.text_message(
                    from_=None,
                    from_user_id='US.13491208655302741918',
                    body='Does it come in another color?',
                    wa_message_id=wamid,
                    timestamp=1749416383,
                )
            ],
        )
        == USERNAME_USER_EXAMPLE
    )


def test_every_builder_round_trips_through_the_parser() -> None:
    ts = 1744344496
    built = [
        pb.text_message(from_=SHEENA, body='hola', timestamp=ts),
        pb.image_message(from_=SHEENA, media_id='m1', caption='VIN', timestamp=ts),
        pb.document_message(from_=SHEENA, media_id='m2', filename='presupuesto.pdf', timestamp=ts),
        pb.audio_message(from_=SHEENA, media_id='m3', voice=False, mime_type='audio/mpeg', timestamp=ts),
        pb.video_message(from_=SHEENA, media_id='m4', timestamp=ts),
        pb.sticker_message(from_=SHEENA, media_id='m5', timestamp=ts),
        pb.location_message(from_=SHEENA, latitude=-31.4201, longitude=-64.1888, name='Sucursal Córdoba', timestamp=ts),
        pb.contacts_message(
            from_=SHEENA,
            contacts=[pb.contact_card(formatted_name='Taller Gómez', phone='+54 351 555', wa_id='54351555')],
            timestamp=ts,
        ),
        pb.interactive_button_reply(from_=SHEENA, id='yes', title='Sí', timestamp=ts),
        pb.interactive_list_reply(from_=SHEENA, id='brake', title='Frenos', description='Pastillas', timestamp=ts),
        pb.button_message(from_=SHEENA, payload='STOP', text='No quiero más mensajes', timestamp=ts),
        pb.reaction_message(from_=SHEENA, message_id='wamid.X', emoji='', timestamp=ts),
        pb.order_message(from_=SHEENA, catalog_id='c1', product_items=[], timestamp=ts),
        pb.system_message(from_=SHEENA, body='changed', new_wa_id='5491100000000', timestamp=ts),
        pb.request_welcome_message(from_=SHEENA, timestamp=ts),
        pb.unsupported_message(from_=SHEENA, unsupported_type='poll_creation', timestamp=ts),
        pb.unknown_type_message(from_=SHEENA, type_name='future_thing', timestamp=ts),
    ]
    parsed = parse_webhook(
        pb.envelope(
            phone_number_id=PHONE_NUMBER_ID,
            display_phone_number=DISPLAY_NUMBER,
            messages=built,
            contacts=[pb.contact(wa_id=SHEENA, name='Sheena')],
        )
    )
    assert parsed.problems == []
    summary = [(m.type, m.text, m.media.wa_media_id if m.media else None) for m in parsed.messages]
    assert summary == [
        ('text', 'hola', None),
        ('image', 'VIN', 'm1'),
        ('document', '', 'm2'),
        ('audio', '', 'm3'),
        ('video', '', 'm4'),
        ('sticker', '', 'm5'),
        ('location', 'Sucursal Córdoba', None),
        ('contacts', 'Taller Gómez', None),
        ('interactive', 'Sí', None),
        ('interactive', 'Frenos', None),
        ('button', 'No quiero más mensajes', None),
        ('reaction', '', None),
        ('order', '', None),
        ('system', 'changed', None),
        ('request_welcome', '', None),
        ('unsupported', '', None),
        ('unsupported', '', None),
    ]
    assert [m.wa_message_id for m in parsed.messages] == [b['id'] for b in built]
    document, audio = parsed.messages[2].media, parsed.messages[3].media
    assert document is not None and document.filename == 'presupuesto.pdf'
    assert audio is not None and audio.voice is False
    assert parsed.messages[9].fields['description'] == 'Pastillas'
    assert parsed.messages[15].fields['unsupported_type'] == 'poll_creation'
    assert parsed.messages[16].fields['original_type'] == 'future_thing'
    assert all(m.profile_name == 'Sheena' for m in parsed.messages)


def test_failed_status_builder_defaults_to_the_24_hour_window_error() -> None:
    item = pb.failed_status(wa_message_id='wamid.OUT', recipient_id=SHEENA, timestamp=1751142888)
    [status] = parse_webhook(
        pb.envelope(phone_number_id=PHONE_NUMBER_ID, display_phone_number=DISPLAY_NUMBER, statuses=[item])
    ).statuses
    assert status.errors == (
        ErrorDetail(
            131047,
            'Re-engagement message',
            'Re-engagement message',
            'More than 24 hours have passed since the recipient last replied to the sender number.',
        ),
    )


def test_new_wamid_looks_like_metas_and_is_unique() -> None:
    ids = {pb.new_wamid(wa_id='5491155550101') for _ in range(1000)}
    assert len(ids) == 1000
    sample = next(iter(ids))
    assert sample.startswith('wamid.HBg')  # every id Meta documents starts this way
    decoded = base64.b64decode(sample.removeprefix('wamid.'), validate=True)
    assert b'5491155550101' in decoded
    assert pb.new_wamid().startswith('wamid.')


def test_generated_ids_and_timestamps_only_when_not_given() -> None:
    fixed = pb.text_message(from_=SHEENA, body='x', wa_message_id='wamid.FIXED', timestamp=5)
    assert fixed == pb.text_message(from_=SHEENA, body='x', wa_message_id='wamid.FIXED', timestamp=5)
    fresh = pb.text_message(from_=SHEENA, body='x')
    assert fresh['id'].startswith('wamid.') and fresh['id'] != fixed['id']
    assert int(fresh['timestamp']) > 1_700_000_000
