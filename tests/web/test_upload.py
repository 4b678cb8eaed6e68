"""Upload: assess or record a file from the browser, rejected rows listed with their reasons."""

from __future__ import annotations

from account_templates import DEMO_COUNT
from web_support import csrf

from skill.demo import demo_file

CSV = b"account_id,segment,csat\nA-1,smb,4.5\nA-2,smb,9\n"


def upload(client, name: str, content: bytes, mode: str = "assess", **fields: str):
    data = {"csrf_token": csrf(client), "mode": mode, "as_of": "2026-11-23", **fields}
    return client.post("/upload", data=data, files={"file": (name, content)})


def test_assess_lists_the_accounts_and_the_rejected_rows_with_reasons(client):
    response = upload(client, "accounts.csv", CSV)
    assert response.status_code == 200
    assert "Assessed 1 account(s)" in response.text and "Nothing was recorded." in response.text
    assert "row 2 (account_id &#39;A-2&#39;): csat = &#39;9&#39;" in response.text


def test_assess_records_nothing(client, db):
    before = client.get("/api/portfolio").json()["total"]
    upload(client, "accounts.csv", CSV)
    assert client.get("/api/portfolio").json()["total"] == before


def test_record_adds_the_file_to_the_history(client):
    response = upload(
        client, "demo.json", demo_file().read_bytes(), mode="record", as_of="2026-12-07"
    )
    assert "Recorded run" in response.text and f"{DEMO_COUNT} new or changed" in response.text
    assert client.get("/api/portfolio").json()["as_of"] == "2026-12-07"


def test_recording_the_same_file_again_changes_nothing(client):
    content = demo_file().read_bytes()
    upload(client, "demo.json", content, mode="record", as_of="2026-12-07")
    again = upload(client, "demo.json", content, mode="record", as_of="2026-12-07")
    assert "already recorded" in again.text


def test_a_file_over_the_cap_says_so(make_client, db):
    client = make_client(db_path=db, max_upload_bytes=200_000)
    response = upload(client, "big.csv", b"account_id,segment\n" + b"A,smb\n" * 40_000)
    assert response.status_code == 413
    assert "big.csv is over 200,000 bytes; the workspace takes files up to" in response.text


def test_a_file_of_another_kind_is_refused(client):
    response = upload(client, "notes.txt", b"hello")
    assert response.status_code == 400
    assert "notes.txt: expected a .csv, .tsv, .json, .jsonl or .xlsx file" in response.text


def test_an_ambiguous_number_is_named_unless_the_decimal_mark_is_given(client):
    content = b'account_id,segment,arr,csat\nA-1,smb,"45000,50",4\n'
    refused = upload(client, "eu.csv", content)
    assert "arr = &#39;45000,50&#39;" in refused.text
    read = upload(client, "eu.csv", content, decimal="comma")
    assert "Assessed 1 account(s)" in read.text


def test_read_only_refuses_recording(make_client, db):
    client = make_client(db_path=db, read_only=True)
    response = upload(client, "demo.json", demo_file().read_bytes(), mode="record")
    assert response.status_code == 403
    assert "read-only" in response.text
