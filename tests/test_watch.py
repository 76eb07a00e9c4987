"""`qa watch` as a real process against feeds on 127.0.0.1 that change between rounds, stopped by signals."""

from __future__ import annotations

import signal

import pytest
from serving import FeedServer, Lines, qa_process

from qa.cli import main
from qa.errors import ConfigError
from qa.retrieval import Retriever
from qa.watch import format_duration, parse_duration

TRAM = ("Tram line opens in Eastbridge", (
    "The new tram line in Eastbridge opened on Monday with fourteen stops between the railway station and the "
    "university campus. The city council said the line cost 210 million euros and will carry about 30,000 passengers "
    "a day. Trams run every six minutes at peak times and every twelve minutes in the evening, the operator said."
))
BAKERY = ("Village bakery wins national bread prize", (
    "A family bakery in the village of Holmfirth won the national bread prize for its rye sourdough on Saturday. "
    "The judges praised the loaf's crust and its slow fermentation of forty hours. The bakery, founded in 1952, "
    "employs nine people and plans to open a second shop in the spring, its owner told reporters after the ceremony."
))
GLACIER = ("Survey finds record glacier melt in the Alps", (
    "Swiss glaciers lost six percent of their remaining ice volume this year, the largest loss since measurements "
    "began, a survey by the national glacier monitoring network found. Scientists blamed a dry winter with little "
    "snow and two summer heatwaves. Several small glaciers in the eastern Alps have now disappeared entirely, it said."
))
CHESS = ("Twelve-year-old wins the city chess championship", (
    "A twelve-year-old pupil from Riverside school won the city chess championship on Sunday, beating the defending "
    "champion in the final round after five hours of play. She is the youngest winner in the tournament's eighty-year "
    "history and will represent the city at the national finals in Leeds next month, the organisers announced."
))


@pytest.mark.parametrize("text, seconds", [("30s", 30), ("15m", 900), ("1h", 3600), ("1h30m", 5400), ("1.5h", 5400), ("2d", 172800)])
def test_durations_read_like_the_help_says(text, seconds):
    assert parse_duration(text) == seconds
    assert parse_duration(format_duration(seconds)) == seconds


@pytest.mark.parametrize("text, message", [
    ("15", "add a unit, e.g. 15s or 15m"), ("15 minutes", "use a number with a unit"), ("30m1h", "largest first"),
    ("1m1m", "use a number with a unit"), ("0s", "under a second"), ("", "use a number with a unit"),
])
def test_bad_durations_get_a_message_that_says_how_to_write_one(text, message):
    with pytest.raises(ConfigError, match=message):
        parse_duration(text)


def test_the_command_refuses_a_bad_duration_before_loading_anything(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["watch", "feed.xml", "--every", "15"])
    assert stop.value.code == 2
    assert "--every: cannot read '15' as a duration" in capsys.readouterr().err


def test_a_counted_watch_ends_by_itself_and_its_exit_code_says_a_source_failed(tmp_path, minilm, capsys):
    assert main(["--index", str(tmp_path / "index"), "watch", str(tmp_path / "gone.xml"), "--rounds", "2", "--every", "1s"]) == 1
    out, err = capsys.readouterr()
    assert out.count("0 added, 0 replaced, 0 unchanged, 1 failed") == 2 and "next at" not in out.splitlines()[-1]
    assert f"qa: round 2: failed: {tmp_path / 'gone.xml'}: no such file" in err


def test_watch_adds_what_is_new_each_round_and_stops_cleanly_inside_and_between_rounds(tmp_path, minilm):
    server, feed, index = FeedServer(), "/wire.xml", tmp_path / "index"
    server.feeds[feed] = [TRAM, BAKERY]
    watcher = qa_process("--index", str(index), "watch", server.url(feed), "--every", "2s", "--quiet")
    out, err = Lines(watcher.stdout), Lines(watcher.stderr)
    try:
        _, first = out.wait_for("round 1 ", timeout=180)
        assert "2 added, 0 replaced, 0 unchanged, 0 failed" in first
        server.feeds[feed] = [TRAM, BAKERY, GLACIER]  # a new item appears between rounds
        _, grown = out.wait_for(" 1 added", timeout=60)
        assert "0 replaced, 2 unchanged, 0 failed" in grown
        server.feeds[feed] = [TRAM, BAKERY, GLACIER, CHESS]
        server.hold(feed)  # the next round hangs on the feed: Ctrl-C arrives inside it
        assert server.requested.wait(30)
        watcher.send_signal(signal.SIGINT)
        assert watcher.wait(60) == 0
    finally:
        server.release()
        if watcher.poll() is None:
            watcher.kill()
    stderr = err.text()
    assert "qa watch: stopped during round" in stderr and "the index is intact" in stderr and "Traceback" not in stderr
    assert Retriever.load(index, encoder=minilm).stats()["articles"] == 3  # the interrupted round added nothing

    again = qa_process("--index", str(index), "watch", server.url(feed), "--every", "1h", "--quiet")
    out, err = Lines(again.stdout), Lines(again.stderr)
    try:
        _, line = out.wait_for("round 1 ", timeout=180)
        assert "1 added, 0 replaced, 3 unchanged, 0 failed" in line
        again.send_signal(signal.SIGTERM)  # between rounds: an hour to go
        assert again.wait(30) == 0
    finally:
        if again.poll() is None:
            again.kill()
        server.close()
    assert "qa watch: stopped after 1 round(s)" in err.text() and "Traceback" not in err.text()
    retriever = Retriever.load(index, encoder=minilm)
    assert retriever.stats()["articles"] == 4
    assert retriever.search("youngest winner of the chess championship", 1)[0].title == CHESS[0]
