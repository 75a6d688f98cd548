"""``{% caregiver_safety patient %}``: the safety banner on a page about ``patient``'s care.

Wiring only: whether to show it is portal.caregivers.safety_banner's rule; this renders
portal/includes/caregiver_safety.html with its answer (nothing for the patient, the care team or
a caregiver who may handle dressings). For templates whose view does not pass
``caregivers.care_context`` (the care pages include it from portal/care/_caregiver_safety.html)."""

from typing import Any

from django import template

from portal import caregivers

register = template.Library()


@register.inclusion_tag("portal/includes/caregiver_safety.html", takes_context=True)
def caregiver_safety(context: template.Context, patient: Any) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    banner = caregivers.safety_banner(user, patient) if user is not None and patient else None
    return {"caregiver_safety": banner}
