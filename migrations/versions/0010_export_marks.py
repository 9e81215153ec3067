"""Where a run starts reading each goal's conversions on each platform

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 10:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('export_marks',
    sa.Column('goal_id', sa.Integer(), nullable=False),
    sa.Column('platform', sa.String(length=16), nullable=False),
    sa.Column('settled_below', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['goal_id'], ['goals.id'], name=op.f('fk_export_marks_goal_id_goals')),
    sa.PrimaryKeyConstraint('goal_id', 'platform', name=op.f('pk_export_marks'))
    )


def downgrade():
    op.drop_table('export_marks')
