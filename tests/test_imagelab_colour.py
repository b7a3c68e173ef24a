"""Colour pictures in the image lab: the generated shapes, CIFAR-10 read from its official python
batches (and nothing else a pickle could name), augmentation, colour inputs through the net and
the page's messages, and the pretrained network."""

from __future__ import annotations

import base64
import io
import pickle
import struct

import numpy as np
import pytest
import torch
from loopback import lab_until, receive_lab, router_client
from PIL import Image

from playground_models import netfile
from playground_models.imagelab import data as labdata
from playground_models.imagelab import inspection, pretrain, snapshot
from playground_models.imagelab.config import LabConfig
from playground_models.imagelab.session import network_file
from playground_models.imagelab.trainer import LabTrainer, augment
from server.imagelab import router

COLOUR_NET = "conv8k5p2-relu-maxpool2-fc10"


def test_the_shapes_are_seeded_colour_pictures_of_ten_classes():
    images, labels = labdata.shapes(600, np.random.default_rng(5))
    again, _ = labdata.shapes(600, np.random.default_rng(5))
    other, _ = labdata.shapes(600, np.random.default_rng(6))
    assert images.shape == (600, 3, 32, 32) and images.dtype == np.float32
    assert np.array_equal(images, again) and not np.array_equal(images, other)
    assert images.min() >= 0.0 and images.max() <= 1.0
    assert sorted(set(labels.tolist())) == list(range(10))
    # Warm classes (even) are redder than cool ones (odd) where the shape is: the centre third.
    centre = images[:, :, 11:21, 11:21].mean((2, 3))
    warm, cool = centre[labels % 2 == 0], centre[labels % 2 == 1]
    assert (warm[:, 0] - warm[:, 2]).mean() > 0.2 > (cool[:, 0] - cool[:, 2]).mean()


def test_colour_becomes_grey_for_a_grey_net_and_grey_colour_for_a_colour_net():
    pixel = np.array([0.2, 0.6, 1.0], dtype=np.float32).reshape(1, 3, 1, 1)
    grey = labdata.to_input(pixel, (1, 1, 1))
    assert float(grey) == pytest.approx(0.299 * 0.2 + 0.587 * 0.6 + 0.114 * 1.0)
    assert labdata.to_input(np.full((1, 2, 2), 0.5, np.float32), (3, 2, 2)).shape == (1, 3, 2, 2)


def test_augmentation_shifts_by_at_most_two_pixels_and_mirrors_about_half():
    x = torch.arange(64 * 36, dtype=torch.float32).reshape(64, 1, 6, 6) + 1
    out = augment(x, torch.Generator().manual_seed(0))
    assert torch.equal(out, augment(x, torch.Generator().manual_seed(0)))
    flips = 0
    for image, moved in zip(x[:, 0], out[:, 0], strict=True):
        found = [(dy, dx, f) for dy in range(-2, 3) for dx in range(-2, 3) for f in (0, 1)
                 if _shifted(image.flip(1) if f else image, dy, dx).equal(moved)]
        assert found, "every image is one shift of at most 2 px, mirrored or not"
        flips += found[0][2]
    assert 20 <= flips <= 44


def _shifted(image: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    padded = torch.nn.functional.pad(image, (2, 2, 2, 2))
    h, w = image.shape
    return padded[2 + dy: 2 + dy + h, 2 + dx: 2 + dx + w]


def test_an_augmented_run_is_reproducible_and_differs_from_a_plain_one():
    config = LabConfig(data="shapes", samples=300, net=COLOUR_NET, augment="on", seed="a")
    runs = []
    for c in (config, config, LabConfig(**{**config.to_dict(), "augment": "off"})):
        t = LabTrainer(c, torch.device("cpu"))
        t.step(5)
        runs.append(t.net[0].weight.detach().clone())
    assert torch.equal(runs[0], runs[1]) and not torch.equal(runs[0], runs[2])


# ------------------------------------------------------------------ CIFAR-10's python version


def _py2_pickle(data: np.ndarray, labels: list[int]) -> bytes:
    """A batch as CIFAR-10's own files are: a Python 2 pickle (protocol 2) of a dict with
    byte-string keys, the images a numpy uint8 array that names `numpy.core.multiarray`."""
    def string(b: bytes) -> bytes:  # Python 2's str: BINSTRING
        return b"T" + struct.pack("<i", len(b)) + b

    def pint(i: int) -> bytes:
        return b"J" + struct.pack("<i", i)

    array = (b"cnumpy.core.multiarray\n_reconstruct\n" + b"cnumpy\nndarray\n"
             + pint(0) + b"\x85" + string(b"b") + b"\x87R"  # _reconstruct(ndarray, (0,), 'b')
             + b"(" + pint(1) + pint(data.shape[0]) + pint(data.shape[1]) + b"\x86"
             + b"cnumpy\ndtype\n" + string(b"u1") + pint(0) + pint(1) + b"\x87R"
             + b"(" + pint(3) + string(b"|") + b"NNN" + pint(-1) + pint(-1) + pint(0) + b"tb"
             + b"\x89" + string(data.tobytes()) + b"tb")  # BUILD (1, shape, dtype, False, raw)
    items = (string(b"batch_label") + string(b"training batch 1 of 5")
             + string(b"labels") + b"](" + b"".join(pint(v) for v in labels) + b"e"
             + string(b"data") + array)
    return b"\x80\x02}(" + items + b"u."


@pytest.fixture
def cifar_dir(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(0)
    written = {}
    for name in ("data_batch_1", "data_batch_2", "test_batch"):
        data = rng.integers(0, 256, (4, 3072), dtype=np.uint8)
        labels = rng.integers(0, 10, 4).tolist()
        (folder / name).write_bytes(_py2_pickle(data, labels))
        written[name] = (data, labels)
    labdata.use_cifar_dir(tmp_path)  # the parent: the folder inside is found
    yield folder, written
    labdata.use_cifar_dir(None)


def test_cifar_batches_in_the_official_format_are_read_exactly(cifar_dir):
    folder, written = cifar_dir
    data, labels = written["data_batch_2"]
    images, read = labdata.read_cifar_batch(folder / "data_batch_2")
    assert read.tolist() == labels and images.shape == (4, 3, 32, 32)
    assert np.array_equal(images[2, 1].ravel(), data[2, 1024:2048])  # the green plane
    assert labdata.cifar_path() == folder and labdata.available()["cifar10"]
    every = {bytes(d): lab for d, ls in ((d, ls) for d, ls in written.values())
             for d, lab in zip(d, ls, strict=True)}
    split = labdata.load("cifar10", np.random.default_rng(1), samples=10)
    pictures = np.concatenate([split.train.images, split.val.images, split.test.images])
    labels_out = np.concatenate([split.train.labels, split.val.labels, split.test.labels])
    assert pictures.shape == (10, 3, 32, 32) and split.colour
    for picture, label in zip(pictures, labels_out, strict=True):
        raw = np.round(picture * 255).astype(np.uint8).reshape(-1).tobytes()
        assert every[raw] == label  # each picture is one of the written ones, with its label


def test_a_batch_that_names_anything_but_arrays_is_refused_unrun(tmp_path, cifar_dir):
    folder, _ = cifar_dir
    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    (folder / "data_batch_1").write_bytes(pickle.dumps({b"data": Evil(), b"labels": []}))
    with pytest.raises(labdata.CifarError, match="open is not part of a CIFAR-10 batch"):
        labdata.read_cifar_batch(folder / "data_batch_1")
    assert not marker.exists()
    (folder / "test_batch").write_bytes(b"\x80\x02}(T")  # cut short
    with pytest.raises(labdata.CifarError, match="test_batch: not a CIFAR-10 batch"):
        labdata.read_cifar_batch(folder / "test_batch")
    (folder / "test_batch").write_bytes(pickle.dumps(
        {b"data": np.zeros((2, 3072), np.uint8), b"labels": ["cat", None]}))
    with pytest.raises(labdata.CifarError, match="test_batch: not a CIFAR-10 batch .labels"):
        labdata.read_cifar_batch(folder / "test_batch")
    # An unreadable copy is unavailable data, which the lab answers as such (not `internal`).
    assert issubclass(labdata.CifarError, labdata.DataUnavailable)


def test_without_a_copy_cifar_is_unavailable_and_says_where_to_put_it(tmp_path, monkeypatch):
    monkeypatch.setattr(labdata, "CIFAR_PLACES", (tmp_path,))
    labdata.use_cifar_dir(None)
    assert labdata.cifar_path() is None and not labdata.available()["cifar10"]
    with pytest.raises(labdata.DataUnavailable, match="--lab-cifar-dir"):
        labdata.load("cifar10", np.random.default_rng(0))


# ------------------------------------------------------------------ a colour net, end to end


def test_a_colour_frame_shows_each_input_channel_and_colour_filters():
    t = LabTrainer(LabConfig(data="shapes", samples=300, net=COLOUR_NET), torch.device("cpu"))
    t.step(3)
    frame = snapshot.frame(t, 0.0, 0, 0, "paused", 0)
    inputs = frame["maps"][0]["maps"].array
    assert frame["maps"][0]["layer"] == 0 and inputs.shape == (3, 32, 32)
    assert not np.allclose(inputs[0], inputs[2])  # red and blue differ
    assert frame["filters"][0]["weights"].array.shape == (8, 3, 5, 5)
    assert inspection.example_images(t).shape == (16, 3, 32, 32)
    assert inspection.activation_maximization(t, 1, 0, steps=2)["image"].shape == (3, 32, 32)


def _png(picture: np.ndarray) -> str:
    out = io.BytesIO()
    Image.fromarray(picture).save(out, format="PNG")
    return base64.b64encode(out.getvalue()).decode()


def test_the_pretrained_network_reads_a_picture_of_a_warm_disc(monkeypatch):
    picture = np.full((90, 120, 3), (190, 195, 185), dtype=np.uint8)  # a disc on pale paper
    ys, xs = np.mgrid[0:90, 0:120]
    picture[(ys - 45) ** 2 + (xs - 60) ** 2 < 30**2] = (230, 120, 20)
    with router_client(router) as client, client.websocket_connect("/ws/lab") as ws:
        receive_lab(ws)
        ws.send_json({"type": "start", "url": f"data=shapes&samples=300&net={COLOUR_NET}"})
        lab_until(ws, "frame")
        ws.send_json({"type": "predict", "size": 28, "pixels": base64.b64encode(
            bytes(28 * 28)).decode()})
        refused = lab_until(ws, "error")
        assert refused["field"] == "pixels" and "colour pictures" in refused["message"]
        ws.send_json({"type": "load", "pretrained": "shapes"})
        config = lab_until(ws, "config")
        frame = lab_until(ws, "frame")
        assert config["config"]["data"] == "shapes" and config["config"]["augment"] == "on"
        assert config["classes"][0] == "warm disc" and config["warnings"] == []
        assert "shapes.netplay" in config["notice"]
        assert frame["test"]["acc"] > 0.8 and frame["epoch"] == pretrain.EPOCHS - 1
        ws.send_json({"type": "predict_file", "name": "sun.png", "data": _png(picture)})
        guess = lab_until(ws, "prediction")
        assert np.asarray(guess["seen"]["array"]).shape == (3, 32, 32)
        assert int(np.argmax(guess["probs"])) == 0  # warm disc


def test_the_pretrained_file_is_what_its_script_makes(monkeypatch):
    """Training is deterministic: one epoch twice gives the same file, and the shipped file
    holds the script's settings and architecture."""
    short = LabConfig(**{**pretrain.CONFIG.to_dict(), "samples": 300})
    monkeypatch.setattr(pretrain, "CONFIG", short)
    first, second = (network_file(pretrain.train(1, short)) for _ in range(2))
    assert first == second
    header, tensors = netfile.read(pretrain.PATH.read_bytes(), 10**6)
    assert header["config"] == pretrain.CONFIG.to_dict() | {"samples": 3000}
    assert tensors["0.weight"].shape == (16, 3, 5, 5)
