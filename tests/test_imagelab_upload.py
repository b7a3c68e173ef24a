"""The image lab's files from the computer: a picture to classify (decoded, made grey and
ink-bright, centred and sized as a drawing is), and a network saved and loaded again; bad files
are named and change nothing."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from loopback import lab_until, receive_lab, router_client
from PIL import Image

from playground_models.imagelab.session import as_ink
from server.imagelab import router

SMALL = "in8x8x1-conv8k3p1-relu-maxpool2-fc10"


@pytest.fixture(scope="module")
def client():
    with router_client(router) as c:
        yield c


def _b64(image: Image.Image, fmt: str = "PNG") -> str:
    out = io.BytesIO()
    image.save(out, format=fmt)
    return base64.b64encode(out.getvalue()).decode()


def test_a_digit_on_paper_becomes_bright_ink_on_dark():
    paper = np.full((40, 40, 3), 235, dtype=np.uint8)  # off-white paper, dark-blue ink
    paper[8:32, 18:22] = (20, 30, 90)
    ink = as_ink(paper)
    assert ink[20, 20] == pytest.approx(1.0) and ink[2, 2] == pytest.approx(0.0)
    screen = np.zeros((40, 40, 3), dtype=np.uint8)  # already light ink on dark: kept
    screen[8:32, 18:22] = 200
    assert as_ink(screen)[20, 20] == pytest.approx(1.0) and as_ink(screen)[2, 2] == 0.0
    assert not as_ink(np.full((9, 9, 3), 128, dtype=np.uint8)).any()  # one colour: no ink


def test_a_photo_of_a_digit_on_paper_is_seen_as_its_drawing_and_read(client):
    stroke = np.zeros((28, 28), dtype=np.uint8)
    stroke[4:24, 12:16] = 255  # a "1", as the drawing pad sends it
    # The same stroke as a photo might have it: black ink on white paper, 10 times larger,
    # with a margin, as a JPEG.
    paper = Image.fromarray(255 - np.kron(stroke, np.ones((10, 10), dtype=np.uint8)))
    framed = Image.new("L", (400, 340), 255)
    framed.paste(paper, (60, 30))
    with client.websocket_connect("/ws/lab") as ws:
        hello = receive_lab(ws)
        assert hello["limits"]["max_upload_bytes"] == 4_000_000
        ws.send_json({"type": "start", "url": f"net={SMALL}&seed=3"})
        lab_until(ws, "frame")
        ws.send_json({"type": "step", "n": 150})
        lab_until(ws, "frame")
        ws.send_json({"type": "predict", "size": 28,
                      "pixels": base64.b64encode(stroke.tobytes()).decode()})
        drawn = lab_until(ws, "prediction")
        ws.send_json({"type": "predict_file", "name": "one.jpg", "id": 4,
                      "data": _b64(framed.convert("RGB"), "JPEG")})
        photo = lab_until(ws, "prediction")
        assert photo["file"] == "one.jpg" and photo["id"] == 4 and "file" not in drawn
        seen_photo = np.asarray(photo["seen"]["array"], dtype=float)
        seen_drawn = np.asarray(drawn["seen"]["array"], dtype=float)
        assert seen_photo.shape == seen_drawn.shape == (8, 8)
        # Centred and sized alike: the same pixels inked (the photo's edges are softer).
        assert np.array_equal(seen_photo > 0.3, seen_drawn > 0.3)
        assert np.corrcoef(seen_photo.ravel(), seen_drawn.ravel())[0, 1] > 0.95
        assert np.argmax(photo["probs"]) == 1 and max(photo["probs"]) > 0.5  # read as a "1"


@pytest.mark.parametrize(("data", "says"), [
    (base64.b64encode(b"%PDF-1.4").decode(), "not a picture this server can read"),
    ("***", "not base64"),
    (_b64(Image.new("RGB", (5000, 4000))), "this server takes up to 16 megapixels"),
])
def test_a_file_that_cannot_be_used_is_named_and_the_session_goes_on(client, data, says):
    with client.websocket_connect("/ws/lab") as ws:
        receive_lab(ws)
        ws.send_json({"type": "start", "url": f"net={SMALL}&seed=3"})
        lab_until(ws, "frame")
        ws.send_json({"type": "predict_file", "name": "x", "data": data})
        error = lab_until(ws, "error")
        assert error["field"] == "file" and says in error["message"], error
        ws.send_json({"type": "step", "n": 1})
        assert lab_until(ws, "frame")["steps"] == 1


def _network(ws) -> bytes:
    ws.send_json({"type": "save"})
    kept = lab_until(ws, "network")
    assert kept["name"].endswith(".netplay")
    return base64.b64decode(kept["data"])


def test_a_saved_network_loads_in_another_session_and_goes_on_training(client):
    with client.websocket_connect("/ws/lab") as ws:
        receive_lab(ws)
        ws.send_json({"type": "start", "url": f"net={SMALL}&seed=5&learningRate=0.01"})
        lab_until(ws, "frame")
        ws.send_json({"type": "step", "n": 40})
        trained = lab_until(ws, "frame")
        kept = _network(ws)
    assert kept.startswith(b"NETPLAY-NET\n")
    with client.websocket_connect("/ws/lab") as ws:
        receive_lab(ws)
        ws.send_json({"type": "start", "url": "seed=9"})  # another net, another seed
        lab_until(ws, "frame")
        ws.send_json({"type": "load", "name": "mine.netplay",
                      "data": base64.b64encode(kept).decode()})
        config = lab_until(ws, "config")
        assert config["config"]["net"] == SMALL and config["config"]["seed"] == "5"
        assert config["config"]["learningRate"] == 0.01
        assert "mine.netplay" in config["notice"] and config["warnings"] == []
        loaded = lab_until(ws, "frame")
        assert loaded["steps"] == 40 and loaded["examples"] == trained["examples"]
        assert loaded["test"] == trained["test"]  # the same weights: the same test loss
        assert _network(ws) == kept  # and saved again, the same bytes
        ws.send_json({"type": "step", "n": 5})
        assert lab_until(ws, "frame")["steps"] == 45


def test_a_network_file_that_does_not_fit_is_refused_and_changes_nothing(client):
    from playground_models import netfile

    with client.websocket_connect("/ws/lab") as ws:
        receive_lab(ws)
        ws.send_json({"type": "start", "url": f"net={SMALL}&seed=5"})
        lab_until(ws, "frame")
        kept = _network(ws)
        header, tensors = netfile.read(kept, 10**7)
        name = next(iter(tensors))
        bad_shape = dict(tensors, **{name: np.zeros((3, 3), dtype=np.float32)})
        other_lab = netfile.write("paint", header["config"], "", {}, tensors)
        cases = [
            (b"GIF89a not a network", "not a netplay network file"),
            (kept[:60], "damaged or cut short"),
            (kept[:-8], "damaged or cut short"),
            (netfile.write("image", header["config"], "", {}, bad_shape),
             f"{name} is [3, 3], the network needs"),
            (other_lab, "saved in the paint lab"),
            (netfile.write("image", {**header["config"], "batchSize": -4}, "", {}, tensors),
             "batchSize: "),
        ]
        for data, says in cases:
            ws.send_json({"type": "load", "data": base64.b64encode(data).decode()})
            error = lab_until(ws, "error")
            assert error["field"] == "file" and says in error["message"], (says, error)
        ws.send_json({"type": "step", "n": 1})
        frame = lab_until(ws, "frame")
        assert frame["steps"] == 1 and frame["version"] == 1  # the same session, untouched
