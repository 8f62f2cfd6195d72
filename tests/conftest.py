"Shared pytest set-up for lrfind_ext: a headless plotting backend, the --runslow option, small learners."
import os,warnings
os.environ.setdefault('MPLBACKEND', 'Agg')
warnings.filterwarnings('ignore', category=FutureWarning, module='torch') # fastai's import of torch.jit
import pytest

def pytest_addoption(parser):
    parser.addoption('--runslow', action='store_true', default=False, help='also run tests marked slow')

def pytest_configure(config):
    config.addinivalue_line('markers', 'slow: takes more than a few seconds; run with --runslow (make test-all)')

def pytest_collection_modifyitems(config, items):
    if config.getoption('--runslow'): return
    skip = pytest.mark.skip(reason='slow: run with --runslow')
    for it in items:
        if 'slow' in it.keywords: it.add_marker(skip)

@pytest.fixture(autouse=True)
def _close_figures():
    "Close the figures a test opened, so that tests don't see each other's"
    yield
    import matplotlib.pyplot as plt
    plt.close('all')
