"""Exclusions recorded once per platform; ISO 4217 currency codes

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 07:20:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

# Codes stored from Microsoft's list before currencies were ISO 4217: their ISO successors.
ISO_SUCCESSORS = {'TRL': 'TRY', 'VEF': 'VES'}
CURRENCY_COLUMNS = (('goals', 'default_currency'), ('conversions', 'currency'),
                    ('adjustments', 'currency'))


def _ledger(name, subject, subject_table):
    op.create_table(name,
    sa.Column('platform', sa.String(length=16), nullable=False),
    sa.Column(subject, sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('reason', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint([subject], [f'{subject_table}.id'], name=op.f(f'fk_{name}_{subject}_{subject_table}')),
    sa.ForeignKeyConstraint(['run_id'], ['export_runs.id'], name=op.f(f'fk_{name}_run_id_export_runs')),
    sa.PrimaryKeyConstraint('platform', subject, name=op.f(f'pk_{name}'))
    )
    with op.batch_alter_table(name, schema=None) as batch_op:
        batch_op.create_index(batch_op.f(f'ix_{name}_run_id'), ['run_id'], unique=False)


def upgrade():
    _ledger('excluded_conversions', 'conversion_id', 'conversions')
    _ledger('excluded_adjustments', 'adjustment_id', 'adjustments')
    for table, column in CURRENCY_COLUMNS:
        for old, new in ISO_SUCCESSORS.items():
            op.execute(sa.text(f"UPDATE {table} SET {column} = :new WHERE {column} = :old")
                       .bindparams(new=new, old=old))


def downgrade():
    for table, column in CURRENCY_COLUMNS:
        for old, new in ISO_SUCCESSORS.items():
            op.execute(sa.text(f"UPDATE {table} SET {column} = :old WHERE {column} = :new")
                       .bindparams(new=new, old=old))
    for name in ('excluded_adjustments', 'excluded_conversions'):
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f'ix_{name}_run_id'))
        op.drop_table(name)
