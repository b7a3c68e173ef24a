"""Dataset generation: TF Playground's generators, netplay's extra sets, and the split rules."""

from __future__ import annotations

import numpy as np
import pytest

from playground_models.datasets import (
    DataSplit,
    blob_centres,
    checker_class,
    generate,
    reg_gauss_target,
    spiral,
)
from playground_models.experiment import ConfigError, Experiment


def all_points(split: DataSplit) -> tuple[np.ndarray, np.ndarray]:
    return np.concatenate([split.train_x, split.test_x]), np.concatenate(
        [split.train_y, split.test_y]
    )


def regression(name: str, **kw: object) -> Experiment:
    return Experiment(problem="regression", regDataset=name, **kw)


# --- TF Playground's sets -------------------------------------------------------------------


def test_circle_without_noise_separates_classes_by_radius() -> None:
    x, y = all_points(generate(Experiment(dataset="circle")))
    r = np.hypot(x[:, 0], x[:, 1])
    assert len(x) == 500 and np.sum(y == 1) == 250
    assert r[y == 1].max() < 2.5
    assert r[y == 0].min() >= 3.5 and r[y == 0].max() <= 5.0


def test_circle_noise_flips_labels_but_does_not_move_points() -> None:
    quiet = generate(Experiment(dataset="circle"))
    noisy = generate(Experiment(dataset="circle", noise=50))
    np.testing.assert_array_equal(quiet.train_x, noisy.train_x)
    changed = np.mean(quiet.train_y != noisy.train_y)
    assert 0.05 < changed < 0.5


def test_xor_labels_are_the_sign_of_the_product_with_a_gap_at_the_axes() -> None:
    x, y = all_points(generate(Experiment(dataset="xor")))
    np.testing.assert_array_equal(y, (x[:, 0] * x[:, 1] >= 0).astype(np.int64))
    assert np.abs(x).min() >= 0.3 and np.abs(x).max() <= 5.3


def test_gauss_blobs_centre_on_two_two_and_minus_two_minus_two() -> None:
    x, y = all_points(generate(Experiment(dataset="gauss", numSamples=2000)))
    np.testing.assert_allclose(x[y == 1].mean(axis=0), [2, 2], atol=0.15)
    np.testing.assert_allclose(x[y == 0].mean(axis=0), [-2, -2], atol=0.15)
    # TF's variance 0.5 at noise 0 and 4 at noise 50 %.
    assert x[y == 1].var(axis=0) == pytest.approx([0.5, 0.5], rel=0.15)
    wide, wy = all_points(generate(Experiment(dataset="gauss", numSamples=2000, noise=50)))
    assert wide[wy == 1].var(axis=0) == pytest.approx([4, 4], rel=0.15)


def test_spiral_radius_grows_with_generation_index() -> None:
    # The generator itself, before the shuffle: generation order is what `removed` refers to.
    x, y = spiral(np.random.default_rng(0), 500, 0.0, 2)
    r = np.hypot(x[:, 0], x[:, 1])
    assert np.all(np.diff(r[:250]) > 0) and np.all(np.diff(r[250:]) > 0)
    np.testing.assert_allclose(r[[0, 125, 249]], [0, 2.5, 249 / 250 * 5])
    assert np.all(y[:250] == 1) and np.all(y[250:] == 0)
    # The second arm is the first turned by π.
    np.testing.assert_allclose(x[250:], -x[:250], atol=1e-12)


def test_reg_plane_target_is_the_scaled_sum() -> None:
    split = generate(regression("reg-plane"))
    np.testing.assert_allclose(split.train_y, split.train_x.sum(axis=1) / 10)
    assert split.num_classes == 1 and split.train_y.dtype == np.float64


def test_reg_gauss_peaks_at_the_bump_centres_and_vanishes_between() -> None:
    centres = np.array([[-4, 2.5], [0, 2.5], [4, -2.5], [0, 0], [-4, 0.5]])
    np.testing.assert_allclose(reg_gauss_target(centres), [1, -1, -1, 0, 0])
    split = generate(regression("reg-gauss"))
    np.testing.assert_allclose(split.train_y, reg_gauss_target(split.train_x))
    assert np.abs(split.train_y).max() <= 1


def test_reg_sine_is_x_sin_x_over_five_on_a_line() -> None:
    split = generate(regression("reg-sine"))
    assert split.one_d
    assert np.all(split.train_x[:, 1] == 0) and np.all(split.test_x[:, 1] == 0)
    x1 = split.train_x[:, 0]
    np.testing.assert_allclose(split.train_y, x1 * np.sin(x1) / 5)
    assert x1.min() >= -6 and x1.max() <= 6


def test_reg_sine_noise_is_label_noise_only() -> None:
    quiet = generate(regression("reg-sine"))
    noisy = generate(regression("reg-sine", noise=40))
    np.testing.assert_array_equal(quiet.train_x, noisy.train_x)
    residual = noisy.train_y - quiet.train_y
    assert residual.std() == pytest.approx(0.2, rel=0.2)  # 0.5 · noise


# --- netplay's sets -------------------------------------------------------------------------


def test_checkerboard_has_four_by_four_alternating_cells() -> None:
    x, y = all_points(generate(Experiment(dataset="checkerboard", numSamples=4000)))
    cells = np.floor((x + 6) / 3).astype(int)
    assert set(map(tuple, cells)) == {(i, j) for i in range(4) for j in range(4)}
    for i in range(4):
        for j in range(4):
            in_cell = y[(cells[:, 0] == i) & (cells[:, 1] == j)]
            assert np.all(in_cell == in_cell[0])
            assert in_cell[0] == (1 if (i + j) % 2 == 0 else 0)
    assert checker_class(np.array([[-5.0, -5.0], [-2.0, -5.0], [5.0, 5.0]])).tolist() == [1, 0, 1]


def test_blobs_has_num_classes_clusters_on_a_circle() -> None:
    x, y = all_points(generate(Experiment(dataset="blobs", numClasses=5, numSamples=1000)))
    assert sorted(np.unique(y).tolist()) == [0, 1, 2, 3, 4]
    assert np.bincount(y).tolist() == [200] * 5
    for c, centre in enumerate(blob_centres(5)):
        np.testing.assert_allclose(x[y == c].mean(axis=0), centre, atol=0.2)
    np.testing.assert_allclose(np.hypot(*blob_centres(5).T), 4.0)


def test_spiral3_has_three_balanced_arms() -> None:
    split = generate(Experiment(dataset="spiral3", numSamples=300))
    assert split.num_classes == 3
    _, y = all_points(split)
    assert np.bincount(y).tolist() == [100, 100, 100]


def test_moons_fill_the_domain_and_interleave() -> None:
    x, y = all_points(generate(Experiment(dataset="moons")))
    assert x[:, 0].min() < -4.5 and x[:, 0].max() > 4.5
    assert np.abs(x).max() <= 6
    # Class 0 is the upper arc, class 1 the lower one, but they overlap in x₁.
    assert x[y == 0, 1].mean() > x[y == 1, 1].mean()
    assert x[y == 1, 0].min() < x[y == 0, 0].max()


def test_random_labels_are_balanced_coin_flips_over_the_domain() -> None:
    x, y = all_points(generate(Experiment(dataset="random", numSamples=2000)))
    assert abs(np.mean(y) - 0.5) < 0.05
    assert np.abs(x).max() <= 5
    # Noise has nothing to add to pure noise.
    same = all_points(generate(Experiment(dataset="random", numSamples=2000, noise=80)))
    np.testing.assert_array_equal(y, same[1])


@pytest.mark.parametrize(
    "name", ["circle", "xor", "gauss", "spiral", "moons", "checkerboard", "blobs", "spiral3"]
)
def test_every_classification_set_has_int_labels_in_range(name: str) -> None:
    exp = Experiment(dataset=name, noise=30)
    split = generate(exp)
    assert split.train_y.dtype == np.int64 and split.train_x.dtype == np.float64
    assert split.num_classes == exp.num_classes and not split.one_d
    _, y = all_points(split)
    assert set(np.unique(y).tolist()) == set(range(exp.num_classes))
    assert len(split.train_x) + len(split.test_x) == 500


# --- split, edits and noise controls --------------------------------------------------------


@pytest.mark.parametrize(("perc", "n", "train"), [(50, 500, 250), (10, 500, 50), (90, 55, 50)])
def test_train_share_follows_perc_train_data(perc: int, n: int, train: int) -> None:
    split = generate(Experiment(percTrainData=perc, numSamples=n))
    assert len(split.train_x) == train and len(split.test_x) == n - train


def test_half_a_point_rounds_up_in_the_split() -> None:
    split = generate(Experiment(percTrainData=50, numSamples=51))
    assert len(split.train_x) == 26 and len(split.test_x) == 25


def test_removed_indices_drop_those_generated_points() -> None:
    full = generate(Experiment(dataset="spiral3", numSamples=300))
    x, _ = all_points(full)
    cut = generate(Experiment(dataset="spiral3", numSamples=300, removed=[0, 150, 299, 9999]))
    xc, yc = all_points(cut)
    assert len(xc) == 297
    # spiral3's first point of each arm sits at the origin; index 0 was one of them.
    assert np.sum(np.all(x == 0, axis=1)) == 3 and np.sum(np.all(xc == 0, axis=1)) == 2
    # Every surviving point is an original point, and the dropped ones are gone.
    original = {tuple(p) for p in x}
    assert all(tuple(p) in original for p in xc)
    assert np.bincount(yc).tolist() == [99, 99, 99]


def test_removing_everything_names_the_removed_key() -> None:
    with pytest.raises(ConfigError) as err:
        generate(Experiment(numSamples=50, removed=list(range(49))))
    assert err.value.key == "removed"


def test_label_flip_changes_exactly_that_fraction_of_training_labels() -> None:
    for name in ("circle", "blobs"):
        clean = generate(Experiment(dataset=name))
        flipped = generate(Experiment(dataset=name, labelFlip=0.2))
        np.testing.assert_array_equal(clean.train_x, flipped.train_x)
        assert np.sum(clean.train_y != flipped.train_y) == 50  # 20 % of 250
        np.testing.assert_array_equal(clean.test_y, flipped.test_y)
        assert flipped.train_y.max() < clean.num_classes


def test_jitter_moves_points_by_its_standard_deviation() -> None:
    clean = generate(Experiment(dataset="circle", numSamples=2000))
    shaken = generate(Experiment(dataset="circle", numSamples=2000, jitter=0.5))
    shift = shaken.train_x - clean.train_x
    assert shift.std() == pytest.approx(0.5, rel=0.1)
    np.testing.assert_array_equal(clean.train_y, shaken.train_y)


def test_jitter_keeps_a_one_d_curve_on_its_line() -> None:
    split = generate(regression("reg-sine", jitter=1.0))
    assert np.all(split.train_x[:, 1] == 0)


def test_user_points_are_appended_to_training() -> None:
    exp = Experiment(dataset="circle", points=[(1.0, 2.0, 1), (-3.5, 0.25, 0)])
    split = generate(exp)
    base = generate(Experiment(dataset="circle"))
    assert len(split.train_x) == 252
    np.testing.assert_array_equal(split.train_x[:250], base.train_x)
    np.testing.assert_array_equal(split.train_x[250:], [[1.0, 2.0], [-3.5, 0.25]])
    assert split.train_y[250:].tolist() == [1, 0] and split.train_y.dtype == np.int64


def test_user_points_of_a_one_d_curve_keep_their_target() -> None:
    split = generate(regression("reg-sine", points=[(2.0, 1.5, 0.75)]))
    np.testing.assert_array_equal(split.train_x[-1], [2.0, 0.0])
    assert split.train_y[-1] == 0.75


# --- determinism ----------------------------------------------------------------------------


def test_same_experiment_gives_bit_identical_data() -> None:
    exp = Experiment(dataset="moons", noise=25, jitter=0.3, labelFlip=0.1, seed="abc")
    a, b = generate(exp), generate(exp)
    for field in ("train_x", "train_y", "test_x", "test_y"):
        assert getattr(a, field).tobytes() == getattr(b, field).tobytes()


def test_non_data_parameters_never_change_the_data() -> None:
    base = generate(Experiment(dataset="spiral", noise=10))
    other = generate(
        Experiment(
            dataset="spiral",
            noise=10,
            learningRate=0.3,
            batchSize=1,
            networkShape=[8, 8, 8],
            activation="relu",
            optimizer="adam",
            dropout=0.5,
            knn=5,
        )
    )
    for field in ("train_x", "train_y", "test_x", "test_y"):
        assert getattr(base, field).tobytes() == getattr(other, field).tobytes()


def test_another_seed_gives_other_data() -> None:
    a = generate(Experiment(seed="1"))
    b = generate(Experiment(seed="2"))
    assert not np.array_equal(a.train_x, b.train_x)


def test_row_indices_name_the_generated_point_that_removed_deletes():
    exp = Experiment(points=((1.0, 1.0, 1),), seed="idx")
    split = generate(exp)
    assert split.train_index[-1] == -1  # the hand-placed point has no generation index
    target = split.train_x[3]
    after = generate(exp.replace(removed=(int(split.train_index[3]),)))
    remaining = np.concatenate([after.train_x, after.test_x])
    assert len(remaining) == len(split.train_x) + len(split.test_x) - 1
    assert not np.any(np.all(remaining == target, axis=1))
    assert sorted(split.test_index.tolist() + split.train_index[:-1].tolist()) == list(range(500))


def test_removing_a_point_leaves_every_other_point_on_its_side_of_the_split():
    # Removing training point 276 of gauss must not move a far-away test point into training.
    exp = Experiment(dataset="gauss", seed="1", labelFlip=0.1)
    before = generate(exp)
    gone = int(before.train_index[0])
    after = generate(exp.replace(removed=(gone,)))
    assert after.train_index.tolist() == [i for i in before.train_index.tolist() if i != gone]
    assert after.test_index.tolist() == before.test_index.tolist()
    # The flipped labels stay the same points' labels.
    kept = before.train_index != gone
    assert np.array_equal(after.train_y, before.train_y[kept])
    assert np.array_equal(after.train_x, before.train_x[kept])


def test_removing_every_test_point_names_the_removed_key():
    split = generate(Experiment(numSamples=50))
    with pytest.raises(ConfigError) as err:
        generate(Experiment(numSamples=50, removed=tuple(int(i) for i in split.test_index)))
    assert err.value.key == "removed"
