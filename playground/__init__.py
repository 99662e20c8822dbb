"""txplay: a terminal playground for database transactions as SQLAlchemy 2.x sees them."""

__version__ = "0.1.0"
