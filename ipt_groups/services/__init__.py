"""Domain rules as typed plain functions, used by the API, the CLI and the clock.

Services never touch ``flask.request`` or ``g``: the caller passes an ``Actor``.
They flush but leave the commit to the caller's unit of work (one request, one
CLI command, one job run), so a failure half-way leaves nothing half-written.
"""
