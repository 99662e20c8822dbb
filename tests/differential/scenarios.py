"""The differential scenarios: short, one or two sessions, each step's kind said explicitly.

They run on the demo database (DESIGN §5) unless they bring their own `setup`. None of them makes
a session wait on a lock: on SQLite a second session ends its read transaction before the first
commits, and on the servers the sessions touch different rows.
"""

from __future__ import annotations

from tests.differential.model import Scenario, cmd, py, sql

SERVERS = ("postgresql", "mysql")

SCENARIOS: tuple[Scenario, ...] = (
    # -- ORM add / flush / commit / rollback ------------------------------------------------
    Scenario("add, flush, commit, reload", (
        py("A", 'u = User(name="dee", email="dee@example.com")'),
        py("A", "session.add(u)"),
        py("A", "session.flush()"),
        py("A", "session.commit()"),
        py("A", "u.name"),
        sql("A", "rollback"),
    )),
    Scenario("a rolled-back insert makes the object transient", (
        py("A", 'u = User(name="dee", email="dee@example.com")'),
        py("A", "session.add(u)"),
        py("A", "session.flush()"),
        py("A", "session.rollback()"),
        sql("A", "select count(*) from users"),
        sql("A", "rollback"),
    )),
    Scenario("SQL ROLLBACK expires a changed object", (
        py("A", "i = session.get(Item, 1)"),
        py("A", "i.stock = 5"),
        sql("A", "ROLLBACK"),
        py("A", "i.stock"),
        sql("A", "COMMIT"),
    )),
    Scenario("BEGIN in SQL, ORM add, COMMIT in SQL", (
        sql("A", "BEGIN"),
        py("A", 'm = Item(name="mug", stock=2)'),
        py("A", "session.add(m)"),
        sql("A", "COMMIT"),
        sql("A", "select name, stock from items where id = 4"),
        py("A", "m.stock"),
        sql("A", "ROLLBACK"),
    )),
    Scenario("delete, flush, commit", (
        py("A", "j = session.get(Job, 3)"),
        py("A", "session.delete(j)"),
        py("A", "session.flush()"),
        py("A", "session.commit()"),
        sql("A", "select count(*) from jobs"),
        sql("A", "rollback"),
    )),
    Scenario("a flushed delete rolled back is persistent again", (
        py("A", "j = session.get(Job, 3)"),
        py("A", "session.delete(j)"),
        py("A", "session.flush()"),
        py("A", "session.rollback()"),
        py("A", "j.payload"),
        sql("A", "rollback"),
    )),
    Scenario("merge, flush, rollback", (
        py("A", 'm = session.merge(User(id=1, name="ann2"))'),
        py("A", "session.flush()"),
        py("A", "session.rollback()"),
        py("A", "m.name"),
        sql("A", "rollback"),
    )),
    Scenario("session.begin() twice is refused", (
        py("A", "session.begin()"),
        py("A", "session.begin()"),
        cmd("A", "\\rollback"),
    )),
    # -- expunge / expire / refresh ---------------------------------------------------------
    Scenario("expunge, add back, expire, refresh", (
        py("A", "u = session.get(User, 1)"),
        cmd("A", "\\expunge u"),
        py("A", "session.add(u)"),
        py("A", "session.expire(u)"),
        cmd("A", "\\refresh u"),
        py("A", "u.name"),
        py("A", "session.expunge_all()"),
        sql("A", "commit"),
    )),
    Scenario("an expired object read after expunge", (
        py("A", "u = session.get(User, 1)"),
        py("A", "session.commit()"),
        cmd("A", "\\expunge u"),
        py("A", "u.name"),
    )),
    Scenario("another session deletes a row we hold", (
        py("A", "j = session.get(Job, 1)"),
        py("A", "session.commit()"),
        sql("B", "delete from jobs where id = 1"),
        sql("B", "commit"),
        py("A", "j.payload"),
        sql("A", "rollback"),
    )),
    Scenario("another session's commit is seen after ours", (
        py("A", "u = session.get(User, 2)"),
        py("A", "session.commit()"),
        py("B", "v = session.get(User, 2)"),
        py("B", 'v.name = "bobby"'),
        py("B", "session.commit()"),
        py("A", "u.name"),
        sql("A", "rollback"),
    )),
    # -- savepoints -------------------------------------------------------------------------
    Scenario("begin_nested rolled back after a flush", (
        py("A", "u = session.get(User, 1)"),
        py("A", "sp = session.begin_nested()"),
        py("A", 'n = User(name="eve", email="eve@example.com")'),
        py("A", "session.add(n)"),
        py("A", "session.flush()"),
        py("A", "sp.rollback()"),
        py("A", "session.in_nested_transaction()"),
        py("A", "session.commit()"),
    )),
    Scenario("begin_nested rolled back before any flush", (
        py("A", "sp = session.begin_nested()"),
        py("A", 'n = User(name="eve", email="eve@example.com")'),
        py("A", "session.add(n)"),
        py("A", "sp.rollback()"),
        sql("A", "select count(*) from users"),
        sql("A", "rollback"),
    )),
    Scenario("a released savepoint does not survive the outer rollback", (
        py("A", "sp = session.begin_nested()"),
        py("A", 'n = User(name="eve", email="eve@example.com")'),
        py("A", "session.add(n)"),
        py("A", "sp.commit()"),
        py("A", "session.rollback()"),
        sql("A", "select count(*) from users"),
        sql("A", "rollback"),
    )),
    Scenario("SQL savepoints: ROLLBACK TO reopens, RELEASE keeps", (
        sql("A", "BEGIN"),
        sql("A", "insert into jobs (payload) values ('a')"),
        sql("A", "SAVEPOINT s1"),
        sql("A", "insert into jobs (payload) values ('b')"),
        sql("A", "ROLLBACK TO s1"),
        sql("A", "insert into jobs (payload) values ('c')"),
        sql("A", "RELEASE s1"),
        sql("A", "COMMIT"),
        sql("A", "select payload from jobs where id > 3 order by id"),
        sql("A", "ROLLBACK"),
    )),
    Scenario("ROLLBACK TO SAVEPOINT expires what the savepoint changed", (
        py("A", "i = session.get(Item, 2)"),
        sql("A", "SAVEPOINT s1"),
        py("A", "i.stock = 1"),
        py("A", "session.flush()"),
        sql("A", "ROLLBACK TO SAVEPOINT s1"),
        py("A", "i.stock"),
        sql("A", "ROLLBACK"),
    )),
    Scenario("RELEASE of an outer savepoint releases the inner one", (
        sql("A", "SAVEPOINT a"),
        sql("A", "insert into jobs (payload) values ('x')"),
        sql("A", "SAVEPOINT b"),
        sql("A", "insert into jobs (payload) values ('y')"),
        sql("A", "RELEASE SAVEPOINT a"),
        sql("A", "COMMIT"),
        sql("A", "select count(*) from jobs"),
        sql("A", "ROLLBACK"),
    )),
    Scenario("savepoint commands", (
        cmd("A", "\\savepoint s1"),
        py("A", 'n = Item(name="cup", stock=3)'),
        py("A", "session.add(n)"),
        cmd("A", "\\flush"),
        cmd("A", "\\rollback-to s1"),
        cmd("A", "\\release s1"),
        cmd("A", "\\commit"),
        sql("A", "select count(*) from items"),
        sql("A", "rollback"),
    )),
    Scenario("a savepoint never sent, released after an error", (
        sql("A", "insert into users (name, email) values ('x', 'ann@example.com')"),
        py("A", "sp = session.begin_nested()"),
        py("A", "sp.commit()"),
        sql("A", "select 1"),
        sql("A", "rollback"),
    )),
    Scenario("ROLLBACK TO a savepoint named after the failed statement", (
        sql("A", "BEGIN"),
        sql("A", "SAVEPOINT s1"),
        sql("A", "insert into users (id, name) values (1, 'dup')"),
        sql("A", "ROLLBACK TO s1"),
        sql("A", "select count(*) from users"),
        sql("A", "COMMIT"),
    )),
    # -- constraint violations --------------------------------------------------------------
    Scenario("a unique violation in SQL", (
        sql("A", "update items set stock = 9 where id = 1"),
        sql("A", "insert into users (name, email) values ('x', 'ann@example.com')"),
        sql("A", "select count(*) from users"),
        sql("A", "rollback"),
        sql("A", "select stock from items where id = 1"),
        sql("A", "rollback"),
    )),
    Scenario("a unique violation in a flush", (
        py("A", 'session.add(User(name="x", email="bob@example.com"))'),
        py("A", "session.flush()"),
        sql("A", "select 1"),
        py("A", "session.rollback()"),
        sql("A", "select count(*) from users"),
        sql("A", "rollback"),
    )),
    Scenario("a check violation in a flush inside a savepoint", (
        py("A", "i = session.get(Item, 3)"),
        py("A", """
            sp = session.begin_nested()
            i.stock = -1
        """),
        py("A", "session.flush()"),
        py("A", "sp.rollback()"),
        py("A", "i.stock"),
        py("A", "session.commit()"),
    )),
    Scenario("a flush error caught in Python", (
        py("A", """
            caught = False
            try:
                session.add(User(name="x", email="cy@example.com"))
                session.flush()
            except IntegrityError:
                caught = True
        """),
        py("A", "caught"),
        py("A", "session.rollback()"),
    )),
    # -- errors that never reach the server ---------------------------------------------------
    Scenario("a missing bind parameter", (
        sql("A", "update items set stock = 9 where id = 1"),
        py("A", 'session.execute(text("select :x"))'),
        sql("A", "select stock from items where id = 1"),
        sql("A", "rollback"),
    )),
    Scenario("a Python exception in a transaction", (
        py("A", "i = session.get(Item, 1)"),
        py("A", "1 / 0"),
        py("A", "i.stock"),
        py("A", "session.commit()"),
    )),
    Scenario("async mode: a lazy load without await (MissingGreenlet)", (
        cmd("A", "\\mode async"),
        py("A", "u = await session.get(User, 1)"),
        py("A", "u.accounts"),
        sql("A", "select count(*) from users"),
        py("A", "await session.rollback()"),
        py("A", "u.name"),
        py("A", "await session.rollback()"),
    )),
    Scenario("async mode: flush, commit, refresh with await", (
        cmd("A", "\\mode async"),
        py("A", 'n = Item(name="cup", stock=1)'),
        py("A", "session.add(n)"),
        py("A", "await session.flush()"),
        py("A", "await session.commit()"),
        py("A", "n.stock"),
        py("A", "await session.refresh(n)"),
        py("A", "n.stock"),
        cmd("A", "\\mode sync"),
        py("A", "session.rollback()"),
    )),
    # -- DML through session.execute in Python, bulk ORM update/delete ------------------------
    Scenario("DML through session.execute(text(...))", (
        py("A", 'session.execute(text("update items set stock = 9 where id = 1"))'),
        sql("A", "select stock from items where id = 1"),
        py("A", 'session.execute(text("select name from users order by id"))'),
        py("A", "session.scalars(select(User.name).order_by(User.id)).all()"),
        sql("A", "rollback"),
    )),
    Scenario("bulk ORM update", (
        py("A", "i = session.get(Item, 1)"),
        py("A", "session.execute(update(Item).where(Item.id == 1).values(stock=7))"),
        py("A", "i.stock"),
        py("A", 'session.execute(update(Item).values(stock=Item.stock + 1).execution_options(synchronize_session="fetch"))'),
        py("A", "i.stock"),
        py("A", "session.execute(update(Item).where(Item.id == 2).values(stock=0).execution_options(synchronize_session=False))"),
        sql("A", "rollback"),
    )),
    Scenario("bulk ORM delete", (
        py("A", "j = session.get(Job, 2)"),
        py("A", "session.execute(delete(Job).where(Job.id == 2))"),
        py("A", "session.commit()"),
        py("A", "session.execute(delete(Job).where(Job.id > 0).execution_options(synchronize_session=False))"),
        sql("A", "rollback"),
    )),
    # -- SQL the way a user types it ----------------------------------------------------------
    Scenario("SQL starting with a keyword and a parenthesis", (
        sql("A", "select (1 + 2) * 2"),
        sql("A", "select (select count(*) from jobs) as n"),
        sql("A", "rollback"),
    )),
    Scenario("another session does not see an uncommitted change", (
        sql("A", "update items set stock = 3 where id = 2"),
        sql("B", "select stock from items where id = 2"),
        sql("B", "rollback"),
        sql("A", "commit"),
        sql("B", "select stock from items where id = 2"),
        sql("B", "rollback"),
    )),
    # -- isolation ----------------------------------------------------------------------------
    Scenario("isolation cannot change mid-transaction", (
        sql("A", "select count(*) from users"),
        cmd("A", "\\isolation SERIALIZABLE"),
        sql("A", "rollback"),
        cmd("A", "\\isolation SERIALIZABLE"),
        sql("A", "show transaction isolation level"),
        sql("A", "rollback"),
    ), backends=("postgresql",)),
    Scenario("isolation change on MariaDB", (
        cmd("A", "\\isolation READ COMMITTED"),
        sql("A", "select @@tx_isolation"),
        cmd("A", "\\isolation SERIALIZABLE"),
        sql("A", "rollback"),
        cmd("A", "\\isolation SERIALIZABLE"),
        sql("A", "select @@tx_isolation"),
        sql("A", "rollback"),
    ), backends=("mysql",)),
    Scenario("isolation change on SQLite", (
        cmd("A", "\\isolation READ UNCOMMITTED"),
        sql("A", "pragma read_uncommitted"),
        cmd("A", "\\isolation SERIALIZABLE"),
        sql("A", "rollback"),
        cmd("A", "\\isolation SERIALIZABLE"),
        sql("A", "pragma read_uncommitted"),
        sql("A", "rollback"),
    ), backends=("sqlite",)),
    Scenario("repeatable read keeps the first snapshot", (
        sql("A", "select stock from items where id = 1"),
        sql("B", "update items set stock = 5 where id = 1"),
        sql("B", "commit"),
        sql("A", "select stock from items where id = 1"),
        sql("A", "rollback"),
        sql("A", "select stock from items where id = 1"),
        sql("A", "rollback"),
    ), backends=SERVERS, isolation="REPEATABLE READ"),
    # -- COMMIT refused -----------------------------------------------------------------------
    Scenario("PostgreSQL: a deferred foreign key refuses the COMMIT", (
        sql("A", "insert into children (id, parent_id) values (1, 99)"),
        sql("A", "COMMIT"),
        sql("A", "select 1"),
        sql("A", "ROLLBACK"),
        sql("A", "select count(*) from children"),
        sql("A", "ROLLBACK"),
    ), backends=("postgresql",), setup=(
        "create table parents (id int primary key)",
        "create table children (id int primary key, parent_id int references parents (id) deferrable initially deferred)",
    )),
    Scenario("PostgreSQL: a refused COMMIT of ORM objects", (
        py("A", "a = Account(user_id=99, balance=1)"),
        py("A", "session.add(a)"),
        py("A", "session.commit()"),
        py("A", "session.rollback()"),
        sql("A", "select count(*) from accounts"),
        sql("A", "rollback"),
    ), backends=("postgresql",), setup=(
        "create table users (id serial primary key, name varchar(100), email varchar(200) unique)",
        "create table accounts (id serial primary key, user_id int references users (id) deferrable initially deferred, "
        "balance int not null default 0 check (balance >= 0))",
        "insert into users (name, email) values ('ann', 'ann@example.com')",
    )),
    Scenario("PostgreSQL: SERIALIZABLE refuses the second COMMIT (40001)", (
        sql("A", "select sum(balance) from accounts"),
        sql("B", "select sum(balance) from accounts"),
        sql("A", "update accounts set balance = balance + 10 where id = 1"),
        sql("B", "update accounts set balance = balance + 10 where id = 2"),
        sql("A", "COMMIT"),
        sql("B", "COMMIT"),
        sql("B", "select 1"),
        sql("B", "ROLLBACK"),
        sql("B", "select balance from accounts order by id"),
        sql("B", "ROLLBACK"),
    ), backends=("postgresql",), isolation="SERIALIZABLE"),
)
