"""Writing MATLAB's modern types from Python values (a new subsystem, FileWrapper__ version 3).

Oracles: MATLAB's own file (a string array written anew gives mfh_string.mat byte for byte),
and reading back: every decoded value of the modern corpus written anew (without the file's
subsystem) reads back equal; plain Python values read back as written."""
from __future__ import annotations


import h5py
import numpy as np
import pytest

from matlab_compat import MatFileError, loadmat, read_header, savemat
from matlab_compat import modern
from matlab_compat.objects import (
    CALENDAR_DTYPE,
    STRING_DTYPE,
    MatlabCategorical,
    MatlabMap,
    MatlabMissing,
    MatlabObject,
    MatlabTable,
)
from matlab_compat.values import SUBSYSTEM
from tests.shared import shared_path
from tests.matlab_compat.test_matfile_modern import damaged_subsystem_file


def equal(a, b, seen=None) -> bool:
    """Same MATLAB content: classes, shapes, values (NaN/NaT equal), nested alike."""
    seen = set() if seen is None else seen
    if (id(a), id(b)) in seen:
        return True
    seen.add((id(a), id(b)))
    if type(a) is not type(b) and not (isinstance(a, dict) and isinstance(b, dict)):
        return False
    if isinstance(a, MatlabObject):
        return a.classname == b.classname and equal(a.props, b.props, seen)
    if isinstance(a, MatlabCategorical):
        return np.array_equal(a.codes, b.codes) and a.categories == b.categories and a.ordered == b.ordered
    if isinstance(a, MatlabTable):
        return (a.classname == b.classname and a.row_names == b.row_names
                and equal(dict(a), dict(b), seen))
    if isinstance(a, dict):
        return list(a) == list(b) and all(equal(a[k], b[k], seen) for k in a) and (
            not isinstance(a, MatlabMap) or (a.classname, a.key_type) == (b.classname, b.key_type))
    if isinstance(a, np.ndarray):
        if a.shape != b.shape or a.dtype != b.dtype:
            return False
        if a.dtype.hasobject or a.dtype.kind == "T":
            return all(equal(x, y, seen) for x, y in zip(a.reshape(-1).tolist(), b.reshape(-1).tolist()))
        if a.dtype.kind in "Mm":
            return np.array_equal(a.view(np.int64), b.view(np.int64)) and \
                (a.dtype.metadata or {}).get("matlab") == (b.dtype.metadata or {}).get("matlab")
        return np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")
    if modern.pandas is not None and isinstance(a, modern.pandas.DataFrame):
        return a.equals(b) and list(a.columns) == list(b.columns)
    if modern.pandas is not None and isinstance(a, modern.pandas.Categorical):
        return list(a.categories) == list(b.categories) and np.array_equal(a.codes, b.codes)
    return a == b


#: v6/v7 files whose every object has an encoder (strings, datetimes, durations,
#: categoricals, tables, timetables, containers.Map, dictionaries, classdef objects and
#: object arrays).
ENCODABLE = ["dexvs_deep_objs.mat", "dexvs_object_props.mat", "fdd_ValidationResults.mat",
             "iam_loanData.mat", "iam_testData.mat", "imad_FeatureSmall.mat",
             "matjl_v7_struct_table_datetime.mat", "matjl_v7_user_defined_classdefs.mat",
             "matjl_v7_varnames.mat", "mfh_datetime-unrepresentable.mat", "mfh_datetime.mat",
             "mfh_datetime2.mat", "mfh_duration.mat", "mfh_object2.mat",
             "mfh_pointWithSubpoints.mat", "mfh_string.mat", "mfh_table.mat", "mfl_handles.mat",
             "mfl_simplesingletext_multiplearray.mat", "mfl_string.mat", "mtrbat_LiIonCell.mat",
             "mtrflu_NatickWeather.mat", "mtrheat_materials.mat", "mtrite_ProjectSettings.mat",
             "mtrite_ReactionTwoButton.mat", "mtrmlr_nyiso_cleaned.mat", "mtrnma_myStorm.mat",
             "nfcat_categorical.mat", "nfcat_version_info.mat"]
#: v7.3 files whose every object has an encoder.
ENCODABLE_73 = ["imad_FeatureEntire.mat", "matjl_v73_user_defined_classdefs.mat",
                "mtrfop_SurveyLinks.mat"]


def test_a_string_array_written_anew_is_matlabs_own_file(tmp_path):
    path = shared_path("fixtures", "matlab-modern", "mfh_string.mat")
    values = loadmat(path)
    del values[SUBSYSTEM]
    out = tmp_path / "s.mat"
    savemat(out, values, header=read_header(path))
    assert out.read_bytes() == path.read_bytes()


@pytest.mark.parametrize("version", ["7", "7.3"])
@pytest.mark.parametrize("name", ENCODABLE + ENCODABLE_73)
def test_decoded_values_written_anew_read_back_equal(name, version, tmp_path):
    """v6/v7: without the file's subsystem; v7.3: always anew (#subsystem#)."""
    path = shared_path("fixtures", "matlab-modern", name)
    values = loadmat(path)
    values.pop(SUBSYSTEM, None)
    out = tmp_path / name
    savemat(out, values, version=version)
    back = loadmat(out)
    assert set(back) - {SUBSYSTEM} == set(values)
    for key, value in values.items():
        assert equal(back[key], value), key


def test_a_handle_written_twice_is_one_object(tmp_path):
    values = loadmat(shared_path("fixtures", "matlab-modern", "mfl_handles.mat"))
    del values[SUBSYSTEM]
    savemat(tmp_path / "h.mat", values)
    back = loadmat(tmp_path / "h.mat")
    assert back["objB"].props["myObjA"] is back["objA"] is back["objC"].props["myPropA"]


@pytest.mark.parametrize("version", ["6", "7", "7.3"])
def test_plain_python_values_are_written_as_matlab_types(version, tmp_path):
    strings = np.array([["a\U0001F600", None, ""]], dtype=STRING_DTYPE)
    times = np.array([["2024-02-29T12:34:56.789012", "NaT"]], dtype="M8[us]")
    spans = np.array([[1500, -2]], dtype="m8[ms]").astype("m8[ns]")
    categories = MatlabCategorical(np.array([[0], [-1], [1]]), ["low", "high"], ordered=True)
    mapping = MatlabMap({"x": 1.0, "y": 2.5}, classname="containers.Map", key_type="char",
                        value_type="double")
    point = MatlabObject("Point", {"x": np.array([[3.0]]), "label": strings[:, :1]})
    calendar = np.zeros((1, 2), CALENDAR_DTYPE)
    calendar["months"], calendar["days"] = [[1, 0]], [[2, 3]]
    calendar["time"] = np.array([[5, "NaT"]], "m8[ms]")
    dictionary = MatlabMap({"a": 1.0, "b": -2.0}, classname="dictionary", key_type="string",
                           value_type="double")
    values = {"s": strings, "t": times, "d": spans, "c": categories, "m": mapping, "p": point,
              "cal": calendar, "dict": dictionary,
              "nested": {"inside": np.array([["deep"]], dtype=STRING_DTYPE)}}
    savemat(tmp_path / "p.mat", values, version=version)
    back = loadmat(tmp_path / "p.mat")
    assert back["s"].tolist() == [["a\U0001F600", None, ""]] and back["s"].dtype == STRING_DTYPE
    assert np.array_equal(back["t"].view(np.int64), times.view(np.int64))
    assert back["d"].tolist() == spans.tolist()
    if isinstance(back["c"], MatlabCategorical):
        assert back["c"].codes.tolist() == [[0], [-1], [1]] and back["c"].ordered
    else:
        assert list(back["c"]) == ["low", np.nan, "high"] or list(back["c"].codes) == [0, -1, 1]
    assert back["m"] == {"x": 1.0, "y": 2.5} and back["m"].classname == "containers.Map"
    assert back["p"].classname == "Point" and back["p"].props["x"].item() == 3.0
    assert back["nested"]["inside"].tolist() == [["deep"]]
    assert back["cal"].tolist() == calendar.tolist() and back["cal"].dtype == CALENDAR_DTYPE
    assert back["dict"] == {"a": 1.0, "b": -2.0} and back["dict"].classname == "dictionary"


def test_a_table_is_written_as_a_matlab_table(tmp_path):
    names = np.array([["a"], ["b"]], dtype=STRING_DTYPE)
    if modern.pandas is not None:
        table = modern.pandas.DataFrame({"name": ["a", "b"], "value": [1.5, 2.5]})
    else:
        table = MatlabTable({"name": names, "value": np.array([[1.5], [2.5]])})
    savemat(tmp_path / "t.mat", {"t": table})
    back = loadmat(tmp_path / "t.mat")["t"]
    if isinstance(back, MatlabTable):
        assert list(back) == ["name", "value"] and back["name"].tolist() == names.tolist()
        assert back["value"].reshape(-1).tolist() == [1.5, 2.5]
    else:
        assert list(back.columns) == ["name", "value"] and list(back["value"]) == [1.5, 2.5]
        assert [str(v) for v in back["name"]] == ["a", "b"]


def test_missing_is_written_back(tmp_path):
    savemat(tmp_path / "m.mat", {"c": np.array([[MatlabMissing(), 1.0]], dtype=object)})
    back = loadmat(tmp_path / "m.mat")["c"]
    assert back[0, 0] == MatlabMissing() and back[0, 1].item() == 1.0


def test_new_objects_are_not_mixed_into_a_files_subsystem(tmp_path):
    values = loadmat(shared_path("fixtures", "matlab-modern", "mfh_string.mat"))
    values["extra"] = np.array([["new"]], dtype=STRING_DTYPE)
    with pytest.raises(MatFileError, match="drop __function_workspace__"):
        savemat(tmp_path / "x.mat", values)
    assert list(tmp_path.iterdir()) == []


def test_objects_a_file_holds_without_encoder_need_its_subsystem(tmp_path):
    values = loadmat(shared_path("fixtures", "matlab-modern", "fdd_compileInfo.mat"))
    del values[SUBSYSTEM]
    with pytest.raises(MatFileError, match="BuildVariant value cannot be written anew"):
        savemat(tmp_path / "x.mat", values)


def test_v73_objects_have_matlabs_layout(tmp_path):
    """A variable is a uint32 reference dataset of its class with MATLAB_object_decode 3;
    #subsystem#/MCOS references the FileWrapper__ cells, the empty one 'canonical empty'."""
    savemat(tmp_path / "x.mat", {"s": np.array([["a"]], dtype=STRING_DTYPE)}, version="7.3")
    with h5py.File(tmp_path / "x.mat", "r") as f:
        ref = f["s"]
        assert ref.attrs["MATLAB_class"] == b"string" and ref.attrs["MATLAB_object_decode"] == 3
        assert ref[()].reshape(-1).tolist() == [0xDD000000, 2, 1, 1, 1, 1]
        cells = f["#subsystem#/MCOS"]
        assert cells.attrs["MATLAB_class"] == b"FileWrapper__"
        assert f[cells[0, 1]].attrs["MATLAB_class"] == b"canonical empty"
        assert f[cells[0, 0]].dtype == np.uint8


def test_an_undecoded_object_needs_its_files_subsystem(tmp_path):
    """A damaged subsystem leaves the object undecoded: without that subsystem it would
    point nowhere, so it is refused."""
    values = loadmat(damaged_subsystem_file(tmp_path))
    del values[SUBSYSTEM]
    with pytest.raises(MatFileError, match="undecoded SimpleSingleText"):
        savemat(tmp_path / "x.mat", values)
