#!/usr/bin/env python
"""Record the real lr_find curves that the docs draw (nbs/data/*.json), on the example learners of lrfind_ext.examples.

`python bench/doc_curves.py` trains nothing but a few lr_find runs (seconds) and overwrites the files."""
import warnings
warnings.filterwarnings('ignore', category=FutureWarning, module='torch')
from pathlib import Path
import torch
from fastai.basics import defaults
from fastai.callback.progress import ProgressCallback
import lrfind_ext
from lrfind_ext.examples import digits_learner,sk_mlp_learner

OUT = Path(__file__).resolve().parent.parent/'nbs'/'data'
LEARNERS = {
    'digits_mlp_adam': lambda: digits_learner('mlp', 'adam', bs=64, seed=0),
    'digits_cnn_adam': lambda: digits_learner('cnn', 'adam', bs=32, seed=0),
    'digits_bn_sgd': lambda: digits_learner('bn', 'sgd', bs=128, seed=0),
    'diabetes_adam': lambda: sk_mlp_learner('diabetes', 'adam', bs=32, seed=0),
}
RUNS = [('digits_mlp_adam',100), ('digits_mlp_adam',400), ('digits_cnn_adam',100), ('digits_cnn_adam',400),
        ('digits_bn_sgd',100), ('diabetes_adam',100)]

if __name__=='__main__':
    torch.set_num_threads(1)
    defaults.callbacks = [cb for cb in defaults.callbacks if cb is not ProgressCallback]
    OUT.mkdir(parents=True, exist_ok=True)
    for name,num_it in RUNS:
        learn = LEARNERS[name]()
        learn.dls.train.num_workers = learn.dls.valid.num_workers = 0
        res = learn.lr_find(num_it=num_it, show_plot=False, suggest_funcs=None)
        fn = res.curve.save(OUT/f'{name}_{num_it}.json') # the file's name says which learner and num_it
        print(f"{fn.name}: {res.curve!r}")
