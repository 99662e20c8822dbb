"""The demo database: the seed articles' schema, a few rows, and stand-ins for their helpers."""

from playground.demo.models import (
    Account,
    AuditLog,
    Base,
    Item,
    Job,
    Order,
    OrderLine,
    Payment,
    PaymentLog,
    User,
)

MODELS = (User, Account, Item, Order, OrderLine, Payment, PaymentLog, AuditLog, Job)

__all__ = [
    "MODELS",
    "Account",
    "AuditLog",
    "Base",
    "Item",
    "Job",
    "Order",
    "OrderLine",
    "Payment",
    "PaymentLog",
    "User",
]
