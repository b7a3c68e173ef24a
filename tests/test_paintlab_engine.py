"""The painting lab's engine without a server: the network's inputs, the pictures (the gallery
and a learner's files of every format, bad ones refused by name), determinism from the seed,
limits and links, and that training makes the picture like the photograph."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
import torch
from PIL import Image

from playground_models.paintlab.config import PaintConfig, PaintConfigError, parse_link
from playground_models.paintlab.headless import painter_for, run_updates
from playground_models.paintlab.limits import PaintLimits, update_macs
from playground_models.paintlab.painter import (
    Painter,
    coordinates,
    mean_colour_psnr,
    parameter_count,
)
from playground_models.paintlab.pictures import PictureError, decode_upload, gallery_picture

MB = 8_000_000
MP = 16_000_000


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


def _bytes(image: Image.Image, fmt: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **options)
    return out.getvalue()


def test_inputs_are_the_pixels_place_centred_then_fourier_features():
    x = coordinates(2, 4, 0)
    # Raster order; x = (column − w/2)/w, y = (row − h/2)/h, as ConvNetJS scales them.
    assert x[:, 0].tolist() == [-0.5, -0.25, 0.0, 0.25] * 2
    assert x[:, 1].tolist() == [-0.5] * 4 + [0.0] * 4
    f = coordinates(2, 4, 2).numpy()
    assert f.shape == (8, 10)
    u = f[:, 0]
    # Frequency i: sin and cos of 2^i·π·2u, x's pair then y's.
    np.testing.assert_allclose(f[:, 2], np.sin(2 * math.pi * u), atol=1e-6)
    np.testing.assert_allclose(f[:, 3], np.cos(2 * math.pi * u), atol=1e-6)
    np.testing.assert_allclose(f[:, 6], np.sin(4 * math.pi * u), atol=1e-6)
    np.testing.assert_allclose(f[:, 5], np.cos(2 * math.pi * f[:, 1]), atol=1e-6)


def test_the_gallery_photographs_ship_and_keep_their_shape():
    china, flower = gallery_picture("china", 200), gallery_picture("flower", 64)
    assert china.shape == (134, 200, 3) and flower.shape == (43, 64, 3)
    assert china.dtype == np.uint8 and not china.flags.writeable
    assert 9.0 < mean_colour_psnr(china) < 10.5  # a photograph: far from one colour
    with pytest.raises(PictureError, match="must be one of china, flower"):
        gallery_picture("cat", 64)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "BMP", "WEBP", "TIFF"])
def test_every_common_format_decodes_shrunk_to_the_size(fmt):
    picture = np.zeros((120, 300, 3), dtype=np.uint8)
    picture[:, :150] = (250, 10, 10)
    picture[:, 150:] = (10, 10, 250)
    image = Image.fromarray(picture)
    got = decode_upload(_bytes(image, fmt), 100, MB, MP)
    assert got.shape == (40, 100, 3)
    assert np.abs(got[20, 10].astype(int) - (250, 10, 10)).max() < 40
    assert np.abs(got[20, 90].astype(int) - (10, 10, 250)).max() < 40


def test_a_phone_photo_stands_as_taken_and_grey_or_animated_pictures_become_rgb():
    wide = Image.fromarray(np.full((20, 60, 3), 200, dtype=np.uint8))
    exif = wide.getexif()
    exif[0x0112] = 6  # "rotate 90° clockwise to view"
    assert decode_upload(_bytes(wide, "JPEG", exif=exif), 256, MB, MP).shape == (60, 20, 3)
    grey = Image.fromarray(np.full((10, 10), 77, dtype=np.uint8), "L")
    assert tuple(decode_upload(_bytes(grey, "PNG"), 256, MB, MP)[5, 5]) == (77, 77, 77)
    frames = [Image.new("RGB", (8, 8), c) for c in ((255, 0, 0), (0, 0, 255))]
    gif = io.BytesIO()
    frames[0].save(gif, format="GIF", save_all=True, append_images=frames[1:])
    assert tuple(decode_upload(gif.getvalue(), 256, MB, MP)[4, 4]) == (255, 0, 0)  # the first


def test_bad_files_are_refused_with_what_was_wrong():
    png = _bytes(Image.new("RGB", (50, 50), (1, 2, 3)), "PNG")
    cases = [
        (b"", "the file is empty"),
        (b"%PDF-1.4 not a picture", "not a picture this server can read (JPEG, PNG, GIF"),
        (png, "the file is 0.0 MB; this server takes pictures of up to 0.0 MB"),
        (png[: len(png) // 2], "damaged or cut short"),
        (_bytes(Image.new("RGB", (50, 50)), "ICO"), "ICO pictures are not taken"),
    ]
    for data, says in cases:
        limit = 40 if data == png else MB
        with pytest.raises(PictureError, match=says.replace("(", r"\(")) as err:
            decode_upload(data, 64, limit, MP)
        assert err.value.key == "picture"
    with pytest.raises(PictureError, match=r"100 × 100 pixels; this server takes up to 0\.005"):
        decode_upload(_bytes(Image.new("RGB", (100, 100)), "PNG"), 64, MB, 5_000)


def test_the_same_seed_paints_the_same_picture_and_another_seed_another():
    def painted(seed: str) -> np.ndarray:
        painter = painter_for(PaintConfig(size=32, layers="8,8", seed=seed))
        painter.train(30)
        return painter.paint()

    first = painted("4")
    assert np.array_equal(first, painted("4"))
    assert not np.array_equal(first, painted("5"))


def test_training_makes_the_picture_recognisably_the_photograph():
    # The default link (the temple, 200 pixels across, 7 × 20 ReLU, Adam 0.003, 100 pixels an
    # update): 1,500 updates, about 5 s here, lift the PSNR well past the picture's one colour.
    records = list(run_updates(PaintConfig(), 1500, every=1500))
    baseline, last = records[0]["baseline_psnr"], records[-1]
    assert records[0]["psnr"] < baseline
    assert last["updates"] == 1500 and last["pixels"] == 150_000
    assert last["psnr"] > baseline + 6.0, (baseline, last)


def test_fourier_features_paint_finer_detail_in_the_same_updates():
    plain = list(run_updates(PaintConfig(size=48, seed="2"), 300, every=300))[-1]
    fourier = list(run_updates(PaintConfig(size=48, seed="2", fourier=4), 300, every=300))[-1]
    assert fourier["psnr"] > plain["psnr"] + 1.0, (plain, fourier)


def test_live_changes_keep_the_weights_and_weight_decay_spares_the_biases():
    painter = painter_for(PaintConfig(size=16, layers="4"))
    painter.train(5)
    weights = [w.detach().clone() for w in painter.weights]
    painter.update(painter.config.with_changes({"learningRate": 1e-5, "weightDecay": 0.5}))
    assert all(torch.equal(a, b) for a, b in zip(weights, painter.weights, strict=True))
    decays = [g["weight_decay"] for g in painter.optimizer.param_groups]
    assert decays == [0.5, 0.0] and painter.optimizer.param_groups[0]["lr"] == 1e-5
    painter.update(painter.config.with_changes({"optimizer": "sgd", "learningRate": 0.01}))
    assert type(painter.optimizer).__name__ == "SGD"


def test_a_learning_rate_too_high_diverges_and_stops():
    painter = Painter(PaintConfig(size=16, layers="32,32", optimizer="sgd", learningRate=1.0,
                                  activation="tanh"), gallery_picture("china", 16))
    painter.train(300)
    assert painter.diverged and painter.updates == 8  # it stops as the loss passes 1e4
    assert painter.paint().shape == (11, 16, 3)  # and still paints (NaN as black)


def test_a_loss_that_explodes_but_stays_finite_is_diverged_too():
    # Adam at a learning rate of 1 sends the loss past 1e4 in two updates; it would go on to
    # 1e27 and a white picture with no word said.
    painter = Painter(PaintConfig(size=32, layers="32,32", optimizer="adam", learningRate=1.0),
                      gallery_picture("china", 32))
    painter.train(300)
    assert painter.diverged and painter.updates == 2


def test_limits_and_links():
    c = PaintConfig()
    assert parameter_count(c) == 2 * 20 + 20 + 6 * (21 * 20) + 21 * 3 == 2643
    assert update_macs(c) == 3 * 100 * (parameter_count(c) - 143)
    limits = PaintLimits()
    limits.check(c)
    with pytest.raises(PaintConfigError, match="116,355 weights and biases") as err:
        limits.check(c.with_changes({"layers": ",".join(["128"] * 8)}))
    assert err.value.key == "layers"
    with pytest.raises(PaintConfigError) as err:
        limits.check(c.with_changes({"layers": "128,128", "batchSize": 1000}))
    assert err.value.key == "batchSize"
    config, warnings = parse_link("picture=flower&size=999&layers=0&fourier=3&zoom=2")
    assert (config.picture, config.size, config.layers, config.fourier) == (
        "flower", 200, c.layers, 3)
    assert [w.split(":")[0] for w in warnings] == ["size", "layers", "unknown key 'zoom' ignored"]
    assert PaintConfig(weightDecay=0.0).query.endswith("&weightDecay=0&seed=1")
