"""Sequence roles recognised from volume names and DICOM series descriptions, for the panel's
auto-filled selectors, and the case folder's exact role names."""

import pytest

from EMHAssistLib.inputs.roles import recognise_role, role_of_name, suggest_roles
from EMHAssistLib.inputs.study import sequence_roles


@pytest.mark.parametrize("role", sequence_roles())
def test_every_role_name_is_its_role_in_any_case(role):
    assert role_of_name(role.lower()) == role
    assert recognise_role(f" {role.upper()} ") == role


@pytest.mark.parametrize(("name", "role"), [
    ("T2 TSE SAG", "T2"),
    ("t2_tse_sag_384", "T2"),
    ("Sag T1 SE", "T1"),
    ("SAG T1 POST GAD", "T1C"),
    ("sag t1 +C", "T1C"),
    ("T1+C sag", "T1C"),
    ("t1_fs_post_contrast", "T1CFS"),
    ("T1 FS", "T1FS"),
    ("t1 pre contrast", "T1"),
    ("T2 FatSat ax", "T2FS"),
    ("sag STIR", "STIR"),
    ("TIRM_sag", "STIR"),
    ("ep2d_diff ADC", "ADC"),
    ("Apparent Diffusion Coefficient (mm2/s)", "ADC"),
    ("Dixon opposed phase", "OP"),
    ("in phase GRE", "IP"),
    ("T2 series 3", "T2"),
])
def test_series_descriptions_name_their_role(name, role):
    assert recognise_role(name) == role


@pytest.mark.parametrize("name", ["localizer", "3-plane loc", "MRHead", "Volume", "DWI b800", "", "T3"])
def test_unrecognisable_names_have_no_role(name):
    assert recognise_role(name) is None


def test_a_case_folder_name_must_be_the_role_itself():
    assert role_of_name("sag T2") is None
    assert role_of_name("t1cfs") == "T1CFS"


def test_suggestions_take_the_first_recognised_name_and_skip_ambiguous_or_taken_roles():
    names = {
        "vol1": ["Volume 1", "SAG T2 TSE"],  # node name says nothing; the series description does
        "vol2": ["T1", "ignored: the node name already names a role"],
        "vol3": ["sag stir"],
        "vol4": ["STIR repeat"],  # a second STIR: which one is meant is the user's call
        "vol5": ["localizer"],
        "vol6": ["T1C"],
    }
    assert suggest_roles(names, taken=["T1C"]) == {"T2": "vol1", "T1": "vol2"}
