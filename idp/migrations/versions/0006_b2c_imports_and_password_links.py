"""accounts imported from Azure AD B2C, and emailed links to set a password

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 03:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import idp.store.models


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'b2c_imports',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('sign_in_name', sa.String(length=320), nullable=True),
        sa.Column('password_pending', sa.Boolean(), nullable=False),
        sa.Column('had_app', sa.Boolean(), nullable=False),
        sa.Column('record_digest', sa.String(length=64), nullable=False),
        sa.Column('written', sa.JSON(), nullable=False),
        sa.Column('imported_at', idp.store.models.UTCDateTime(), nullable=False),
        sa.Column('updated_at', idp.store.models.UTCDateTime(), nullable=False),
        sa.Column('password_migrated_at', idp.store.models.UTCDateTime(), nullable=True),
        sa.Column('reminded_at', idp.store.models.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('user_id'),
    )
    op.create_table(
        'password_links',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('digest', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('journey_id', sa.String(length=64), nullable=True),
        sa.Column('reason', sa.String(length=30), nullable=False),
        sa.Column('created_at', idp.store.models.UTCDateTime(), nullable=False),
        sa.Column('expires_at', idp.store.models.UTCDateTime(), nullable=False),
        sa.Column('used_at', idp.store.models.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('digest'),
    )
    with op.batch_alter_table('password_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_password_links_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('password_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_password_links_user_id'))
    op.drop_table('password_links')
    op.drop_table('b2c_imports')
