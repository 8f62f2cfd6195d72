#!/usr/bin/env python
"""lrfind_ext's demo: lr_find on a small model for scikit-learn's digits, with the default suggesters.

Prints the suggestions as a table and writes the overlay plot to a PNG whose path it prints. The data ships with
scikit-learn: nothing is downloaded. The learner is `lrfind_ext.examples.digits_learner`, so every line below is
one a user can type."""
import argparse,warnings
warnings.filterwarnings("ignore", category=FutureWarning, module="torch") # fastai's import of torch.jit, not ours
from pathlib import Path
import matplotlib
matplotlib.use('Agg') # a script, not a notebook: draw to files
import lrfind_ext
from lrfind_ext.examples import digits_learner

if __name__=='__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--out', default='demo_out/lr_find_digits.png', help='where to write the plot')
    a = ap.parse_args()
    learn = digits_learner()
    with learn.no_bar(): res = learn.lr_find(show_plot=False)
    print(f"lrfind_ext {lrfind_ext.__version__}: lr_find on scikit-learn's digits (MLP 64-128-10, Adam, bs 64)")
    print(f"{len(res.curve)} steps, stopped because the {res.curve.stops[res.curve.stop]}\n")
    print(res.table())
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig = res.plot()
    fig.savefig(out, dpi=150, bbox_inches='tight')
    print(f"\nplot: {out.resolve()}")
