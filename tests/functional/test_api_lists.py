"""/v1/lists routes against moto: items with expiry, bulk upload, pages, hashed personal
values, removal, change log, 400s naming every bad item."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from tests.conftest import post_json, scan


def body(response) -> dict:
    return json.loads(response.body)


def soon(hours: int = 1) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


def test_items_are_added_read_and_removed_with_their_expiry_and_author(api, stack):
    added = api.http.post(
        "/v1/lists/watchlist/items",
        headers={"Content-Type": "application/json", "X-Fraud-Author": "ann"},
        body=json.dumps({"value": "C-1001", "expires_at": soon(), "note": "chargeback"}),
    )

    assert added.status_code == 201
    [item] = body(added)["items"]
    assert (item["value"], item["added_by"], item["note"]) == ("C-1001", "ann", "chargeback")
    [stored] = [i for i in scan(stack.config_table) if i["pk"] == "list#watchlist"]
    assert stored["sk"] == "C-1001" and isinstance(stored["expires_at"], int)
    assert body(api.http.get("/v1/lists/watchlist/items/C-1001"))["note"] == "chargeback"

    removed = api.http.delete("/v1/lists/watchlist/items/C-1001")

    assert body(removed) == {"list": "watchlist", "removed": True}
    assert api.http.get("/v1/lists/watchlist/items/C-1001").status_code == 404
    assert api.http.delete("/v1/lists/watchlist/items/C-1001").status_code == 404
    changes = body(api.http.get("/v1/lists/watchlist/history"))["changes"]
    assert [(c["op"], c["author"]) for c in changes] == [("remove", "unknown"), ("add", "ann")]


def test_bulk_upload_pages_and_hashes_emails_and_ip_addresses(api, stack):
    items = [{"value": f"card_{i:03d}", "expires_at": soon(i + 1)} for i in range(5)]
    items += [{"value": "bad@example.com"}, {"value": "198.51.100.7"}]

    response = post_json(api, "/v1/lists/mixed/items", {"items": items})
    first = body(api.http.get("/v1/lists/mixed/items?limit=4"))
    rest = body(api.http.get(f"/v1/lists/mixed/items?limit=4&after={first['next']}"))

    assert response.status_code == 201 and body(response)["added"] == 7
    listed = first["items"] + rest["items"]
    assert [i["value"] for i in listed if not i["hashed"]] == [f"card_{i:03d}" for i in range(5)]
    assert sum(i["hashed"] for i in listed) == 2 and rest["next"] is None
    raw = json.dumps(scan(stack.config_table), default=str)
    assert "bad@example.com" not in raw and "198.51.100.7" not in raw
    member = api.http.get("/v1/lists/mixed/items/bad%40example.com")
    assert member.status_code == 200 and body(member)["hashed"] is True
    assert api.http.delete("/v1/lists/mixed/items/198.51.100.7").status_code == 200


def test_bad_items_are_400_naming_each_and_nothing_is_written(api, stack):
    response = post_json(
        api,
        "/v1/lists/watchlist/items",
        {
            "items": [
                {"value": "ok"},
                {"value": "late", "expires_at": "2001-01-01T00:00:00Z"},
                {"value": None},
                {"value": "x", "colour": "red"},
            ]
        },
    )

    assert response.status_code == 400
    assert [f["field"] for f in body(response)["fields"]] == [
        "items[1].expires_at",
        "items[2].value",
        "items[3].colour",
    ]
    assert scan(stack.config_table) == []
    assert post_json(api, "/v1/lists/bad-name/items", {"value": "x"}).status_code == 400
    assert api.http.get("/v1/lists/watchlist/items?after=%25%25").status_code == 400
    assert api.http.get("/v1/lists/watchlist/items?limit=0").status_code == 400


def test_lists_in_use_are_named_with_the_rules_that_read_them(api):
    post_json(
        api, "/v1/rules", {"rule_id": "w", "expression": "card_id in @stolen", "action": "block"}
    )
    post_json(
        api,
        "/v1/rules",
        {
            "rule_id": "s",
            "expression": "amount > 5000",
            "action": "suspend",
            "suspend": {"target": "device_id", "duration": "6h"},
        },
    )

    lists = body(api.http.get("/v1/lists"))["lists"]

    assert lists == [
        {"name": "stolen", "rules": ["w"]},
        {"name": "suspended_devices", "rules": ["suspension:suspended_devices"]},
    ]
