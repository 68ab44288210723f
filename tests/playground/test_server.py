"""The playground's web shell (ffbp/playground/server.py) through Starlette's test client:
the WebSocket protocol, one session per socket freed when it closes, uploads refused with
one-line messages, the downloads (the command itself: test_command.py)."""

from __future__ import annotations

import json
import time
import warnings

import numpy as np
import pytest
from conftest import require

import ffbp

require("starlette", "the playground's server is a Starlette app")
require("httpx", "Starlette's test client runs on httpx")
with warnings.catch_warnings():     # Starlette's note that its client may move to httpx2
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from ffbp.playground import create_app, running  # noqa: E402
from ffbp.playground.server import MAX_UPLOAD, dumps  # noqa: E402
from ffbp.playground.session import Session  # noqa: E402

CSV3 = "a,b,c,label\n" + "".join(
    f"{a:.3f},{b:.3f},{c:.3f},{int(a + b > 0)}\n"
    for a, b, c in np.random.default_rng(0).normal(size=(60, 3)))


class Counting:
    """A session factory that remembers the sessions it made and which were closed."""

    def __init__(self):
        self.made, self.closed = [], []

    def __call__(self):
        session = Session()
        self.made.append(session)
        close = session.close

        def closing():
            self.closed.append(session)
            close()

        session.close = closing
        return session


@pytest.fixture
def factory():
    return Counting()


@pytest.fixture
def client(factory):
    with TestClient(create_app(factory)) as c:
        yield c


def until(ws, kind, limit=50):
    """The next message of type ``kind`` (skipping others)."""
    for _ in range(limit):
        message = ws.receive_json()
        if message["type"] == kind:
            return message
    raise AssertionError(f"no {kind!r} message in {limit}")


def opened(ws) -> str:
    """The session id, after the opening messages: hello, config, points, snapshot."""
    hello = ws.receive_json()
    assert hello["type"] == "hello"
    kinds = [ws.receive_json()["type"] for _ in range(3)]
    assert kinds == ["config", "points", "snapshot"]
    return hello["session"]


def one_line(text):
    assert text and "\n" not in text and "Traceback" not in text, text
    return text


def test_a_socket_opens_with_its_session_and_its_first_pictures(client):
    with client.websocket_connect("/ws") as ws:
        assert ws.receive_json()["type"] == "hello"
        config = ws.receive_json()
        assert config["config"]["dataset"] == "circle"
        points = ws.receive_json()
        assert points["type"] == "points" and len(points["train"]) == 250
        snap = ws.receive_json()
        assert snap["layout"] == [2, 4, 2, 1]
        assert len(snap["output"]) == snap["grid"]["n"] ** 2


def test_packed_maps_decode_to_the_plain_ones(client):
    """/ws?maps=f32 (the page's choice) sends each map as base64 float32: the same values."""
    import base64

    with client.websocket_connect("/ws") as plain, \
            client.websocket_connect("/ws?maps=f32") as packed:
        a, b = until(plain, "snapshot"), until(packed, "snapshot")
    out = np.frombuffer(base64.b64decode(b["output"]), dtype="<f4")
    np.testing.assert_allclose(out, a["output"], atol=1e-6)
    units = np.frombuffer(base64.b64decode(b["neurons"][0][1]), dtype="<f4")
    np.testing.assert_allclose(units, a["neurons"][0][1], atol=1e-6)


def test_two_sessions_are_independent(client):
    with client.websocket_connect("/ws") as one, client.websocket_connect("/ws") as two:
        first, second = (client.app.state.tabs[opened(ws)].session for ws in (one, two))
        one.send_json({"type": "configure", "changes": {"hidden": [3], "learning_rate": 0.1}})
        assert until(one, "config")["config"]["hidden"] == [3]
        assert until(one, "snapshot")["layout"] == [2, 3, 1]
        one.send_json({"type": "step", "sample": 0})
        assert until(one, "snapshot")["steps"] == 1
        two.send_json({"type": "reset"})
        snap = until(two, "snapshot")
        assert snap["steps"] == 0 and snap["layout"] == [2, 4, 2, 1]
        assert first.config["hidden"] == [3] and second.config["hidden"] == [4, 2]
        assert second.config["learning_rate"] == 0.03


def test_a_closed_socket_frees_its_session(client, factory):
    tabs = client.app.state.tabs
    with client.websocket_connect("/ws") as ws:
        opened(ws)
        assert len(tabs) == 1
        with client.websocket_connect("/ws") as other:
            opened(other)
            assert len(tabs) == 2
            ws.send_json({"type": "play"})             # closing while it trains, too
            until(ws, "snapshot")
        for _ in range(100):                           # the server's side of the close
            if len(tabs) == 1:
                break
            time.sleep(0.02)
        assert len(tabs) == 1 and len(factory.closed) == 1
    for _ in range(100):
        if not tabs:
            break
        time.sleep(0.02)
    assert tabs == {} and len(factory.closed) == 2


def test_play_trains_and_pause_stops(client):
    with client.websocket_connect("/ws") as ws:
        opened(ws)
        ws.send_json({"type": "play"})
        assert until(ws, "playing")["playing"] is True
        steps = [until(ws, "snapshot")["steps"] for _ in range(3)]
        assert steps[0] < steps[1] < steps[2]
        ws.send_json({"type": "pause"})
        stopped = until(ws, "playing")
        assert stopped["playing"] is False
        last = until(ws, "snapshot")["steps"]
        speed = stopped["speed"]               # the run's own count, as the page shows it
        assert speed["steps_per_second"] * speed["seconds"] == pytest.approx(last, rel=1e-6)
        # frames / seconds · seconds is the frame count only to rounding (3 → 2.9999…)
        assert round(speed["frames_per_second"] * speed["seconds"]) >= 3
        ws.send_json({"type": "reset"})
        assert until(ws, "snapshot")["steps"] == 0 and last > 0
        ws.send_json({"type": "pause"})                # not playing: answered all the same
        assert until(ws, "playing")["playing"] is False


def test_explain_and_step_detail_over_the_socket(client, factory):
    with client.websocket_connect("/ws") as ws:
        opened(ws)
        ws.send_json({"type": "explain", "layer": 1, "i": 2, "j": 1, "sample": 3})
        got = until(ws, "explain")
        session = factory.made[0]
        x, t = session.data.X_train[3], session.data.t_train[3:4]
        e = ffbp.explain(session.network, session.loss, x, t, layer=1, i=1, j=0, lr=0.03,
                         notation="tutorial")
        assert got["text"] == str(e) and got["gradient"] == e.gradient
        ws.send_json({"type": "explain", "layer": 2, "j": 2, "bias": True, "sample": 3})
        got = until(ws, "explain")
        e = ffbp.explain(session.network, session.loss, x, t, layer=2, j=1, bias=True,
                         lr=0.03, notation="tutorial")
        assert got["symbol"] == "b²₂" and got["gradient"] == e.gradient
        ws.send_json({"type": "step", "sample": 3})
        detail = until(ws, "detail")              # still following the weight, not the bias
        assert detail["selected"]["layer"] == 1 and detail["selected"]["i"] == 2
        assert [len(layer["delta"]) for layer in detail["layers"]] == [4, 2, 1]


@pytest.mark.parametrize("message, words", [
    ("not json", "JSON"),
    ('{"type": "fly"}', "unknown message type 'fly'"),
    ('{"type": "configure", "changes": {"learning_rate": -1}}', "learning_rate"),
    ('{"type": "configure", "changes": {"colour": 1}}', "colour"),
    ('{"type": "explain", "layer": 1, "i": 0, "j": 1}', "i"),
    ('{"type": "explain", "layer": 9, "i": 1, "j": 1}', "layer"),
    ('{"type": "explain", "layer": 1, "j": 1, "bias": 1}', "bias must be true or false"),
])
def test_bad_messages_get_one_line_errors(client, message, words):
    with client.websocket_connect("/ws") as ws:
        opened(ws)
        ws.send_text(message)
        error = until(ws, "error")["message"]
        assert words in one_line(error)
        ws.send_json({"type": "reset"})                # the session still answers
        assert until(ws, "snapshot")["steps"] == 0


def upload(client, session, body, name="data.csv"):
    return client.post(f"/api/upload?session={session}&name={name}", content=body,
                       headers={"Content-Type": "text/csv"})


def test_an_upload_trains_and_reaches_the_socket(client):
    with client.websocket_connect("/ws") as ws:
        session = opened(ws)
        reply = upload(client, session, CSV3.encode())
        assert reply.status_code == 200, reply.text
        body = reply.json()
        assert body["ok"] and body["rows"] == 60 and body["target"] == "label"
        assert until(ws, "config")["config"]["dataset"] == "upload"
        assert until(ws, "points")["x_name"] == "a"
        assert until(ws, "snapshot")["layout"][0] == 3


def test_an_upload_may_name_its_target(client):
    with client.websocket_connect("/ws") as ws:
        session = opened(ws)
        reply = client.post(f"/api/upload?session={session}&name=d.csv&target=b",
                            content=CSV3.encode(), headers={"Content-Type": "text/csv"})
        assert reply.status_code == 200, reply.text
        assert reply.json()["target"] == "b" and reply.json()["columns"] == ["a", "c", "label"]
        reply = client.post(f"/api/upload?session={session}&name=d.csv&target=nope",
                            content=CSV3.encode(), headers={"Content-Type": "text/csv"})
        assert reply.status_code == 400 and "nope" in one_line(reply.json()["error"])


@pytest.mark.parametrize("body, status, words", [
    (b"x" * (MAX_UPLOAD + 1), 413, "2 MB"),
    (b"", 400, "empty"),
    (b"a,b,label\n1,hello,0\n2,3,1\n4,5,0\n", 400, "hello"),
])
def test_bad_uploads_get_one_line_messages(client, body, status, words):
    with client.websocket_connect("/ws") as ws:
        session = opened(ws)
        reply = upload(client, session, body)
        assert reply.status_code == status
        assert words in one_line(reply.json()["error"])
        ws.send_json({"type": "reset"})                # the session is unharmed
        assert until(ws, "snapshot")["layout"] == [2, 4, 2, 1]


def test_an_upload_for_no_session_is_refused(client):
    reply = upload(client, "nobody", CSV3.encode())
    assert reply.status_code == 404 and "reload" in one_line(reply.json()["error"])


def test_the_downloads(client, tmp_path):
    with client.websocket_connect("/ws") as ws:
        session = opened(ws)
        ws.send_json({"type": "step", "sample": 0})
        snap = until(ws, "snapshot")
        model = client.get(f"/api/export/{session}/model.ffbp")
        assert model.status_code == 200
        assert "model.ffbp" in model.headers["content-disposition"]
        path = tmp_path / "model.ffbp"
        path.write_bytes(model.content)
        net = ffbp.load(path)
        assert np.array_equal(net.layers[0].W.value, np.array(snap["weights"][0]))
        script = client.get(f"/api/export/{session}/train.py")
        assert script.status_code == 200 and "import ffbp" in script.text
        compile(script.text, "train.py", "exec")
    assert client.get(f"/api/export/{session}/model.ffbp").status_code == 404


def test_the_page_and_its_files_are_served(client):
    page = client.get("/")
    assert page.status_code == 200 and 'data-testid="boundary"' in page.text
    assert "http" not in page.text.replace("http://www.w3.org", "")    # nothing from elsewhere
    for name in ("app.js", "link.js", "network.js", "panels.js", "views.js", "style.css"):
        assert client.get(f"/static/{name}").status_code == 200


def test_data_preloads_every_session(tmp_path):
    path = tmp_path / "three.csv"
    path.write_text(CSV3)
    with TestClient(create_app(data=path, target="label")) as c, \
            c.websocket_connect("/ws") as ws:
        opened(ws)
        ws.send_json({"type": "reset"})
        assert until(ws, "snapshot")["features"] == ["a", "b", "c"]


def test_a_diverging_session_stops_playing_with_its_message(client):
    with client.websocket_connect("/ws") as ws:
        opened(ws)
        ws.send_json({"type": "configure", "changes": {
            "problem": "regression", "dataset": "plane", "activation": "relu",
            "learning_rate": 10, "hidden": [8, 8]}})
        until(ws, "snapshot")
        ws.send_json({"type": "play"})
        error = until(ws, "error")["message"]
        assert "diverged" in one_line(error)
        assert until(ws, "playing")["playing"] is False


def test_numbers_json_cannot_hold_are_sent_as_null():
    message = {"loss_train": float("nan"), "curve": [1.0, float("inf")], "epoch": 2.5}
    assert json.loads(dumps(message)) == {"loss_train": None, "curve": [1.0, None],
                                          "epoch": 2.5}
    assert dumps({"a": [0.5]}) == '{"a": [0.5]}'


def test_a_tab_dropped_while_playing_is_freed_without_an_error(factory, caplog):
    """A real server and a client that goes away while frames are being sent: the server
    frees the session quietly (no "Exception in ASGI application" in its log)."""
    import asyncio
    import logging

    require("uvicorn", "the playground's server runs under uvicorn")
    websockets = require("websockets", "a real WebSocket client, as the page speaks")
    app = create_app(factory)

    async def drop_while_playing(port):
        async with websockets.connect(f"ws://127.0.0.1:{port}/ws", max_size=None) as ws:
            await ws.send(json.dumps({"type": "play"}))
            seen = 0
            while seen < 3:                        # playing: frames are on their way
                seen += json.loads(await ws.recv())["type"] == "snapshot"
            await ws.send(json.dumps({"type": "pause"}))   # and leave at once

    with caplog.at_level(logging.ERROR), running(app, log_config=None) as (_, url):
        port = int(url.rstrip("/").rsplit(":", 1)[1])
        asyncio.run(drop_while_playing(port))
        deadline = time.monotonic() + 10
        while app.state.tabs:
            assert time.monotonic() < deadline, "the dropped tab's session is still held"
            time.sleep(0.05)
    assert len(factory.closed) == 1
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
