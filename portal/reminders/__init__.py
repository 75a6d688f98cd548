"""Reminders (DESIGN.md section 4), in parts:

- ``planning``: pure rules, which reminders one recipient gets and when (standard library only);
- ``rows``: recipients, visit slots, and ``replan_patient``, which makes a patient's rows match the plan;
- ``delivery``: the worker's pass (claim, prepare, send, record, finish), the only code that marks a
  reminder sent, missed or failed;
- ``channels``: the inbox, email and web push;
- ``texts``: titles, clinical texts and delivery outcomes in words;
- ``calendar``: the per-user calendar feed.

The names below are the surface the rest of the project uses.
"""

from portal.reminders.delivery import send_due_reminders
from portal.reminders.rows import clinic_rule_settings, replan_patient, replan_patients
from portal.reminders.texts import reminder_title, render_guidance, render_reminder

__all__ = [
    "clinic_rule_settings",
    "reminder_title",
    "render_guidance",
    "render_reminder",
    "replan_patient",
    "replan_patients",
    "send_due_reminders",
]
