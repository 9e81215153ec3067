"""Search leads by any word of a name or company, and click IDs by prefix

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 07:20:00

"""
from alembic import op
import sqlalchemy as sa

from leads.contact import search_words


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

WORD = sa.String(length=100).with_variant(sa.String(length=100, collation='C'), 'postgresql')


def upgrade():
    op.create_table('lead_search_words',
    sa.Column('word', WORD, nullable=False),
    sa.Column('lead_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['lead_id'], ['leads.id'], name=op.f('fk_lead_search_words_lead_id_leads'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('word', 'lead_id', name=op.f('pk_lead_search_words'))
    )
    with op.batch_alter_table('lead_search_words', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lead_search_words_lead_id'), ['lead_id'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        # Byte order, so that a click-ID prefix is a range scan of the value index.
        op.execute('ALTER TABLE lead_click_ids ALTER COLUMN value TYPE VARCHAR(500) COLLATE "C"')
    backfill_search_words()


def backfill_search_words(batch=1000):
    """Give the leads stored before this revision their search words."""
    leads = sa.table('leads', sa.column('id', sa.Integer), sa.column('name', sa.String),
                     sa.column('company', sa.String))
    words = sa.table('lead_search_words', sa.column('word', sa.String),
                     sa.column('lead_id', sa.Integer))
    connection, after = op.get_bind(), 0
    while rows := connection.execute(
        sa.select(leads.c.id, leads.c.name, leads.c.company).where(leads.c.id > after)
        .order_by(leads.c.id).limit(batch)
    ).all():
        found = [{'lead_id': id_, 'word': word} for id_, name, company in rows
                 for word in search_words(name, company)]
        if found:
            connection.execute(sa.insert(words), found)
        after = rows[-1][0]


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE lead_click_ids ALTER COLUMN value TYPE VARCHAR(500) COLLATE "default"')
    with op.batch_alter_table('lead_search_words', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lead_search_words_lead_id'))
    op.drop_table('lead_search_words')
