"""A third held-out set of tasks (issue 25): defined after the probes' design (bench/probes.py's DESIGN) was frozen and
committed, before any of these tasks was trained or looked at; run once by `python bench/probes.py third` and
`python bench/probes.py eval third`. New tasks in every family, built as bench/tasks.py builds its own (same classes,
same caches, data from scikit-learn only), with data, models and optimizers none of the other 36 tasks uses together.
Importing this module registers the tasks in bench/tasks.py's `TASK` (the benchmark's workers look them up there)."""
from __future__ import annotations
from dataclasses import dataclass
from functools import lru_cache
import numpy as np,torch
from torch.utils.data import TensorDataset
from fastai.basics import DataLoaders,Learner,CrossEntropyLossFlat,MSELossFlat,set_seed
import sklearn.datasets as skd
import tasks as T
from tasks import Task,FinetuneTask,AppTask,mlp,cnn,OPTS,_std,_split

# ---- data: new generated sets, split once with data seed 0 as bench/tasks.py splits its own

@lru_cache(None)
def _data3(name):
    if name=='friedman2':
        x,y = skd.make_friedman2(2000, noise=10., random_state=3); x,y = _std(x),_std(y)[:,None]
    elif name=='classif3':
        x,y = skd.make_classification(2500, n_features=12, n_informative=6, n_redundant=2, n_classes=3, n_clusters_per_class=2,
                                      class_sep=0.8, flip_y=0.03, random_state=7); x = _std(x)
    elif name=='regress':
        x,y = skd.make_regression(2000, n_features=15, n_informative=8, noise=20., random_state=5)
        y = y + 0.02*y**2 # a mild non-linearity
        x,y = _std(x),_std(y)[:,None]
    else: raise ValueError(name)
    return _split(x, y)

@dataclass
class Task3(Task):
    "A scratch task on this module's data"
    def learner(self, seed:int=0)->Learner:
        xt,yt,xv,yv,reg = _data3(self.data)
        set_seed(seed, reproducible=True)
        model = self.model(xt.shape[1], 1 if reg else int(yt.max())+1)
        dls = DataLoaders.from_dsets(TensorDataset(xt,yt), TensorDataset(xv,yv), bs=self.bs, device='cpu', num_workers=0)
        return Learner(dls, model, loss_func=MSELossFlat() if reg else CrossEntropyLossFlat(), opt_func=OPTS[self.opt])

    def summary(self)->str:
        xt,yt,xv,yv,reg = _data3(self.data)
        return (f"{self.desc}; {self.opt}, bs {self.bs}, {self.epochs} epochs of fit_one_cycle "
                f"({len(xt)} train / {len(xv)} valid, {len(xt)//self.bs} batches per epoch)")

    def sig(self)->dict: return dict(super().sig(), data=self.data, third=1)

# ---- apps: fastai's tabular and collab learners on new data

@lru_cache(None)
def _diabetes_df():
    "Diabetes as a DataFrame: 10 continuous columns, sex and two binned copies as categories, the target standardised (MSE)"
    import pandas as pd
    d = skd.load_diabetes(as_frame=True).frame
    d['sex_cat'] = (d['sex']>0).map({True:'a', False:'b'})
    d['bmi_bin'] = pd.qcut(d['bmi'], 4, labels=False).astype(str)
    d['age_bin'] = pd.qcut(d['age'], 3, labels=False).astype(str)
    d = d.drop(columns=['sex'])
    d['target'] = ((d['target']-d['target'].mean())/d['target'].std()).astype(np.float32)
    return d

@dataclass
class AppTask3(AppTask):
    "An application learner on this module's data ('tabular_diabetes', 'collab_nn3')"
    def learner(self, seed:int=0)->Learner:
        set_seed(seed, reproducible=True)
        o = dict(opt_func=OPTS[self.opt])
        if self.kind=='tabular_diabetes':
            from fastai.tabular.all import TabularDataLoaders,tabular_learner,Categorify,FillMissing,Normalize
            d = _diabetes_df()
            cats = ['sex_cat','bmi_bin','age_bin']
            conts = [c for c in d.columns if c not in (*cats, 'target')]
            dls = TabularDataLoaders.from_df(d, procs=[Categorify, FillMissing, Normalize], cat_names=cats, cont_names=conts,
                                             y_names='target', valid_idx=T._valid_idx(len(d)), bs=self.bs, num_workers=0)
            return tabular_learner(dls, **o, **self.kw)
        if self.kind=='collab_nn3':
            from fastai.collab import CollabDataLoaders,collab_learner
            dls = CollabDataLoaders.from_df(T._ratings_df(seed=3), bs=self.bs, valid_pct=0.2, seed=0, num_workers=0)
            return collab_learner(dls, y_range=(0.5,5.5), use_nn=True, **o, **self.kw)
        return super().learner(seed)

T._APP_DATA.update(tabular_diabetes=lambda: (len(_diabetes_df())-len(_diabetes_df())//5,len(_diabetes_df())//5),
                   collab_nn3=lambda: (8000,2000))

# ---- the set

THIRD = [
    Task3('friedman2_reg_sgdm', 'friedman2', lambda i,o: mlp(i,o,(64,64)), 'sgdm', 32, 6, (-5,1),
          'Friedman #2 regression (MSE), MLP 4-64-64-1', heldout=True),
    Task3('classif3_mlp_sgd', 'classif3', lambda i,o: mlp(i,o,(64,)), 'sgd', 32, 5, (-4,2),
          '3-class make_classification (12 features), MLP 12-64-3, plain SGD', heldout=True),
    Task3('regress_bn_adam', 'regress', lambda i,o: mlp(i,o,(64,32),bn=True), 'adam', 64, 8, (-5,1),
          'make_regression with a mild square term (MSE), MLP 15-64-32-1 with BatchNorm', heldout=True),
    FinetuneTask('ft_mlp_slice_adam', 'mlp', 'slice', 'adam', 32, 5, (-5,1),
                 'make_classification pairs, MLP body 30-128-128, new linear head', heldout=True, head_lr=1e-2),
    FinetuneTask('ft_cnnbn_slice_sgdm', 'cnnbn', 'slice', 'sgdm', 32, 4, (-4,2),
                 'digits pairs, 2-layer CNN body with BatchNorm, new linear head', heldout=True, head_lr=0.1),
    FinetuneTask('ft_mlpbn_unfrozen_sgdm', 'mlpbn', 'unfrozen', 'sgdm', 32, 5, (-4,2),
                 'make_classification pairs, MLP body 30-128-128 with BatchNorm, new linear head', heldout=True, head_lr=0.1),
    AppTask3('app_tabular_diabetes', 'tabular_diabetes', 'adam', 32, 8, (-5,1),
             'diabetes DataFrame (9 continuous + 3 categorical columns, MSE), tabular_learner (200-100)', heldout=True),
    AppTask3('app_collab_nn_sgdm', 'collab_nn3', 'sgdm', 128, 4, (-4,2),
             'synthetic ratings (a fourth draw), collab_learner(use_nn=True)', heldout=True, kw=dict(layers=[64], wd=0.1)),
    AppTask('app_tabular_synth_adam', 'tabular_synth', 'adam', 64, 4, (-5,1),
            'synthetic regression DataFrame (6 continuous + 3 categorical columns, MSE), tabular_learner (100-50)', heldout=True,
            kw=dict(layers=[100,50])),
]
T.TASK.update({t.name:t for t in THIRD})
assert not {t.name for t in THIRD} & {t.name for t in T.TASKS+T.FRESH}
