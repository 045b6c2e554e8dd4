"""Closing the loop: follow-up cases for unhappy answers, replies, re-surveys and alerts.

Rules per survey (kaiku.loop.rules) open a case for an answer in the
process_response job; cases are assigned (round-robin or by a contact property),
get a due date from the survey's SLA, and move through open → in progress →
waiting for customer → resolved → closed (kaiku.loop.actions). Workers send the
alerts, reminders, escalations, re-surveys and digests (kaiku.loop.periodic_jobs).
See docs/loop.md.
"""
