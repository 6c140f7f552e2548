"""masses._dilated_by_one gives SimpleITK's BinaryDilate voxel for voxel (the mass growth's in-plane
neighbourhood and taper walk use it in place of the filter, for speed alone)."""

import itertools

import numpy as np
import SimpleITK as sitk

from EMHAssistLib.spine.masses import _dilated_by_one


def test_a_mask_dilated_by_one_voxel_is_binary_dilate_s_for_every_radius_box_and_cross() -> None:
    rng = np.random.default_rng(1)
    for _ in range(120):
        mask = rng.random(tuple(int(n) for n in rng.integers(1, 25, 3))) < rng.uniform(0.01, 0.5)
        for radius, (kernel, box) in itertools.product(itertools.product((0, 1), repeat=3), ((sitk.sitkCross, False), (sitk.sitkBox, True))):
            expected = sitk.GetArrayFromImage(sitk.BinaryDilate(sitk.GetImageFromArray(mask.view(np.uint8)), list(radius), kernel)).view(bool)
            found = _dilated_by_one(mask, list(radius), box)
            assert found.dtype == bool and np.array_equal(found, expected), (mask.shape, radius, box)
