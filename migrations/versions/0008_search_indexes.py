"""Drop leads.name_search (names are searched by their words); index a lead's search words
with the word, so that the second word of a search is checked from the index alone

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 08:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

SEARCH_TEXT = sa.String(length=254).with_variant(sa.String(length=254, collation='C'), 'postgresql')


def upgrade():
    op.drop_index('ix_leads_name_search', table_name='leads')
    # A plain ALTER TABLE, also on SQLite (3.35+): a batch copy of `leads` would drop the
    # old table and, with foreign keys on, cascade to every lead's search words.
    op.execute('ALTER TABLE leads DROP COLUMN name_search')
    op.create_index('ix_lead_search_words_lead_id_word', 'lead_search_words', ['lead_id', 'word'])
    op.drop_index('ix_lead_search_words_lead_id', table_name='lead_search_words')


def downgrade():
    op.create_index('ix_lead_search_words_lead_id', 'lead_search_words', ['lead_id'])
    op.drop_index('ix_lead_search_words_lead_id_word', table_name='lead_search_words')
    op.add_column('leads', sa.Column('name_search', SEARCH_TEXT, nullable=True))
    op.create_index('ix_leads_name_search', 'leads', ['name_search'], unique=False)
    leads = sa.table('leads', sa.column('id', sa.Integer), sa.column('name', sa.String),
                     sa.column('name_search', sa.String))
    connection, after = op.get_bind(), 0
    while rows := connection.execute(
        sa.select(leads.c.id, leads.c.name).where(leads.c.id > after, leads.c.name.is_not(None))
        .order_by(leads.c.id).limit(1000)
    ).all():
        connection.execute(
            leads.update().where(leads.c.id == sa.bindparam('lead_id'))
            .values(name_search=sa.bindparam('search')),
            [{'lead_id': row.id, 'search': row.name.lower()[:254]} for row in rows],
        )
        after = rows[-1].id
