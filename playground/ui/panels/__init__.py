"""A pane's live panels: Objects, Transactions, Locks. They draw snapshots only."""
