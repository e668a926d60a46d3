"""recipes/cnn_vs_vit_vs_deit.py end to end on a few real Fashion-MNIST images."""

import json

import numpy as np
import pytest
from script_module import load_script

pytestmark = pytest.mark.one_backend("torch")

comparison = load_script("recipes/cnn_vs_vit_vs_deit.py")


@pytest.fixture(scope="module")
def few_fashion_mnist(data_dir, tmp_path_factory):
    from keras_vit.data import write_fashion_mnist_subset

    folder = tmp_path_factory.mktemp("few-fashion-mnist")
    return write_fashion_mnist_subset(data_dir / "fashion-mnist", folder, num_train=64, num_test=32)


def test_distilled_name():
    assert comparison.distilled_name("vit_nano_patch4_28") == "deit_nano_distilled_patch4_28"


def test_comparison_trains_five_models_and_writes_the_table(few_fashion_mnist, tmp_path):
    rows = comparison.main(
        ["--data", "fashion_mnist_idx", "--data-dir", str(few_fashion_mnist), "--epochs", "1",
         "--batch-size", "32", "--out", str(tmp_path)]
    )  # fmt: skip

    assert [row["model"].split(" ")[0] for row in rows] == ["CNN", "ViT", "DeiT", "Swin", "Hybrid"]
    for row in rows:
        assert 0.0 <= row["test_accuracy"] <= 1.0 and row["parameters"] > 0
        assert row["train_images_per_second"] > 0 and row["batch1_latency_ms"] > 0
    # The DeiT student has the ViT's blocks plus a distillation token and a second head.
    assert rows[2]["parameters"] > rows[1]["parameters"]
    saved = json.loads((tmp_path / "comparison.json").read_text())
    assert saved["rows"] == rows
    assert "| model |" in (tmp_path / "comparison.md").read_text()
    assert (tmp_path / "deit_1epochs" / "model.keras").is_file()
    assert type(comparison.load_model(tmp_path / "swin_1epochs" / "model.keras")).__name__ == "SwinTransformer"

    # Soft distillation from the same (finished, so not retrained) teacher, into a folder of its own.
    teacher_mtime = (tmp_path / "cnn_1epochs" / "model.keras").stat().st_mtime_ns
    options = ["--data", "fashion_mnist_idx", "--data-dir", str(few_fashion_mnist), "--epochs", "1",
               "--batch-size", "32", "--out", str(tmp_path), "--only", "cnn,deit"]  # fmt: skip
    soft = comparison.main([*options, "--distillation", "soft", "--distillation-temperature", "2"])
    assert [row["model"].split(" ")[0] for row in soft] == ["CNN", "DeiT"]
    assert soft[0]["train_seconds"] == rows[0]["train_seconds"]  # the recorded run
    assert "soft" in soft[1]["model"]
    assert (tmp_path / "cnn_1epochs" / "model.keras").stat().st_mtime_ns == teacher_mtime
    config = json.loads((tmp_path / "deit_soft_alpha0.5_t2_1epochs" / "config.json").read_text())
    assert (config["distillation"], config["distillation_temperature"]) == ("soft", 2.0)

    # A teacher trained longer than the students, in a folder of its own.
    comparison.main([*options, "--teacher-epochs", "2"])
    assert len((tmp_path / "cnn_2epochs" / "history.csv").read_text().splitlines()) == 1 + 2
    config = json.loads((tmp_path / "deit_teacher2epochs_1epochs" / "config.json").read_text())
    assert config["teacher"] == str(tmp_path / "cnn_2epochs" / "model.keras") and config["epochs"] == 1

    # A teacher trained without label smoothing, in a folder of its own; the student keeps its smoothing.
    comparison.main([*options, "--teacher-label-smoothing", "0"])
    assert json.loads((tmp_path / "cnn_1epochs_ls0" / "config.json").read_text())["label_smoothing"] == 0.0
    config = json.loads((tmp_path / "deit_teacherls0_1epochs" / "config.json").read_text())
    assert config["teacher"] == str(tmp_path / "cnn_1epochs_ls0" / "model.keras") and config["label_smoothing"] == 0.1
    with pytest.raises(ValueError, match="label_smoothing"):
        comparison.main([*options, "--teacher-label-smoothing", "1.5"])

    # Both students changed alike by --student-set, each into a folder of its own.
    stem = ["--student-set", "patch_embedding=conv_stem", "--student-set", "stem_entry_width=8"]
    students = comparison.main([*options[:-1], "cnn,vit,deit", *stem])
    assert [row["model"].split(" ")[0] for row in students] == ["CNN", "ViT", "DeiT"]
    assert all("with patch_embedding=conv_stem, stem_entry_width=8" in row["model"] for row in students[1:])
    suffix = "_1epochs_patch_embedding=conv_stem_stem_entry_width=8"
    for folder in ("vit" + suffix, "deit" + suffix):
        model = comparison.load_model(tmp_path / folder / "model.keras")
        assert (model.config.patch_embedding, model.config.stem_entry_width) == ("conv_stem", 8)
    assert comparison.load_model(tmp_path / ("deit" + suffix) / "model.keras").config.distillation_token
    assert comparison.load_model(tmp_path / "vit_1epochs" / "model.keras").config.patch_embedding == "conv"

    # Students of other epochs train into folders of their own too; the finished runs stay as they are.
    vit_mtime = (tmp_path / "vit_1epochs" / "model.keras").stat().st_mtime_ns
    longer = comparison.main([*options[:5], "2", *options[6:-1], "vit"])  # --epochs 2 --only vit
    assert longer[0]["model"].startswith("ViT")
    assert len((tmp_path / "vit_2epochs" / "history.csv").read_text().splitlines()) == 1 + 2
    assert (tmp_path / "vit_1epochs" / "model.keras").stat().st_mtime_ns == vit_mtime

    # Another seed trains into folders of its own, from other initial weights.
    comparison.main([*options[:-1], "vit", "--seed", "1"])
    assert json.loads((tmp_path / "vit_1epochs_seed1" / "config.json").read_text())["seed"] == 1
    reseeded = comparison.load_model(tmp_path / "vit_1epochs_seed1" / "model.keras")
    first = comparison.load_model(tmp_path / "vit_1epochs" / "model.keras")
    assert not np.allclose(reseeded.get_weights()[0], first.get_weights()[0])
    assert (tmp_path / "vit_1epochs" / "model.keras").stat().st_mtime_ns == vit_mtime

    # A folder holding a finished run of another config (here: other augmentation) stops the recipe before
    # anything trains, naming the folder.
    with pytest.raises(SystemExit, match="vit_1epochs holds a finished run of a different config"):
        comparison.main([*options[:-1], "vit", "--augment", "none"])
    assert (tmp_path / "vit_1epochs" / "model.keras").stat().st_mtime_ns == vit_mtime


def test_only_runs_the_named_models_and_refuses_a_deit_without_its_teacher(tmp_path):
    with pytest.raises(SystemExit, match="deit with cnn"):
        comparison.main(["--only", "vit,deit", "--out", str(tmp_path)])


def test_a_setting_one_run_refuses_stops_the_recipe_before_anything_trains(tmp_path):
    # dist_token_init_std initializes a distillation token, which the plain ViT has not.
    refused = r"ViT \(vit_nano_patch4_28 with dist_token_init_std=1e-6\): dist_token_init_std"
    with pytest.raises(SystemExit, match=refused):
        comparison.main(["--only", "cnn,vit,deit", "--student-set", "dist_token_init_std=1e-6", "--out", str(tmp_path)])
    assert not any(tmp_path.iterdir())
    with pytest.raises(ValueError, match="seed must be an int >= 0; got -1"):
        comparison.main(["--seed", "-1", "--out", str(tmp_path)])
