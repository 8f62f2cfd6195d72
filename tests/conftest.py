"""Shared pytest set-up for lrfind_ext: a headless plotting backend, one torch thread, the --runslow option, and how
pytest-xdist shares the tests between two processes (`-n 2`, as `make test` runs them)."""
import os,warnings
from pathlib import Path
os.environ.setdefault('MPLBACKEND', 'Agg')
warnings.filterwarnings('ignore', category=FutureWarning, module='torch') # fastai's import of torch.jit
import pytest

# Tiny models gain nothing from intra-op threads, and on a busy 2-core machine (two pytest workers) torch's waiting
# threads make them 10 to 40 times slower (measured here, see lrf_testutils): one thread in every worker.
import torch
torch.set_num_threads(1)

def pytest_addoption(parser):
    parser.addoption('--runslow', action='store_true', default=False, help='also run tests marked slow')

def pytest_configure(config):
    config.addinivalue_line('markers', 'slow: takes more than a few seconds; run with --runslow (make test-all)')

# How `make test` shares the tests between two processes (pytest-xdist, `-n 2`): a test that runs a page is a unit of
# its own; every other test file is one unit, run whole by one worker (so that its module-scoped fixtures, the docs
# site's build among them, are made once, and its tests run in their order). The units go out longest first, so that
# the two workers end together: the pages, then the long files, by the times measured with `--durations`.
PAGES = ('test_tutorials.py::test_tutorial_runs_as_shown', 'test_notebooks.py::test_notebook')
LONGEST = ['workflow', '11_setups', '08_finder', '09_plot', 'test_docs_site', 'benchmark_research', 'migrating',
           'test_setups', 'test_kernel', 'test_anywhere', 'reading_the_plot', '08a_probes', 'index', 'custom_suggester',
           '03_rules', '06_result'] # pages, and test files without their .py

def _unit(nodeid):
    "The unit of work a test belongs to: its own id for a page, else its file"
    return nodeid if nodeid.split('[')[0].endswith(PAGES) else nodeid.split('::')[0]

def _rank(nodeid):
    u = _unit(nodeid)
    name = u.rsplit('[', 1)[-1].rstrip(']') if u!=nodeid.split('::')[0] else Path(u).stem
    return LONGEST.index(name) if name in LONGEST else len(LONGEST)

@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    "Skip slow tests unless --runslow; the long units first (a stable sort: the rest keep their order)"
    if not config.getoption('--runslow'):
        skip = pytest.mark.skip(reason='slow: run with --runslow')
        for it in items:
            if 'slow' in it.keywords: it.add_marker(skip)
    items.sort(key=lambda it: _rank(it.nodeid))

@pytest.hookimpl(optionalhook=True) # pytest-xdist's hook: without xdist, never called
def pytest_xdist_make_scheduler(config, log):
    "With `-n N` (xdist's default `--dist load`): units as above, handed out in the order collected"
    if config.getvalue('dist')!='load': return None
    from xdist.scheduler import LoadScopeScheduling
    class ByUnit(LoadScopeScheduling):
        def _split_scope(self, nodeid): return _unit(nodeid)
    config.option.loadscopereorder = False
    return ByUnit(config, log)

@pytest.fixture(autouse=True)
def _default_sigint():
    """Each test starts with Python's own Ctrl-C handler (tests/test_state.py's Ctrl-C tests need it). A process started
    in the background by a shell without job control (`make test &` in a script) has SIGINT ignored, and Python then
    leaves it ignored: run that way with two workers, test_state's Ctrl-C tests failed (in one process they had passed)."""
    import signal,threading
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    yield

@pytest.fixture(autouse=True)
def _close_figures():
    "Close the figures a test opened, so that tests don't see each other's"
    yield
    import matplotlib.pyplot as plt
    plt.close('all')
