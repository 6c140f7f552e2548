"""Region statistics and ratios on a case whose tissue values are known exactly."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from small_case import VALUES, grid_for, roi_box, small_study

from EMHAssistLib.analysis import analyze
from EMHAssistLib.errors import InputError
from EMHAssistLib.geometry import voxel_indices
from EMHAssistLib.measurement.ratios import ratio_of_means
from EMHAssistLib.measurement.regions import statistics
from EMHAssistLib.report_model import RatioKey, RegionStatistics


def test_noise_free_ratios_are_exact_on_two_different_grids(scene):
    report = analyze(small_study(scene))
    for role in ("T1", "T2", "T1C"):
        for numerator, denominator in (("mass", "cord"), ("mass", "muscle"), ("marrow", "muscle"), ("marrow", "disc")):
            expected = VALUES[role][numerator] / VALUES[role][denominator]
            ratio = report.ratios[RatioKey.of_regions(role, numerator, denominator)]
            assert ratio.value == pytest.approx(expected, rel=1e-6)
            assert ratio.ci95 == pytest.approx((expected, expected), rel=1e-6)
    assert report.enhancement["mass"].value == pytest.approx(588 / 420 - 1)
    assert report.sequences["T1"].spacing != report.sequences["T2"].spacing


def test_region_counts_follow_each_grid(scene):
    report = analyze(small_study(scene))
    for role in ("T1", "T2"):
        grid = grid_for(role)
        expected = voxel_indices(grid, roi_box("cord")).size
        stats = report.regions["cord"][role]
        assert stats.n == expected
        assert stats.volume_mm3 == pytest.approx(expected * grid.voxel_volume)
    assert report.regions["cord"]["T1"].n != report.regions["cord"]["T2"].n


def test_statistics_match_numpy_on_noisy_regions(scene):
    study = small_study(scene, noise_sd=20.0)
    report = analyze(study)
    volume = study.sequences["T2"]
    import slicer

    values = slicer.util.arrayFromVolume(volume).ravel()[voxel_indices(grid_for("T2"), roi_box("mass"))].astype(float)
    stats = report.regions["mass"]["T2"]
    assert stats.mean == pytest.approx(values.mean())
    assert stats.median == pytest.approx(np.median(values))
    assert stats.sd == pytest.approx(values.std(ddof=1))
    assert stats.p5 == pytest.approx(np.percentile(values, 5))
    assert stats.p95 == pytest.approx(np.percentile(values, 95))


def test_noisy_ratio_interval_covers_the_true_ratio(scene):
    report = analyze(small_study(scene, noise_sd=20.0))
    lo, hi = report.ratios[RatioKey.parse("T2 mass/cord")].ci95
    assert lo < 150 / 500 < hi
    assert hi - lo > 0.005


def test_missing_sequences_and_regions_are_warned_not_invented(scene):
    study = small_study(scene, roles=("T2",))
    del study.regions["disc"]
    report = analyze(study)
    assert set(report.sequences) == {"T2"}
    assert report.enhancement == {}
    assert not any(key.denominator == "disc" for key in report.ratios)
    warnings = " | ".join(report.warnings)
    assert "no T1 sequence" in warnings and "no T1C sequence" in warnings and "no disc region" in warnings


def test_zero_reference_mean_is_an_input_error():
    zero = RegionStatistics(mean=0.0, median=0.0, sd=0.0, p5=0.0, p95=0.0, n=40, volume_mm3=40.0)
    from EMHAssistLib.measurement.ratios import region_ratios

    with pytest.raises(InputError, match="cord on T2: mean signal is 0.0"):
        region_ratios({"mass": {"T2": zero}, "cord": {"T2": zero}})


@settings(max_examples=60, deadline=None)
@given(
    numerator=st.lists(st.floats(1, 1000), min_size=2, max_size=60),
    denominator=st.lists(st.floats(1, 1000), min_size=2, max_size=60),
)
def test_ratio_interval_contains_the_ratio_and_widens_with_spread(numerator, denominator):
    a, b = statistics(np.array(numerator), 1.0), statistics(np.array(denominator), 1.0)
    ratio = ratio_of_means(a, b)
    assert ratio.value == pytest.approx(np.mean(numerator) / np.mean(denominator))
    assert ratio.ci95[0] <= ratio.value <= ratio.ci95[1]
    spread = np.mean(numerator) + 2 * (np.array(numerator) - np.mean(numerator))
    wider = ratio_of_means(statistics(spread, 1.0), b)
    assert wider.value == pytest.approx(ratio.value)
    if a.sd > 1e-6 * abs(a.mean):
        assert wider.ci95[1] - wider.ci95[0] > ratio.ci95[1] - ratio.ci95[0]


@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.floats(-1e4, 1e4), min_size=1, max_size=200), voxel=st.floats(0.01, 30))
def test_statistics_agree_with_numpy(values, voxel):
    array = np.array(values)
    stats = statistics(array, voxel)
    assert stats.n == len(values)
    assert stats.mean == pytest.approx(array.mean(), abs=1e-6)
    assert stats.p5 <= stats.median <= stats.p95
    assert stats.volume_mm3 == pytest.approx(len(values) * voxel)
