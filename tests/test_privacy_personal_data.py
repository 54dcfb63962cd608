"""Personal-data screening of the data read (``evaluation_pipeline.privacy``): fødselsnummer
check digits, names, e-mail addresses and phone numbers (``find_personal_data``)."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from evaluation_pipeline.privacy import PrivacyError, find_personal_data, is_valid_fnr

# ------------------------------------------------------------------------------------------
# fødselsnummer
# ------------------------------------------------------------------------------------------


def _check(digits: list[int], weights: list[int]) -> int | None:
    rem = sum(d * w for d, w in zip(digits, weights, strict=False)) % 11
    return 0 if rem == 0 else None if rem == 1 else 11 - rem


def brute_force_fnr(date6: str, limit: int = 1000) -> list[str]:
    """Every valid number for a date (DDMMYY) by brute force over the individual number."""
    found = []
    for ind in range(limit):
        base = [int(ch) for ch in f"{date6}{ind:03d}"]
        k1 = _check(base, [3, 7, 6, 1, 8, 9, 4, 5, 2])
        if k1 is None:
            continue
        k2 = _check([*base, k1], [5, 4, 3, 2, 7, 6, 5, 4, 3, 2])
        if k2 is not None:
            found.append(f"{date6}{ind:03d}{k1}{k2}")
    return found


VALID = brute_force_fnr("010190")  # born 1 January 1990


def test_fnr_check_digits():
    assert len(VALID) == 826  # (10/11)^2 of the individual numbers have valid check digits
    assert all(is_valid_fnr(f) for f in VALID)
    assert is_valid_fnr(VALID[0][:6] + " " + VALID[0][6:])
    for f in VALID[:50]:  # any other pair of check digits is wrong
        wrong = [f[:9] + f"{k:02d}" for k in range(100) if f"{k:02d}" != f[9:]]
        assert not any(is_valid_fnr(w) for w in wrong)
    # individual numbers with remainder 1 have no valid number at all
    prefixes = {f[:9] for f in VALID}
    missing = [f"010190{i:03d}" for i in range(1000) if f"010190{i:03d}" not in prefixes]
    assert missing and not any(is_valid_fnr(p + f"{k:02d}") for p in missing[:20]
                               for k in range(100))


def test_d_numbers_and_dates():
    d_numbers = brute_force_fnr("410190", 100)  # D-number: first digit + 4
    assert d_numbers and all(is_valid_fnr(d) for d in d_numbers)
    assert not any(is_valid_fnr(f) for f in brute_force_fnr("011390", 100))  # month 13
    assert not any(is_valid_fnr(f) for f in brute_force_fnr("000190", 100))  # day 0
    assert not any(is_valid_fnr(f) for f in brute_force_fnr("320190", 100))  # day 32
    assert all(is_valid_fnr(f) for f in brute_force_fnr("310290", 100))  # date not checked
    assert not is_valid_fnr("0101900008")  # 10 digits
    assert not is_valid_fnr("01019000083a")
    assert not is_valid_fnr("")


# ------------------------------------------------------------------------------------------
# personal data
# ------------------------------------------------------------------------------------------

NAMES = [
    f"{first} {last}"
    for first in ["Kari", "Ola", "Anne-Lise", "Øystein", "Åse", "Jens Petter"]
    for last in ["Nordmann", "Hansen", "Berg-Olsen", "Ødegård", "Ås"]
]  # 30 different


def pseudonyms(n: int) -> list[str]:
    return [f"R-{hashlib.sha256(str(i).encode()).hexdigest()[:12]}" for i in range(n)]


def test_column_names():
    cols = ["Navn", "E-post", "tlf_nr", "Fødselsnummer", "firstName", "mobil", "adresse",
            "email", "fnr", "Etternavn", "phone_number", "D-nummer",
            "kommune_name", "item_navn", "sam3", "kommunenavn", "value"]
    df = pd.DataFrame({c: [1, 2] for c in cols})
    found = find_personal_data(df)
    assert set(found) == set(cols[:12])
    assert "e-mail" in found["E-post"] and "identity" in found["fnr"]


def test_values_are_recognised():
    n = 40
    df = pd.DataFrame({
        "a": [f"person{i}@example.no" for i in range(n)],
        "b": (["912 34 567", "+47 41234567", "22 33 44 55", "0047 93456789"] * 10),
        "c": VALID[:n],
        "d": [int(f) for f in VALID[:n]],  # integers: the leading zero is lost
        "e": [float(f) for f in VALID[:n]],
        "f": NAMES + NAMES[:10],
        "g": pd.Categorical([f"x{i}@kommune.no" for i in range(n)]),
    })
    found = find_personal_data(df)
    assert set(found) == set(df.columns)
    assert found["a"].startswith("e-mail") and found["g"].startswith("e-mail")
    assert found["b"].startswith("Norwegian phone")
    assert all(found[c].startswith("national identity") for c in "cde")
    assert found["f"].startswith("personal names")


def test_share_rules():
    base = [f"svar {i}" for i in range(100)]
    # a single e-mail address or fødselsnummer inside a text is enough
    one_mail = base[:99] + ["kontakt meg på kari.nordmann@example.no"]
    one_fnr = base[:99] + [f"mitt fnr er {VALID[3][:6]} {VALID[3][6:]}, takk"]
    # phone numbers and names need 20 % of the values
    few_phones = base[:90] + ["912 34 567"] * 10
    many_phones = base[:70] + [f"9{i:07d}" for i in range(30)]
    few_names = base[:90] + NAMES[:10]
    df = pd.DataFrame({"m": one_mail, "f": one_fnr, "p1": few_phones, "p2": many_phones,
                       "n1": few_names})
    assert set(find_personal_data(df)) == {"m", "f", "p2"}
    # a short list of people is found; the same three names repeated is not
    assert "n" in find_personal_data(pd.DataFrame({"n": NAMES[:6]}))
    assert find_personal_data(pd.DataFrame({"n": NAMES[:3] * 50})) == {}
    # missing values do not count
    assert "p" in find_personal_data(pd.DataFrame({"p": ["912 34 567", None, None, None]}))


def test_text_columns_limit_the_value_scan():
    df = pd.DataFrame({"x": [f"p{i}@example.no" for i in range(10)], "y": ["ok"] * 10,
                       "z": [int(f) for f in VALID[:10]]})
    assert set(find_personal_data(df)) == {"x", "z"}
    found = find_personal_data(df, text_columns=["y"])
    assert set(found) == {"z"}  # numbers that are fødselsnumre are found in every column
    with pytest.raises(PrivacyError):
        find_personal_data(df, text_columns=["nope"])


def test_no_false_positives():
    rng = np.random.default_rng(3)
    n = 3000
    codes = ["Felles rutiner", "Barrierer", "Tillit", "Samarbeid på tvers", "Tidlig innsats"]
    roles = ["Rektor", "Helsesykepleier", "Leder barnevern", "SLT-koordinator",
             "Kommuneoverlege", "Miljøarbeider", "Barnevernsleder"]
    df = pd.DataFrame({
        "likert": rng.integers(1, 6, n),
        "likert_text": rng.integers(1, 6, n).astype(str),
        "likert_float": rng.integers(1, 6, n).astype(float),
        "kommune": rng.choice(["1508", "1577", "1520", "1515", "0301"], n),
        "kommune_int": rng.choice([1508, 1577, 1520, 1515, 301], n),
        "respondent_id": rng.choice(pseudonyms(800), n),
        "period": rng.choice(["2023M01", "2023K1", "2019", "2015-2017", "2024M12"], n),
        "code": rng.choice(codes, n),
        "code_title_case": rng.choice(["Felles Rutiner", "Tidlig Innsats", "Tillit"], n),
        "role": rng.choice(roles, n),
        "kommune_name": rng.choice(["Ålesund", "Ørsta", "Volda", "Hareid", "Sande"], n),
        "date": rng.choice(["20230115", "20191231", "20240229"], n),
        "amount": rng.integers(10_000_000, 99_999_999, n),
        "case_number": [f"{x:011d}" for x in rng.integers(10**10, 10**11 - 1, n)],
        "case_int": rng.integers(10**10, 10**11 - 1, n),
        "wave": rng.choice(["w2012", "w2016"], n),
        "share": rng.uniform(0, 1, n),
        "flag": rng.integers(0, 2, n).astype(bool),
        "empty": [None] * n,
    })
    assert find_personal_data(df) == {}


def test_long_table_has_no_false_positives():
    """3 million answers of pseudonymised respondents with short comments: nothing is
    flagged (the time this takes is measured in benchmarks/micro.py, not asserted here)."""
    rng = np.random.default_rng(5)
    n = 3_000_000
    df = pd.DataFrame({
        "respondent_id": np.repeat(pseudonyms(5000), n // 5000),
        "comment": rng.choice(["bra", "Felles rutiner", "ok", None], n),
    })
    assert find_personal_data(df) == {}
