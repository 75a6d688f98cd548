"""Clinic-wide re-planning: when a clinic's reminder settings or time zone change, every patient's
reminders are planned again, in batches, by the worker.

The change itself only records what is to do (``request_clinic_replan``, a ``ClinicReplan`` row
written in the change's transaction), so saving the settings page takes no longer for a large
clinic than for a small one. The worker (``replan_clinics``, one batch per pass) re-plans the next
few patients in id order, each batch in its own short transaction that also moves the row's
``after_patient`` on: the clinic's patients and the worker are never held for longer than one
batch, a worker that dies mid-batch leaves the rest to the next one (after a short lease), and no
patient is re-planned twice for one change. A second change while one runs supersedes it: it
starts again from the first patient, and a batch of the older change that was still running
rolls back instead of moving the marker on.
"""

from collections import Counter
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from portal.models import Clinic, ClinicReplan, Patient
from portal.reminders.rows import replan_patient

# A batch takes a second or two; a worker that died holds its clinic no longer than this.
LEASE = timedelta(seconds=60)


class Superseded(Exception):
    """A newer change (or another worker) moved the marker on while this batch ran."""


def request_clinic_replan(clinic: Clinic, *, now: datetime | None = None) -> ClinicReplan:
    """Call inside the transaction that changed the clinic's settings: the worker re-plans every
    patient of the clinic from the first one, superseding a re-planning still under way."""
    now = now or timezone.now()
    total = clinic.patients.count()
    replan, created = ClinicReplan.objects.get_or_create(
        clinic=clinic, defaults={"requested_at": now, "total": total}
    )
    if not created:
        ClinicReplan.objects.filter(pk=replan.pk).update(
            generation=F("generation") + 1,
            requested_at=now,
            after_patient=0,
            done=0,
            total=total,
            claimed_until=None,
            finished_at=None,
        )
        replan.refresh_from_db()
    return replan


def replanning_under_way(clinic: Clinic) -> ClinicReplan | None:
    """What the settings page shows while the worker is still re-planning the clinic."""
    return ClinicReplan.objects.filter(clinic=clinic, finished_at__isnull=True).first()


def replan_clinics(*, now: datetime | None = None, batch: int | None = None) -> Counter[str]:
    """One batch of the oldest clinic-wide re-planning no other worker holds. Returns counts:
    ``replanned`` patients (in a batch that committed), ``replan_finished`` clinics."""
    done: Counter[str] = Counter()
    now = now or timezone.now()
    size = batch or settings.REPLAN_BATCH_SIZE
    free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    for job in ClinicReplan.objects.filter(free, finished_at__isnull=True).order_by("requested_at")[:5]:
        # A conditional update, like a reminder's claim: two workers never work on one clinic.
        mine = ClinicReplan.objects.filter(
            free, pk=job.pk, generation=job.generation, after_patient=job.after_patient
        ).update(claimed_until=now + LEASE)
        if mine:
            break
    else:
        return done
    try:
        with transaction.atomic():
            patients = list(
                Patient.objects.filter(clinic_id=job.clinic_id, pk__gt=job.after_patient).order_by("pk")[
                    :size
                ]
            )
            for patient in patients:
                replan_patient(patient, now=timezone.now())
            finished = len(patients) < size
            moved = ClinicReplan.objects.filter(
                pk=job.pk, generation=job.generation, after_patient=job.after_patient
            ).update(
                after_patient=patients[-1].pk if patients else job.after_patient,
                done=F("done") + len(patients),
                claimed_until=None,
                finished_at=timezone.now() if finished else None,
            )
            if not moved:
                raise Superseded
    except Superseded:
        # Nothing of this batch stays; the newer change starts from the first patient.
        return done
    done["replanned"] += len(patients)
    done["replan_finished"] += finished
    return done
