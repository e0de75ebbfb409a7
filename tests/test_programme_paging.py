"""The Programme page's per-cohort table a page at a time (issue 26 follow-up):
the server sorts and slices it, every other figure still covers all the cohorts
in scope, the action lists still name cohorts that are not on the page, and the
CSV stays complete.

Five cohorts a supervisor supervises (tests/test_programme_view.py's ``grow_cohorts``:
two members, one open alert and one sent reminder each), then one more member
in "Grown 3" and two more in "Grown 1" so the member counts differ.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Flask

from ipt_groups.extensions import db
from tests.factories import enrol, grow_cohorts


def _five(app: Flask, as_role: Any, users: dict[str, int]) -> tuple[Any, dict[str, int]]:
    fac = as_role("facilitator")
    grow_cohorts(app, fac, users["supervisor"], 5)
    sup = as_role("supervisor")
    ids = {r["name"]: r["cohort_id"] for r in sup.get("/api/programme").json["cohorts"]}
    enrol(fac, ids["Grown 3"], "Third grown member")
    enrol(fac, ids["Grown 1"], "Third grown member")
    enrol(fac, ids["Grown 1"], "Fourth grown member")
    return sup, ids


def test_pages_slice_the_sorted_table_and_the_rest_covers_every_cohort(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    sup, ids = _five(app, as_role, users)
    whole = sup.get("/api/programme").json
    assert whole["cohort_paging"] == {
        "page": 1, "per_page": 50, "total": 5, "pages": 1, "sort": "start", "order": "asc",
    }  # fmt: skip
    # The default order is the cohorts' start date, then id: here all start together.
    assert [r["cohort_id"] for r in whole["cohorts"]] == sorted(ids.values())

    pages = [sup.get(f"/api/programme?per_page=2&page={n}").json for n in (1, 2, 3)]
    assert [len(p["cohorts"]) for p in pages] == [2, 2, 1]
    assert [p["cohort_paging"]["pages"] for p in pages] == [3, 3, 3]
    assert [p["cohort_paging"]["total"] for p in pages] == [5, 5, 5]
    assert [r for p in pages for r in p["cohorts"]] == whole["cohorts"]  # same rows, same figures
    for p in pages:  # totals, months, facilitators and actions are the whole scope's
        assert p["totals"] == whole["totals"]
        assert p["facilitators"] == whole["facilitators"]
        assert p["months"] == whole["months"]
        assert p["action"] == whole["action"]
    assert whole["totals"]["cohorts"] == 5 and whole["action"]["open_alert_count"] == 5
    # An alert in a cohort that is not on page 1 still carries its cohort's name.
    named = {a["cohort_id"]: a["cohort_name"] for a in pages[0]["action"]["open_alerts"]}
    assert named == {i: name for name, i in ids.items()}
    beyond = sup.get("/api/programme?per_page=2&page=4").json
    assert beyond["cohorts"] == [] and beyond["totals"]["cohorts"] == 5


def test_the_server_sorts_by_the_page_columns(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    sup, ids = _five(app, as_role, users)

    def names(query: str) -> list[str]:
        response = sup.get(f"/api/programme?{query}")
        assert response.status_code == 200, response.json
        return [r["name"] for r in response.json["cohorts"]]

    assert names("sort=cohort&order=desc") == [f"Grown {k}" for k in (4, 3, 2, 1, 0)]
    assert names("sort=cohort&order=desc&per_page=2&page=2") == ["Grown 2", "Grown 1"]
    # Members: Grown 1 has 4, Grown 3 has 3, the rest 2 (ties keep the start order).
    assert names("sort=enrolled&order=desc") == [
        "Grown 1", "Grown 3", "Grown 0", "Grown 2", "Grown 4",
    ]  # fmt: skip
    assert names("sort=enrolled") == ["Grown 0", "Grown 2", "Grown 4", "Grown 3", "Grown 1"]
    paged = sup.get("/api/programme?sort=enrolled&order=desc&per_page=1").json
    assert paged["cohort_paging"]["sort"] == "enrolled"
    assert paged["cohort_paging"]["order"] == "desc"
    assert paged["cohorts"][0]["funnel"]["enrolled"] == 4
    # Every page column sorts (no figure sorts as the browser does: last or first).
    for key in ("status", "start", "completed", "mean_change", "below_10",
                "completers_below_10", "reach", "alerts"):  # fmt: skip
        assert sorted(names(f"sort={key}")) == sorted(ids)


def test_bad_paging_is_a_clear_422(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    sup = as_role("supervisor")
    for query, name in (
        ("page=0", "query.page"),
        ("per_page=0", "query.per_page"),
        ("per_page=501", "query.per_page"),
        ("sort=members_secret", "query.sort"),
        ("order=sideways", "query.order"),
    ):
        response = sup.get(f"/api/programme?{query}")
        assert response.status_code == 422, query
        assert name in response.json["error"]["fields"], (query, response.json)


def test_the_csv_has_every_row_whatever_the_page(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    sup, ids = _five(app, as_role, users)
    text = sup.get("/api/programme.csv?pseudonymous=false").get_data(as_text=True)
    lines = text.strip("\ufeff").strip().splitlines()
    assert len(lines) == 1 + 5
    assert sorted(int(line.split(",")[0]) for line in lines[1:]) == sorted(ids.values())
    # Paging parameters are not the CSV's (unknown query names are ignored): the
    # file is never cut to a page.
    cut = sup.get("/api/programme.csv?pseudonymous=false&per_page=2&page=2")
    assert cut.get_data(as_text=True) == text


def _co_facilitators(app: Flask, ids: dict[str, int]) -> dict[str, int]:
    """Three more facilitators co-facilitating some of the five cohorts: Bea all
    five, Cal two (Grown 1, with four members, and Grown 3), Dee one (Grown 0)."""
    from ipt_groups.models import CohortStaff, StaffRole
    from tests.conftest import create_user

    with app.app_context():
        made = {
            name: create_user("facilitator", f"{name.lower()}@test.example", display_name=name).id
            for name in ("Bea", "Cal", "Dee")
        }
        joins = {"Bea": [0, 1, 2, 3, 4], "Cal": [1, 3], "Dee": [0]}
        for name, ks in joins.items():
            for k in ks:
                db.session.add(
                    CohortStaff(
                        cohort_id=ids[f"Grown {k}"],
                        user_id=made[name],
                        role=StaffRole.CO_FACILITATOR,
                    )
                )
        db.session.commit()
    return made


def test_the_facilitator_table_pages_too_and_its_totals_stay_whole(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    sup, ids = _five(app, as_role, users)
    made = _co_facilitators(app, ids)
    whole = sup.get("/api/programme").json
    assert whole["facilitator_paging"] == {
        "page": 1, "per_page": 50, "total": 4, "pages": 1, "sort": "facilitator", "order": "asc",
    }  # fmt: skip
    names = [f["display_name"] for f in whole["facilitators"]]
    assert names == ["Bea", "Cal", "Dee", "Test facilitator"]  # by name (casefolded)
    by_name = {f["display_name"]: f for f in whole["facilitators"]}
    assert by_name["Cal"]["cohort_ids"] == sorted([ids["Grown 1"], ids["Grown 3"]])
    assert by_name["Cal"]["funnel"]["enrolled"] == 4 + 3
    assert by_name["Bea"]["funnel"] == whole["totals"]["funnel"]  # she has every cohort

    query = "/api/programme?facilitator_per_page=3&facilitator_page="
    pages = [sup.get(f"{query}{n}").json for n in (1, 2)]
    assert [len(p["facilitators"]) for p in pages] == [3, 1]
    assert [p["facilitator_paging"]["pages"] for p in pages] == [2, 2]
    assert [p["facilitator_paging"]["total"] for p in pages] == [4, 4]
    assert [f for p in pages for f in p["facilitators"]] == whole["facilitators"]
    for p in pages:  # the rest of the page is the whole scope's, whatever the slice
        assert p["totals"] == whole["totals"]
        assert p["months"] == whole["months"]
        assert p["cohorts"] == whole["cohorts"]
        assert p["action"] == whole["action"]
        assert p["cohort_paging"] == whole["cohort_paging"]

    def order(query: str) -> list[str]:
        response = sup.get(f"/api/programme?{query}")
        assert response.status_code == 200, response.json
        return [f["display_name"] for f in response.json["facilitators"]]

    assert order("facilitator_sort=facilitator&facilitator_order=desc") == names[::-1]
    # Cohorts: Bea 5, the lead 5, Cal 2, Dee 1 (ties keep the name order).
    by_cohorts = ["Bea", "Test facilitator", "Cal", "Dee"]
    assert order("facilitator_sort=cohorts&facilitator_order=desc") == by_cohorts
    assert order("facilitator_sort=enrolled&facilitator_per_page=1") == ["Dee"]  # Grown 0: 2
    for key in ("completed", "mean_change", "below_10", "completers_below_10", "reach", "alerts"):
        assert sorted(order(f"facilitator_sort={key}")) == sorted(names), key
    # A facilitator filter: only that one row, its own figures.
    only = sup.get(f"/api/programme?facilitator_id={made['Cal']}").json
    assert [f["display_name"] for f in only["facilitators"]] == ["Cal"]
    assert only["facilitator_paging"]["total"] == 1
    assert only["facilitators"][0]["funnel"] == only["totals"]["funnel"]


def test_bad_facilitator_paging_is_a_clear_422(
    app: Flask, as_role: Any, users: dict[str, int], frozen: datetime
) -> None:
    sup = as_role("supervisor")
    for query, name in (
        ("facilitator_page=0", "query.facilitator_page"),
        ("facilitator_per_page=501", "query.facilitator_per_page"),
        ("facilitator_sort=start", "query.facilitator_sort"),  # a cohort-only column
        ("facilitator_order=up", "query.facilitator_order"),
    ):
        response = sup.get(f"/api/programme?{query}")
        assert response.status_code == 422, query
        assert name in response.json["error"]["fields"], (query, response.json)
