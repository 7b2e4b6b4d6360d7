"""
How good are the early warnings? Replays a synthetic portfolio with known
stories period by period through the real pipeline and scores every signal
against what happened (`escalations.backtest`).
"""

from __future__ import annotations

import signal
import time
from collections import Counter

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from escalations.backtest import portfolio, replay, score

MAX_MONTHS = 120
MAX_WEEKS = 520
TARGET_RECALL = 0.9


def _stop(signum, frame):
    raise SystemExit(128 + signum)


TARGET_PRECISION = 0.8


class Command(BaseCommand):
    help = (
        "Replay a synthetic portfolio (drifts, jumps, recoveries, seasonality, noise; monthly "
        "and weekly) through the real pipeline and print how well each signal warned of "
        "breaches 1-3 periods ahead, against two naive baselines."
    )

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=2026, help="The portfolio's seed.")
        parser.add_argument("--months", type=int, default=36, help="Monthly periods per series.")
        parser.add_argument("--weeks", type=int, default=104, help="Weekly periods per series.")
        parser.add_argument(
            "--keep", action="store_true", help="Keep the throwaway organisation to look at."
        )
        parser.add_argument(
            "--clean", action="store_true",
            help="Only remove organisations that runs killed outright (kill -9) left behind.",
        )  # fmt: skip

    def handle(self, *args, **options):
        if options["clean"]:
            removed = replay.remove_leftovers()
            self.stdout.write(f"Removed {removed} organisation(s) left by earlier runs.")
            return
        if options["seed"] < 0:
            raise CommandError("--seed must be 0 or more.")
        if min(options["months"], options["weeks"]) < portfolio.MIN_PERIODS:
            raise CommandError(
                f"--months and --weeks must be at least {portfolio.MIN_PERIODS} periods."
            )
        if options["months"] > MAX_MONTHS or options["weeks"] > MAX_WEEKS:
            raise CommandError(
                f"--months can be at most {MAX_MONTHS} and --weeks at most {MAX_WEEKS} "
                "(ten years of history)."
            )
        # Stopped by `kill`, `timeout` or a cancelled job: clean up as on Ctrl-C.
        signal.signal(signal.SIGTERM, _stop)
        series = portfolio.build(
            seed=options["seed"], months=options["months"], weeks=options["weeks"]
        )
        kinds = Counter(s.period for s in series)
        archetypes = Counter(s.archetype for s in series)
        self.stdout.write(
            f"Portfolio (seed {options['seed']}): {len(series)} SLAs, "
            f"{kinds['monthly']} monthly over {options['months']} months and "
            f"{kinds['weekly']} weekly over {options['weeks']} weeks: "
            + ", ".join(f"{k} {v}" for k, v in sorted(archetypes.items()))
        )
        started = time.monotonic()

        def progress(count, total, day):
            if count % 20 == 0 or count == total:
                self.stderr.write(f"  {count}/{total} days replayed (up to {day})")

        result = replay.replay(
            series, today=timezone.localdate(), keep=options["keep"], progress=progress
        )
        elapsed = time.monotonic() - started
        rows = self._rows(result)
        self.stdout.write(
            f"Replayed in {elapsed:.0f} s: {result.submissions} submissions through the "
            f"pipeline, the hourly rules after each."
        )
        if result.failures:
            self.stdout.write(self.style.ERROR(f"{len(result.failures)} submission(s) failed:"))
            for failure in result.failures[:20]:
                self.stdout.write(f"  {failure}")
        breaches = rows[0].tally.breaches
        self.stdout.write(
            f"Breaches: {breaches['drift']} after at least two periods of drift, "
            f"{breaches['jump']} sudden jumps, {breaches['other']} other (noise, relapses, "
            "drifts of one period)."
        )
        self.stdout.write("")
        self.stdout.write(score.render_table(rows))
        self.stdout.write("")
        self.stdout.write(
            "recall: drift breaches with the signal on 1-3 periods before them; precision: "
            "alerts (a signal going on) followed by a breach within 3 periods; lead: periods "
            "from the first alert to the breach."
        )
        emails = sum(len(v) for v in result.emails.values())
        episodes = sum(
            1 for seen in result.seen.values() for s in seen if s is not None and s.episode_started
        )
        self.stdout.write(
            f"Early-warning e-mails in the outbox: {emails}, for {episodes} forecast "
            f"episodes, each to the contract owner."
        )
        sample = next((subjects[0] for subjects in result.emails.values() if subjects), None)
        if sample:
            self.stdout.write(f"  e.g. {sample}")
        kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(result.notifications.items()))
        self.stdout.write(
            f"Escalations opened: {result.escalations}; relapses that reopened one without new "
            f"e-mails or with a higher level: {result.reopened}. E-mails queued, by event: "
            f"{kinds or 'none'}."
        )
        self._targets(rows)

    def _rows(self, result: replay.Result) -> list[score.Row]:
        signals = {
            "early warning (e-mail)": score.Tally(),
            "stored forecast: red in 1-3 periods": score.Tally(),
            "drifting flag": score.Tally(),
            "anomaly flag": score.Tally(),
            "baseline: yellow now": score.Tally(),
            "baseline: line through last 4": score.Tally(),
        }
        for series in result.series:
            seen = result.seen[series.key]
            values = [float(v) for v in series.values]
            minimum = float(series.measure.minimum)
            higher = series.direction == "higher"
            red = [s is not None and s.colour == "red" for s in seen]
            live = [s is not None and not r for s, r in zip(seen, red, strict=True)]
            episode = [live[i] and seen[i].episode_open for i in range(len(seen))]
            alerts = [i for i, s in enumerate(seen) if s is not None and s.episode_started]
            signals["early warning (e-mail)"].add(series, red, score.Signal(episode, alerts))
            flags = {
                "stored forecast: red in 1-3 periods": [
                    live[i] and (seen[i].periods_to_breach or 0) in (1, 2, 3)
                    for i in range(len(seen))
                ],
                "drifting flag": [live[i] and seen[i].drifting for i in range(len(seen))],
                "anomaly flag": [live[i] and seen[i].anomaly for i in range(len(seen))],
                "baseline: yellow now": [
                    live[i] and seen[i].colour == "yellow" for i in range(len(seen))
                ],
                "baseline: line through last 4": [
                    live[i] and flag
                    for i, flag in enumerate(score.line_flags(values, minimum, higher))
                ],
            }
            for name, on in flags.items():
                signals[name].add(series, red, score.Signal.of_flags(on))
        return [score.Row(name, tally) for name, tally in signals.items()]

    def _targets(self, rows: list[score.Row]) -> None:
        ours = rows[0].tally
        baselines = [row for row in rows if row.name.startswith("baseline")]
        recall, precision = ours.recall("drift") or 0.0, ours.precision or 0.0
        checks = [
            (f"recall {recall:.2f} >= {TARGET_RECALL}", recall >= TARGET_RECALL),
            (f"precision {precision:.2f} >= {TARGET_PRECISION}", precision >= TARGET_PRECISION),
        ]
        for row in baselines:
            their_recall = row.tally.recall("drift") or 0.0
            their_precision = row.tally.precision or 0.0
            checks.append(
                (f"recall {recall:.2f} > {their_recall:.2f} ({row.name})", recall > their_recall)
            )
            checks.append(
                (
                    f"precision {precision:.2f} > {their_precision:.2f} ({row.name})",
                    precision > their_precision,
                )
            )
        self.stdout.write("")
        self.stdout.write("Targets for the early warning:")
        for text, ok in checks:
            mark = self.style.SUCCESS("met   ") if ok else self.style.ERROR("NOT met")
            self.stdout.write(f"  {mark} {text}")
