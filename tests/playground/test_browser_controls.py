"""The playground in a real browser, at the edges of its controls: a small window, a
diverging run, a link with a bad setting, a refused choice, batch mode as the data grows,
an uploaded regression's colours, and the explain panel kept up to date."""

# ruff: noqa: F811 (the fixtures imported from browser_kit are asked for by name)
from __future__ import annotations

import numpy as np
from browser_kit import browser, open_tab, page, play_until_epoch, server, text  # noqa: F401


def test_a_link_with_a_bad_setting_applies_the_others(server, browser):
    """A typo refused the whole link, and the address kept it: copied again, it still
    did not reproduce the page."""
    tab = open_tab(browser, server[1] + "#activation=swish&hidden=3&learning_rate=abc")
    try:
        tab.wait_for_function("window.ffbp.config.hidden.join() === '3'")
        tab.wait_for_function("location.hash.includes('activation=tanh') && "
                              "location.hash.includes('learning_rate=0.03')")
        assert "hidden=3&" in tab.evaluate("location.hash")
        tab.get_by_test_id("error").wait_for()
        assert "got 'abc'" in text(tab, "error") or "got 'swish'" in text(tab, "error")
        tab.get_by_test_id("sample").fill("9999")
        tab.get_by_test_id("sample").press("Enter")
        assert tab.get_by_test_id("sample").input_value() == "250"   # 250 training points
        tab.evaluate("location.hash = '#activation=swish'")           # all of it refused
        tab.wait_for_function("location.hash.includes('activation=tanh')")
        assert tab.problems == []
    finally:
        tab.context.close()


def test_six_layers_of_eight_fit_a_small_window(server, browser):
    """1024×700: the drawing closes up and zooms to its panel, so the output unit stays in
    view and the page never scrolls sideways (it used to run 120 px off the panel)."""
    tab = open_tab(browser, server[1] + "#hidden=8,8,8,8,8,8")
    try:
        tab.get_by_test_id("neuron-6-8").wait_for()
        tab.set_viewport_size({"width": 1024, "height": 700})     # the window made smaller
        tab.wait_for_function("""() => {
            const panel = document.querySelector('.col.network').getBoundingClientRect();
            const out = document.querySelector('[data-testid=output-unit]')
                .getBoundingClientRect();
            return panel.left < out.left && out.right < panel.right; }""")
        assert tab.evaluate("document.documentElement.scrollWidth") <= 1024
        tab.get_by_test_id("weight-7-8-1").dispatch_event("click")
        tab.get_by_test_id("explain-gradient").wait_for()
        assert tab.problems == []
    finally:
        tab.context.close()


def test_choosing_l1_starts_it_at_a_rate_that_does_something(page):
    """The rate defaults to 0, where L1 or L2 changed nothing and said nothing."""
    page.get_by_test_id("regularization").select_option("l1")
    page.wait_for_function("window.ffbp.config.regularization === 'l1'")
    assert page.evaluate("window.ffbp.config.reg_rate") == 0.01
    assert page.get_by_test_id("reg-rate").input_value() == "0.01"
    page.get_by_test_id("reg-rate").select_option("0.003")
    page.get_by_test_id("regularization").select_option("l2")       # a chosen rate stays
    page.wait_for_function("window.ffbp.config.regularization === 'l2'")
    assert page.evaluate("window.ffbp.config.reg_rate") == 0.003
    assert page.problems == []


def test_a_diverged_loss_is_a_short_number(server, browser):
    """α = 10 with ReLU on the plane overflows by step 121: the loss reads 2.66e+307, not
    the 22 characters of toFixed that pushed the training loss out of its box."""
    tab = open_tab(browser, server[1] + "#dataset=plane&activation=relu&learning_rate=10")
    try:
        tab.wait_for_function("window.ffbp.config.learning_rate === 10")
        tab.get_by_test_id("play").click()
        tab.get_by_test_id("error").wait_for()
        assert "diverged" in text(tab, "error")
        tab.wait_for_function("!window.ffbp.playing")
        shown = text(tab, "loss-train")
        assert float(shown) > 1e100 and len(shown) <= 9, shown
        assert tab.problems == []
    finally:
        tab.context.close()


def test_batch_mode_stays_all_points_when_the_training_share_grows(page):
    page.get_by_test_id("batch-mode").select_option("batch")
    page.wait_for_function("window.ffbp.config.batch_size === 250")
    page.get_by_test_id("train-ratio").evaluate(
        "el => { el.value = 90; el.dispatchEvent(new Event('change')); }")
    page.wait_for_function("window.ffbp.points.train.length === 450")
    page.wait_for_function("window.ffbp.config.batch_size === 450")   # was left at 250
    assert page.get_by_test_id("batch-mode").input_value() == "batch"
    assert page.problems == []


PIXEL = """([id, x, y]) => {
  const c = id === "boundary" ? document.getElementById(id)
    : document.querySelector(`[data-testid=${id}] canvas`);
  return Array.from(c.getContext("2d").getImageData(x, y, 1, 1).data.slice(0, 3));
}"""


def test_an_uploaded_regression_is_coloured_on_one_scale(page):
    """A standardised target reaches ±3: the output unit's picture used ±1 (all saturated)
    while the plane used ± the largest target. Both now share the plane's scale, and the
    noise slider, which an upload ignores, is disabled."""
    rng = np.random.default_rng(3)
    X = rng.uniform(0, 100, size=(120, 2))
    csv = "a,b,price\n" + "".join(f"{a:.2f},{b:.2f},{1000 * a + 5 * b:.0f}\n" for a, b in X)
    page.get_by_test_id("upload").set_input_files(
        files=[{"name": "prices.csv", "mimeType": "text/csv", "buffer": csv.encode()}])
    page.wait_for_function("window.ffbp.config.problem === 'regression' && "
                           "window.ffbp.snap.layout[0] === 2")
    play_until_epoch(page, 30)
    assert page.get_by_test_id("noise").is_disabled()
    n = page.evaluate("window.ffbp.snap.grid.n")
    same = 0
    for row in range(2, n, 5):
        for col in range(2, n, 5):
            unit = page.evaluate(PIXEL, ["output-unit", col, row])
            # the middle of the same cell of the plane (300 px for n cells); a training
            # point drawn there may cover it, so most cells, not all, must agree
            plane = page.evaluate(PIXEL, ["boundary", int((col + 0.5) * 300 / n),
                                          int((row + 0.5) * 300 / n)])
            same += max(abs(u - v) for u, v in zip(unit, plane, strict=True)) <= 12
    assert same >= 0.8 * len(range(2, n, 5)) ** 2, same
    assert page.problems == []


def test_a_refused_choice_does_not_stay_on_its_control(page):
    """Classification of a many-valued target is refused: the select went on showing it.
    And the column already on the other axis swaps the axes instead of an error."""
    csv = "a,b,c,y\n" + "".join(f"{k},{k % 7},{k % 3},{k * 1.5}\n" for k in range(60))
    page.get_by_test_id("upload").set_input_files(
        files=[{"name": "many.csv", "mimeType": "text/csv", "buffer": csv.encode()}])
    page.wait_for_function("window.ffbp.config.dataset === 'upload' && "
                           "window.ffbp.config.problem === 'regression'")
    page.get_by_test_id("problem").select_option("classification")
    page.get_by_test_id("error").wait_for()
    assert "two-valued target" in text(page, "error")
    page.wait_for_function("document.getElementById('problem').value === 'regression'")
    page.get_by_test_id("x-feature").select_option("1")           # b, the vertical axis
    page.wait_for_function("window.ffbp.config.x_feature === 1")
    assert page.evaluate("window.ffbp.config.y_feature") == 0
    assert page.problems == []


def test_the_explain_panel_follows_reset_and_new_settings(page):
    """It kept showing the gradient of the weights before a reset or a new α."""
    for _ in range(5):
        page.get_by_test_id("step").click()
    page.wait_for_function("window.ffbp.snap.steps === 5")
    page.get_by_test_id("weight-1-2-1").dispatch_event("click")
    page.get_by_test_id("explain-gradient").wait_for()
    value = 'document.querySelector("[data-testid=explain-value]").dataset.value'
    trained = float(page.evaluate(value))
    page.get_by_test_id("reset").click()
    page.wait_for_function(f"+{value} !== {trained!r}")
    assert float(page.evaluate(value)) == page.evaluate("window.ffbp.snap.weights[0][1][0]")
    page.get_by_test_id("learning-rate").select_option("0.3")
    page.wait_for_function("document.getElementById('explain-text').textContent"
                           ".includes('α = 0.3')")
    assert page.problems == []
