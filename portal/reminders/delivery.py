"""The worker's pass: claim due reminders, prepare their deliveries, send them, record what
happened and finish the reminders. This module alone marks a reminder sent, missed or failed
(DESIGN.md section 4, guarantees 3 and 4), and cancels the claimed or overdue rows that
re-planning withdrew.

It works on batches: one statement claims up to REMINDER_BATCH_SIZE reminders, deliveries are
created with one bulk insert, the inbox copies are delivered with one update, each distinct text
is rendered once per batch, outcomes are written in bulk as they arrive, and the reminders are
finished with a few grouped updates. Email runs in a bounded thread pool and push on the
process's push loop (``portal.push``), both sending while the next batches are claimed
(``Sender``), so one slow push service holds back neither the other sends nor the inbox; all
database work stays on the worker's own thread.

Guarantees kept here:
- each (reminder, channel, device) is sent at most once: a unique delivery row per pair, and a
  delivery recorded as sent is never sent again;
- a long batch renews its lease, so no other worker takes its reminders over;
- a reminder withdrawn or cancelled after the claim is never sent: the inbox copy is marked sent
  in the same statement that checks the reminder is still this worker's and still wanted, and
  the slow channels are checked just before they go out;
- a delivery still retrying when the reminder is too late is missed, not sent late;
- a send held in memory (the pools were busy, or a wave of new reminders came first) is not an
  attempt: it stays claimed by this worker, and goes out only after the same checks; a worker that
  stops releases what it held, and one that dies leaves it to the next when its lease expires.
"""

import logging
import time
import uuid
from collections import Counter, defaultdict, deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from queue import Empty, SimpleQueue

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from portal import push
from portal.models import ClinicReminderSettings, Delivery, PushSubscription, Reminder
from portal.reminders import channels, texts
from portal.reminders.channels import EMAIL, INBOX, PUSH, Job, Outcome, PushSend
from portal.reminders.rows import max_lateness, rule_settings

logger = logging.getLogger(__name__)
type Clock = Callable[[], datetime]


# How long the slow sends of a batch wait when too many are held in memory (not an attempt).
PUT_OFF = timedelta(seconds=2)
# While sends are held, how long a claim that found no new reminder waits before the next.
CLAIM_PAUSE = 0.5
# Outcomes are written in groups while they arrive quickly (``drain``).
GATHER, GATHER_GAP = 0.05, 0.005


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=settings.REMINDER_RETRY_SECONDS * 2 ** max(attempts - 1, 0))


def lease_end(now: datetime) -> datetime:
    return now + timedelta(seconds=settings.REMINDER_LEASE_SECONDS)


@dataclass
class Batch:
    token: uuid.UUID
    reminders: list[Reminder]
    # Decided while preparing; finish() closes these.
    cancelled: set[int] = field(default_factory=set)
    broken: set[int] = field(default_factory=set)


@dataclass
class Prepared:
    """What the batch sends now."""

    inbox: list[int] = field(default_factory=list)
    # Email and push: checked once more just before they go out, rendered only then.
    slow: list[Delivery] = field(default_factory=list)
    deliveries: dict[int, Delivery] = field(default_factory=dict)
    due: dict[int, datetime] = field(default_factory=dict)
    by_id: dict[int, Reminder] = field(default_factory=dict)
    bodies: dict[int, tuple[texts.TextKey, str]] = field(default_factory=dict)
    email_templates: dict[tuple[texts.TextKey, bool, str], EmailMultiAlternatives] = field(
        default_factory=dict
    )


def claim_due(now: datetime, *, limit: int, fresh_only: bool = False) -> Batch:
    """Claim up to ``limit`` due reminders for this worker with a lease.

    The claim is a conditional update: only rows that are pending and unclaimed (or whose
    lease expired) are taken, so two workers never hold the same row. On PostgreSQL the
    candidates are picked with FOR UPDATE SKIP LOCKED, so workers do not queue behind each other.
    On SQLite the transaction takes the write lock first (IMMEDIATE), so claims run one at a
    time. ``fresh_only``: only reminders not yet tried (no retry, nothing put off)."""
    token = uuid.uuid4()
    unclaimed = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    due = Reminder.objects.filter(unclaimed, status=Reminder.Status.PENDING, next_attempt_at__lte=now)
    if fresh_only:
        due = due.filter(next_attempt_at__lte=F("due_at"))
    with transaction.atomic():
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        # Two statements, not UPDATE … WHERE id IN (SELECT … LIMIT n FOR UPDATE SKIP LOCKED):
        # PostgreSQL may run such a subquery more than once and claim more than n rows.
        ids = list(due.order_by("next_attempt_at").values_list("pk", flat=True)[:limit])
        if ids:
            # The conditions again: a row another worker claimed meanwhile is never taken twice
            # (SQLite has no SKIP LOCKED).
            Reminder.objects.filter(unclaimed, pk__in=ids, status=Reminder.Status.PENDING).update(
                claim_token=token, claimed_until=lease_end(now)
            )
    claimed = (
        list(
            Reminder.objects.filter(pk__in=ids, claim_token=token).select_related(
                "recipient", "patient__clinic", "visit"
            )
        )
        if ids
        else []
    )
    return Batch(token=token, reminders=claimed)


def send_due_reminders(*, now: datetime | None = None, limit: int | None = None) -> Counter[str]:
    """One pass of the worker: one batch, every send tried now. Returns counts: claimed
    reminders; delivered, retry, delivery_failed, delivery_missed and skipped deliveries;
    reminder_<status> for reminders closed in this pass; error for reminders that could not be
    prepared. The command keeps a ``Sender`` between passes instead."""
    # Tests pass a frozen ``now``; a real pass stamps each delivery when it happened.
    clock: Clock = (lambda: now) if now is not None else timezone.now
    sender = Sender(clock=clock)
    try:
        done = sender.step(limit=limit)
    finally:
        done += sender.close()
    return done


def prepare(batch: Batch, now: datetime, done: Counter[str], *, render: bool = True) -> Prepared:
    """Sort the batch out: what is cancelled, what is too late, and what goes out now on which
    channel, with each distinct text rendered once. ``render=False``: the texts of the slow
    sends are rendered later, when they go out (a rush's inbox wave does not wait for them)."""
    prepared = Prepared()
    active: list[Reminder] = []
    late: list[int] = []
    for reminder in batch.reminders:
        if reminder.withdrawn_at or not reminder.visit.is_active or not reminder.recipient.is_active:
            batch.cancelled.add(reminder.pk)
        elif now - reminder.due_at > max_lateness():
            late.append(reminder.pk)
        else:
            active.append(reminder)
    if late:
        # Never sent late: what still waits is missed, keeping the error of its last attempt.
        waiting = Delivery.objects.filter(reminder_id__in=late, status=Delivery.Status.PENDING)
        done["delivery_missed"] += waiting.filter(error="").update(
            status=Delivery.Status.MISSED, error="too-late"
        )
        done["delivery_missed"] += waiting.update(status=Delivery.Status.MISSED)
    if not active:
        return prepared

    # The person's channel choices now, not when the reminder was planned (a later opt-out
    # also stops a retry).
    devices: defaultdict[int, list[str]] = defaultdict(list)
    subscribed = PushSubscription.objects.filter(user_id__in={r.recipient_id for r in active})
    for user_id, subscription_code in subscribed.values_list("user_id", "code"):
        devices[user_id].append(str(subscription_code))
    known = {code for codes in devices.values() for code in codes}
    wanted = {r.pk: set(channels.wanted_channels(r.recipient, devices[r.recipient_id])) for r in active}
    add_deliveries([(pk, channel, device) for pk, pairs in wanted.items() for channel, device in pairs], now)
    skipped: defaultdict[str, list[int]] = defaultdict(list)
    due_now: list[tuple[int, int, str, str, int]] = []
    pending = Delivery.objects.filter(reminder_id__in=wanted, status=Delivery.Status.PENDING)
    for pk, reminder_id, channel, device, at, attempts in pending.values_list(
        "pk", "reminder_id", "channel", "device", "next_attempt_at", "attempts"
    ):
        if (channel, device) not in wanted[reminder_id]:
            gone = channel == PUSH and device not in known
            skipped["device-removed" if gone else "opted-out"].append(pk)
        elif at is None or at <= now:
            due_now.append((pk, reminder_id, channel, device, attempts))
    for code, ids in skipped.items():
        done["skipped"] += Delivery.objects.filter(pk__in=ids).update(
            status=Delivery.Status.SKIPPED, error=code
        )

    prepared.by_id = {r.pk: r for r in active}
    prepared.due = {r.pk: r.due_at for r in active}
    slow = {reminder_id for _pk, reminder_id, channel, _d, _a in due_now if channel != INBOX}
    if render:
        render_texts([prepared.by_id[pk] for pk in slow], batch, prepared)
    for pk, reminder_id, channel, device, attempts in due_now:
        if reminder_id in batch.broken:
            continue
        if channel == INBOX:
            prepared.inbox.append(pk)
        else:
            # Only the slow ones become objects: their outcomes are recorded row by row.
            delivery = Delivery(
                pk=pk, reminder_id=reminder_id, channel=channel, device=device, attempts=attempts
            )
            prepared.deliveries[pk] = delivery
            prepared.slow.append(delivery)
    return prepared


def add_deliveries(rows: list[tuple[int, str, str]], now: datetime) -> None:
    """Pending deliveries (reminder id, channel, device) due ``now``; a pair that has its row
    already keeps it. One statement of three arrays on PostgreSQL, where bulk_create spent
    more of a rush's CPU building the SQL of 200,000 model instances than the database did
    inserting them (BENCHMARKS.md); SQLite's executemany loops in C."""
    if not rows:
        return
    table = connection.ops.quote_name(Delivery._meta.db_table)
    columns = "reminder_id, channel, device, status, attempts, next_attempt_at, error, created_at, sent_at"
    pending = Delivery.Status.PENDING.value
    due, created = (connection.ops.adapt_datetimefield_value(at) for at in (now, timezone.now()))
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            reminder_ids, channel_names, devices = (list(column) for column in zip(*rows, strict=True))
            cursor.execute(
                f"INSERT INTO {table} ({columns}) SELECT r, c, d, %s, 0, %s, '', %s, NULL"  # noqa: S608 - our names
                " FROM unnest(%s::bigint[], %s::varchar[], %s::varchar[]) AS t(r, c, d) ON CONFLICT DO NOTHING",
                [pending, due, created, reminder_ids, channel_names, devices],
            )
        else:
            # One transaction: in autocommit, each row would be a commit of its own.
            with transaction.atomic():
                cursor.executemany(
                    f"INSERT INTO {table} ({columns}) VALUES (%s, %s, %s, %s, 0, %s, '', %s, NULL)"  # noqa: S608
                    " ON CONFLICT DO NOTHING",
                    [(pk, channel, device, pending, due, created) for pk, channel, device in rows],
                )


def render_texts(reminders: list[Reminder], batch: Batch, prepared: Prepared) -> None:
    """Each reminder's clinical text, rendering each distinct text once. A reminder whose text
    cannot be rendered is left out and keeps its claim, so it is retried (and missed once too
    late); the others go on."""
    # The clinics' settings in one query: a morning rush spans every clinic in each batch.
    clinic_ids = {reminder.patient.clinic_id for reminder in reminders}
    chosen = {row.clinic_id: row for row in ClinicReminderSettings.objects.filter(clinic_id__in=clinic_ids)}
    dressing_days = {pk: rule_settings(chosen.get(pk)).dressing_days for pk in clinic_ids}
    bodies: dict[texts.TextKey, str | None] = {}
    for reminder in reminders:
        patient = reminder.patient
        try:
            key = texts.text_key(reminder, dressing_days[patient.clinic_id], reminder.recipient.language)
            if key not in bodies:
                bodies[key] = None  # stays None if rendering fails
                bodies[key] = texts.render_text(key)
            body = bodies[key]
            if body is None:
                raise LookupError("this text failed earlier in the batch")
        except Exception as error:
            # The type only: messages may hold text.
            logger.error("Reminder %s could not be prepared: %s", reminder.pk, type(error).__name__)
            batch.broken.add(reminder.pk)
            continue
        prepared.bodies[reminder.pk] = (key, body)


def jobs_for(prepared: Prepared, deliveries: list[Delivery]) -> list[tuple[list[int], Job | PushSend]]:
    """The email and push jobs for these deliveries (their texts are rendered), each with the
    deliveries it reports on. Each email is rendered once per distinct text and copied per
    reminder."""
    emails: list[tuple[int, EmailMultiAlternatives]] = []
    pushes: list[tuple[list[int], Job | PushSend]] = []
    rendered: dict[int, texts.Rendered] = {}
    devices = [d.device for d in deliveries if d.channel == PUSH]
    # A device's (endpoint, p256dh, auth): tuples, not a model instance per push.
    subscriptions: dict[str, tuple[str, str, str]] = {}
    if devices:
        known = PushSubscription.objects.filter(code__in=devices)
        for code, endpoint, p256dh, auth in known.values_list("code", "endpoint", "p256dh", "auth"):
            subscriptions[str(code)] = (endpoint, p256dh, auth)
    for delivery in deliveries:
        reminder = prepared.by_id[delivery.reminder_id]
        key, body = prepared.bodies[reminder.pk]
        language = reminder.recipient.language
        if reminder.pk not in rendered:
            rendered[reminder.pk] = texts.rendered(reminder, body, language)
        words = rendered[reminder.pk]
        if delivery.channel == EMAIL:
            email_key = (key, reminder.patient.discreet, words.title)
            if email_key not in prepared.email_templates:
                prepared.email_templates[email_key] = channels.email_template(
                    reminder.patient, words, language
                )
            message = channels.email_for(prepared.email_templates[email_key], reminder, words.url)
            emails.append((delivery.pk, message))
        else:
            subscription = subscriptions.get(delivery.device)
            if subscription is None:
                continue  # removed a moment ago: it waits, and is skipped on the next try
            payload = channels.push_payload(reminder, words)
            endpoint, p256dh, auth = subscription
            pushes.append(([delivery.pk], PushSend(delivery.pk, endpoint, p256dh, auth, payload)))
    found = [([d for d, _m in chunk], channels.email_job(chunk)) for chunk in channels.email_chunks(emails)]
    return found + pushes


def deliver(batch: Batch, prepared: Prepared, clock: Clock, done: Counter[str]) -> list[Delivery]:
    """Mark the inbox copies sent, and return the slow deliveries that may still go out (of
    reminders this worker holds and nobody withdrew: checked just before they go to the pool).
    The inbox never waits for the slow channels."""
    deliver_inbox(batch, prepared, clock, done)
    if not prepared.slow:
        return []
    ours = still_ours(batch, {d.reminder_id for d in prepared.slow})
    return [d for d in prepared.slow if d.reminder_id in ours]


def deliver_inbox(batch: Batch, prepared: Prepared, clock: Clock, done: Counter[str]) -> None:
    """One statement checks and delivers: a reminder cancelled a moment ago is not delivered."""
    if prepared.inbox:
        done["delivered"] += Delivery.objects.filter(
            still_wanted(batch), pk__in=prepared.inbox, status=Delivery.Status.PENDING
        ).update(status=Delivery.Status.SENT, sent_at=clock(), attempts=F("attempts") + 1, error="")


def still_wanted(batch: Batch) -> Q:
    return Q(
        reminder__claim_token=batch.token,
        reminder__status=Reminder.Status.PENDING,
        reminder__withdrawn_at__isnull=True,
    )


@dataclass
class InFlight:
    """A batch whose slow sends are held or running; finished when the last outcome is in."""

    batch: Batch
    prepared: Prepared
    waiting: set[int]
    # False while the texts of its slow sends wait to be rendered (held in a wave).
    rendered: bool = True


class Sender:
    """The worker's pass, as a pipeline: claim a batch, deliver its inbox copies at once, keep
    its emails and pushes in memory (still claimed, the lease renewed) and hand them to a
    bounded thread pool (email) and the push loop as room opens, and go on claiming while they
    run. Outcomes come back through a queue and are written by this (the worker's own) thread,
    which alone touches the database; a batch is finished when its last outcome is in.

    The pools are bounded (``threads`` for email, ``pushes_at_once`` for push), and so is the
    queue in front of them (``capacity`` sends). While whole batches of new reminders keep
    coming (a morning rush), their inbox copies go out first and no slow send starts (they cost
    this process's time too). A held send is checked once more (still this worker's, not
    withdrawn) just before it goes to a pool; it is never claimed or prepared again, so a push
    costs little more than its encryption and its request. Beyond ``held`` sends in memory, the
    slow sends of a new batch are put off in the database instead (a retry that is not an
    attempt)."""

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        threads: int | None = None,
        pushes_at_once: int | None = None,
        capacity: int | None = None,
        held: int | None = None,
    ):
        # timezone.now looked up at each call (tests fix the clock by replacing it).
        self.clock: Clock = clock or (lambda: timezone.now())
        self.threads = threads or settings.REMINDER_THREADS
        self.pushes_at_once = pushes_at_once or settings.REMINDER_PUSHES_AT_ONCE
        # None: no bound (one pass, as tests and --once run it: everything is tried now).
        self.capacity = capacity
        self.held = settings.REMINDER_HELD_SENDS if held is None else held
        self.pool: ThreadPoolExecutor | None = None
        self.push_pool: push.PushPool | None = None
        self.arrived: SimpleQueue[tuple[int, Outcome]] = SimpleQueue()
        self.flights: dict[uuid.UUID, InFlight] = {}
        # Slow sends of claimed reminders, waiting for room in a pool.
        self.backlog: deque[tuple[uuid.UUID, Delivery]] = deque()
        self.owner: dict[int, uuid.UUID] = {}
        self.futures: list[Future[None]] = []
        self.renewed = time.monotonic()
        # While sends are waiting, a claim that found nothing new is not repeated at once.
        self.quiet_until = 0.0

    def room(self) -> int | None:
        return None if self.capacity is None else max(0, self.capacity - len(self.owner))

    def step(self, *, limit: int | None = None) -> Counter[str]:
        """Take in what arrived, claim and start one batch, start held sends, renew leases.
        Returns counts as ``send_due_reminders`` does."""
        done: Counter[str] = Counter()
        self.collect(done)
        limit = limit or settings.REMINDER_BATCH_SIZE
        now = self.clock()
        batch = self.claim(now, limit)
        done["claimed"] += len(batch.reminders)
        # A full batch of new reminders means more are waiting: their inbox copies come
        # first, and the slow sends (which cost this process's time too) wait until the wave
        # is through. Reminders tried before are never held back this way.
        wave = (
            self.capacity is not None
            and len(batch.reminders) == limit
            and all(r.next_attempt_at <= r.due_at for r in batch.reminders)
        )
        if batch.reminders:
            held = self.start(batch, now, done, hold=wave)
            if wave:
                done["put_off"] += held
        started = 0 if wave else self.feed(done)
        if not batch.reminders and not started and self.flights:
            # Nothing to claim or start: wait a little for outcomes instead of spinning, and
            # take them in groups (one update each) while they come quickly.
            self.collect(done, wait=0.2, want=room_step(self.capacity))
        self.renew()
        return done

    def claim(self, now: datetime, limit: int) -> Batch:
        """Anything due while few sends are held, only new reminders (for their inbox copies)
        while many are. While sends are under way, a claim that found nothing is not repeated
        at once: each claim is a query, and outcomes arrive every millisecond."""
        if self.capacity is None:
            return claim_due(now, limit=limit)
        if self.flights and time.monotonic() < self.quiet_until:
            return Batch(token=uuid.uuid4(), reminders=[])
        batch = claim_due(now, limit=limit, fresh_only=len(self.backlog) >= limit)
        if not batch.reminders:
            self.quiet_until = time.monotonic() + CLAIM_PAUSE
        return batch

    def start(self, batch: Batch, now: datetime, done: Counter[str], *, hold: bool = False) -> int:
        """Prepare the batch and deliver its inbox copies; hold its slow sends (``hold``: in
        an inbox wave, rendered only when they go out). Returns how many were held."""
        # prepare and deliver are looked up at call time: tests wrap them.
        prepared = prepare(batch, now, done, render=not hold)
        done["error"] += len(batch.broken)
        slow = deliver(batch, prepared, self.clock, done)
        if self.capacity is not None:
            space = max(0, self.held - len(self.backlog))
            if len(slow) > space:
                slow, later = slow[:space], slow[space:]
                Delivery.objects.filter(pk__in=[d.pk for d in later], status=Delivery.Status.PENDING).update(
                    next_attempt_at=now + PUT_OFF
                )
                done["put_off"] += len(later)
        if not slow:
            finish(batch, self.clock(), done)
            return 0
        self.flights[batch.token] = InFlight(batch, prepared, {d.pk for d in slow}, rendered=not hold)
        self.backlog.extend((batch.token, d) for d in slow)
        return len(slow)

    def feed(self, done: Counter[str]) -> int:
        """Start held sends, as many as there is room for, each checked once more just before
        it goes out. Returns how many started."""
        room = self.room()
        take = len(self.backlog) if room is None else min(room, len(self.backlog))
        # A few at a time would cost a check per few sends: wait for a little more room.
        if not take or (room is not None and take < min(len(self.backlog), max(1, room_step(self.capacity)))):
            return 0
        picked: defaultdict[uuid.UUID, list[Delivery]] = defaultdict(list)
        for _ in range(take):
            token, delivery = self.backlog.popleft()
            picked[token].append(delivery)
        started = 0
        now = self.clock()
        for token, deliveries in picked.items():
            flight = self.flights[token]
            if not flight.rendered:
                # Each distinct text of the batch once, as prepare would have. A reminder whose
                # text fails keeps its claim and is tried again (its inbox copy is out).
                flight.rendered = True
                slow = {d.reminder_id for d in flight.prepared.slow}
                render_texts([flight.prepared.by_id[pk] for pk in slow], flight.batch, flight.prepared)
                done["error"] += len(flight.batch.broken)
            broken = flight.batch.broken
            # Held past the lateness window (a push service slow for a long time): never sent
            # late; the reminder's next try marks it missed.
            due = flight.prepared.due
            in_time = [
                d
                for d in deliveries
                if d.reminder_id not in broken and now - due[d.reminder_id] <= max_lateness()
            ]
            ours = still_ours(flight.batch, {d.reminder_id for d in in_time}) if in_time else set()
            sends = jobs_for(flight.prepared, [d for d in in_time if d.reminder_id in ours])
            going = {d for ids, _job in sends for d in ids}
            # Not going (too late, withdrawn, broken, or the device removed a moment ago): they
            # wait, and the reminder's finish decides (cancelled, missed, or tried again).
            flight.waiting.difference_update(d.pk for d in deliveries if d.pk not in going)
            pushes: list[PushSend] = []
            for ids, job in sends:
                for d in ids:
                    self.owner[d] = token
                if isinstance(job, PushSend):
                    pushes.append(job)
                else:
                    self.futures.append(self.emails().submit(job, self.arrived.put))
            if pushes:
                self.futures.append(self.pushes().submit(pushes, self.arrived.put))
            started += len(going)
            if not flight.waiting:
                del self.flights[token]
                finish(flight.batch, self.clock(), done)
        return started

    def emails(self) -> ThreadPoolExecutor:
        if self.pool is None:
            self.pool = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="send")
        return self.pool

    def pushes(self) -> push.PushPool:
        if self.push_pool is None:
            self.push_pool = push.PushPool(self.pushes_at_once)
        return self.push_pool

    def collect(self, done: Counter[str], *, wait: float | None = None, want: int = 1) -> None:
        """Write the outcomes that arrived (waiting up to ``wait`` seconds for the first, then
        for up to ``want`` while they keep coming), and finish the batches that have all of
        theirs."""
        outcomes = drain(self.arrived, wait_for=wait, want=want)
        if not outcomes:
            self.reap()
            return
        by_flight: defaultdict[uuid.UUID, list[tuple[int, Outcome]]] = defaultdict(list)
        for delivery_id, outcome in outcomes:
            by_flight[self.owner.pop(delivery_id)].append((delivery_id, outcome))
        for token, group in by_flight.items():
            flight = self.flights[token]
            record(group, flight.prepared, self.clock(), done)
            flight.waiting.difference_update(d for d, _o in group)
            if not flight.waiting:
                del self.flights[token]
                finish(flight.batch, self.clock(), done)
        self.reap()

    def reap(self) -> None:
        still = []
        for future in self.futures:
            if future.done():
                future.result()  # a job that crashed is a bug: let it show
            else:
                still.append(future)
        self.futures = still

    def renew(self, *, force: bool = False) -> None:
        """Keep the claims of batches still holding or sending, even while one send hangs: no
        second worker takes them over."""
        renew_every = settings.REMINDER_LEASE_SECONDS / 3
        if not self.flights or (not force and time.monotonic() - self.renewed < renew_every):
            return
        self.renewed = time.monotonic()
        Reminder.objects.filter(claim_token__in=list(self.flights)).update(
            claimed_until=lease_end(self.clock())
        )

    def release(self, done: Counter[str]) -> None:
        """Give up the held sends that have not started (a stop): their reminders are released
        for the next worker, which sends them (they were never attempted)."""
        while self.backlog:
            token, delivery = self.backlog.popleft()
            flight = self.flights.get(token)
            if flight is None:
                continue
            flight.waiting.discard(delivery.pk)
            if not flight.waiting:
                del self.flights[token]
                finish(flight.batch, self.clock(), done)

    def drain(self) -> Counter[str]:
        """Release what is held, wait for every send in flight and finish its batch (before a
        clean stop)."""
        done: Counter[str] = Counter()
        self.release(done)
        wait = min(1.0, settings.REMINDER_LEASE_SECONDS / 3)
        while self.flights:
            self.collect(done, wait=wait)
            self.renew()
        return done

    def close(self) -> Counter[str]:
        try:
            return self.drain()
        finally:
            self.shutdown()

    def shutdown(self, *, cancel: bool = False) -> None:
        for pool in (self.pool, self.push_pool):
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=cancel)
        self.pool = self.push_pool = None
        push.close_connections()


def room_step(capacity: int | None) -> int:
    """The room worth a check of held sends: a quarter of the queue."""
    return 1 if capacity is None else capacity // 4


def still_ours(batch: Batch, reminder_ids: set[int]) -> set[int]:
    """The reminders of these that this worker still holds and nobody withdrew."""
    return set(
        Reminder.objects.filter(
            pk__in=reminder_ids,
            claim_token=batch.token,
            status=Reminder.Status.PENDING,
            withdrawn_at__isnull=True,
        ).values_list("pk", flat=True)
    )


def drain(
    arrived: "SimpleQueue[tuple[int, Outcome]]", *, wait_for: float | None, want: int = 1
) -> list[tuple[int, Outcome]]:
    """Everything in the queue; first waits up to ``wait_for`` seconds for something to arrive,
    then for up to ``want`` outcomes as long as each follows the last within GATHER_GAP (at most
    GATHER seconds): a sent push written a few milliseconds later costs a repeat only if the
    worker dies in between."""
    found: list[tuple[int, Outcome]] = []
    try:
        if wait_for is not None:
            found.append(arrived.get(timeout=wait_for))
            until = time.monotonic() + GATHER
            while len(found) < want and time.monotonic() < until:
                found.append(arrived.get(timeout=GATHER_GAP))
        while True:
            found.append(arrived.get_nowait())
    except Empty:
        return found


def record(
    outcomes: list[tuple[int, Outcome]], prepared: Prepared, now: datetime, done: Counter[str]
) -> None:
    """Write a group of outcomes: the sent ones with one update, the others (rare) row by row
    in one bulk update; retries wait longer each time, and a retry that would come after the
    reminder's lateness window is missed now instead."""
    sent: list[int] = []
    changed: list[Delivery] = []
    dropped: list[str] = []
    deadline = max_lateness()
    for delivery_id, outcome in outcomes:
        delivery = prepared.deliveries[delivery_id]
        delivery.attempts += 1
        if outcome.ok:
            sent.append(delivery_id)
            done["delivered"] += 1
            continue
        retry_at = now + backoff(delivery.attempts)
        delivery.error = outcome.error
        if outcome.final or delivery.attempts >= settings.REMINDER_MAX_ATTEMPTS:
            delivery.status = Delivery.Status.FAILED
            done["delivery_failed"] += 1
        elif retry_at - prepared.due[delivery.reminder_id] > deadline:
            delivery.status = Delivery.Status.MISSED
            done["delivery_missed"] += 1
        else:
            delivery.next_attempt_at = retry_at
            done["retry"] += 1
        if outcome.drop_device and delivery.device:
            dropped.append(delivery.device)
        # Row ids and error codes only: no names, no texts (README, "Patient data").
        logger.warning("Delivery %s (%s) failed: %s", delivery.pk, delivery.channel, outcome.error)
        changed.append(delivery)
    if sent:
        Delivery.objects.filter(pk__in=sent).update(
            status=Delivery.Status.SENT, sent_at=now, attempts=F("attempts") + 1, error=""
        )
    if changed:
        Delivery.objects.bulk_update(changed, ["attempts", "status", "error", "next_attempt_at"])
    if dropped:
        PushSubscription.objects.filter(code__in=dropped).delete()


def finish(batch: Batch, now: datetime, done: Counter[str]) -> None:
    """Close each reminder from what its deliveries say, or release it until its next retry.

    A reminder is sent when any channel delivered it, missed when it became too late before
    any did, failed when every channel gave up, cancelled when it was withdrawn and nothing went
    out. Only rows this worker still holds are changed."""
    ids = [r.pk for r in batch.reminders if r.pk not in batch.broken]
    if not ids:
        return
    withdrawn = set(
        Reminder.objects.filter(pk__in=ids, withdrawn_at__isnull=False).values_list("pk", flat=True)
    )
    cancelled = batch.cancelled | withdrawn
    if cancelled:
        done["skipped"] += Delivery.objects.filter(
            reminder_id__in=cancelled, status=Delivery.Status.PENDING
        ).update(status=Delivery.Status.SKIPPED, error="cancelled")
    statuses: defaultdict[int, set[str]] = defaultdict(set)
    retry_at: dict[int, datetime] = {}
    for pk, status, at in Delivery.objects.filter(reminder_id__in=ids).values_list(
        "reminder_id", "status", "next_attempt_at"
    ):
        statuses[pk].add(status)
        if status == Delivery.Status.PENDING:
            retry_at[pk] = min(retry_at.get(pk, at or now), at or now)
    closing: defaultdict[str, list[int]] = defaultdict(list)
    for reminder in batch.reminders:
        pk = reminder.pk
        if pk in batch.broken or pk in retry_at:
            continue
        if Delivery.Status.SENT in statuses[pk]:
            closing[Reminder.Status.SENT].append(pk)
        elif pk in cancelled:
            closing[Reminder.Status.CANCELLED].append(pk)
        elif now - reminder.due_at > max_lateness() or Delivery.Status.MISSED in statuses[pk]:
            closing[Reminder.Status.MISSED].append(pk)
        else:
            closing[Reminder.Status.FAILED].append(pk)
    mine = Reminder.objects.filter(claim_token=batch.token)
    for status, pks in closing.items():
        done[f"reminder_{status}"] += mine.filter(pk__in=pks).update(
            status=status, finished_at=now, claim_token=None, claimed_until=None
        )
    # Released until their next try; retries of one batch share a few times, so one update each.
    by_time: defaultdict[datetime, list[int]] = defaultdict(list)
    for pk, at in retry_at.items():
        by_time[at].append(pk)
    for at, pks in by_time.items():
        mine.filter(pk__in=pks).update(next_attempt_at=at, claim_token=None, claimed_until=None)
