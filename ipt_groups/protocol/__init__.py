"""The clinical protocol as data and pure functions: programmes, schedules.

Nothing here touches the database or Flask, so it is easy to read against
``shared/reference/group-ipt.md`` and to test exhaustively.
"""
