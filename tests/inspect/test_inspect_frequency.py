import numpy as np
import pytest

from keras_vit.inspect import (
    feature_map_variance,
    frequency_analysis,
    log_amplitude_spectrum,
    relative_log_amplitude,
)

FLOOR = np.log(1e-6)  # log of the amplitude floor: an empty frequency


def checkerboard(size):
    rows, cols = np.indices((size, size))
    return ((-1.0) ** (rows + cols))[None, :, :, None]


def test_constant_map_has_no_high_frequency_energy():
    constant = np.full((2, 8, 8, 3), 5.0)
    spectrum, _, _ = log_amplitude_spectrum(constant)
    off_dc = np.delete(spectrum.ravel(), 4 * 8 + 4)  # index (4, 4) is frequency (0, 0)
    np.testing.assert_allclose(off_dc, FLOOR, atol=1e-6)
    assert spectrum[4, 4] == pytest.approx(np.log(5.0 * 64))
    frequencies, values = relative_log_amplitude(constant)
    np.testing.assert_allclose(frequencies / np.pi, [0, 0.25, 0.5, 0.75, 1.0])
    np.testing.assert_allclose(values[1:], FLOOR - np.log(5.0 * 64), atol=1e-6)
    assert feature_map_variance(constant) == 0.0


def test_checkerboard_is_all_at_pi():
    frequencies, values = relative_log_amplitude(checkerboard(8))
    assert frequencies[-1] == pytest.approx(np.pi)
    assert np.argmax(values) == len(values) - 1
    np.testing.assert_allclose(values[-1], np.log(64.0) - FLOOR, atol=1e-6)
    np.testing.assert_allclose(values[:-1], 0.0, atol=1e-6)  # everything else is as empty as frequency 0
    assert feature_map_variance(checkerboard(8)) == pytest.approx(1.0)


def test_odd_grids_stop_below_pi():
    frequencies, values = relative_log_amplitude(np.random.default_rng(0).normal(size=(1, 7, 7, 2)))
    np.testing.assert_allclose(frequencies / np.pi, [0, 2 / 7, 4 / 7, 6 / 7])
    assert values[0] == 0.0


def test_a_wave_lands_on_its_frequency():
    cols = np.arange(8)
    wave = np.broadcast_to(np.cos(np.pi / 2 * cols), (1, 8, 8))[..., None]  # frequency pi/2 along x only
    spectrum, frequencies_y, frequencies_x = log_amplitude_spectrum(wave)
    peak = np.unravel_index(np.argmax(spectrum), spectrum.shape)
    assert frequencies_y[peak[0]] == 0 and abs(frequencies_x[peak[1]]) == pytest.approx(np.pi / 2)


def test_vit_analysis(vit, images):
    analysis = frequency_analysis(vit, images)
    assert analysis["layer_names"] == ["patch_encoder", "block_0", "block_1"]
    np.testing.assert_allclose(analysis["depth"], [0, 0.5, 1])
    assert [len(curve) for curve in analysis["relative_log_amplitude"]] == [3, 3, 3]  # 4x4 grid: 0, pi/2, pi
    np.testing.assert_allclose(analysis["delta_log_amplitude"], [c[-1] for c in analysis["relative_log_amplitude"]])
    assert analysis["variance"].shape == (3,) and np.all(analysis["variance"] > 0)


def test_cnn_analysis(cnn, images):
    analysis = frequency_analysis(cnn, images, ["conv_0", "conv_1"])
    assert [len(f) for f in analysis["frequencies"]] == [9, 5]  # 16x16 and 8x8 maps
    assert np.all(np.isfinite(analysis["delta_log_amplitude"]))


def test_clear_errors(cnn, vit, images):
    with pytest.raises(ValueError, match=r"declares no feature_layers \(it is not a keras_vit model\); pass layer_names"):
        frequency_analysis(cnn, images)
    with pytest.raises(ValueError, match=r"\['conv_9'\] are not in model 'cnn'"):
        frequency_analysis(cnn, images, ["conv_0", "conv_9"])
    with pytest.raises(ValueError, match="Layer 'pool' outputs shape"):
        frequency_analysis(cnn, images, ["pool"])
    with pytest.raises(ValueError, match="square feature maps"):
        relative_log_amplitude(np.ones((1, 4, 6, 1)))
