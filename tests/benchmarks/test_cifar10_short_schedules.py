"""benchmarks/cifar10_short_schedules.py on a few real CIFAR-10 JPEGs: one change per variant, on a linked subset."""

import json

import pytest
from script_module import load_script

pytestmark = pytest.mark.one_backend("torch")


@pytest.fixture(scope="module")
def script():
    return load_script("benchmarks/cifar10_short_schedules.py")


def test_each_variant_trains_its_one_change_on_the_subset(script, cifar_folder, tmp_path, capsys):
    script.main(["--data-dir", str(cifar_folder), "--per-class", "5", "--test-per-class", "2", "--epochs", "1",
                 "--only", "baseline,depth_4,mix_deit", "--output-dir", str(tmp_path)])  # fmt: skip

    lines = capsys.readouterr().out.splitlines()
    rows = [line for line in lines if line.startswith("| ") and "%" in line]
    assert [row.split(" | ")[0] for row in rows] == ["| baseline", "| depth_4", "| mix_deit"]
    configs = {name: json.loads((tmp_path / name / "config.json").read_text()) for name in ("baseline", "depth_4", "mix_deit")}
    assert [configs[name]["model_overrides"]["depth"] for name in configs] == [6, 4, 6]
    assert (configs["baseline"]["augment"], configs["mix_deit"]["augment"]["cutmix_alpha"]) == ("light", 1.0)
    # 5 training and 2 test images of each of the 3 classes, a fifth of the training images held out.
    assert sum("(12 train / 3 validation / 6 test)" in line for line in lines) == 3


def test_an_unknown_variant_a_missing_folder_or_too_few_images_are_refused(script, cifar_folder, tmp_path):
    with pytest.raises(SystemExit, match="Unknown variant.*'deep'.*valid: baseline, crop_0.08"):
        script.main(["--data-dir", str(cifar_folder), "--only", "baseline,deep", "--output-dir", str(tmp_path)])
    with pytest.raises(SystemExit, match="'/no/such/folder' has no train/<class>/ folders"):
        script.main(["--data-dir", "/no/such/folder", "--output-dir", str(tmp_path)])
    with pytest.raises(SystemExit, match="has 7 images; 50 are needed"):
        script.main(["--data-dir", str(cifar_folder), "--per-class", "50", "--output-dir", str(tmp_path)])
    assert not any(tmp_path.iterdir())
