"""Periods as cron lines (procrastinate's croniter takes a sixth column for seconds): a period must divide a minute,
an hour or a day, so every worker computes the same ticks and each tick is deferred once (its periodic defers table
is unique on task and tick)."""

from __future__ import annotations

MINUTE, HOUR, DAY = 60, 3600, 86400


def cron_every(seconds: float) -> str:
    """The cron line of a period of `seconds` (rounded to whole seconds, at least one)."""
    period = max(1, round(seconds))
    if period < MINUTE and MINUTE % period == 0:
        return f"* * * * * */{period}"
    if period < HOUR and period % MINUTE == 0 and HOUR % period == 0:
        return f"*/{period // MINUTE} * * * *"
    if period < DAY and period % HOUR == 0 and DAY % period == 0:
        return f"0 */{period // HOUR} * * *"
    if period == DAY:
        return "0 0 * * *"
    raise ValueError(f"a period of {seconds} s does not divide a minute, an hour or a day")
