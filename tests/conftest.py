"""Fixtures for the browser tier: one real JupyterLab and one headless Chromium per session, a fresh
`LabPage` per test (screenshot saved to tests/artifacts/ when the test fails; the test fails when the
page asked any host other than localhost for anything)."""
import shutil, sys, tempfile
from pathlib import Path
import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # tests/harness.py (the kernel and browser harness) and tests/toys.py (toy models)
import harness

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    "Keep each phase's report on the item (`item.rep_call`), so fixtures can see whether the test failed."
    rep = (yield).get_result()
    setattr(item, f'rep_{rep.when}', rep)

def pytest_collection_modifyitems(items):
    """Mark every test that uses the `lab` fixture as `browser`; run tests/test_docs.py last, so that the docs site is
    built from the notebooks the kernel tier has just executed (not executed a second time)."""
    for item in items:
        if 'lab' in getattr(item, 'fixturenames', ()): item.add_marker(pytest.mark.browser)
    items.sort(key=lambda item: item.path.name == 'test_docs.py')

@pytest.fixture(scope='session')
def lab_server():
    "A real `jupyter lab` serving a temp copy of the repo's nbs/ and tests/notebooks/ (same relative paths)."
    tmp = Path(tempfile.mkdtemp(prefix='gmw-lab-'))
    server = harness.LabServer(harness.copy_tree_for_lab(tmp/'root'), tmp=tmp/'server').start()
    yield server
    server.stop()
    shutil.rmtree(tmp, ignore_errors=True)

@pytest.fixture(scope='session')
def chromium():
    "Debian's headless chromium under Playwright (skips the browser tier when it is not installed)."
    if not Path(harness.CHROMIUM).exists():
        pytest.skip(f'{harness.CHROMIUM} not found: run `bash tools/install_chromium.sh`')
    from playwright.sync_api import sync_playwright
    pw = sync_playwright().start()
    browser = harness.launch_chromium(pw)
    yield browser
    browser.close()
    pw.stop()

@pytest.fixture
def lab(request, chromium, lab_server):
    "A `LabPage` in a fresh browser context; on failure a screenshot goes to tests/artifacts/<test>.png."
    yield from harness.page_fixture(request, chromium, lab_server)
