-- Member session reminders for a seeded bench database (bench/scale/seed.py writes no outbox):
-- psql -d ipt_scale_1 -f bench/scale/outbox.sql. See docs/benchmarks.md, "The Programme page".
INSERT INTO notifications (user_id, kind, dedupe_key, ref_type, ref_id, due_at, status, created_at, attempts, leg, channel, delivery_state, segments, sent_at)
SELECT e.user_id, k.kind, 'session:' || s.id || ':' || k.kind || ':user:' || e.user_id, 'session', s.id,
       s.starts_at - k.lead, st.status, s.starts_at - interval '3 days', 1, 'any',
       CASE WHEN st.status = 'sent' THEN st.channel END,
       CASE WHEN st.channel = 'sms' AND st.status = 'sent' THEN 'delivered' END, 0,
       CASE WHEN st.status = 'sent' THEN s.starts_at - k.lead END
FROM group_sessions s
JOIN enrolments e ON e.cohort_id = s.cohort_id AND e.user_id IS NOT NULL AND e.status = 'enrolled'
CROSS JOIN (VALUES ('session_24h', interval '24 hours'), ('session_1h', interval '1 hour')) AS k(kind, lead)
CROSS JOIN LATERAL (SELECT CASE WHEN (e.id + s.id) % 10 < 7 THEN 'sent' WHEN (e.id + s.id) % 10 < 9 THEN 'no_channel' ELSE 'expired' END AS status,
                           CASE WHEN (e.id + s.id) % 3 = 0 THEN 'sms' ELSE 'push' END AS channel) st
WHERE s.status = 'scheduled' AND s.starts_at <= now();
ANALYZE notifications;
SELECT count(*) FROM notifications;
