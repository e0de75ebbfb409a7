"""Sending: Web Push keys and transport (encryption, VAPID, HTTP), the SMS and
email transports, and the dispatcher that empties the outbox. What a message
says and where it may go (pure) is in ``ipt_groups.messaging``.

Only the clock process sends in bulk (``dispatcher``); the web process uses the
same code for one thing: "send a test to my devices".
"""
