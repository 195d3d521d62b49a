"""Importing prospect lists as people have them (SPEC L3): Excel's CSV (byte order mark, `;`), Latin-1, comma
files, vCards with several numbers, Argentine numbers written every local way, duplicates of existing contacts
(also the +54 9 / +54 forms) and of earlier rows, and broken rows reported with their line numbers — nothing else
lost. On SQLite and PostgreSQL."""

from __future__ import annotations

from sqlmodel import col, select

from services.database import Database
from services.leads import guess_mapping, import_prospects, read_prospect_bytes
from services.models import AuditEntry, Contact
from services.models.leads import ContactBranch, ContactLabel, LeadProfile
from tests.conftest import World
from tests.unit.services.leads.conftest import viewer_of


async def contacts_by_phone(db: Database) -> dict[str | None, Contact]:
    async with db.session() as session:
        return {c.phone_e164: c for c in (await session.exec(select(Contact))).all()}


async def profile_of(db: Database, contact_id: int) -> LeadProfile:
    async with db.session() as session:
        return (await session.exec(select(LeadProfile).where(col(LeadProfile.contact_id) == contact_id))).one()


EXCEL_CSV = (
    '\ufeffRazón social;Contacto;Teléfono;Celular;Correo;Sitio web;Rubro\r\n'
    'Taller Pérez;Juan Pérez;011 4321-0000;011 15-4444-5555;ventas@tallerperez.com.ar;www.tallerperez.com.ar;taller\r\n'
    'Repuestos Córdoba;Ana;;0351 15 512-3456;ana@gmail.com;;repuestos, flota\r\n'
    'Gomería Sur;Luis;(0291) 15 444-5555;;;;\r\n'
    'Sin número;Pedro;;;pedro@x.com;;\r\n'
    'Número roto;Marta;hola;123;;;\r\n'
    ';;;;;;\r\n'
    'Taller Pérez (otra sucursal);Juan;+54 9 11 4444 5555;;;;taller\r\n'
)


async def test_an_excel_csv_with_bom_and_semicolons_imports_every_good_row(db: Database, world: World) -> None:
    table = read_prospect_bytes(EXCEL_CSV.encode('utf-8'), name='prospectos.csv')
    assert (table.delimiter, table.encoding) == (';', 'utf-8-sig')
    mapping = guess_mapping(table.headers)
    assert mapping['phone'] == ['Teléfono', 'Celular']
    assert (mapping['company'], mapping['name'], mapping['email']) == (['Razón social'], ['Contacto'], ['Correo'])
    assert (mapping['website'], mapping['labels']) == (['Sitio web'], ['Rubro'])

    result = await import_prospects(db, table, mapping=mapping, branch_id=world.central.id)

    outcomes = {row.line: (row.outcome, row.reason) for row in result.rows}
    assert outcomes == {
        2: ('created', ''),
        3: ('created', ''),
        4: ('created', ''),
        5: ('invalid', 'sin teléfono'),
        6: ('invalid', 'teléfono inválido: hola, 123'),
        8: ('merged', 'línea 2'),
    }
    assert result.blank == 1
    found = await contacts_by_phone(db)
    # The Teléfono column came first: the person is found by it, and the Celular is kept too.
    juan = found['+5491143210000']
    assert juan.display_name == 'Juan Pérez'
    assert juan.email == 'ventas@tallerperez.com.ar'
    assert juan.digital_maturity == 80  # website + corporate e-mail on its domain
    juan_profile = await profile_of(db, juan.id or 0)
    assert juan_profile.company == 'Taller Pérez'
    assert '+5491144445555' in juan_profile.other_phones
    assert found['+5493515123456'].display_name == 'Ana'
    assert found['+5492914445555'].score_contactabilidad == 60  # valid mobile, WhatsApp not checked yet
    async with db.session() as session:
        labels = set((await session.exec(select(ContactLabel.label))).all())
        branches = (await session.exec(select(ContactBranch.branch_id).distinct())).all()
        audit = (await session.exec(select(AuditEntry).where(AuditEntry.action == 'leads.imported'))).one()
    assert labels == {'taller', 'repuestos', 'flota'}
    assert branches == [world.central.id]
    assert audit.details['created'] == 3


async def test_latin1_and_comma_files_keep_their_accents(db: Database, world: World) -> None:
    data = 'Nombre,Tel\nJosé Núñez,11 5555-0101\nMaría Peña,"0351 15 555-0102"\n'.encode('latin-1')
    table = read_prospect_bytes(data, name='lista.csv')
    assert table.delimiter == ','
    result = await import_prospects(db, table, mapping=guess_mapping(table.headers))
    assert result.created == 2
    found = await contacts_by_phone(db)
    assert found['+5491155550101'].display_name == 'José Núñez'
    assert found['+5493515550102'].display_name == 'María Peña'


async def test_a_row_matching_an_existing_contact_by_the_other_form_of_its_mobile_is_merged(
    db: Database, world: World
) -> None:
    async with db.session() as session:
        # A customer who wrote on WhatsApp (stored +549…) and one saved long ago without the 9.
        session.add(Contact(phone_e164='+5491155550101', profile_name='José (WhatsApp)'))
        session.add(Contact(phone_e164='+541155550202', display_name='', email=''))
        await session.commit()
    csv_text = (
        'Nombre;Teléfono;Email\nJosé Núñez;+54 11 5555-0101;jose@nunez.com.ar\nLaura;011 15 5555-0202;laura@x.com\n'
    )
    table = read_prospect_bytes(csv_text.encode(), name='a.csv')
    result = await import_prospects(db, table, mapping=guess_mapping(table.headers))
    assert [(row.line, row.outcome) for row in result.rows] == [(2, 'merged'), (3, 'merged')]
    found = await contacts_by_phone(db)
    assert len(found) == 2
    jose = found['+5491155550101']
    assert jose.profile_name == 'José (WhatsApp)'
    assert jose.display_name == ''  # WhatsApp's name stays; an import never overwrites a name the contact has
    assert jose.email == 'jose@nunez.com.ar'  # but fills what was missing
    assert found['+541155550202'].display_name == 'Laura'


async def test_vcards_with_several_numbers_and_a_broken_card(db: Database, world: World) -> None:
    vcf = (
        'BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Juan Pérez\r\nORG:Taller Pérez;\r\n'
        'TEL;TYPE=CELL:+54 9 11 4444-5555\r\nTEL;TYPE=WORK:011 4321-0000\r\n'
        'EMAIL:juan@tallerperez.com.ar\r\nURL:https://tallerperez.com.ar\r\nEND:VCARD\r\n'
        'BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Ana López\r\nTEL;VALUE=uri;TYPE=cell:tel:+54-351-155-123456\r\nEND:VCARD\r\n'
        'BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Roto\r\nTEL:\r\nEND:VCARD\r\n'
        'BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Sin fin\r\nTEL:1155550303\r\n'
    )
    table = read_prospect_bytes(vcf.encode(), name='contactos.vcf')
    assert table.kind == 'vcard'
    result = await import_prospects(db, table, mapping=guess_mapping(table.headers))
    outcomes = [(row.line, row.outcome) for row in result.rows]
    assert outcomes == [(1, 'created'), (10, 'created'), (15, 'invalid'), (20, 'invalid')]
    found = await contacts_by_phone(db)
    juan = found['+5491144445555']
    assert juan.display_name == 'Juan Pérez'
    profile = await profile_of(db, juan.id or 0)
    assert profile.company == 'Taller Pérez'
    assert profile.other_phones == ['+5491143210000']
    assert found['+5493515123456'].display_name == 'Ana López'
    assert [row.reason for row in result.invalid] == ['sin teléfono', 'vCard sin END:VCARD']


async def test_a_quoted_cell_with_a_line_break_keeps_the_line_numbers_true(db: Database, world: World) -> None:
    csv_text = 'Nombre;Teléfono;Notas\nAna;1155550101;"dos\nrenglones"\nMal;0000;\n'
    table = read_prospect_bytes(csv_text.encode(), name='b.csv')
    result = await import_prospects(db, table, mapping=guess_mapping(table.headers))
    assert [(row.line, row.outcome) for row in result.rows] == [(2, 'created'), (4, 'invalid')]


async def test_a_mapping_without_a_phone_column_is_refused(db: Database, world: World) -> None:
    table = read_prospect_bytes(b'Nombre;Ciudad\nAna;Rosario\n', name='c.csv')
    try:
        await import_prospects(db, table, mapping=guess_mapping(table.headers))
    except ValueError as error:
        assert 'phone' in str(error)
    else:
        raise AssertionError('imported a list without phone numbers')


async def test_a_managers_file_leaves_another_branchs_customer_alone(db: Database, world: World) -> None:
    # B2: Rosario's customer is in Marta's (Casa Central) file: she must not pull him onto her list nor change him.
    async with db.session() as session:
        rosario_customer = Contact(phone_e164='+5491155550303', profile_name='Gustavo (Rosario)')
        session.add(rosario_customer)
        await session.flush()
        session.add(ContactBranch(contact_id=rosario_customer.id or 0, branch_id=world.rosario.id or 0))
        await session.commit()
    marta = await viewer_of(db, world.marta)
    csv_text = 'Nombre;Teléfono;Email\nGustavo;011 15 5555-0303;gus@x.com\nNueva;011 15 5555-0404;\n'
    table = read_prospect_bytes(csv_text.encode(), name='b.csv')

    result = await import_prospects(
        db, table, mapping=guess_mapping(table.headers), branch_id=world.central.id, viewer=marta
    )

    assert [(row.line, row.outcome) for row in result.rows] == [(2, 'invalid'), (3, 'created')]
    assert 'otra sucursal' in result.rows[0].reason
    gustavo = (await contacts_by_phone(db))['+5491155550303']
    assert gustavo.email == ''
    async with db.session() as session:
        branches = (
            await session.exec(select(ContactBranch.branch_id).where(ContactBranch.contact_id == gustavo.id))
        ).all()
    assert branches == [world.rosario.id]
