"""``fraudctl rules`` and ``fraudctl lists`` against the app (moto), through the same
client code as over HTTP: only the transport is in process."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest

from fraudctl.api import ApiClient, Signer
from fraudctl.cli import build_parser
from fraudctl.errors import CommandError
from fraudctl.rulefiles import DEFAULT_PACK

URL = "http://127.0.0.1:8000"


def run(api, capsys, *argv: str) -> str:
    """Run a fraudctl command with its requests sent to the app in process."""

    def send(method, url, headers, body):
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        response = api.http.request(method, path, headers=headers, body=body or b"")
        return response.status_code, response.body

    args = build_parser().parse_args([*argv, "--url", URL, "--author", "ann"])
    assert args.func(args, send=send) == 0
    return capsys.readouterr().out


def test_rules_commands_load_a_pack_change_inspect_and_roll_back(api, capsys):
    loaded = run(api, capsys, "rules", "put", "--file", str(DEFAULT_PACK))
    run(
        api,
        capsys,
        "rules",
        "put",
        "big",
        "--expr",
        "amount > 5000",
        "--action",
        "block",
        "--priority",
        "800",
    )
    run(
        api,
        capsys,
        "rules",
        "put",
        "burst",
        "--expr",
        "customer.nb_tx_1d > 30",
        "--action",
        "suspend",
        "--suspend-target",
        "card_id",
        "--suspend-for",
        "12h",
        "--mode",
        "shadow",
    )
    listing = run(api, capsys, "rules", "list")
    rule = json.loads(run(api, capsys, "rules", "get", "burst"))
    versions = run(api, capsys, "rules", "history")
    revisions = run(api, capsys, "rules", "history", "big")
    rolled = run(api, capsys, "rules", "rollback", "1")
    deleted = run(api, capsys, "rules", "delete", "high_amount")

    assert "rule set version 1" in loaded
    assert "rule set version 3" in listing and "big" in listing and "amount > 5000" in listing
    assert rule["suspend"] == {"target": "card_id", "duration": "12h", "list": "suspended_cards"}
    assert rule["updated_by"] == "ann"
    assert versions.splitlines()[0].lstrip().startswith("v3") and "ann" in versions
    assert "amount > 5000" in revisions
    assert "restored as version 4" in rolled and "version 5" in deleted


def test_rules_command_shows_where_an_expression_is_wrong(api, capsys):
    with pytest.raises(CommandError, match=r"expression: .*\(position 9\)"):
        run(api, capsys, "rules", "put", "bad", "--expr", "amount > 'x'", "--action", "block")


def test_lists_commands_upload_with_expiry_add_print_and_remove(api, capsys, tmp_path):
    until = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0).isoformat()
    csv_file = tmp_path / "cards.csv"
    csv_file.write_text(f"value,expires_at,note\ncard_1,{until},chargeback\ncard_2,,\n")
    text_file = tmp_path / "mails.txt"
    text_file.write_text("a@example.com\n\nb@example.com\n")

    run(api, capsys, "lists", "upload", "cards", "--file", str(csv_file), "--expires-in", "7d")
    run(api, capsys, "lists", "upload", "mails", "--file", str(text_file))
    run(api, capsys, "lists", "add", "cards", "card_3", "--note", "manual")
    cards = run(api, capsys, "lists", "items", "cards").splitlines()
    mails = run(api, capsys, "lists", "items", "mails").splitlines()
    run(api, capsys, "lists", "remove", "mails", "a@example.com")

    by_value = {line.split("\t")[0]: line.split("\t") for line in cards}
    assert set(by_value) == {"card_1", "card_2", "card_3"}
    assert by_value["card_1"][1] == until and by_value["card_1"][3] == "chargeback"
    assert by_value["card_2"][1] != "-" and by_value["card_3"][1] == "-"
    assert len(mails) == 2 and all(line.startswith("hash:") for line in mails)
    assert len(run(api, capsys, "lists", "items", "mails").splitlines()) == 1


def test_requests_to_a_deployed_api_are_signed_with_sigv4():
    sent = {}

    def send(method, url, headers, body):
        sent.update(headers)
        return 200, b"{}"

    credentials = type(
        "Credentials", (), {"access_key": "AKID", "secret_key": "s", "token": None}
    )()
    client = ApiClient(
        "https://abc.execute-api.eu-west-1.amazonaws.com/api",
        "ann",
        Signer("eu-west-1", credentials),
        send,
    )

    client.request("GET", "/v1/rules")

    assert sent["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKID/")
    assert "/eu-west-1/execute-api/aws4_request" in sent["Authorization"]
