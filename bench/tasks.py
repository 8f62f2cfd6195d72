"""Tasks of the suggestion-quality benchmark (bench/quality.py): small learners that train on a CPU in seconds.

Each task fixes its data and train/validation split once (data seed 0); `Task.learner(seed)` varies only the
weights' initialisation and the shuffling, so that grid runs and lr_find runs of one task see the same data.
Everything comes from scikit-learn's bundled or generated data sets: nothing is downloaded.

DEV tasks are the ones the suggesters may be tuned on; HELDOUT tasks are run only at the end (`--heldout`)."""
from __future__ import annotations
import warnings
warnings.filterwarnings('ignore', category=FutureWarning, module='torch') # fastai's import of torch.jit
from dataclasses import dataclass,field
from functools import partial,lru_cache
import numpy as np,torch
from torch import nn
from torch.utils.data import TensorDataset
from fastai.basics import (DataLoaders,Learner,CrossEntropyLossFlat,MSELossFlat,set_seed,Adam,SGD,
                           defaults)
from fastai.callback.progress import ProgressCallback
import fastai.callback.schedule # fit_one_cycle
import sklearn.datasets as skd

# No progress bars in a benchmark
defaults.callbacks = [cb for cb in defaults.callbacks if cb is not ProgressCallback]

# ---------------------------------------------------------------------------------------------------------------
# Data: (x, y, n_val, regression?), split once with data seed 0

def _std(x): return (x-x.mean(0))/x.std(0)

@lru_cache(None)
def _data(name):
    if name=='digits':
        x,y = skd.load_digits(return_X_y=True); x = x/16
    elif name=='cancer':
        x,y = skd.load_breast_cancer(return_X_y=True); x = _std(x)
    elif name=='diabetes':
        x,y = skd.load_diabetes(return_X_y=True); x,y = _std(x),_std(y)[:,None]
    elif name=='moons':
        x,y = skd.make_moons(2000, noise=0.25, random_state=0)
    elif name=='friedman':
        x,y = skd.make_friedman1(2000, noise=1., random_state=0); x,y = _std(x),_std(y)[:,None]
    elif name=='classif':
        x,y = skd.make_classification(3000, n_features=20, n_informative=10, n_classes=5, n_clusters_per_class=2,
                                      flip_y=0.05, random_state=0); x = _std(x)
    else: raise ValueError(name)
    reg = y.ndim==2
    x = torch.tensor(x, dtype=torch.float32)
    y = torch.tensor(y, dtype=torch.float32) if reg else torch.tensor(y, dtype=torch.long)
    idx = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
    n_val = len(x)//5
    return x[idx[n_val:]],y[idx[n_val:]],x[idx[:n_val]],y[idx[:n_val]],reg

# ---------------------------------------------------------------------------------------------------------------
# Models

def mlp(n_in, n_out, hidden=(128,), bn=False):
    layers = []
    for h in hidden:
        layers += [nn.Linear(n_in, h)] + ([nn.BatchNorm1d(h)] if bn else []) + [nn.ReLU()]
        n_in = h
    return nn.Sequential(*layers, nn.Linear(n_in, n_out))

class _Img(nn.Module):
    "Reshape flat 8x8 digits to images"
    def forward(self, x): return x.view(-1,1,8,8)

def cnn(n_out=10, bn=False):
    def conv(ni, nf, stride):
        return [nn.Conv2d(ni, nf, 3, stride=stride, padding=1)] + ([nn.BatchNorm2d(nf)] if bn else []) + [nn.ReLU()]
    return nn.Sequential(_Img(), *conv(1,16,1), *conv(16,32,2), nn.Flatten(), nn.Linear(32*4*4,n_out))

OPTS = dict(adam=Adam, sgd=SGD, sgdm=partial(SGD, mom=0.9))

# ---------------------------------------------------------------------------------------------------------------

@dataclass
class Task:
    "One benchmark task: data, model, optimizer, batch size, and the epochs of `fit_one_cycle` that define its truth"
    name:str
    data:str
    model:object # function of (n_in, n_out) -> nn.Module
    opt:str # key of OPTS
    bs:int
    epochs:int
    grid:tuple # (lo, hi) exponents of the learning-rate grid, 3 per decade
    desc:str=''
    heldout:bool=False

    @property
    def lrs(self)->np.ndarray:
        lo,hi = self.grid
        return 10**np.linspace(lo, hi, 3*(hi-lo)+1)

    def learner(self, seed:int=0)->Learner:
        "The task's learner; `seed` sets the initial weights and the shuffling, not the data"
        xt,yt,xv,yv,reg = _data(self.data)
        set_seed(seed, reproducible=True)
        n_out = 1 if reg else int(yt.max())+1
        model = self.model(xt.shape[1], n_out)
        dls = DataLoaders.from_dsets(TensorDataset(xt,yt), TensorDataset(xv,yv), bs=self.bs, device='cpu', num_workers=0)
        loss = MSELossFlat() if reg else CrossEntropyLossFlat()
        return Learner(dls, model, loss_func=loss, opt_func=OPTS[self.opt])

    def summary(self)->str:
        xt,yt,xv,yv,reg = _data(self.data)
        return (f"{self.desc}; {self.opt}, bs {self.bs}, {self.epochs} epochs of fit_one_cycle "
                f"({len(xt)} train / {len(xv)} valid, {(len(xt)+self.bs-1)//self.bs} batches per epoch)")

TASKS = [
    # dev: the suggesters may be tuned on these
    Task('digits_mlp_adam', 'digits', lambda i,o: mlp(i,o), 'adam', 64, 5, (-5,1), 'digits, MLP 64-128-10'),
    Task('digits_cnn_sgdm', 'digits', lambda i,o: cnn(o), 'sgdm', 32, 4, (-4,2), 'digits, 2-layer CNN'),
    Task('digits_bn_sgdm', 'digits', lambda i,o: mlp(i,o,bn=True), 'sgdm', 128, 8, (-4,2), 'digits, MLP with BatchNorm'),
    Task('diabetes_reg_adam', 'diabetes', lambda i,o: mlp(i,o,(64,)), 'adam', 32, 12, (-5,1),
         'diabetes regression (MSE), MLP 10-64-1'),
    Task('cancer_sgd', 'cancer', lambda i,o: mlp(i,o,(64,)), 'sgd', 16, 5, (-4,2),
         'breast cancer, MLP 30-64-2, plain SGD (no momentum)'),
    Task('moons_deep_adam', 'moons', lambda i,o: mlp(i,o,(64,64,64)), 'adam', 128, 8, (-5,1),
         'two moons, MLP 2-64-64-64-2'),
    Task('digits_mlp_sgdm', 'digits', lambda i,o: mlp(i,o), 'sgdm', 16, 3, (-4,2), 'digits, MLP 64-128-10'),
    Task('diabetes_reg_sgdm', 'diabetes', lambda i,o: mlp(i,o,(64,64)), 'sgdm', 16, 8, (-5,1),
         'diabetes regression (MSE), MLP 10-64-64-1'),
    # held out: run only at the end, never tuned on
    Task('digits_cnnbn_adam', 'digits', lambda i,o: cnn(o, bn=True), 'adam', 64, 4, (-5,1),
         'digits, 2-layer CNN with BatchNorm', heldout=True),
    Task('friedman_reg_sgdm', 'friedman', lambda i,o: mlp(i,o,(64,64)), 'sgdm', 64, 6, (-5,1),
         'Friedman #1 regression (MSE), MLP 10-64-64-1', heldout=True),
    Task('classif_bn_adam', 'classif', lambda i,o: mlp(i,o,(128,128),bn=True), 'adam', 16, 3, (-5,1),
         '5-class make_classification, MLP 20-128-128-5 with BatchNorm', heldout=True),
    Task('cancer_bn_adam', 'cancer', lambda i,o: mlp(i,o,(32,32),bn=True), 'adam', 64, 10, (-5,1),
         'breast cancer, MLP 30-32-32-2 with BatchNorm', heldout=True),
]
TASK = {t.name:t for t in TASKS}
DEV = [t for t in TASKS if not t.heldout]
HELDOUT = [t for t in TASKS if t.heldout]
