"""The demo's finished campaign (issue 16, L4): forty prospects of Casa Central across the score bands, one campaign
of the `retomar_conversacion` template three days ago, and its outcome, so /campanas has results and a response-rate
chart to show before anyone sends anything: the gate blocked the low scores and the unvalidated; of those sent, a
few failed (Meta's 131026), most were delivered and read, the higher bands answered more, and one customer asked out.

Everything is written in one transaction with its final state; no row is ever `queued`, so a worker starting at the
same moment has nothing of it to send.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlmodel import col, select

from ..campaigns.service import band_of, open_conversations
from ..database import Database
from ..models import (
    Branch,
    Contact,
    Direction,
    Message,
    MessageStatus,
    MessageTemplate,
    SenderKind,
    WhatsAppNumber,
    table_of,
)
from ..models.campaigns import Campaign, CampaignRecipient, CampaignStatus, OptOut
from ..models.leads import ContactBranch, ContactLabel
from ..models.types import utcnow
from ..whatsapp.outbox import BulkRecipient, stage_campaign_templates

DEMO_LABEL = 'promo-frenos'
DEMO_NAME = 'Promo pastillas de freno (demo)'
_NAMES = ('Andrea', 'Bruno', 'Camila', 'Damián', 'Elena', 'Federico', 'Gabriela', 'Horacio', 'Inés', 'Joaquín')
_SURNAMES = ('Acosta', 'Benítez', 'Castro', 'Domínguez')
# Who answered, by position within their band (the higher bands answer more: what the chart should show).
_REPLIES = {'70–79': {2}, '80–89': {1, 4}, '90–100': {0, 3, 6}}
_REPLY_TEXTS = ('¿Tienen para Corolla 2015?', 'Pasame precio de las delanteras', '¿Hasta cuándo vale la promo?')


def _score(index: int) -> int:
    """Eight prospects per band: 40–49, 50–69, 70–79, 80–89, 90–100."""
    band, step = divmod(index, 8)
    return (40, 55, 70, 80, 90)[band] + step


async def seed_campaigns(
    db: Database, *, branch_code: str = 'SUC1', template: str = 'retomar_conversacion'
) -> int | None:
    """Add the finished demo campaign to `branch_code`'s first number; returns its id (None without that number or
    template, or when it is there already)."""
    now = utcnow()
    started = now - timedelta(days=3)
    async with db.session() as session:
        if (await session.exec(select(Campaign.id).where(Campaign.name == DEMO_NAME))).first():
            return None
        found = (
            await session.exec(
                select(Branch, WhatsAppNumber, MessageTemplate)
                .join(WhatsAppNumber, col(WhatsAppNumber.branch_id) == col(Branch.id))
                .join(MessageTemplate, col(MessageTemplate.number_id) == col(WhatsAppNumber.id))
                .where(Branch.code == branch_code, MessageTemplate.name == template)
                .order_by(col(WhatsAppNumber.id))
            )
        ).first()
        if found is None:
            return None
        branch, number, message_template = found
        contacts: list[Contact] = []
        for index in range(40):
            score = _score(index)
            contact = Contact(
                phone_e164=f'+54911710000{index:02d}',
                wa_id=f'54911710000{index:02d}',
                display_name=f'{_NAMES[index % len(_NAMES)]} {_SURNAMES[index % len(_SURNAMES)]}',
                score_contactabilidad=score,
                validado_tecnicamente=index not in {20, 33},  # two of the fit ones not validated yet
                created_at=started - timedelta(days=10),
                updated_at=started,
            )
            session.add(contact)
            contacts.append(contact)
        await session.flush()
        for contact in contacts:
            session.add(ContactBranch(contact_id=contact.id or 0, branch_id=branch.id or 0, source='import'))
            session.add(ContactLabel(contact_id=contact.id or 0, label=DEMO_LABEL))
        campaign = Campaign(
            name=DEMO_NAME,
            number_id=number.id or 0,
            branch_id=branch.id or 0,
            template_id=message_template.id or 0,
            variable_fields=['first_name', 'branch'],
            audience_branch_id=branch.id,
            audience_label=DEMO_LABEL,
            rate_per_minute=20,
            status=CampaignStatus.DONE,
            started_at=started,
            enqueued_at=started,
            finished_at=started + timedelta(hours=1),
            recipients_total=len(contacts),
            created_at=started - timedelta(hours=1),
        )
        session.add(campaign)
        await session.flush()
        conversation_ids = await open_conversations(
            session,
            db.dialect,
            contact_ids=[contact.id or 0 for contact in contacts],
            number_id=number.id or 0,
            branch_id=branch.id or 0,
        )
        far_away = now + timedelta(days=365)  # never due: every row gets its final state below, in this transaction
        staged = await stage_campaign_templates(
            session,
            campaign_id=campaign.id or 0,
            template=message_template,
            min_score=campaign.min_score,
            next_slot=lambda: far_away,
            recipients=[
                BulkRecipient(
                    conversation_id=conversation_ids[contact.id or 0],
                    contact_id=contact.id or 0,
                    score=contact.score_contactabilidad,
                    validated=contact.validado_tecnicamente,
                    opted_out_at=None,
                    variables=[contact.display_name.split()[0], branch.name],
                )
                for contact in contacts
            ],
        )
        by_contact = {contact.id: contact for contact in contacts}
        session.add_all(
            CampaignRecipient(
                campaign_id=campaign.id or 0,
                contact_id=item.contact_id,
                message_id=item.message_id,
                score=by_contact[item.contact_id].score_contactabilidad,
                blocked_reason=item.blocked or '',
                created_at=started,
            )
            for item in staged
        )
        messages = table_of(Message)
        replies: list[Message] = []
        position: dict[str, int] = {}
        for sequence, item in enumerate(staged):
            sent_at = started + timedelta(seconds=3 * sequence)
            values: dict[str, object] = {
                'next_attempt_at': None,
                'sent_at': sent_at,
                'created_at': sent_at,
                'status_updated_at': sent_at,
            }
            if item.blocked is None:
                band = band_of(by_contact[item.contact_id].score_contactabilidad)
                place = position[band] = position.get(band, -1) + 1
                values['status'] = MessageStatus.READ if place % 3 != 2 else MessageStatus.DELIVERED
                if place == 5 and band == '70–79':
                    values.update(status=MessageStatus.FAILED, error_code=131026, error_title='Mensaje no entregable')
                if place in _REPLIES.get(band, set()):
                    values['status'] = MessageStatus.READ
                    replies.append(
                        Message(
                            conversation_id=item.conversation_id,
                            direction=Direction.INBOUND,
                            sender_kind=SenderKind.CUSTOMER,
                            text=_REPLY_TEXTS[len(replies) % len(_REPLY_TEXTS)],
                            wa_message_id=f'wamid.demo-campaign-reply-{item.contact_id}',
                            sent_at=sent_at + timedelta(minutes=20),
                            created_at=sent_at + timedelta(minutes=20),
                        )
                    )
            await session.exec(update(messages).where(messages.c.id == item.message_id).values(**values))
        # The last reply of the best band is a "BAJA": answered, and out for good.
        opted = replies[-1]
        opted.text = 'BAJA'
        session.add_all(replies)
        await session.flush()
        out = by_contact[next(item.contact_id for item in staged if item.conversation_id == opted.conversation_id)]
        out.opted_out_at = opted.created_at
        session.add(OptOut(contact_id=out.id or 0, message_id=opted.id, keyword='BAJA', created_at=opted.created_at))
        await session.commit()
        return campaign.id
