"""The clinic's emergency number: what a clinic may enter, and where patients see it."""

import pytest
from django.core.exceptions import ValidationError

from portal.demo import seed_demo
from portal.models import Clinic


@pytest.mark.parametrize("number", ["911", "112", "999", "000", "+44 999", "1-1-2"])
def test_an_emergency_number_is_digits(clinic: Clinic, number: str) -> None:
    clinic.emergency_number = number
    clinic.full_clean()


@pytest.mark.parametrize(
    "number", ["call 911", "<b>911</b>", "9", "911!", "javascript:alert(1)", "1" * 21, " 911", "911-"]
)
def test_anything_else_is_refused_in_words(clinic: Clinic, number: str) -> None:
    clinic.emergency_number = number
    with pytest.raises(ValidationError) as error:
        clinic.full_clean()
    assert list(error.value.message_dict) == ["emergency_number"]
    assert error.value.message_dict["emergency_number"][0].startswith(
        ("Enter the number people dial for emergency care", "Ensure this value has at most 20 characters")
    )


def test_a_new_clinic_has_none_and_the_demo_clinic_dials_911(db) -> None:
    assert Clinic(name="New").emergency_number == ""
    seed_demo()
    assert Clinic.objects.get(name="Demo Skin Cancer Clinic").emergency_number == "911"
