"""The Textual app: draws engine snapshots; never calls SQLAlchemy itself."""
