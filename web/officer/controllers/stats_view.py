"""What the statistics page shows of a report: each figure in words beside its national target with a verdict, the
charts, and the same figures as CSV. The figures and the targets come from `forms.stats`; only the wording is here."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from assurance.schemas import OfficerProofingStats, StatsWithOfficers
from forms.catalog import ProcedureCatalog
from forms.schemas import ProcedureStats, StatsTotal
from forms.stats import TARGET_SATISFACTION_RATE, TARGET_SECONDS_LOGIN_TO_SUBMISSION, longest_span
from web.charts import Bar, BarChart, bar_chart
from web.i18n import current, pick
from web.i18n import gettext as _

Verdict = Literal["met", "missed", "none", "nodata"]


@dataclass(frozen=True)
class Figure:
    label: str
    value: str
    target: str
    verdict: Verdict


@dataclass(frozen=True)
class Scope:
    """The whole agency or one procedure, with its figures."""

    name: str
    figures: tuple[Figure, ...]

    @property
    def missed(self) -> int:
        return sum(figure.verdict == "missed" for figure in self.figures)


def number(value: float, digits: int = 1) -> str:
    """A decimal the page's language writes it (Vietnamese: a comma before the decimals)."""
    text = f"{value:.{digits}f}".rstrip("0").rstrip(".") if digits else f"{value:.0f}"
    return text.replace(".", ",") if current() == "vi" else text


def percent(ratio: float) -> str:
    return f"{number(ratio * 100)}%"


def duration(seconds: float) -> str:
    """Seconds in the largest units that read naturally: `4 min 10 s`, `3 h 20 min`, `2 days 4 h`."""
    whole = round(seconds)
    days, rest = divmod(whole, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return _("{days} d {hours} h").format(days=days, hours=hours)
    if hours:
        return _("{hours} h {minutes} min").format(hours=hours, minutes=minutes)
    if minutes:
        return _("{minutes} min {seconds} s").format(minutes=minutes, seconds=secs)
    return _("{seconds} s").format(seconds=secs)


def _target(value: float | None, text: str, met: Callable[[float], bool]) -> tuple[str, Verdict]:
    if value is None:
        return text, "nodata"
    return text, "met" if met(value) else "missed"


def figures(item: ProcedureStats | StatsTotal, processing_days: int | None) -> tuple[Figure, ...]:
    none = _("No national target")
    to_submit, to_submit_verdict = _target(
        item.median_seconds_login_to_submission,
        _("Under 5 minutes"),
        lambda seconds: seconds < TARGET_SECONDS_LOGIN_TO_SUBMISSION,
    )
    happy, happy_verdict = _target(
        item.satisfaction_rate, _("At least 95%"), lambda rate: rate >= TARGET_SATISFACTION_RATE
    )
    processing_verdict: Verdict
    if processing_days is None:
        processing, processing_verdict = _("Each procedure's legal time"), "none"
    else:
        allowed = longest_span(processing_days).total_seconds()
        processing, processing_verdict = _target(
            item.median_processing_seconds,
            _("Within {days} working days").format(days=processing_days),
            lambda seconds: seconds <= allowed,
        )
    no_data = _("No data yet")
    return (
        Figure(_("Dossiers started"), str(item.started), none, "none"),
        Figure(_("Dossiers submitted"), str(item.submitted), none, "none"),
        Figure(_("Dossiers completed"), str(item.completed), none, "none"),
        Figure(_("Dossiers rejected"), str(item.rejected), none, "none"),
        Figure(
            _("Median time from login to submission"),
            duration(item.median_seconds_login_to_submission)
            if item.median_seconds_login_to_submission is not None
            else no_data,
            to_submit,
            to_submit_verdict,
        ),
        Figure(
            _("Fields filled from the wallet"),
            percent(item.prefill_ratio) if item.prefill_ratio is not None else no_data,
            none,
            "none",
        ),
        Figure(
            _("Papers reused from the wallet / uploaded"),
            _("{reused} reused, {uploaded} uploaded").format(reused=item.papers_reused, uploaded=item.papers_uploaded),
            none,
            "none",
        ),
        Figure(
            _("Satisfied citizens (rated 4 or 5)"),
            _("{share} of {count} ratings").format(share=percent(item.satisfaction_rate), count=item.ratings)
            if item.satisfaction_rate is not None
            else no_data,
            happy,
            happy_verdict,
        ),
        Figure(
            _("Median processing time"),
            duration(item.median_processing_seconds) if item.median_processing_seconds is not None else no_data,
            processing,
            processing_verdict,
        ),
        Figure(_("Overdue dossiers"), str(item.overdue), _("None"), "met" if item.overdue == 0 else "missed"),
    )


def scopes(report: StatsWithOfficers, catalog: ProcedureCatalog) -> tuple[Scope, list[Scope]]:
    whole = Scope(_("All procedures"), figures(report.total, None))
    each = [Scope(procedure_name(item, catalog), figures(item, item.processing_days)) for item in report.items]
    return whole, each


def procedure_name(item: ProcedureStats, catalog: ProcedureCatalog) -> str:
    return pick(item.procedure_name, catalog.get(item.procedure_code).name_en)


def _missed_text(text: str, missed: bool) -> str:
    return _("{value} – missed").format(value=text) if missed else text


def charts(report: StatsWithOfficers, catalog: ProcedureCatalog) -> list[BarChart]:
    names = [procedure_name(item, catalog) for item in report.items]
    no_data = _("no data")
    total = report.total
    counts = [
        (_("Dossiers started"), total.started),
        (_("Dossiers submitted"), total.submitted),
        (_("Dossiers completed"), total.completed),
        (_("Dossiers rejected"), total.rejected),
    ]
    to_submit = []
    for name, item in zip(names, report.items, strict=True):
        seconds = item.median_seconds_login_to_submission
        missed = seconds is not None and seconds >= TARGET_SECONDS_LOGIN_TO_SUBMISSION
        text = _missed_text(duration(seconds), missed) if seconds is not None else no_data
        to_submit.append(Bar(name, seconds / 60 if seconds is not None else None, text, missed))
    happy = []
    for name, item in zip(names, report.items, strict=True):
        rate = item.satisfaction_rate
        missed = rate is not None and rate < TARGET_SATISFACTION_RATE
        text = _missed_text(percent(rate), missed) if rate is not None else no_data
        happy.append(Bar(name, rate * 100 if rate is not None else None, text, missed))
    prefill = [
        Bar(name, item.prefill_ratio * 100 if item.prefill_ratio is not None else None, _percent_or(item, no_data))
        for name, item in zip(names, report.items, strict=True)
    ]
    return [
        bar_chart(
            "chart-dossiers",
            _("Dossiers of all procedures"),
            _("How many dossiers were started, submitted, completed and rejected."),
            [Bar(label, value, str(value)) for label, value in counts],
        ),
        bar_chart(
            "chart-login",
            _("Median time from login to submission, per procedure"),
            _("In minutes; the national target is under 5 minutes."),
            to_submit,
            target=TARGET_SECONDS_LOGIN_TO_SUBMISSION / 60,
            target_text=_("Target: 5 min"),
        ),
        bar_chart(
            "chart-satisfaction",
            _("Satisfied citizens, per procedure"),
            _("Share of ratings of 4 or 5; the national target is at least 95%."),
            happy,
            target=TARGET_SATISFACTION_RATE * 100,
            target_text=_("Target: 95%"),
            maximum=100,
        ),
        bar_chart(
            "chart-prefill",
            _("Fields filled from the wallet, per procedure"),
            _("Share of the submitted forms' fields the wallet filled."),
            prefill,
            maximum=100,
        ),
    ]


def _percent_or(item: ProcedureStats, no_data: str) -> str:
    return percent(item.prefill_ratio) if item.prefill_ratio is not None else no_data


def officers_chart(officers: Sequence[OfficerProofingStats]) -> BarChart:
    return bar_chart(
        "chart-officers",
        _("Proofings per officer"),
        _("Identities confirmed at the counter by each officer."),
        [Bar(o.name, o.proofings, str(o.proofings)) for o in officers],
    )


def csv_text(report: StatsWithOfficers, catalog: ProcedureCatalog) -> str:
    """The page's figures, one row per procedure then the total, and the officers below; raw numbers (seconds,
    percentages with a point) so a spreadsheet can compute with them."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(
        [
            _("Procedure"),
            _("Procedure code"),
            _("Dossiers started"),
            _("Dossiers submitted"),
            _("Dossiers completed"),
            _("Dossiers rejected"),
            _("Median seconds from login to submission"),
            _("Fields filled from the wallet (%)"),
            _("Papers reused"),
            _("Papers uploaded"),
            _("Ratings"),
            _("Satisfied citizens (%)"),
            _("Median processing seconds"),
            _("Legal processing time (working days)"),
            _("Overdue dossiers"),
        ]
    )
    for item in report.items:
        writer.writerow(
            [procedure_name(item, catalog), item.procedure_code, *_row(item), item.processing_days, item.overdue]
        )
    writer.writerow([_("All procedures"), "", *_row(report.total), "", report.total.overdue])
    writer.writerow([])
    writer.writerow(
        [_("Officer"), _("Officer's agency"), _("Proofings"), _("Recoveries started"), _("Recoveries completed")]
    )
    for officer in report.officers:
        writer.writerow(
            [
                officer.name,
                officer.agency.name,
                officer.proofings,
                officer.recoveries_started,
                officer.recoveries_completed,
            ]
        )
    return out.getvalue()


def _row(item: ProcedureStats | StatsTotal) -> list[object]:
    def raw(value: float | None, factor: float = 1.0, digits: int = 0) -> object:
        return "" if value is None else round(value * factor, digits) if digits else round(value * factor)

    return [
        item.started,
        item.submitted,
        item.completed,
        item.rejected,
        raw(item.median_seconds_login_to_submission),
        raw(item.prefill_ratio, 100, 1),
        item.papers_reused,
        item.papers_uploaded,
        item.ratings,
        raw(item.satisfaction_rate, 100, 1),
        raw(item.median_processing_seconds),
    ]
