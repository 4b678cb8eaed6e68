"""Impossible and suspicious values, duplicates and long text: what a user sees.

as_of is 2026-11-23 throughout; HEALTHY is a green mid-market account.
"""

from __future__ import annotations

import json

from cli_support import AS_OF, HEALTHY


def assess(cli, path, *extra):
    result = cli("assess", path, "--as-of", AS_OF, "--format", "json", *extra)
    return result, json.loads(result.stdout) if result.stdout else None


def only(document):
    [assessment] = document["assessments"]
    return assessment


def dimension(assessment, name):
    return next(d for d in assessment["dimensions"] if d["dimension"] == name)


# -- dates in the future ---------------------------------------------------------


def test_an_exec_touch_in_the_future_is_not_used_and_says_why(cli, write_input):
    future = {**HEALTHY, "last_exec_touch_date": "2029-05-06"}
    result, document = assess(cli, write_input([future]))
    assert result.exit_code == 0
    assessment = only(document)
    evidence = [e["signal"] for e in dimension(assessment, "relationship")["evidence"]]
    assert "exec_touch" not in evidence
    assert any(
        note.startswith("last_exec_touch_date 2029-05-06 is 895 days after as_of 2026-11-23")
        for note in assessment["data_quality"]
    )


def test_a_sync_date_in_the_future_makes_its_source_stale(cli, write_input):
    future = {**HEALTHY, "crm_synced_at": "2031-01-01"}
    _, document = assess(cli, write_input([future]))
    assessment = only(document)
    crm = next(s for s in assessment["sources"] if s["source"] == "crm")
    assert crm["stale"] is True
    stale = next(f for f in assessment["flags"] if f["code"] == "stale_evidence")
    assert "days after as_of: a date in the future" in stale["evidence"]


def test_more_active_users_than_seats_counts_as_full_use_with_a_note(cli, write_input):
    overfull = {**HEALTHY, "active_users": 50, "licensed_seats": 10}
    _, document = assess(cli, write_input([overfull]))
    assessment = only(document)
    seats = next(
        e for e in dimension(assessment, "usage")["evidence"] if e["signal"] == "seat_utilisation"
    )
    assert seats["text"] == (
        "active users 50 of 10 seats: counted as 100% (more active users than seats)"
    )
    assert any(
        "active_users 50 is more than licensed_seats 10" in n for n in assessment["data_quality"]
    )


def test_a_renewal_date_long_past_is_not_renewal_soon(cli, write_input):
    lapsed = {**HEALTHY, "renewal_date": "2020-01-01"}
    _, document = assess(cli, write_input([lapsed]))
    codes = [f["code"] for f in only(document)["flags"]]
    assert "renewal_soon" not in codes
    assert "renewal_date_passed" in codes


def test_an_as_of_far_from_the_data_gets_one_warning(cli, write_input):
    accounts = [{**HEALTHY, "account_id": f"ACC-{n}"} for n in range(3)]
    result = cli("assess", write_input(accounts), "--as-of", "2020-01-01", "--format", "json")
    warnings = [
        line for line in result.stderr.splitlines() if "from this input's own dates" in line
    ]
    assert len(warnings) == 1
    assert warnings[0].startswith("warning: as_of 2020-01-01 is ")


# -- duplicates --------------------------------------------------------------------


def test_a_second_row_for_the_same_account_is_refused_naming_both_rows(cli, write_input):
    again = {**HEALTHY, "csat": 2.0}
    other = {**HEALTHY, "account_id": "ACC-9"}
    result, document = assess(cli, write_input([HEALTHY, other, again]))
    assert result.exit_code == 3
    assert [a["account_id"] for a in document["assessments"]] == ["ACC-1", "ACC-9"]
    [rejected] = document["rejected"]
    assert rejected["row"] == 3
    assert "account_id 'ACC-1' appears again (first at row 1)" in rejected["reason"]
    assert "assessed 2 account(s), rejected 1" in result.stderr


def test_run_and_assess_agree_on_duplicates(cli, write_input, tmp_path):
    path = write_input([HEALTHY, {**HEALTHY, "csat": 2.0}])
    db = tmp_path / "history.sqlite3"
    result = cli("run", path, "--as-of", AS_OF, "--db", db, "--format", "json")
    assert result.exit_code == 3
    assert "appears again (first at row 1)" in result.stderr


# -- long text ---------------------------------------------------------------------


def test_a_10200_character_note_is_cut_with_a_warning_not_a_lost_account(cli, write_input):
    long = {**HEALTHY, "notes": "n" * 10_200}
    result, document = assess(cli, write_input([long]))
    assert result.exit_code == 0
    assessment = only(document)
    assert len(assessment["untrusted_text"]["notes"]) == 5000
    assert "notes was 10,200 characters, cut to the first 5,000" in assessment["data_quality"]
    assert "row 1 (account_id 'ACC-1'): notes is 10,200 characters" in result.stderr


def test_a_5_mb_cell_is_refused_naming_account_field_and_size(cli, write_input):
    huge = {**HEALTHY, "notes": "x" * 5_000_000}
    result, document = assess(cli, write_input([huge, {**HEALTHY, "account_id": "ACC-2"}]))
    assert result.exit_code == 3
    [rejected] = document["rejected"]
    assert rejected["account_id"] == "ACC-1"
    assert "notes" in rejected["reason"]
    assert "5,000,000 bytes of text" in rejected["reason"]
    assert [a["account_id"] for a in document["assessments"]] == ["ACC-2"]
