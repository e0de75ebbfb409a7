"""Web Push delivery: keys, the endpoint allow-list, message wording, the
transport (encryption, VAPID, HTTP) and the dispatcher that empties the outbox.

Only the clock process sends in bulk (``dispatcher``); the web process uses the
same code for one thing: "send a test to my devices".
"""
