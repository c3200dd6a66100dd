"""Alembic's entry point for the gradebook's migrations.

Run only through dlverify.gradebook.migrate.upgrade, which hands over an open
connection inside a transaction (and the lock that goes with it): there is no
alembic.ini and no URL here.
"""

from alembic import context

from dlverify.gradebook.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("the gradebook's migrations run through dlverify.gradebook.migrate.upgrade")

# render_as_batch: SQLite cannot ALTER most things in place; batch mode copies the table instead.
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True,
                  compare_type=True)
with context.begin_transaction():
    context.run_migrations()
