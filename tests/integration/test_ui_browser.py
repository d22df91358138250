"""The Dagster UI in a real headless Chromium: the asset graph renders, the task partitions
are listed, and a materialization launched by a click completes. A screenshot of each page
is kept in `artifacts/`.

Chromium and chromedriver come from Debian's packages (`scripts/install_browser.sh`, run
by `make test`); without them this test is skipped with that instruction.
"""

import shutil
import time
from pathlib import Path

import pytest

from synthlake import tables
from tests.support.ui import graphql

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "artifacts"
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"

pytestmark = pytest.mark.skipif(
    not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)),
    reason="needs Debian's chromium and chromium-driver (scripts/install_browser.sh)",
)


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--window-size=1600,1000",
                 "--disable-dev-shm-usage"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def wait_for_text(driver, text: str, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if text in driver.page_source:
            return
        time.sleep(0.5)
    ARTIFACTS.mkdir(exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / "ui_failure.png"))  # what the page showed instead
    raise AssertionError(f"{text!r} never appeared on {driver.current_url} (artifacts/ui_failure.png)")


SCROLL_LISTS = """
for (const el of document.querySelectorAll('*')) {
  if (el.scrollHeight > el.clientHeight + 10 && getComputedStyle(el).overflowY !== 'visible') {
    el.scrollTop += 300;
  }
}"""


def find_in_catalog(driver, name: str, timeout: float = 60) -> None:
    """Wait for the catalogue row of asset `name` (or of `name/...`), scrolling: the list
    renders only the rows in view, so a long catalogue hides most of them."""
    from selenium.webdriver.common.by import By

    deadline = time.time() + timeout
    while time.time() < deadline:
        rows = driver.find_elements(By.CSS_SELECTOR, f"[data-testid^='checkbox-{name}']")
        keys = [r.get_attribute("data-testid").removeprefix("checkbox-") for r in rows]
        if any(key == name or key.startswith(f"{name}/") for key in keys):
            return
        driver.execute_script(SCROLL_LISTS)
        time.sleep(0.5)
    driver.save_screenshot(str(ARTIFACTS / "ui_failure.png"))
    raise AssertionError(f"no catalogue row for {name!r} (artifacts/ui_failure.png)")


def click_button(driver, label: str, required: bool = True) -> bool:
    from selenium.webdriver.common.by import By

    buttons = [b for b in driver.find_elements(By.TAG_NAME, "button") if b.text.strip() == label]
    if required:
        assert buttons, f"no {label!r} button on {driver.current_url}"
    if buttons:
        buttons[0].click()
    return bool(buttons)


def test_ui_graph_partitions_and_a_launched_materialization(dagster_dev, browser):
    port, base = dagster_dev, f"http://127.0.0.1:{dagster_dev}"
    ARTIFACTS.mkdir(exist_ok=True)

    browser.get(f"{base}/asset-groups")  # the global asset lineage: one node per group
    wait_for_text(browser, "Global asset lineage")
    time.sleep(2)
    click_button(browser, "Skip", required=False)  # the first-visit newsletter dialog
    for group in ("generation", "measures", "evaluation", "subjectivity", "analysis"):
        wait_for_text(browser, group)
    browser.save_screenshot(str(ARTIFACTS / "ui_asset_graph.png"))

    browser.get(f"{base}/assets")  # the catalogue lists every asset of the graph
    # In the catalogue's (alphabetical) order: the search only scrolls down.
    for name in sorted(("real_examples", "synthetic_examples", "embeddings", "evaluations",
                        "learning_curves", "gap_correlations")):
        find_in_catalog(browser, name)

    # Every table asset shows its declared columns in the catalogue (synthlake/tables.py).
    nodes = graphql(port, "{ assetNodes { assetKey { path } metadataEntries { label "
                          "... on TableSchemaMetadataEntry { schema { columns { name } } } } } }")
    shown = {"/".join(n["assetKey"]["path"]): [c["name"] for e in n["metadataEntries"]
                                               if e["label"] == "dagster/column_schema"
                                               for c in e["schema"]["columns"]]
             for n in nodes["assetNodes"]}
    for key, columns in shown.items():
        table = tables.TABLES.get(key.split("/")[0])
        if table:
            assert columns == table.schema.names, key
    assert {key.split("/")[0] for key, columns in shown.items() if columns} == \
        set(tables.ASSET_TABLES)
    browser.get(f"{base}/assets/synthetic_examples/few_shot")
    for column in ("demo_example_ids", "diversity_prompted", "the label requested"):
        wait_for_text(browser, column)
    browser.save_screenshot(str(ARTIFACTS / "ui_columns.png"))

    browser.get(f"{base}/assets/real_examples?view=partitions")
    for task in ("ag_news", "sms_spam", "tweet_irony"):
        wait_for_text(browser, task)
    browser.save_screenshot(str(ARTIFACTS / "ui_partitions.png"))

    browser.get(f"{base}/assets/task_catalog")
    wait_for_text(browser, "Materialize")
    time.sleep(1)
    click_button(browser, "Materialize")
    time.sleep(3)
    browser.save_screenshot(str(ARTIFACTS / "ui_after_click.png"))
    deadline, status = time.time() + 120, None
    while time.time() < deadline:
        runs = graphql(port, "{ runsOrError { ... on Runs { results { runId status } } } }")
        statuses = [r["status"] for r in runs["runsOrError"]["results"]]
        status = statuses[0] if statuses else None
        if status in ("SUCCESS", "FAILURE", "CANCELED"):
            break
        time.sleep(1)
    assert status == "SUCCESS", f"run status {status}"
    browser.get(f"{base}/assets/task_catalog")
    wait_for_text(browser, "Latest materialization")
    browser.save_screenshot(str(ARTIFACTS / "ui_materialized.png"))
