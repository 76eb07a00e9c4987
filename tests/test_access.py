"""Who may use a served app: `app.py --auth` guards the UI and the API, `--read-only` refuses adds, and an app
open to a network without a login is warned about."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from serving import free_port
from test_faults import COMMITTED, _client, _start_app

from qa.app.auth import exposure_warning, parse_users
from qa.errors import ConfigError
from qa.ingest import ingest
from qa.stores import open_index


def test_users_from_the_flag_a_file_or_the_environment(tmp_path: Path, monkeypatch) -> None:
    assert parse_users("ann:s3cret, bob:pa:ss") == [("ann", "s3cret"), ("bob", "pa:ss")]
    users = tmp_path / "users.txt"
    users.write_text("# the newsroom\nann:one\n\ncarl:two\n", encoding="utf-8")
    assert parse_users(str(users)) == [("ann", "one"), ("carl", "two")]
    monkeypatch.setenv("QA_AUTH", "dee:four")
    assert parse_users() == [("dee", "four")]
    for bad in ("ann:", ":pw", str(tmp_path / "missing.txt")):
        with pytest.raises(ConfigError):
            parse_users(bad)


def test_an_app_open_to_others_without_a_login_is_warned_about() -> None:
    assert "without a login" in exposure_warning("0.0.0.0", False, [])
    assert "gradio.live" in exposure_warning("127.0.0.1", True, [])
    assert exposure_warning("127.0.0.1", False, []) == exposure_warning("::1", False, []) == ""
    assert exposure_warning("0.0.0.0", True, [("ann", "pw")]) == ""


@pytest.mark.slow
def test_auth_guards_the_api_and_read_only_refuses_adds(tmp_path: Path, minilm) -> None:
    from gradio_client import Client

    index = tmp_path / "index"
    ingest(COMMITTED, index, encoder=minilm)
    port = free_port()
    app = _start_app(index, port, "--auth", "ann:s3cret", "--read-only")
    url = f"http://127.0.0.1:{port}/"
    try:
        client = _client(url, app, auth=("ann", "s3cret"))
        answer = client.predict("How many residents were evacuated?", api_name="/ask")
        assert any(c["article_id"] == "volcano" for c in answer["citations"])
        refused = client.predict("Ferry", "The night ferry returned to service on Friday after repairs.", api_name="/add_text")
        assert refused["status"].startswith("Refused: this app is read-only")
        from gradio_client import handle_file

        (tmp_path / "ferry.txt").write_text("The night ferry returned to service on Friday after repairs.", encoding="utf-8")
        refused = client.predict([handle_file(str(tmp_path / "ferry.txt"))], api_name="/add_files")
        assert refused["status"].startswith("Refused: this app is read-only")
        for auth in (None, ("ann", "wrong")):
            with pytest.raises(Exception):
                Client(url, auth=auth, verbose=False).predict("Who won?", api_name="/ask")
    finally:
        os.killpg(app.pid, signal.SIGKILL)
        app.wait(30)
    reader = open_index(index).reader()
    assert {a.id for a in reader.articles()} == {"volcano", "mayor"}
    reader.close()
