"""The catalog's logic, once, in the SQL that SQLite and PostgreSQL both run.

The modules here (runs, attempts and materializations written, leases, pool
slots, checks, lineage, wipes, the daemon's records, the state as of a time)
speak to a :class:`~partita.catalog.common.db.Database` through the small
:class:`~partita.catalog.common.db.SqlConnection` protocol, in one dialect:
``?`` placeholders (``?1`` numbered), ``ON CONFLICT ... DO UPDATE``,
``RETURNING``, and ``x IN (SELECT value FROM json_each(?))`` for a list
passed as one JSON parameter. SQLite runs it as written; the PostgreSQL
connection (:mod:`partita.catalog.postgres.dialect`) translates those few
forms. Transactions (``BEGIN IMMEDIATE`` or an advisory lock), connections,
the schema and its migrations, and fast bulk state loads stay in each
backend's package. :class:`~partita.catalog.common.catalog.SqlCatalog` is the
shared :class:`~partita.records.Catalog` both backends subclass.
"""
