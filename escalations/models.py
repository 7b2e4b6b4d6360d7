"""Escalation policies, escalations and notifications (to come)."""
