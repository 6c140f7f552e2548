"""The report's typed parts, shared by every stage: what a report can hold, read in one file.

Foundation layer: nothing here imports a stage (inputs, measurement, spine, ...); the stages build
these values and the outputs turn them into JSON (outputs/report.py `to_json` / `from_json`).

A signal-intensity ratio is named by a `RatioKey`, in one of two forms:

    regions on one sequence   "T2 mass/cord"   sequence T2, mass over cord
    one region on two sequences "T1C/T1 mass"  region mass, T1C over T1 (a sequence pair)

Its text is the ratio's key in the JSON report and the name knowledge files give it; it is parsed
once, where such text is read (a stored report, a knowledge file), never by the code that uses it.
"""

import re
from dataclasses import dataclass

_REGION_RATIO = re.compile(r"^(\w+) (\w+)/(\w+)$")
_SEQUENCE_RATIO = re.compile(r"^(\w+)/(\w+) (\w+)$")


@dataclass(frozen=True)
class Ratio:
    """A ratio of two means (or an enhancement) with its 95 % confidence interval."""

    value: float
    ci95: tuple[float, float]

    def to_dict(self) -> dict:
        return {"value": self.value, "ci95": list(self.ci95)}


@dataclass(frozen=True)
class RatioKey:
    """Which means a ratio divides: `numerator` over `denominator`, both regions measured on
    `sequence`, or (`region` given instead) both sequences measured on `region`."""

    numerator: str
    denominator: str
    sequence: str | None = None
    region: str | None = None

    def __post_init__(self) -> None:
        if (self.sequence is None) == (self.region is None):
            raise ValueError("a ratio key names either its sequence or its region")

    @classmethod
    def of_regions(cls, sequence: str, numerator: str, denominator: str) -> "RatioKey":
        return cls(numerator, denominator, sequence=sequence)

    @classmethod
    def of_sequences(cls, region: str, post: str, pre: str) -> "RatioKey":
        return cls(post, pre, region=region)

    @classmethod
    def parse(cls, text: str) -> "RatioKey":
        """The key of a ratio's text; ValueError when the text is neither form."""
        match = _REGION_RATIO.match(text)
        if match:
            return cls.of_regions(*match.groups())
        match = _SEQUENCE_RATIO.match(text)
        if match:
            post, pre, region = match.groups()
            return cls.of_sequences(region, post, pre)
        raise ValueError(f"ratio {text!r} is neither '<SEQ> <region>/<region>' nor '<SEQ>/<SEQ> <region>'")

    @property
    def across_sequences(self) -> bool:
        return self.region is not None

    @property
    def sequence_label(self) -> str:
        """The sequence part of the text: "T2", or "T1C/T1" for a sequence pair."""
        return f"{self.numerator}/{self.denominator}" if self.across_sequences else self.sequence

    @property
    def region_label(self) -> str:
        """The region part of the text: "mass/cord", or "mass" for a sequence pair."""
        return self.region if self.across_sequences else f"{self.numerator}/{self.denominator}"

    @property
    def text(self) -> str:
        return f"{self.sequence_label} {self.region_label}"

    @property
    def owner(self) -> str:
        """The region the ratio describes: the numerator region, or the pair's one region."""
        return self.region if self.across_sequences else self.numerator

    @property
    def roles(self) -> tuple[str, ...]:
        """The sequences the ratio was measured on."""
        return (self.numerator, self.denominator) if self.across_sequences else (self.sequence,)

    def inputs(self) -> tuple[tuple[str, str], ...]:
        """The (region, sequence) measurements the ratio needs."""
        if self.across_sequences:
            return ((self.region, self.numerator), (self.region, self.denominator))
        return ((self.numerator, self.sequence), (self.denominator, self.sequence))

    def __str__(self) -> str:
        return self.text

