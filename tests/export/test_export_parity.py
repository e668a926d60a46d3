"""The parity check fails loudly when the artifact and the model disagree."""

import pathlib
import shutil

import keras
import numpy as np
import pytest

import keras_vit
from keras_vit.export import ParityError, api, check_artifact, load_artifact


def perturbed_copy(model, change_head):
    """A copy of `model` whose head `(kernel, bias)` went through `change_head`."""
    copy = type(model).from_config(model.get_config())
    copy.set_weights(model.get_weights())
    head = copy.head
    head.set_weights(change_head(*[np.array(w) for w in head.get_weights()]))
    return copy


def test_fp32_check_fails_when_model_moves_by_more_than_tolerance(exported, trained_model, fashion):
    path = exported("tflite").path
    assert check_artifact(trained_model, path, data=fashion["check"]).max_abs_diff <= 1e-4
    nudged = perturbed_copy(trained_model, lambda kernel, bias: [kernel, bias + 1e-3])
    with pytest.raises(ParityError, match=r"differs from the Keras model by up to 0\.001") as caught:
        check_artifact(nudged, path, data=fashion["check"])
    assert caught.value.report.max_abs_diff == pytest.approx(1e-3, rel=0.1)


def test_quantized_check_fails_when_top1_changes(exported, trained_model, fashion, min_top1_agreement):
    path = exported("tflite", "int8").path
    floor = min_top1_agreement["int8"]
    assert check_artifact(trained_model, path, "int8", fashion["check"], min_top1_agreement=floor).verified
    # Relabel the classes: the logits are the same numbers in a different order.
    relabelled = perturbed_copy(trained_model, lambda kernel, bias: [np.roll(kernel, 1, -1), np.roll(bias, 1)])
    with pytest.raises(ParityError, match="agrees with the Keras model on top-1 for 0.00%"):
        check_artifact(relabelled, path, "int8", fashion["check"], min_top1_agreement=floor)


def test_failed_check_keeps_the_existing_file_and_a_passed_one_replaces_it(
    exported, trained_model, fashion, tmp_path, monkeypatch
):
    # What `export` does around the check: the writer is replaced by a copy of a real export.
    written = exported("tflite").path
    monkeypatch.setattr(api, "write", lambda model, path, *args: shutil.copy(written, path))
    path = tmp_path / "model.tflite"
    path.write_bytes(b"previous export")

    with pytest.raises(ParityError, match="Nothing was written"):
        # No fp32 TFLite graph matches Keras to the last bit, so a zero tolerance must fail.
        keras_vit.export(trained_model, path, format="tflite", overwrite=True, max_abs_diff=0.0)
    assert path.read_bytes() == b"previous export"
    assert [p.name for p in tmp_path.iterdir()] == ["model.tflite"]  # no labels file, no staging folder left

    keras_vit.export(trained_model, path, format="tflite", overwrite=True, verify_data=fashion["check"])
    assert path.read_bytes()[4:8] == b"TFL3"  # the new flatbuffer, with its metadata
    np.testing.assert_allclose(load_artifact(path)(fashion["check"][:3]), load_artifact(written)(fashion["check"][:3]))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.labels.txt", "model.tflite"]


def test_deit_single_averaged_output_exports_unchanged(deit_model, fashion, tmp_path):
    report = keras_vit.export(deit_model, tmp_path / "deit.tflite", format="tflite", verify_data=fashion["check"])
    assert report.max_abs_diff <= 1e-4


def test_model_with_two_outputs_is_refused_before_any_work(deit_model, tmp_path):
    # A DeiT model's training form (class and distillation logits) has two outputs.
    two_heads = keras.Model(deit_model.inputs, [head.output for head in deit_model.heads])
    with pytest.raises(ValueError, match="one image input and one output"):
        keras_vit.export(two_heads, tmp_path / "two.tflite", format="tflite")
    assert not any(tmp_path.iterdir())
