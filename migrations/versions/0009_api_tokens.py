"""API tokens; conversions a CRM knows by its own id; audit entries made with a token;
leads found by their normalised email

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 09:00:00

"""
from alembic import op
import sqlalchemy as sa

from database import UTCDateTime


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('scopes', sa.String(length=100), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('last_used_at', UTCDateTime(), nullable=True),
    sa.Column('revoked_at', UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['staff_users.id'], name=op.f('fk_api_tokens_created_by_staff_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('digest', name=op.f('uq_api_tokens_digest'))
    )
    # In place, not as a batch copy: on SQLite a copy of `conversions` would drop the
    # table its adjustments and ledgers point at.
    op.add_column('conversions', sa.Column('external_id', sa.String(length=200), nullable=True))
    op.create_index('ix_conversions_external_id', 'conversions', ['external_id'], unique=True)
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('token_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_audit_events_token_id_api_tokens'), 'api_tokens', ['token_id'], ['id'])
    op.create_index('ix_leads_email_sha256_google', 'leads', ['email_sha256_google'])


def downgrade():
    op.drop_index('ix_leads_email_sha256_google', table_name='leads')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_audit_events_token_id_api_tokens'), type_='foreignkey')
        batch_op.drop_column('token_id')
    op.drop_index('ix_conversions_external_id', table_name='conversions')
    op.execute('ALTER TABLE conversions DROP COLUMN external_id')
    op.drop_table('api_tokens')
