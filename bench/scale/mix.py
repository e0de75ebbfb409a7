"""The peak-hour mix of issue 24, and how it is derived (docs/benchmarks.md repeats it).

A national programme at full size runs 5,000 cohorts of 12 members. At its peak
hour **500 sessions run at once** (5,000 weekly 90-minute sessions in ~50 working
hours is ~150 at once on average; a peak hour has about three times that).

- **Runner, from the facilitators' tablets.** The PWA reads the runner when the
  screen opens and again after each change made on it (it does not poll). A
  90-minute session records about 12 attendance marks (one call each, or one
  "all present"), ~10 agenda ticks, 12 mood ratings or a PHQ-9 round, a dozen
  task entries or reviews and a few notes: ~50 writes, each followed by a re-read,
  plus ~10 re-opens. Per session ~60 reads and ~50 writes in 5,400 s:
  500 x 60 / 5,400 = **5.6 runner reads/s** and 500 x 50 / 5,400 = **4.6 writes/s**
  (played as `PUT /api/sessions/{id}/attendance`, the commonest write). Each
  facilitator opens the cohort list before a session: 500 in 15 minutes,
  **0.6 req/s**.
- **Members' home screens.** The hour-before reminder goes to the 6,000 members
  of the sessions starting next hour; say three in four open the app within 15
  minutes of it, and the home screen makes four calls (`/api/me`, then
  `/api/me/schedule`, `/api/me/check-in`, `/api/me/readings`, static/js/views/home.js):
  4,500 x 4 / 900 s = **20 req/s**, 5 of each.
- **Supervisors**: 50 of them look at the clinic dashboard now and then,
  **0.1 req/s**.

Sum: 5.6 + 4.6 + 0.6 + 20 + 0.1 = **30.9 req/s**. The load test offers **60 req/s**
(a margin of ~2x for a burstier reminder wave, or a programme twice the size) in
these shares, and then raises the rate, shares unchanged, to find the capacity.
"""

from __future__ import annotations

# Requests per second at the peak hour, as derived above.
PEAK = {
    "me": 5.0,
    "me_schedule": 5.0,
    "me_check_in": 5.0,
    "me_readings": 5.0,
    "runner": 5.6,
    "attendance_put": 4.6,
    "cohorts": 0.6,
    "clinic_outcomes": 0.1,
}
TOTAL = sum(PEAK.values())
SHARES = {name: rate / TOTAL for name, rate in PEAK.items()}
