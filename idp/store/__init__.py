"""Durable state: SQLAlchemy models and the small repository functions over them."""
