"""Shared pytest set-up for lrfind_ext: a headless plotting backend, one torch thread, the --runslow option, and the
order and grouping of tests when pytest-xdist runs them in two processes (`-n 2`, as `make test` does)."""
import os,warnings
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

# The tests that run a whole page (tens of seconds each) and the docs site's (its build, then a browser) go first, so
# that the two workers share them out and end together on the short tests: longest first, by the times measured with
# `--durations` (a page not listed comes after those listed).
PAGES = ('test_tutorials.py::test_tutorial_runs_as_shown', 'test_notebooks.py::test_notebook')
LONGEST = ['workflow', '11_setups', '08_finder', '09_plot', 'test_docs_site', 'benchmark_research', 'migrating',
           'reading_the_plot', '08a_probes', 'index', 'custom_suggester', '03_rules', '06_result']

def _long(it):
    "Where `it` goes among the long tests (None: not one of them)"
    if it.nodeid.split('[')[0].endswith(PAGES): name = it.nodeid.rsplit('[', 1)[-1].rstrip(']')
    elif it.nodeid.startswith('tests/test_docs_site.py') and _shares_fixture(it): name = 'test_docs_site'
    else: return None
    return LONGEST.index(name) if name in LONGEST else len(LONGEST)

def _shares_fixture(it):
    "Whether `it` uses a fixture of a test module that outlives one test (module-, class- or session-scoped)"
    fi = getattr(it, '_fixtureinfo', None)
    if fi is None: return False
    return any(d.scope in ('module','class','package','session') and d.baseid
               for n in fi.names_closure for d in fi.name2fixturedefs.get(n, ()))

def pytest_collection_modifyitems(config, items):
    "Skip slow tests unless --runslow; the long tests first; a module's tests that share a fixture kept on one worker"
    if not config.getoption('--runslow'):
        skip = pytest.mark.skip(reason='slow: run with --runslow')
        for it in items:
            if 'slow' in it.keywords: it.add_marker(skip)
    rank = {id(it):_long(it) for it in items}
    items.sort(key=lambda it: (0,rank[id(it)]) if rank[id(it)] is not None else (1,0)) # stable: the rest keep their order
    # With `--dist loadgroup` a test with no group is a unit of its own; the tests of a module that share a module-scoped
    # fixture (the docs site's build and browser, trained learners) run on one worker, so that the fixture is made once
    # and its files are written by one process.
    for it in items:
        if _shares_fixture(it) and not it.nodeid.split('[')[0].endswith(PAGES): it.add_marker(pytest.mark.xdist_group(it.module.__name__))

@pytest.fixture(autouse=True)
def _close_figures():
    "Close the figures a test opened, so that tests don't see each other's"
    yield
    import matplotlib.pyplot as plt
    plt.close('all')
