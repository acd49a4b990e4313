"""password lockout and session timeouts

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 22:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import idp.store.models


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'password_lockouts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('address', sa.String(length=64), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('lockouts', sa.Integer(), nullable=False),
        sa.Column('locked_until', idp.store.models.UTCDateTime(), nullable=True),
        sa.Column('recent', sa.JSON(), nullable=False),
        sa.Column('updated_at', idp.store.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('address'),
    )
    with op.batch_alter_table('password_lockouts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_password_lockouts_updated_at'), ['updated_at'], unique=False)
    with op.batch_alter_table('browser_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_seen_at', idp.store.models.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('idle_timeout', sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column('persistent', sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table('browser_sessions', schema=None) as batch_op:
        batch_op.drop_column('persistent')
        batch_op.drop_column('idle_timeout')
        batch_op.drop_column('last_seen_at')
    with op.batch_alter_table('password_lockouts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_password_lockouts_updated_at'))
    op.drop_table('password_lockouts')
