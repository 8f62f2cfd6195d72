"""One figure per call in a real Jupyter kernel: small notebooks run in a fresh `python3` kernel (nbclient), and each
cell's outputs are counted: how many `image/png` it showed.

A cell whose last line returns a `Figure` shows it twice under matplotlib's inline backend (the cell's result, then
the backend's own display of the open figure at the end of the cell); fastai's `plot_lr_find` returns nothing and
shows it once. The control cells check that the count sees that double display, so the test can fail."""
import os,warnings
import pytest
nbformat = pytest.importorskip('nbformat')
nbclient = pytest.importorskip('nbclient')

SETUP = """import warnings; warnings.filterwarnings('ignore')
import io
import matplotlib.pyplot as plt
import lrfind_ext
from fastai.basics import defaults
from fastai.callback.progress import ProgressCallback
if ProgressCallback in defaults.callbacks: defaults.callbacks.remove(ProgressCallback)
from lrfind_ext.examples import digits_learner
from lrfind_ext.finder import fastai_lr_find
learn = digits_learner()"""

# (code, number of figures the cell must show)
CELLS = [
    (SETUP, 0),
    ("import matplotlib; print(matplotlib.get_backend())", 0), # checked below: the inline backend
    ("learn.lr_find()", 1),
    ("res = learn.recorder.lr_result", 0), # the run above
    ("res.plot()", 1),
    ("fig = res.plot()", 1),
    ("fig", 1), # a figure of an earlier cell, shown again
    ("buf = io.BytesIO()\nfig = res.plot()\nfig.savefig(buf, format='png')\nprint(buf.tell() > 10000)", 1),
    ("learn.recorder.plot_lr_find()", 1),
    ("learn.recorder.plot_lr_find(return_fig=True)", 1),
    ("learn.recorder.plot_lr_find(return_fig=False)", 1),
    ("learn.recorder.plot_lr_find(suggestions=[(1e-3, 2.)], nms=['mine'])", 1),
    ("fig,ax = plt.subplots()\nres.plot(ax=ax)", 1), # the user's own figure
    ("fig,ax = plt.subplots()\nfor _ in range(2): res.plot(ax=ax, label=f'run {_}')", 1),
    ("res.plot()\nres.plot()", 2), # two calls, two figures
    ("fastai_lr_find(learn, num_it=30)", 1), # fastai's lr_find, drawing with our plot_lr_find
    ("display(res.plot())", 1),
    # Controls: plain matplotlib returning its figure shows it twice, as fastai's plot would if it returned it
    ("f = plt.figure()\nplt.plot([1, 2])\nf", 2),
    ("plt.plot([1, 2]);", 1),
    # With the inline backend told to keep figures open between cells
    ("%config InlineBackend.close_figures = False\nres.plot()", 1),
    ("fig = res.plot()", 1),
    ("fig.axes[0].set_title('again')\nfig", 1),
    ("plt.close('all')\n%config InlineBackend.close_figures = True", 0),
]

def _pngs(cell): return sum('image/png' in o.get('data', {}) for o in cell.outputs)

@pytest.fixture(scope='module')
def ran(tmp_path_factory):
    "The cells, run one after another in one fresh kernel, as a user's notebook would be"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c,_ in CELLS])
    client = nbclient.NotebookClient(nb, kernel_name='python3', timeout=300, allow_errors=False,
                                     resources={'metadata': {'path': str(tmp_path_factory.mktemp('nb'))}})
    old = os.environ.pop('MPLBACKEND', None) # conftest's Agg: the kernel chooses its own, as under Jupyter (inline)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            client.execute()
    finally:
        if old is not None: os.environ['MPLBACKEND'] = old
    return nb

def test_inline_backend(ran):
    out = ''.join(o.get('text', '') for o in ran.cells[1].outputs)
    assert 'inline' in out, out

@pytest.mark.parametrize('i', range(len(CELLS)), ids=[c.splitlines()[-1][:40] for c,_ in CELLS])
def test_figures_per_cell(ran, i):
    code,want = CELLS[i]
    assert _pngs(ran.cells[i]) == want, f'{code!r} showed {_pngs(ran.cells[i])} figures'

def test_returned_figure_still_works(ran):
    "The figure returned is a Figure: savefig writes it"
    i = next(i for i,(c,_) in enumerate(CELLS) if 'savefig' in c)
    assert ''.join(o.get('text', '') for o in ran.cells[i].outputs).strip() == 'True'
