"""Declarative models of the demo schema (DESIGN §5): checkout, payments, imports and a job queue."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    """Base of the demo models."""

    def __repr__(self) -> str:
        # Reads only what is loaded: a repr must never emit SQL.
        state = self.__dict__
        cols = [c.key for c in self.__mapper__.column_attrs]
        shown = ", ".join(f"{k}={state[k]!r}" for k in cols if k in state)
        return f"{type(self).__name__}({shown})"


class User(Base):
    """A customer."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(200), unique=True)
    accounts: Mapped[list[Account]] = relationship(back_populates="user")
    orders: Mapped[list[Order]] = relationship(back_populates="user")


class Account(Base):
    """A user's balance, never negative."""

    __tablename__ = "accounts"
    __table_args__ = (CheckConstraint("balance >= 0", name="balance_not_negative"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    balance: Mapped[int] = mapped_column(default=0)
    user: Mapped[User] = relationship(back_populates="accounts")


class Item(Base):
    """A product in stock, never below zero."""

    __tablename__ = "items"
    __table_args__ = (CheckConstraint("stock >= 0", name="stock_not_negative"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    stock: Mapped[int] = mapped_column(default=0)


class Order(Base):
    """A checkout."""

    __tablename__ = "orders"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    user: Mapped[User] = relationship(back_populates="orders")
    lines: Mapped[list[OrderLine]] = relationship(back_populates="order")


class OrderLine(Base):
    """One item of an order."""

    __tablename__ = "order_lines"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    quantity: Mapped[int] = mapped_column(default=1)
    order: Mapped[Order] = relationship(back_populates="lines")


class Payment(Base):
    """A confirmed payment."""

    __tablename__ = "payments"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    confirmation: Mapped[str] = mapped_column(String(100))


class PaymentLog(Base):
    """Every payment attempt, kept even when the payment fails."""

    __tablename__ = "payment_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    amount: Mapped[int]


class AuditLog(Base):
    """Free-form audit trail; the second seed writes to it with raw SQL."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    action: Mapped[str | None] = mapped_column(String(100))
    data: Mapped[str | None] = mapped_column(Text)


class Job(Base):
    """A queue entry, taken by one worker (`FOR UPDATE SKIP LOCKED` demos)."""

    __tablename__ = "jobs"
    id: Mapped[int] = mapped_column(primary_key=True)
    payload: Mapped[str] = mapped_column(String(200))
    taken_by: Mapped[str | None] = mapped_column(String(20))
