"""The attention explorer page: its inline data, and a real headless Chromium clicking through it."""

import base64
import json
import re

import keras
import numpy as np
import pytest
from chromium import Browser, find_browser

from keras_vit.inspect import attention_weights, rollout_steps
from keras_vit.inspect.explorer import write_explorer


def page_data(path):
    """The JSON the page's script reads, taken back out of the HTML file."""
    return json.loads(re.search(r"const DATA = (\{.*\});\n", path.read_text()).group(1).replace("<\\/", "</"))


def decoded(text, dtype):
    return np.frombuffer(base64.b64decode(text), dtype=dtype)


@pytest.fixture
def page(vit, pixels, tmp_path):
    figure = tmp_path / "figure.png"
    keras.utils.save_img(figure, np.zeros((4, 4, 3)))
    vit.class_names = ["zero", "one", "two", "three", "</script>"]
    return write_explorer(vit, pixels, tmp_path / "explorer.html", labels=[1, 4, 0], figures=[("A figure", figure)])


def test_the_page_holds_everything_inline(vit, pixels, page):
    html = page.read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", html), "the page must not load anything"
    assert "<script src" not in html and html.count("</script>") == 1
    data = page_data(page)
    weights = attention_weights(vit, pixels)
    assert (data["layers"], data["images"], data["heads"], data["tokens"], data["prefix"]) == (2, 3, 4, 18, 2)
    np.testing.assert_array_equal(decoded(data["attention"], "<f4").reshape(weights.shape), weights)
    np.testing.assert_allclose(decoded(data["rollout"], "<f4"), rollout_steps(weights).ravel(), rtol=1e-6)
    np.testing.assert_array_equal(decoded(data["pixels"], "uint8").reshape(pixels.shape), pixels)
    assert data["classNames"][-1] == "</script>" and data["labels"] == [1, 4, 0]
    np.testing.assert_allclose(np.sum(data["probabilities"], axis=1), 1.0, atol=1e-4)
    assert data["figures"][0]["src"].startswith("data:image/png;base64,iVBORw0KGgo")


def test_in_chromium_the_page_loads_cleanly_and_a_click_shows_that_patchs_attention(vit, pixels, page):
    executable = find_browser()
    if executable is None:
        pytest.skip("No Chromium found: install the system's package (Debian: apt-get install chromium) or set "
                    "KERAS_VIT_CHROMIUM to a Chromium or Chrome executable.")
    weights = attention_weights(vit, pixels)  # (layers, images, heads, 18, 18): CLS, distillation, 4x4 patches
    rollout = rollout_steps(weights)
    with Browser(executable) as browser:
        tab = browser.page(page.resolve().as_uri())
        assert tab.errors() == []
        shown = tab.evaluate("explorer.shown()")
        # At first: the class token's attention in the last block, averaged over the heads, on image 0.
        np.testing.assert_allclose(shown["attention"], weights[-1, 0, :, 0, 2:].mean(axis=0), rtol=1e-5, atol=1e-7)
        before = tab.evaluate("document.getElementById('attention').toDataURL()")

        # Click the centre of patch (row 2, column 1) of the 16 px image drawn at 17x scale.
        box = tab.evaluate("(() => { const b = document.getElementById('attention').getBoundingClientRect();"
                           " return [b.left, b.top, b.width]; })()")  # fmt: skip
        cell = box[2] / 4
        tab.click(box[0] + 1.5 * cell, box[1] + 2.5 * cell)
        query = 2 + 2 * 4 + 1
        shown = tab.evaluate("explorer.shown()")
        np.testing.assert_allclose(shown["attention"], weights[-1, 0, :, query, 2:].mean(axis=0), rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(shown["rollout"], rollout[-1, 0, query, 2:], rtol=1e-5, atol=1e-7)
        assert tab.evaluate("document.getElementById('attention').toDataURL()") != before  # the drawn map changed
        assert tab.evaluate("document.getElementById('queryValue').textContent") == "patch (row 2, column 1)"

        # A head, the first block and the second image: the map follows each choice.
        tab.evaluate("document.querySelectorAll('#heads figure')[3].click()")  # "mean", then heads 0, 1, 2
        tab.evaluate("(() => { const s = document.getElementById('layer'); s.value = 0;"
                     " s.dispatchEvent(new Event('input')); })()")  # fmt: skip
        tab.evaluate("document.querySelectorAll('#thumbs canvas')[1].click()")
        shown = tab.evaluate("explorer.shown()")
        np.testing.assert_allclose(shown["attention"], weights[0, 1, 2, query, 2:], rtol=1e-5, atol=1e-7)
        assert tab.evaluate("document.getElementById('label').textContent").startswith("label: </script>")
        assert tab.evaluate("document.querySelectorAll('#figures img').length") == 1
        assert tab.errors() == []
