"""data/quiz.json as typed, frozen data, validated on load: the quiz's box colours and look, when a
learner's box is on target, and the limits of `emhassist serve`'s sessions.

A light module of its own beside quiz.py: the session launcher (frontends/sessions.py) runs without
Slicer and reads its limits here, where quiz.py would bring Slicer and the analysis into it. A wrong key
or value is refused with an `InputError` naming the file and the key.
"""

import functools
from dataclasses import dataclass

from ..knowledge import load
from ..settings import COUNT_MAX, TIMEOUT_S_MAX, count, format_version, fraction, keyed, parse, positive, within

Colour = tuple[float, float, float]  # red, green, blue, each from 0 to 1


@dataclass(frozen=True)
class RoiLook:
    fill: bool
    name_labels: bool
    locked_handles: bool  # whether a box locked at the reveal still draws its handles


@dataclass(frozen=True)
class SessionSettings:
    """The sessions of `emhassist serve`, one process each (frontends/sessions.py)."""

    max: int = count()  # sessions running at once, spares not counted
    spares: int = within(0, COUNT_MAX)  # processes kept started for the next sessions
    idle_minutes: float = positive(TIMEOUT_S_MAX / 60)  # a session no page has been connected to for this long is ended
    start_time_limit_s: float = positive(TIMEOUT_S_MAX)  # a process not listening by then is ended and the request refused


@dataclass(frozen=True)
class QuizSettings:
    """data/quiz.json."""

    version: int = format_version()
    learner_color: Colour = fraction()
    reference_color: Colour = fraction()
    on_target: dict[str, float] = keyed(lambda: _measures(), fraction())  # by comparison measure: its pass mark
    roi_look: RoiLook
    sessions: SessionSettings


def _measures() -> tuple[str, ...]:
    from .quiz import DICE, IN_CORD  # quiz.py reads these settings: imported when they are read

    return DICE, IN_CORD


@functools.cache
def quiz_settings() -> QuizSettings:
    return parse(QuizSettings, load("quiz"), "quiz")
