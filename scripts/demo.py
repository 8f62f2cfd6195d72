#!/usr/bin/env python
"""lrfind_ext's demo: lr_find on a small model for scikit-learn's digits, with the default suggesters.

Prints the suggestions as a table and writes the overlay plot to a PNG whose path it prints. The data ships with
scikit-learn: nothing is downloaded."""
import argparse,warnings
warnings.filterwarnings("ignore", category=FutureWarning, module="torch") # fastai's import of torch.jit, not ours
from pathlib import Path
import matplotlib
matplotlib.use('Agg') # a script, not a notebook: draw to files
import torch
from torch import nn
from sklearn.datasets import load_digits
from torch.utils.data import TensorDataset
from fastai.basics import DataLoaders,Learner,CrossEntropyLossFlat,accuracy,set_seed
import lrfind_ext

def digits_learner(seed=42, bs=64):
    "A two-layer MLP on the 8x8 digits, 1,437 training and 360 validation images"
    x,y = load_digits(return_X_y=True)
    x,y = torch.tensor(x/16, dtype=torch.float32),torch.tensor(y)
    set_seed(seed)
    idx = torch.randperm(len(x))
    trn,val = idx[:1437],idx[1437:]
    dls = DataLoaders.from_dsets(TensorDataset(x[trn],y[trn]), TensorDataset(x[val],y[val]), bs=bs, device='cpu')
    model = nn.Sequential(nn.Linear(64,128), nn.ReLU(), nn.Linear(128,10))
    return Learner(dls, model, loss_func=CrossEntropyLossFlat(), metrics=accuracy)

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
