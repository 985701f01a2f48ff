"""MATLAB's modern types (../shared/fixtures/matlab-modern, 40 MATLAB-written files): every
file reads, every value its source documents (MANIFEST.tsv, column
expected_values_documented_by_source, copied here by hand as the oracle) is decoded as
documented, and every v6/v7 file is re-written byte for byte from the decoded values."""
from __future__ import annotations

import csv
import struct

import numpy as np
import pytest

from matlab_compat import MatFileError, kept, loadmat, read_header, savemat
from matlab_compat.objects import (
    STRING_DTYPE,
    MatlabCategorical,
    MatlabEnum,
    MatlabMap,
    MatlabMissing,
    MatlabObject,
    MatlabTable,
)
from matlab_compat.values import SUBSYSTEM, MatlabOpaque
from tests.shared import SHARED, shared_path

MODERN = SHARED / "fixtures" / "matlab-modern"
NAMES = sorted(p.name for p in MODERN.glob("*.mat")) or ["(corpus absent)"]
V5_NAMES = [n for n in NAMES if not (MODERN / n).exists() or read_header(MODERN / n).version != "7.3"]


def load(name: str) -> dict:
    return loadmat(shared_path("fixtures", "matlab-modern", name))


def texts(value) -> list:
    """A string array, cellstr or char as a list of str (column-major)."""
    if isinstance(value, str):
        return [value]
    return [v for v in np.asarray(value, dtype=object).reshape(-1, order="F")]


def columns(table) -> dict:
    """Variable name -> column of a decoded table, pandas DataFrame or MatlabTable alike."""
    if isinstance(table, MatlabTable):
        return dict(table)
    return {name: table[name].to_numpy() if not hasattr(table[name], "cat") else
            table[name].array for name in table.columns}


def labels(cat) -> list:
    if isinstance(cat, MatlabCategorical):
        return cat.labels().reshape(-1, order="F").tolist()
    return list(cat)


def description(table) -> str:
    return table.properties["description"] if isinstance(table, MatlabTable) else \
        table.attrs["matlab"]["description"]


def nrows(table) -> int:
    return len(table.index) if hasattr(table, "index") else len(next(iter(table.values())))


def test_the_manifest_lists_every_file():
    manifest = shared_path("fixtures", "matlab-modern", "MANIFEST.tsv")
    with open(manifest, newline="", encoding="utf-8") as fh:
        listed = {row["file"] for row in csv.DictReader(fh, delimiter="\t")}
    assert listed == set(NAMES) and len(NAMES) == 40


@pytest.mark.parametrize("name", NAMES)
def test_every_file_reads_to_python_values(name):
    """Every variable reads; no MCOS object is left as MATLAB's bytes."""
    values = load(name)
    assert values

    def no_mcos_left(value):
        assert not (isinstance(value, MatlabOpaque) and value.system == "MCOS"), value
        if isinstance(value, MatlabOpaque) and value.decoded is not None:
            no_mcos_left(value.decoded)
        if isinstance(value, dict):
            for v in value.values():
                no_mcos_left(v)
        if isinstance(value, np.ndarray) and value.dtype.hasobject:
            for column in ([value[f] for f in value.dtype.names] if value.dtype.names else [value]):
                for v in column.reshape(-1):
                    no_mcos_left(v)

    for key, value in values.items():
        if key != SUBSYSTEM:
            no_mcos_left(value)


@pytest.mark.parametrize("name", V5_NAMES)
def test_every_v5_file_rewrites_byte_for_byte(name, tmp_path):
    path = shared_path("fixtures", "matlab-modern", name)
    out = tmp_path / name
    savemat(out, loadmat(path), header=read_header(path))
    assert out.read_bytes() == path.read_bytes()


# -- the documented values, file by file ------------------------------------------------------
def test_mfh_string():
    s = load("mfh_string.mat")["s"]
    assert s.dtype == STRING_DTYPE and s.shape == (4, 1)
    assert texts(s) == ["abc", "defgh", "абвгд", "æøå"]


def test_mfh_datetime():
    d = load("mfh_datetime.mat")["d"]
    assert d.shape == (1, 2)
    assert d.tolist()[0] == [np.datetime64("2000-01-01T00:00:00"), np.datetime64("1987-01-02T03:04:05")]
    assert d.dtype.metadata["matlab"]["tz"] == ""


def test_mfh_datetime2_within_a_millisecond():
    d = load("mfh_datetime2.mat")["d"]
    assert abs(d[0, 0] - np.datetime64("0002-01-01T01:01:01.235")) < np.timedelta64(1, "ms")


def test_mfh_datetime_unrepresentable_is_before_year_one():
    d = load("mfh_datetime-unrepresentable.mat")["d"]
    assert d[0, 0] < np.datetime64("0001-01-01")


def test_mfh_duration():
    d = load("mfh_duration.mat")["d"]
    expected = [np.timedelta64(12345678 * 100, "ns"), np.timedelta64(2 * 60 + 4, "s"),
                np.timedelta64(3600 + 3 * 60 + 5, "s")]
    assert d.shape == (1, 3) and d.reshape(-1).tolist() == [e.astype("m8[ns]").item() for e in expected]


def test_mfh_table():
    t = load("mfh_table.mat")["table_"]
    cols = columns(t)
    assert list(cols) == ["variable1", "variable2"] and description(t) == "Some table"
    assert texts(cols["variable1"]) == ["First row", "Second row", "Third row"]
    v2 = np.asarray(cols["variable2"])
    assert v2.shape == (3, 2) and v2.reshape(-1, order="F").tolist() == [1, 3, 5, 2, 4, 6]


def test_mfh_object2():
    points = load("mfh_object2.mat")["object2"]
    assert points.shape == (2, 2) and all(p.classname == "Point" for p in points.flat)
    xy = {(i, j): (points[i, j].props["x"].item(), points[i, j].props["y"].item())
          for i in range(2) for j in range(2)}
    assert xy == {(0, 0): (3, 5), (1, 0): (1, 0), (0, 1): (-2, 6), (1, 1): (0, 1)}
    assert points.reshape(-1, order="F")[2].props["x"].item() == -2


def test_mfh_point_with_subpoints():
    p = load("mfh_pointWithSubpoints.mat")["p"]
    assert p.classname == "Point"
    for prop, expected in (("x", (1, 2, 3)), ("y", (14, 15, 16))):
        sub = p.props[prop]
        assert sub.classname == "SubPoint"
        assert tuple(sub.props[k].item() for k in "abc") == expected


def test_mfl_string():
    values = load("mfl_string.mat")
    assert values["singleQuoteString"] == "this is a character string"
    assert values["doubleQuoteString"].dtype == STRING_DTYPE
    assert texts(values["doubleQuoteString"]) == ["this is not a character string"]
    words = kept.source_of(values["doubleQuoteString"])   # the MATLAB object it came from
    assert words.classname == "string"


def test_mfl_handles_are_the_same_object():
    values = load("mfl_handles.mat")
    a = values["objA"]
    assert a.classname == "HandleClass" and a.props["myPropA"].item() == 5
    assert values["objB"].props["myObjA"] is a
    assert values["objC"].props["myPropA"] is a and values["objC"].props["myPropA"].props["myPropA"].item() == 5


def test_mfl_simple_single_text_array():
    a = load("mfl_simplesingletext_multiplearray.mat")["a"]
    assert a.shape == (2, 2) and {o.classname for o in a.flat} == {"SimpleSingleText"}
    assert [[o.props["test_text"].item() for o in row] for row in a] == [[1, 3], [2, 4]]


def test_mfl_timeseries():
    ts = load("mfl_timeseries.mat")["s"]["test"]
    assert ts.classname == "timeseries" and len(ts.props) == 14
    assert ts.props["Data_"].size == 5 and ts.props["Quality_"].size == 5
    assert ts.props["Time_"].size == 0 and int(ts.props["Version"].item()) == 10
    assert ts.props["DataInfo"].classname == "tsdata.datametadata"
    assert ts.props["QualityInfo"].classname == "tsdata.qualmetadata"
    info = ts.props["TimeInfo"]
    assert info.classname == "tsdata.timemetadata" and info.props["Units"] == "seconds"
    assert info.props["Time_"].size == 5
    assert ts.props["DataInfo"].props["Interpolation"].classname == "tsdata.interpolation"


def test_matjl_v7_struct_table_datetime():
    s = load("matjl_v7_struct_table_datetime.mat")["s"]
    assert set(s) == {"testTable", "testDatetime", "testDatetimeComplex"}
    t = s["testTable"]
    cols = columns(t)
    assert list(cols) == ["FlightNum", "Customer", "Date", "Rating", "Comment"] and nrows(t) == 3
    assert np.asarray(cols["FlightNum"], float).reshape(-1).tolist() == [1261, 547, 3489]
    assert np.asarray(cols["Date"]).dtype.kind == "M"
    assert all(isinstance(v, str) for v in texts(cols["Customer"]) + texts(cols["Comment"]))
    assert len(labels(cols["Rating"])) == 3
    for column in cols.values():
        assert len(column) == 3
    assert abs(s["testDatetime"][0, 0] - np.datetime64("2019-12-02T16:42:49")) < np.timedelta64(1, "s")
    assert s["testDatetimeComplex"].dtype.kind == "M"


@pytest.mark.parametrize("name", ["matjl_v7_user_defined_classdefs.mat",
                                  "matjl_v73_user_defined_classdefs.mat"])
def test_matjl_user_defined_classdefs(name):
    v = load(name)
    assert v["obj_no_vals"].classname == "TestClasses.BasicClass"
    assert v["obj_no_vals"].props["a"].size == 0 and v["obj_no_vals"].props["a"].dtype == np.float64
    assert v["obj_with_vals"].props["a"].item() == 10
    default = v["obj_with_default_val"]
    assert default.classname == "TestClasses.DefaultClass"
    assert texts(default.props["a"]) == ["Default String"] and default.props["b"].item() == 10
    array = v["obj_array"]
    assert array.shape == (2, 2) and array[0, 0].props["a"].item() == 1 and array[0, 1].props["a"].item() == 2
    nested = v["obj_with_nested_props"].props
    assert nested["a"].classname == "TestClasses.BasicClass" and nested["a"].props["a"].item() == 1
    assert nested["b"].flat[0].props["b"] == "Obj1"
    assert nested["c"]["InnerProp"].props["a"].item() == 2
    assert v["obj_handle_1"] is v["obj_handle_2"]


@pytest.mark.parametrize("name", ["matjl_v73_function_handles.mat"])
def test_matjl_v73_function_handles(name):
    v = load(name)
    for key in ("sin", "anonymous"):
        handle = v[key]
        assert isinstance(handle, MatlabOpaque) and handle.classname == "function_handle"
        assert {"function_handle", "sentinel", "separator", "matlabroot"} <= set(handle.decoded)
    assert v["sin"].decoded["function_handle"]["function"] == "sin"


def test_matjl_v7_varnames():
    v = load("matjl_v7_varnames.mat")
    assert set(v) - {SUBSYSTEM} == {"a", "b", "c", "d"}
    assert v["a"].reshape(-1).tolist() == [1, 2, 3] and v["d"].reshape(-1).tolist() == [4, 5, 6]
    assert v["b"] == "hello"
    assert v["c"].dtype == STRING_DTYPE and v["c"].shape == (1, 1) and texts(v["c"]) == ["stringstring"]


def test_mat73_testfile1():
    v = load("mat73_testfile1.mat")
    data = v["data"]
    assert len(data) == 30
    expected = {"int8_": 2, "uint8_": 2, "uint16_": 12, "int16_": 16, "int32_": 1115,
                "uint32_": 5452, "int64_": 65243, "uint64_": 32563}
    for key, number in expected.items():
        assert data[key].item() == number and data[key].dtype == np.dtype(key[:-1])
    assert data["bool_"].item() is False
    assert data["single_"].item() == pytest.approx(0.1) and data["double_"].item() == 0.1
    assert data["char_"] == "x" and data["string_"] == "tasdfasdf"
    assert isinstance(data["missing_"], MatlabMissing) and not data["missing_"]
    assert data["complex_"].item() == 2 + 3j
    assert data["cell_char_"].shape == (2, 3)
    assert data["struct2_"].shape == (1, 2) and data["structarr_"].shape == (3, 1)
    sparse = data["sparse_"]
    assert sparse.shape == (10, 8) and sparse.nnz == 2 and sparse[1, 4] == 6 and sparse[3, 7] == 7
    assert v["secondvar"].reshape(-1).tolist() == [1, 2, 3, 4]
    assert v["keys"] == "must_not_overwrite"


def test_dst_test_enums():
    enum = load("dst_test_enums.mat")["enum"]
    assert isinstance(enum, MatlabEnum) and enum.classname == "Gender" and enum.builtin == "int32"
    assert enum.members.reshape(-1).tolist() == ["male", "female", "female", "circ_male",
                                                 "circ_male", "circ_male"]
    assert enum.member_values().reshape(-1).tolist() == [2, 1, 1, 4, 4, 4]


def test_nfcat_categorical():
    v = load("nfcat_categorical.mat")
    assert isinstance(v["c"], MatlabCategorical)    # an N-D categorical: never pandas
    assert v["c"].codes.ndim == 2 and v["f"].shape == (1, 6)


def test_nfcat_version_info():
    info = load("nfcat_version_info.mat")["version_info"]
    assert set(info) == {"sources", "build_id", "version"}
    sources = info["sources"]
    assert isinstance(sources, MatlabMap) and sources.classname == "containers.Map"
    assert sources.key_type == "char" and sources
    assert all(isinstance(k, str) and isinstance(t, str) for k, t in sources.items())
    assert isinstance(info["build_id"], str) and set(info["version"]) == {"major", "minor", "patch"}


def test_wtbx_robyn_session():
    session = load("wtbx_robyn_session.mat")["session"]
    assert session.classname == "wtexample.model.Session"
    exhibits = session.props["Exhibit"]
    tropical = next(e for e in exhibits.flat if texts(e.props["Name"]) == ["Tropical Mammals"])
    assert tropical.props["Location"].reshape(-1).tolist() == [10, 23]
    pen = next(e for e in tropical.props["Enclosure"].flat if texts(e.props["Name"]) == ["Gorilla Pen 1"])
    assert pen.props["Location"].reshape(-1).tolist() == [9.5, 21]
    sandy = next(a for a in pen.props["Animal"].flat if texts(a.props["Name"]) == ["Sandy"])
    assert texts(sandy.props["Species"]) == ["gorilla"]
    assert sandy.props["BirthDate"][0, 0] == np.datetime64("1989-01-23")
    assert sandy.props["Sex"].classname == "wtexample.enum.Sex"
    assert sandy.props["Sex"].members.tolist() == [["female"]]


def test_iam_test_data():
    v = load("iam_testData.mat")
    assert v["field"].dtype == STRING_DTYPE
    assert v["myData"].shape == (4, 1) and {o.classname for o in v["myData"].flat} == {"iam.IAMTimeseries"}


def test_dexvs_object_props():
    v = load("dexvs_object_props.mat")
    vehicle = v["v"]
    assert sorted(vehicle.props) == ["Engine", "Name", "Specs", "Tags", "Wheels"]
    assert texts(vehicle.props["Name"]) == ["Model-X"] and vehicle.props["Wheels"].item() == 6
    assert vehicle.props["Engine"].classname == "Engine"
    assert vehicle.props["Engine"].props["Cylinders"].item() == 8
    assert vehicle.props["Specs"]["mass"].item() == 2200
    assert texts(vehicle.props["Tags"]) == ["suv", "electric"]
    fleet = v["f"]
    assert texts(fleet.props["FleetName"]) == ["east"] and fleet.props["Count"].item() == 3
    assert fleet.props["Lead"].classname == "Garage" and fleet.props["Lead"].props["Capacity"].item() == 25
    assert "Notes" in fleet.props         # from the class defaults: not in the instance block


def test_dexvs_deep_objs():
    a = load("dexvs_deep_objs.mat")["a"]
    assert a.classname == "Level1"
    child = a.props["Child"]
    assert child.classname == "Level2" and child.props["Child"].props["Depth"].item() == 301
    sibling = child.props["Sibling"].flat[0]
    assert sibling.classname == "Level3"
    assert sibling.props["Count"].item() == 33 and sibling.props["Depth"].item() == 302


def test_mtrheat_materials():
    v = load("mtrheat_materials.mat")
    materials = v["materials"]
    cols = columns(materials)
    assert list(cols) == ["Name", "Diffusivity"] and nrows(materials) == 46
    first = [("Pyrolytic-graphite-parallel-to-layers", 1220), ("Carbon/carbon-composite-at-25-°C", 216.5),
             ("Helium-(300-K-1-atm)", 190), ("Silver-pure-(99.9%)", 165.63),
             ("Hydrogen-(300-K-1-atm)", 160), ("Gold", 127)]
    names, values = texts(cols["Name"]), np.asarray(cols["Diffusivity"], float).reshape(-1)
    assert list(zip(names[:6], values[:6].tolist())) == first
    table_map = dict(zip(names, values.tolist()))
    for key in ("DIFFUSIVITY", "DIFFUSIVITY_map"):
        mapping = v[key]
        assert isinstance(mapping, MatlabMap)
        assert mapping["Iron"] == 23 and mapping["Aluminium"] == 97
        assert dict(mapping) == table_map
    assert v["DIFFUSIVITY"].classname == "dictionary" and v["DIFFUSIVITY"].key_type == "string"
    assert v["DIFFUSIVITY_map"].classname == "containers.Map"
    assert v["DIFFUSIVITY_map"].key_type == "char" and v["DIFFUSIVITY_map"].value_type == "double"


# -- classes of the files whose sources document no values (MANIFEST: variables_and_classes) --
@pytest.mark.parametrize("name, variable, kind", [
    ("fdd_ValidationResults.mat", "validationResults", "categorical"),
    ("imad_FeatureSmall.mat", "featureSmall", "table"),
    ("imad_FeatureEntire.mat", "featureAll", "table"),
    ("iam_loanData.mat", "tb", "table"),
    ("mtrmlr_nyiso_cleaned.mat", "nyiso", "timetable"),
    ("mtrite_ReactionTwoButton.mat", "SerialData", "timetable"),
    ("mtrflu_NatickWeather.mat", "weather", "timetable"),
])
def test_tables_and_categoricals_of_undocumented_files(name, variable, kind):
    value = load(name)[variable]
    if kind == "categorical":
        assert isinstance(value, MatlabCategorical) or type(value).__name__ == "Categorical"
        return
    assert isinstance(value, MatlabTable) or type(value).__name__ == "DataFrame"
    classname = value.classname if isinstance(value, MatlabTable) else value.attrs["matlab"]["classname"]
    assert classname == kind
    rows = nrows(value)
    assert rows > 0 and all(len(c) == rows for c in columns(value).values())


def test_regular_timetable_row_times_come_from_origin_and_step():
    """NatickWeather: origin 2022-01-01, a calendarDuration step of one day, 365 rows."""
    weather = load("mtrflu_NatickWeather.mat")["weather"]
    times = weather.row_times if isinstance(weather, MatlabTable) else weather.index.to_numpy()
    assert len(times) == 365 and times[0] == np.datetime64("2022-01-01")
    assert np.all(np.diff(times) == np.timedelta64(1, "D"))


def test_project_settings_string_datetime_duration():
    v = load("mtrite_ProjectSettings.mat")
    assert v["currentLanguage"].dtype == STRING_DTYPE
    assert v["lastOpen"].dtype.kind == "M" and v["usageTime"].dtype.kind == "m"
    assert v["usageTime"].dtype.metadata["matlab"]["format"] == "s"


def test_my_storm_struct_of_strings_and_datetimes():
    storm = load("mtrnma_myStorm.mat")["myStorm"]
    assert texts(storm["Year"]) == ["1960"]       # a string, not a number
    assert storm["StartTime"].dtype.kind == "M" and storm["EndTime"].dtype.kind == "M"


def test_compile_info_enumeration_in_a_struct_array():
    config = load("fdd_compileInfo.mat")["Config"]
    variant = config[1, 0]["Value"]
    assert isinstance(variant, MatlabEnum) and variant.classname == "coder.make.enum.BuildVariant"


def test_build_info_and_lake_function_handle():
    v = load("fdd_buildInfo.mat")
    assert isinstance(v["buildInfo"], MatlabObject) and v["buildInfo"].classname == "RTW.BuildInfo"
    assert v["buildOpts"].classname == "coder.make.BuildOpts"
    lake = load("mtrnma_myModernLakeData.mat")
    assert lake["longScale"].classname == "function_handle"
    assert lake["longScale"].decoded["function_handle"]["type"] == "anonymous"
    assert texts(load("mtrfop_SurveyLinks.mat")["SwayLink"])[0].startswith("https://")


# -- writing back -----------------------------------------------------------------------------
def test_a_changed_value_is_never_written_as_its_old_bytes(tmp_path):
    values = load("mfh_string.mat")
    values["s"][0, 0] = "changed"
    with pytest.raises(MatFileError, match="new or changed MATLAB objects"):
        savemat(tmp_path / "x.mat", values)
    assert list(tmp_path.iterdir()) == []


def test_objects_of_a_v73_file_are_written_anew_as_v7(tmp_path):
    values = load("mtrfop_SurveyLinks.mat")
    savemat(tmp_path / "x.mat", values)
    back = loadmat(tmp_path / "x.mat")
    assert texts(back["SwayLink"]) == texts(values["SwayLink"])
    assert back["SwayLink"].dtype == STRING_DTYPE


def damaged_subsystem_file(tmp_path):
    """mfl_simplesingletext_multiplearray.mat (v6, uncompressed) with its FileWrapper__ version
    word set to 99: a subsystem the decoder must not trust."""
    raw = bytearray(shared_path("fixtures", "matlab-modern", "mfl_simplesingletext_multiplearray.mat").read_bytes())
    names = min(raw.index(b"SimpleSingleText\0"), raw.index(b"test_text\0"))
    assert struct.unpack_from("<I", raw, names - 40)[0] == 2      # the version word
    raw[names - 40:names - 36] = struct.pack("<I", 99)
    damaged = tmp_path / "damaged.mat"
    damaged.write_bytes(bytes(raw))
    return damaged


def test_a_damaged_subsystem_leaves_objects_undecoded_and_written_back(tmp_path):
    """FileWrapper__ version 99 (the v6 file, uncompressed): the object stays a MatlabOpaque,
    the file still reads and is re-written byte for byte."""
    damaged = damaged_subsystem_file(tmp_path)
    values = loadmat(damaged)
    assert isinstance(values["a"], MatlabOpaque) and values["a"].classname == "SimpleSingleText"
    out = tmp_path / "again.mat"
    savemat(out, values, header=read_header(damaged))
    assert out.read_bytes() == damaged.read_bytes()


def test_some_variables_only_still_decode_their_objects():
    """The subsystem is read from the file even when it is not asked for."""
    values = loadmat(shared_path("fixtures", "matlab-modern", "mtrite_ProjectSettings.mat"),
                     variable_names=["lastOpen"])
    assert list(values) == ["lastOpen"] and values["lastOpen"].dtype.kind == "M"


def test_fdd_validation_results_condition_classes():
    """README: air-compressor condition classes, healthy and faulty modes (176 x 1)."""
    results = load("fdd_ValidationResults.mat")["validationResults"]
    assert len(labels(results)) == 176
    assert "Healthy" in set(labels(results)) and len(set(labels(results))) > 1
