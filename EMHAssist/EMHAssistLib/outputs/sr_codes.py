"""data/structured_report.json as typed, frozen data, validated on load: the codes of the DICOM SR that
`analyze --sr` writes (structured_report.py) and the quantity the Segment Statistics plugin reports
(segment_statistics.py).

A module of its own beside its two readers, not in settings.py (these are output codes, no engine stage
reads them) nor in structured_report.py (the Segment Statistics plugin would then import highdicom).
A wrong key or a code of the wrong shape is refused with an `InputError` naming the file and the key.
"""

import functools
from dataclasses import dataclass

from ..knowledge import load
from ..limits import DICOM_IS_MAX
from ..settings import format_version, keyed, parse, positive, vocabulary

Code = tuple[str, str, str]  # scheme designator, code value, code meaning, as DICOM writes a coded concept


@dataclass(frozen=True)
class PrivateScheme:
    """EMHAssist's own coding scheme, for what DICOM lists no code for; the SR identifies it."""

    designator: str
    name: str
    responsible_organization: str


@dataclass(frozen=True)
class Device:
    name: str
    manufacturer: str


@dataclass(frozen=True)
class Series:
    number: int = positive(DICOM_IS_MAX)
    description: str


@dataclass(frozen=True)
class RegionCoding:
    finding_type: Code
    finding_site: Code | None = None


@dataclass(frozen=True)
class Concepts:
    differential: Code
    probability: Code
    compression: Code
    mscc: Code
    ratio: Code
    enhancement: Code
    differential_group: Code
    bilsky_group: Code
    bilsky_grade: Code
    mcc: Code
    caveat: Code


@dataclass(frozen=True)
class Units:
    ratio: Code
    percent: Code


@dataclass(frozen=True)
class SrCodes:
    """data/structured_report.json."""

    version: int = format_version()
    private_scheme: PrivateScheme
    device: Device
    series: Series
    regions: dict[str, RegionCoding] = keyed(lambda: vocabulary().regions)  # by region name
    diagnoses: dict[str, Code]  # by diagnosis id
    concepts: Concepts
    units: Units


@functools.cache
def sr_codes() -> SrCodes:
    return parse(SrCodes, load("structured_report"), "structured_report")
