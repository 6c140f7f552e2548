"""Signal-intensity ratios of region means, with 95 % confidence intervals.

The interval comes from the delta method on the two means' standard errors, treating voxels as
independent samples. Neighbouring MR voxels are correlated, so the interval is a lower bound on
the true uncertainty: it says when a ratio is too noisy to read, not that it is precise.
"""

import math

from ..errors import InputError
from ..report_model import Ratio, RatioKey, RegionStatistics
from ..settings import measurement_settings


def ratio_of_means(numerator: RegionStatistics, denominator: RegionStatistics) -> Ratio:
    return _delta_ratio(numerator.mean, _variance_of_mean(numerator), denominator)


def difference_over_mean(first: RegionStatistics, second: RegionStatistics, reference: RegionStatistics) -> Ratio:
    """(mean of `first` − mean of `second`) / mean of `reference`: a contrast between two regions in
    units of a third's signal, with the same delta-method interval (the two means' variances add)."""
    return _delta_ratio(first.mean - second.mean, _variance_of_mean(first) + _variance_of_mean(second), reference)


def _delta_ratio(numerator: float, numerator_variance: float, denominator: RegionStatistics) -> Ratio:
    value = numerator / denominator.mean
    variance = (numerator_variance + value**2 * _variance_of_mean(denominator)) / denominator.mean**2
    half_width = measurement_settings().ci_z * math.sqrt(variance)
    return Ratio(value, (value - half_width, value + half_width))


def region_ratios(stats: dict[str, dict[str, RegionStatistics]]) -> dict[RatioKey, Ratio]:
    """Every configured pair on every sequence where both regions were measured.

    `stats` is keyed region -> sequence role -> statistics.
    """
    ratios: dict[RatioKey, Ratio] = {}
    roles = sorted({role for by_role in stats.values() for role in by_role})
    for role in roles:
        for numerator, denominator in measurement_settings().ratio_pairs:
            if role in stats.get(numerator, {}) and role in stats.get(denominator, {}):
                reference = stats[denominator][role]
                _check_reference(f"{denominator} on {role}", reference)
                ratios[RatioKey.of_regions(role, numerator, denominator)] = ratio_of_means(stats[numerator][role], reference)
    return ratios


def sequence_ratios(stats: dict[str, dict[str, RegionStatistics]], post: str, pre: str) -> dict[str, Ratio]:
    """Per region, the mean on `post` over the mean on `pre` (for example T1C over T1)."""
    result: dict[str, Ratio] = {}
    for region, by_role in stats.items():
        if post in by_role and pre in by_role:
            _check_reference(f"{region} on {pre}", by_role[pre])
            result[region] = ratio_of_means(by_role[post], by_role[pre])
    return result


def enhancement(stats: dict[str, dict[str, RegionStatistics]]) -> dict[str, Ratio]:
    """Per region, post-contrast over pre-contrast mean minus one (0.4 = 40 % brighter)."""
    roles = measurement_settings().enhancement
    return {
        region: Ratio(ratio.value - 1, (ratio.ci95[0] - 1, ratio.ci95[1] - 1))
        for region, ratio in sequence_ratios(stats, roles.post, roles.pre).items()
    }


def _variance_of_mean(stats: RegionStatistics) -> float:
    return stats.sd**2 / stats.n


def _check_reference(subject: str, reference: RegionStatistics) -> None:
    # A signal-intensity ratio compares magnitudes: a reference at or below zero (a subtraction
    # or phase image given as a sequence) makes any ratio meaningless, not just a zero one.
    if not (math.isfinite(reference.mean) and reference.mean > 0):
        raise InputError(subject, f"mean signal is {reference.mean}; a ratio's reference must be positive")
