"""What is sent and where it may go, as pure data and functions: the wording
of every notification and its push payload (``messages``), SMS parts and the
shapes providers report in (``sms``), the push endpoint allow-list
(``endpoints``).

No database session, no network, no Flask: the services (templates, devices,
receipts, SMS replies) and the senders in ``push/`` both use it, and services
never import ``push/``.
"""
