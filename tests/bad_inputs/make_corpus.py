"""Write the crafted bad input files of tests/bad_inputs/ (deterministically).

Run from the project root:  .venv/bin/python tests/bad_inputs/make_corpus.py [OUTPUT_DIR]

Every file is built from literal text below, from the shipped example study
(examples/sunnmore/landing/) or from a reference file in tests/fixtures/; zip archives get a
fixed timestamp, gzip a zero mtime and the SPSS files a fixed creation date, so running the
script twice gives the same bytes (deflated members may differ under another zlib version).
What is wrong with each file is in README.md next to it; the error each must produce is in
cases.yaml. The files are committed; re-run the script only to change them.
"""

from __future__ import annotations

import gzip
import io
import json
import shutil
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
EXAMPLE_QDPX = ROOT / "examples/sunnmore/landing/interviews/intervjuer_sunnmore.qdpx"
HTML_AS_JSON = "NEGATIVE_www.unece.org_cso_ie-NQQ25_is_html_not_json.json"
HTML_AS_JSON_SOURCE = ROOT / "tests/fixtures/jsonstat" / HTML_AS_JSON
ZIP_DATE = (2024, 1, 1, 0, 0, 0)

# --------------------------------------------------------------------------------------------
# surveys
# --------------------------------------------------------------------------------------------
SURVEY_HEADER = "respondent_id;wave;kommune;role;sam1;sam2;sam3"
SURVEY_ROWS = [
    "R001;w2016;1532;skole;4;4;3",
    "R002;w2016;1520;barnevern;3;4;2",
    "R003;w2016;1580;NAV;5;3;4",
    "R004;w2016;1506;barnehage;2;2;5",
]


def survey_csv(rows: list[str] | None = None, header: str = SURVEY_HEADER) -> str:
    return "\r\n".join([header, *(SURVEY_ROWS if rows is None else rows)]) + "\r\n"


def utf16_mangled() -> bytes:
    """UTF-16LE with a BOM; the code unit of 'N' (NAV) is replaced by a lone
    low surrogate (0xDC4E), which no UTF-16 decoder accepts: line 4 (respondent R003)."""
    data = survey_csv().encode("utf-16")  # BOM + UTF-16LE
    needle = ";NAV;".encode("utf-16-le")
    at = data.index(needle) + 2  # the 'N'
    return data[:at] + b"\x4e\xdc" + data[at + 2 :]


def gzip_as_csv() -> bytes:
    """The survey CSV gzip-compressed (a .csv.gz download saved as .csv)."""
    return gzip.compress(survey_csv().encode("utf-8"), mtime=0)


def pipe_separated() -> bytes:
    return survey_csv().replace(";", "|").encode("utf-8")


def no_item_columns() -> bytes:
    rows = [";".join(r.split(";")[:4]) for r in SURVEY_ROWS]
    return survey_csv(rows, header="respondent_id;wave;kommune;role").encode("utf-8")


def non_numeric_answer() -> bytes:
    rows = list(SURVEY_ROWS)
    rows[2] = "R003;w2016;1580;NAV;5;sju;4"  # data row 3, column sam2
    return survey_csv(rows).encode("utf-8")


def duplicate_respondent() -> bytes:
    rows = [*SURVEY_ROWS, "R002;w2016;1520;barnevern;1;2;3"]  # data row 5 repeats R002
    return survey_csv(rows).encode("utf-8")


def wave_mismatch() -> bytes:
    """The wave column says w2016; the case reads it as wave w2019 (the study's file for
    w2019 points at last wave's export)."""
    return survey_csv().encode("utf-8")


def html_as_csv() -> bytes:
    return (
        '<!DOCTYPE html>\n<html lang="nb"><head><title>Logg inn - Nettskjema</title></head>\n'
        "<body><p>Du må logge inn for å laste ned svarene.</p></body></html>\n"
    ).encode()


def text_as_sav() -> bytes:
    return survey_csv().encode("utf-8")


def _zip(members: list[tuple[str, bytes]], *, compress: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = compress
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    return buf.getvalue()


def empty_sheet_xlsx() -> bytes:
    """A valid .xlsx workbook whose only sheet ('Svar') has no cells."""
    ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    pkg = "http://schemas.openxmlformats.org/package/2006/relationships"
    ct = "http://schemas.openxmlformats.org/package/2006/content-types"
    return _zip(
        [
            (
                "[Content_Types].xml",
                f'<?xml version="1.0" encoding="UTF-8"?>\n<Types xmlns="{ct}">'
                '<Default Extension="rels" '
                'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                '<Default Extension="xml" ContentType="application/xml"/>'
                '<Override PartName="/xl/workbook.xml" ContentType="application/'
                'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
                '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
                'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
                "</Types>".encode(),
            ),
            (
                "_rels/.rels",
                f'<?xml version="1.0" encoding="UTF-8"?>\n<Relationships xmlns="{pkg}">'
                f'<Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/>'
                "</Relationships>".encode(),
            ),
            (
                "xl/workbook.xml",
                f'<?xml version="1.0" encoding="UTF-8"?>\n<workbook xmlns="{ns}" '
                f'xmlns:r="{rel}"><sheets><sheet name="Svar" sheetId="1" r:id="rId1"/>'
                "</sheets></workbook>".encode(),
            ),
            (
                "xl/_rels/workbook.xml.rels",
                f'<?xml version="1.0" encoding="UTF-8"?>\n<Relationships xmlns="{pkg}">'
                f'<Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/>'
                "</Relationships>".encode(),
            ),
            (
                "xl/worksheets/sheet1.xml",
                f'<?xml version="1.0" encoding="UTF-8"?>\n<worksheet xmlns="{ns}">'
                "<sheetData/></worksheet>".encode(),
            ),
        ]
    )


def spss_user_missing_unlabeled(path: Path) -> None:
    """Not an error: sam1 declares 9 as user-missing, labels 1-5 but has no label for 9."""
    import pandas as pd
    import pyreadstat

    df = pd.DataFrame(
        {
            "respondent_id": ["R001", "R002", "R003"],
            "wave": ["w2012", "w2012", "w2012"],
            "sam1": [4.0, 9.0, 2.0],
        }
    )
    labels = {1: "Helt uenig", 2: "Uenig", 3: "Verken eller", 4: "Enig", 5: "Helt enig"}
    pyreadstat.write_sav(
        df,
        str(path),
        variable_value_labels={"sam1": labels},
        missing_ranges={"sam1": [9]},
    )
    fix_sav_timestamp(path)


def fix_sav_timestamp(path: Path) -> None:
    """Overwrite the creation date and time of the .sav header (bytes 92-108) with fixed
    values, so the file does not change with the day it was written."""
    data = bytearray(path.read_bytes())
    assert data[:4] == b"$FL2", path
    data[92:101] = b"01 Jan 24"
    data[101:109] = b"00:00:00"
    path.write_bytes(bytes(data))


# --------------------------------------------------------------------------------------------
# interviews
# --------------------------------------------------------------------------------------------
SEGMENT_HEADER = "document;code;coder;start;end;kommune;role;wave"
SEGMENT_ROWS = [
    "int-01;Tillit;kari;0;40;1508;helse;w2013",
    "int-01;Taushetsplikt;ola;50;90;1508;helse;w2013",
    "int-02;Tillit;kari;12;60;1531;skole;w2019",
]


def segments(header: str, rows: list[str]) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode("utf-8")


def segments_without_code() -> bytes:
    header = SEGMENT_HEADER.replace("code;", "")
    rows = [";".join(f for i, f in enumerate(r.split(";")) if i != 1) for r in SEGMENT_ROWS]
    return segments(header, rows)


def segments_code_renamed() -> bytes:
    return segments(SEGMENT_HEADER.replace(";code;", ";kategori;"), SEGMENT_ROWS)


def segments_utf16_cut() -> bytes:
    """UTF-16LE without a BOM (as Windows tools write it), cut one byte into the last
    character: an odd number of bytes; the dangling byte is on line 4."""
    return segments(SEGMENT_HEADER, SEGMENT_ROWS).decode("utf-8").encode("utf-16-le")[:-1]


def segments_bad_offset() -> bytes:
    rows = list(SEGMENT_ROWS)
    rows[1] = "int-01;Taushetsplikt;ola;50-90;90;1508;helse;w2013"  # data row 2, column start
    return segments(SEGMENT_HEADER, rows)


PROJECT_XML = """<?xml version="1.0" encoding="utf-8"?>
<Project xmlns="urn:QDA-XML:project:1.0" name="Bad inputs">
  <Users>
    <User guid="00000000-0000-0000-0000-0000000000a1" name="Kari"/>
  </Users>
  <CodeBook>
    <Codes>
      <Code guid="00000000-0000-0000-0000-0000000000c1" name="Tillit" isCodable="true"/>
    </Codes>
  </CodeBook>
  <Sources>
    <TextSource guid="00000000-0000-0000-0000-0000000000f1" name="intervju 1"
                plainTextPath="internal://00000000-0000-0000-0000-0000000000f1.txt">
      <PlainTextSelection guid="00000000-0000-0000-0000-000000000101" startPosition="10"
          endPosition="55" creatingUser="00000000-0000-0000-0000-0000000000a1">
        <Coding guid="00000000-0000-0000-0000-000000000201"
                creatingUser="00000000-0000-0000-0000-0000000000a1">
          <CodeRef targetGUID="00000000-0000-0000-0000-0000000000c1"/>
        </Coding>
      </PlainTextSelection>
    </TextSource>
  </Sources>
</Project>
"""
SOURCE_MEMBER = ("Sources/00000000-0000-0000-0000-0000000000f1.txt", ("x" * 100).encode())


def qdpx(xml: str) -> bytes:
    return _zip([("project.qde", xml.encode("utf-8")), SOURCE_MEMBER])


def truncated_qdpx() -> bytes:
    data = EXAMPLE_QDPX.read_bytes()
    return data[: len(data) // 2]


def codebook_as_project() -> bytes:
    """A REFI-QDA codebook (.qdc content) packed where the project should be."""
    return qdpx(
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<CodeBook xmlns="urn:QDA-XML:codebook:1.0">\n  <Codes>\n'
        '    <Code guid="00000000-0000-0000-0000-0000000000c1" name="Tillit" isCodable="true"/>\n'
        "  </Codes>\n</CodeBook>\n"
    )


def other_namespace() -> bytes:
    """A <Project> root, but in a namespace that is not REFI-QDA's."""
    return qdpx(PROJECT_XML.replace("urn:QDA-XML:project:1.0", "http://example.org/qda/2019"))


def malformed_xml() -> bytes:
    """</Users> misspelt </Userz> on line 5 of project.qde."""
    xml = PROJECT_XML.replace("  </Users>", "  </Userz>")
    assert xml.splitlines()[4] == "  </Userz>"
    return qdpx(xml)


def no_project_qde() -> bytes:
    return _zip([SOURCE_MEMBER, ("Sources/notes.txt", b"no project here\n")])


def corrupt_member() -> bytes:
    """A well-formed zip directory, but bytes in the middle of the deflated project.qde
    overwritten (a broken download or disk)."""
    data = bytearray(qdpx(PROJECT_XML))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
        info = zf.getinfo("project.qde")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    mid = start + info.compress_size // 2
    data[mid : mid + 16] = b"\xff" * 16
    return bytes(data)


# --------------------------------------------------------------------------------------------
# registry
# --------------------------------------------------------------------------------------------
def jsonstat(**over: object) -> dict:
    ds: dict = {
        "version": "2.0",
        "class": "dataset",
        "label": "Barnevernstiltak 0-17 år (SYNTHETIC)",
        "id": ["Region", "ContentsCode", "Tid"],
        "size": [2, 1, 3],
        "role": {"geo": ["Region"], "metric": ["ContentsCode"], "time": ["Tid"]},
        "dimension": {
            "Region": {
                "category": {
                    "index": {"1508": 0, "1580": 1},
                    "label": {"1508": "Ålesund", "1580": "Haram"},
                }
            },
            "ContentsCode": {
                "category": {"index": {"Tiltak": 0}, "label": {"Tiltak": "Barn med tiltak"}}
            },
            "Tid": {"category": {"index": {"2020": 0, "2021": 1, "2022": 2}}},
        },
        "value": [312, 298, None, 41, 44, 39],
        "status": {"2": ".."},
    }
    ds.update(over)
    return ds


def dump(obj: object) -> bytes:
    return (json.dumps(obj, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def invalid_json() -> bytes:
    """A trailing comma after the last 'size' entry: "size": [2, 1, 3,] (the parser stops at
    the "]" on line 14)."""
    lines = dump(jsonstat()).decode("utf-8").splitlines()
    i = lines.index('  "size": [')
    assert lines[i + 3] == "    3" and lines[i + 4] == "  ],", lines[i : i + 5]
    lines[i + 3] += ","
    return ("\n".join(lines) + "\n").encode("utf-8")


def pxweb_metadata() -> bytes:
    """The PxWeb API's table metadata (GET on the table URL) saved instead of the data."""
    return dump(
        {
            "title": "Barnevernstiltak, etter region, statistikkvariabel og år",
            "variables": [
                {
                    "code": "Region",
                    "text": "region",
                    "values": ["1508", "1580"],
                    "valueTexts": ["Ålesund", "Haram"],
                },
                {"code": "Tid", "text": "år", "values": ["2020", "2021"], "time": True},
            ],
        }
    )


def size_value_mismatch() -> bytes:
    """size says 2 x 1 x 3 = 6 cells; value holds 5 (one year of Haram dropped)."""
    return dump(jsonstat(value=[312, 298, None, 41, 44]))


def bad_status_index() -> bytes:
    """status keyed by cell position 6 in a 6-cell cube (positions are 0..5)."""
    return dump(jsonstat(status={"2": "..", "6": ":"}))


PXWEB_TITLE = (
    '"13563: Personer 15-29 år utenfor arbeid, utdanning og opplæring (SYNTHETIC), '
    'etter region, statistikkvariabel og år"'
)
PXWEB_ROWS = [
    '"region";"statistikkvariabel";"2018";"2019";"2020"',
    '"K-1508 Ålesund";"Personer utenfor arbeid, utdanning og opplæring";612;598;575',
    '"K-1508 Ålesund";"Personer 15-29 år";8910;8874;8851',
    '"K-1580 Haram";"Personer utenfor arbeid, utdanning og opplæring";41;<5;38',
    '"K-1580 Haram";"Personer 15-29 år";1702;1688;1675',
]


def pxweb(rows: list[str]) -> bytes:
    return "\r\n".join([PXWEB_TITLE, "", *rows, ""]).encode("latin-1")


def pxweb_bad_value() -> bytes:
    """'<5' (a suppression marker of another agency) in line 6, column 2019."""
    return pxweb(PXWEB_ROWS)


def pxweb_no_region() -> bytes:
    rows = [r.split(";", 1)[1] for r in PXWEB_ROWS]
    rows[3] = rows[3].replace("<5", "39")
    return pxweb(rows)


# ---- contract cases: readable files that break a data contract ------------------------------
EXAMPLE_W2016 = ROOT / "examples/sunnmore/landing/surveys/staff_w2016.csv"


def _w2016_edit(edit) -> bytes:
    """The example's w2016 wave (valid) with one change made by ``edit(header, rows)``."""
    lines = EXAMPLE_W2016.read_text(encoding="utf-8").splitlines()
    header, rows = lines[0].split(";"), [line.split(";") for line in lines[1:]]
    edit(header, rows)
    return ("\n".join(";".join(r) for r in [header, *rows]) + "\n").encode("utf-8")


def _set(row: int, column: str, value: str):
    def edit(header, rows):
        rows[row - 1][header.index(column)] = value
    return lambda: _w2016_edit(edit)


def _renamed_item() -> bytes:
    def edit(header, rows):
        header[header.index("sam3")] = "sam_3"
    return _w2016_edit(edit)


def _renamed_roster_item() -> bytes:
    def edit(header, rows):
        header[header.index("ofte_barnevern")] = "ofte_barnvern"
    return _w2016_edit(edit)


def _thin_kommune() -> bytes:
    def edit(header, rows):
        k = header.index("kommune")
        keep = [r for r in rows if r[k] != "1515"] + [r for r in rows if r[k] == "1515"][:3]
        rows[:] = keep
    return _w2016_edit(edit)


TIDY_HEADER = "kommune,period,indicator,numerator,denominator,value,status"


def tidy(rows: list[str]) -> bytes:
    base = ["1505,2015,completion_5y,75,100,75.0,", "1506,2015,completion_5y,150,200,75.0,"]
    return ("\n".join([TIDY_HEADER, *base, *rows]) + "\n").encode("utf-8")


def code_not_in_codebook() -> bytes:
    with zipfile.ZipFile(EXAMPLE_QDPX) as z:
        xml = z.read("project.qde").decode("utf-8")
    start = xml.index('<CodeRef targetGUID="') + len('<CodeRef targetGUID="')
    xml = xml[:start] + "00000000-0000-4000-8000-00000000dead" + xml[start + 36:]
    return qdpx(xml)


# --------------------------------------------------------------------------------------------
FILES: dict[str, object] = {
    "contract/staff_likert_out_of_range.csv": _set(40, "sam2", "7"),
    "contract/staff_unknown_wave.csv": _set(12, "wave", "w2020"),
    "contract/staff_unknown_kommune.csv": _set(7, "kommune", "1599"),
    "contract/staff_expired_kommune.csv": _set(9, "kommune", "1504"),
    "contract/staff_unknown_role.csv": _set(3, "role", "rektor"),
    "contract/staff_renamed_item.csv": _renamed_item,
    "contract/staff_too_few_respondents.csv": _thin_kommune,
    "contract/staff_roster_renamed_item.csv": _renamed_roster_item,
    "contract/staff_roster_out_of_range.csv": _set(2, "ofte_skole", "7"),
    "contract/staff_roster_own_service.csv": _set(1, "ofte_skole", "4"),
    "contract/registry_numerator_above_denominator.csv": lambda: tidy(
        ["1508,2015,completion_5y,120,100,120.0,"]),
    "contract/registry_expired_code.csv": lambda: tidy(["1504,2021,completion_5y,80,100,80.0,"]),
    "contract/registry_unknown_code.csv": lambda: tidy(["1599,2021,completion_5y,80,100,80.0,"]),
    "contract/registry_missing_without_status.csv": lambda: tidy(
        ["1508,2016,completion_5y,,,,"]),
    "contract/segments_code_not_in_codebook.qdpx": code_not_in_codebook,
    "surveys/staff_utf16_mangled.csv": utf16_mangled,
    "surveys/staff_gzip_saved_as.csv": gzip_as_csv,
    "surveys/staff_pipe_separated.csv": pipe_separated,
    "surveys/staff_no_item_columns.csv": no_item_columns,
    "surveys/staff_non_numeric_answer.csv": non_numeric_answer,
    "surveys/staff_duplicate_respondent.csv": duplicate_respondent,
    "surveys/staff_wave_mismatch.csv": wave_mismatch,
    "surveys/staff_html_saved_as.csv": html_as_csv,
    "surveys/staff_empty.csv": lambda: b"",
    "surveys/staff_empty.xlsx": lambda: b"",
    "surveys/staff_empty_sheet.xlsx": empty_sheet_xlsx,
    "surveys/staff_empty.sav": lambda: b"",
    "surveys/staff_text_saved_as.sav": text_as_sav,
    "interviews/segments_without_code.csv": segments_without_code,
    "interviews/segments_code_renamed.csv": segments_code_renamed,
    "interviews/segments_bad_offset.csv": segments_bad_offset,
    "interviews/segments_empty.csv": lambda: b"",
    "interviews/segments_utf16_cut.csv": segments_utf16_cut,
    "interviews/intervjuer_truncated.qdpx": truncated_qdpx,
    "interviews/codebook_as_project.qdpx": codebook_as_project,
    "interviews/project_other_namespace.qdpx": other_namespace,
    "interviews/project_malformed_xml.qdpx": malformed_xml,
    "interviews/no_project_qde.qdpx": no_project_qde,
    "interviews/project_corrupt_member.qdpx": corrupt_member,
    "registry/invalid_json.json": invalid_json,
    "registry/pxweb_metadata_not_jsonstat.json": pxweb_metadata,
    "registry/jsonstat_size_value_mismatch.json": size_value_mismatch,
    "registry/jsonstat_bad_status_index.json": bad_status_index,
    "registry/empty.json": lambda: b"",
    "registry/empty.csv": lambda: b"",
    "registry/pxweb_bad_value.csv": pxweb_bad_value,
    "registry/xlsx_saved_as.csv": empty_sheet_xlsx,
    "registry/pxweb_no_region.csv": pxweb_no_region,
}


def main(out: Path = HERE) -> None:
    for rel, make in FILES.items():
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(make())  # type: ignore[operator]
    sav = out / "surveys/spss_user_missing_unlabeled.sav"
    spss_user_missing_unlabeled(sav)
    # a real file, copied unmodified
    (out / "registry").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(HTML_AS_JSON_SOURCE, out / "registry" / HTML_AS_JSON)
    print(f"wrote {len(FILES) + 2} files to {out}")
    # (contract cases are written by the same loop: FILES["contract/..."])


if __name__ == "__main__":
    main(Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else HERE)
