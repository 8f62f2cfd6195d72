"""Tasks of the suggestion-quality benchmark (bench/quality.py): small learners that train on a CPU in seconds.

Three families, each split into DEV tasks (the suggesters may be tuned on them) and HELDOUT tasks (never looked at
while choosing anything; reported only):
- `scratch`: small models trained from random weights (`Task`), the benchmark's first twelve tasks.
- `finetune` (`FinetuneTask`): a body pretrained inside the benchmark (10 digit classes, or 10 classes of a
  `make_classification` problem), fine-tuned with a new head on data it never saw, labelled with 5 new classes (pairs
  of the old ones), as a fastai user does: frozen (`learn.freeze()`), or unfrozen after one frozen head epoch, with one
  rate or with a discriminative `slice`.
- `apps` (`AppTask`): fastai's own application learners (`vision_learner`, `tabular_learner`,
  `text_classifier_learner`, `collab_learner`) built offline on generated or bundled data.

Each task fixes its data and train/validation split once (data seed 0); `task.learner(seed)` returns the learner in
the state the user calls `lr_find` in, and `seed` varies only what the user's run would vary (a new head's or model's
initialisation, the shuffling). `task.fit(learn, lr)` trains it the way the user would after `lr_find`
(`fit_one_cycle`, with `slice(lr/R, lr)` for the discriminative tasks). Everything comes from scikit-learn's bundled
or generated data: nothing is downloaded. Pretrained bodies, post-head-epoch states and PNG folders are cached under
bench/cache/ (git-ignored, rebuilt on demand in about two minutes: `prepare_jobs`)."""
from __future__ import annotations
import warnings
warnings.filterwarnings('ignore', category=FutureWarning, module='torch') # fastai's import of torch.jit
import hashlib,json,os,shutil,tempfile,time,uuid
from dataclasses import dataclass,field
from functools import partial,lru_cache
from pathlib import Path
import numpy as np,torch
from torch import nn
from torch.utils.data import TensorDataset
from fastai.basics import (DataLoaders,Learner,CrossEntropyLossFlat,MSELossFlat,set_seed,Adam,SGD,
                           defaults,L,params)
from fastai.optimizer import ranger
from fastai.callback.progress import ProgressCallback
import fastai.callback.schedule # fit_one_cycle
import sklearn.datasets as skd

# No progress bars in a benchmark
defaults.callbacks = [cb for cb in defaults.callbacks if cb is not ProgressCallback]

HERE = Path(__file__).resolve().parent
CACHE = Path(os.environ.get('LRF_BENCH_CACHE', HERE/'cache')) # pretrained bodies, head-epoch states, PNG folders
DATA_VERSION = 2 # bump when a generated data set or a pretraining recipe changes: the grids' signatures carry it

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
    # the fresh held-out tasks' data (FRESH, below)
    elif name=='wine':
        x,y = skd.load_wine(return_X_y=True); x = _std(x)
    elif name=='circles':
        x,y = skd.make_circles(2000, noise=0.1, factor=0.5, random_state=0)
    elif name=='friedman3':
        x,y = skd.make_friedman3(2000, noise=0.05, random_state=0); x,y = _std(x),_std(y)[:,None]
    else: raise ValueError(name)
    return _split(x, y)

def _split(x, y):
    "Tensors of `x` and `y`, split 4:1 with data seed 0: (x_train, y_train, x_valid, y_valid, regression?)"
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

def _conv(ni, nf, stride, bn):
    return [nn.Conv2d(ni, nf, 3, stride=stride, padding=1)] + ([nn.BatchNorm2d(nf)] if bn else []) + [nn.ReLU()]

def cnn(n_out=10, bn=False):
    return nn.Sequential(_Img(), *_conv(1,16,1,bn), *_conv(16,32,2,bn), nn.Flatten(), nn.Linear(32*4*4,n_out))

OPTS = dict(adam=Adam, sgd=SGD, sgdm=partial(SGD, mom=0.9), ranger=ranger)

# ---------------------------------------------------------------------------------------------------------------
# What every task shares

class _TaskBase:
    "The interface quality.py uses: `learner(seed)`, `fit(learn, lr)`, the lr_find arguments, signatures"
    family = 'scratch'
    R = None # ratio of the discriminative slice, if any: `fit_one_cycle(n, slice(lr/R, lr))`

    @property
    def lrs(self)->np.ndarray:
        "The coarse grid: 3 learning rates per decade"
        lo,hi = self.grid
        return 10**np.linspace(lo, hi, 3*(hi-lo)+1)

    def lr_arg(self, lr):
        "What the user passes to `fit_one_cycle` for top rate `lr`"
        return slice(lr/self.R, lr) if self.R else lr

    def fit(self, learn, lr, cbs=None):
        "The truth's training run: `fit_one_cycle` for the task's epochs at `lr` (the top rate of a slice)"
        learn.fit_one_cycle(self.epochs, self.lr_arg(lr), cbs=cbs)

    def find_kwargs(self, learn=None)->dict:
        "Extra arguments of this package's `lr_find`: a slice per end with the fit's group ratio, for slice tasks"
        if not self.R: return {}
        return dict(start_lr=slice(1e-7/self.R, 1e-7), end_lr=slice(10/self.R, 10))

    def fastai_find_kwargs(self, learn)->dict:
        """The same for fastai's own `lr_find`, one learning rate per parameter group. fastai 2.8.12's `LRFinder` fails
        on lists (it builds a list of schedules and then calls the list), but its `SchedExp` works elementwise on
        numpy arrays, which `set_hyper` spreads over the groups: so arrays, geometric like `slice` in `fit`"""
        if not self.R: return {}
        n = len(learn.opt.param_lists) if learn.opt is not None else len(learn.splitter(learn.model))
        ev = lambda a,b: np.array([a*(b/a)**(i/(n-1)) for i in range(n)] if n>1 else [b])
        return dict(start_lr=ev(1e-7/self.R, 1e-7), end_lr=ev(10/self.R, 10))

    def sig(self)->dict: raise NotImplementedError
    def curve_sig(self)->dict: raise NotImplementedError
    def prepare_jobs(self, seeds=())->list:
        "Cache-building jobs (picklable tuples for `run_prepare_job`) this task needs before `learner(seed)` is quick"
        return []

# ---------------------------------------------------------------------------------------------------------------
# Family `scratch`

@dataclass
class Task(_TaskBase):
    "One benchmark task trained from scratch: data, model, optimizer, batch size, and the epochs of `fit_one_cycle`"
    name:str
    data:str
    model:object # function of (n_in, n_out) -> nn.Module
    opt:str # key of OPTS
    bs:int
    epochs:int
    grid:tuple # (lo, hi) exponents of the coarse learning-rate grid, 3 per decade
    desc:str=''
    heldout:bool=False
    seeds:tuple=(0,1,2,3,4) # grid seeds

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
                f"({len(xt)} train / {len(xv)} valid, {len(xt)//self.bs} batches per epoch)")

    # The signatures the first version of grid.json and curves.json.gz were written with: kept as they were
    def sig(self)->dict: return dict(epochs=self.epochs, bs=self.bs, opt=self.opt, grid=list(self.grid),
                                     seeds=list(self.seeds), desc=self.desc)
    def curve_sig(self)->dict: return dict(bs=self.bs, opt=self.opt, desc=self.desc, data=self.data)

# ---------------------------------------------------------------------------------------------------------------
# Cache helpers: every write goes to a unique temporary name first, then is renamed, so two workers can race

def _h(d)->str: return hashlib.sha1(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()[:10]

def _save_atomic(obj, fn:Path):
    fn.parent.mkdir(parents=True, exist_ok=True)
    tmp = fn.with_name(f'.{fn.name}.{uuid.uuid4().hex}')
    torch.save(obj, tmp); os.replace(tmp, fn)

def _dir_atomic(dst:Path, build):
    "Build folder `dst` with `build(tmp_folder)` unless it exists"
    if dst.exists(): return dst
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=dst.parent, prefix=f'.{dst.name}.'))
    build(tmp)
    try: os.rename(tmp, dst)
    except OSError: shutil.rmtree(tmp, ignore_errors=True) # another process won the race
    return dst

# ---------------------------------------------------------------------------------------------------------------
# Data of the fine-tuning and application families

N_FT_TRAIN = 300 # training items of the fine-tuning targets: little data, as when one fine-tunes
IMG_SIZE = 16 # digits upscaled from 8x8 for the ResNet tasks (a 64-image batch of 32x32 costs 0.4 s here, 16x16 a quarter)
# The fine-tuning target: 5 new classes, each a pair of digits (or of make_classification classes), on data the body
# never saw. (Digits 0-4 -> 5-9 was tried first: on 300 target images the bodies were worth nothing or less than nothing
# against the same model trained from scratch, the ResNet's worst of all: its last features had collapsed onto 5 classes.)
PAIRS = np.array([0,1,2,3,4,2,0,1,3,4]) # class c -> target class PAIRS[c]: {0,6} {1,7} {2,5} {3,8} {4,9}

def _split_src_tgt(x, y, n_src, n_val_tgt):
    """Rows permuted once (seed 0): the first `n_src` are the source (10 classes, 80/20 train/valid), the rest the target
    (labels PAIRS[y]; N_FT_TRAIN train, up to `n_val_tgt` valid). Returns {part: (xt, yt, xv, yv, (train_rows, valid_rows))}"""
    idx = np.random.RandomState(0).permutation(len(x))
    src,tgt = idx[:n_src],idx[n_src:]
    n_tr = n_src-n_src//5
    t = lambda a: torch.tensor(a, dtype=torch.float32)
    out = {}
    for part,(tr,va,lab) in dict(src=(src[:n_tr],src[n_tr:],y), tgt=(tgt[:N_FT_TRAIN],tgt[N_FT_TRAIN:N_FT_TRAIN+n_val_tgt],PAIRS[y])).items():
        out[part] = (t(x[tr]),torch.tensor(lab[tr]),t(x[va]),torch.tensor(lab[va]),(tr,va))
    return out

@lru_cache(None)
def _digits_parts():
    x,y = skd.load_digits(return_X_y=True)
    return _split_src_tgt(x/16, y, 1100, 1000) # source 880/220, target 300/397

@lru_cache(None)
def _clf_parts():
    x,y = skd.make_classification(8000, n_features=30, n_informative=12, n_redundant=8, n_classes=10,
                                  n_clusters_per_class=1, class_sep=1.2, flip_y=0.02, random_state=1)
    return _split_src_tgt(_std(x), y, 6000, 1500) # source 4800/1200, target 300/1500

def _digits_split(part:str): return _digits_parts()[part]
def _clf_split(part:str): return _clf_parts()[part]

def _write_pngs(root:Path, items):
    "`items`: (split, label, index) of digits to write as IMG_SIZE x IMG_SIZE RGB PNGs under root/split/label/"
    from PIL import Image
    x,y = skd.load_digits(return_X_y=True)
    for split,lab,i in items:
        im = Image.fromarray((x[i].reshape(8,8)/16*255).astype(np.uint8))
        im = im.resize((IMG_SIZE,IMG_SIZE), Image.BILINEAR).convert('RGB')
        d = root/split/str(lab); d.mkdir(parents=True, exist_ok=True)
        im.save(d/f'{i:04d}.png')

def png_folder(which:str)->Path:
    """Digits as RGB PNGs in a train/valid folder tree, written once under bench/cache/: 'all' (10 classes, the
    `digits` split of the scratch tasks), 'src' (the fine-tuning source, 10 classes), 'tgt' (the target, digit pairs)"""
    def build(tmp):
        y = skd.load_digits().target
        if which=='all':
            idx = torch.randperm(len(y), generator=torch.Generator().manual_seed(0)).numpy()
            n_val = len(y)//5
            _write_pngs(tmp, [('valid' if j<n_val else 'train', y[i], i) for j,i in enumerate(idx)])
        else:
            *_,(tr,va) = _digits_split(which)
            lab = y if which=='src' else PAIRS[y]
            _write_pngs(tmp, [('train', f'p{lab[i]}' if which=='tgt' else lab[i], i) for i in tr] +
                             [('valid', f'p{lab[i]}' if which=='tgt' else lab[i], i) for i in va])
    return _dir_atomic(CACHE/f'digits_png_{which}_{IMG_SIZE}px_v{DATA_VERSION}', build)

def png_folder_exists(which): return (CACHE/f'digits_png_{which}_{IMG_SIZE}px_v{DATA_VERSION}').exists()

def _image_dls(which, bs):
    from fastai.vision.data import ImageDataLoaders
    return ImageDataLoaders.from_folder(png_folder(which), train='train', valid='valid', bs=bs, num_workers=0)

# ---------------------------------------------------------------------------------------------------------------
# Bodies pretrained inside the benchmark (fixed seed 0), cached under bench/cache/

def _body_head_split(m): return L(m[0], m[1]).map(params)

@dataclass(frozen=True)
class Body:
    "A body and how it is pretrained on the source classes: architecture, data, optimizer, epochs, lr, bs"
    key:str
    arch:str # 'cnn', 'cnnbn', 'mlp', 'mlpbn' (nn.Sequential(body, head)) or 'resnet18' (vision_learner)
    data:str # 'digits' (8x8 digits, or 32x32 RGB PNGs for resnet18) or 'clf' (make_classification)
    epochs:int
    lr:float
    bs:int=64

    @property
    def spec(self): return dict(arch=self.arch, data=self.data, epochs=self.epochs, lr=self.lr, bs=self.bs, v=DATA_VERSION,
                                **(dict(px=IMG_SIZE) if self.arch=='resnet18' else {}))
    @property
    def path(self)->Path: return CACHE/f'body_{self.key}_{_h(self.spec)}.pt'

    def split(self, part): return (_digits_split if self.data=='digits' else _clf_split)(part)

    def module(self, n_in:int)->nn.Module:
        "A fresh body (random weights) and the width of its output"
        if self.arch in ('cnn','cnnbn'):
            bn = self.arch=='cnnbn'
            return nn.Sequential(_Img(), *_conv(1,16,1,bn), *_conv(16,32,2,bn), nn.Flatten()),32*4*4
        if self.arch in ('mlp','mlpbn'):
            bn = self.arch=='mlpbn'
            ls = []
            for a,b in ((n_in,128),(128,128)): ls += [nn.Linear(a,b)] + ([nn.BatchNorm1d(b)] if bn else []) + [nn.ReLU()]
            return nn.Sequential(*ls),128
        raise ValueError(self.arch)

    def learner(self, part:str, opt:str, bs:int)->Learner:
        "A learner on `part` ('src': 10 classes, or 'tgt': 5) with this body (random weights) and a new head"
        if self.arch=='resnet18':
            from fastai.vision.learner import vision_learner
            from fastai.vision.models import resnet18
            return vision_learner(_image_dls(part, bs), resnet18, pretrained=False, opt_func=OPTS[opt])
        xt,yt,xv,yv,_ = self.split(part)
        body,nf = self.module(xt.shape[1])
        dls = DataLoaders.from_dsets(TensorDataset(xt,yt), TensorDataset(xv,yv), bs=bs, device='cpu', num_workers=0)
        return Learner(dls, nn.Sequential(body, nn.Linear(nf, 10 if part=='src' else 5)), loss_func=CrossEntropyLossFlat(),
                       opt_func=OPTS[opt], splitter=_body_head_split)

    def pretrain(self)->dict:
        "Train body + a head on the source classes from scratch (Adam, seed 0) and cache the body's weights"
        t0 = time.time()
        set_seed(0, reproducible=True)
        learn = self.learner('src', 'adam', self.bs)
        with learn.no_logging():
            learn.fit_one_cycle(self.epochs, self.lr)
            loss = float(learn.validate()[0])
        info = dict(src_valid_loss=loss, secs=time.time()-t0, spec=self.spec)
        _save_atomic(dict(state=learn.model[0].state_dict(), info=info), self.path)
        return info

    def load_into(self, learn:Learner):
        "Put the cached pretrained weights into `learn.model[0]` (pretraining them first if needed)"
        if not self.path.exists(): self.pretrain()
        learn.model[0].load_state_dict(torch.load(self.path, weights_only=False)['state'])

    def info(self)->dict|None:
        return torch.load(self.path, weights_only=False)['info'] if self.path.exists() else None

BODIES = {b.key:b for b in (
    Body('cnn', 'cnn', 'digits', 8, 1e-2),
    Body('cnnbn', 'cnnbn', 'digits', 8, 1e-2),
    Body('mlp', 'mlp', 'clf', 10, 3e-3),
    Body('mlpbn', 'mlpbn', 'clf', 10, 1e-2),
    Body('resnet18', 'resnet18', 'digits', 6, 1e-2, bs=32),
)}

# ---------------------------------------------------------------------------------------------------------------
# Family `finetune`

@dataclass
class FinetuneTask(_TaskBase):
    """Fine-tune a pretrained body with a new head on the target classes.
    mode 'frozen': `learn.freeze()`, then lr_find and `fit_one_cycle(epochs, lr)`.
    mode 'unfrozen': frozen `fit_one_cycle(1, head_lr)` (cached per seed), `unfreeze()`, then lr_find and
    `fit_one_cycle(epochs, lr)`. mode 'slice': the same, with `slice(lr/R, lr)` and a sweep with that group ratio."""
    name:str
    body:str # key of BODIES
    mode:str # 'frozen', 'unfrozen' or 'slice'
    opt:str
    bs:int
    epochs:int
    grid:tuple
    desc:str=''
    heldout:bool=False
    head_lr:float|None=None # the head epoch's learning rate (modes 'unfrozen' and 'slice')
    slice_R:float=100.
    seeds:tuple=(0,1,2)
    ref_seeds:tuple=(0,1) # seeds of the from-scratch reference (`learner(seed, scratch=True)`) on the coarse grid
    family = 'finetune'

    def __post_init__(self):
        self.R = self.slice_R if self.mode=='slice' else None
        assert self.mode in ('frozen','unfrozen','slice') and (self.mode=='frozen' or self.head_lr)

    @property
    def B(self)->Body: return BODIES[self.body]

    def _head_spec(self): return dict(body=self.B.spec, opt=self.opt, bs=self.bs, head_lr=self.head_lr)
    def head_path(self, seed)->Path: return CACHE/f'head_{self.body}_{self.opt}_{_h(self._head_spec())}_s{seed}.pt'

    def _frozen(self, seed)->Learner:
        set_seed(seed, reproducible=True)
        learn = self.B.learner('tgt', self.opt, self.bs)
        self.B.load_into(learn)
        learn.freeze()
        return learn

    def head_epoch(self, seed)->dict:
        "One frozen epoch of `fit_one_cycle` at `head_lr`; caches what it changed (head, normalisation layers)"
        t0 = time.time()
        learn = self._frozen(seed)
        start = {k:v.clone() for k,v in learn.model.state_dict().items()}
        with learn.no_logging():
            learn.fit_one_cycle(1, self.head_lr)
            loss = float(learn.validate()[0])
        diff = {k:v for k,v in learn.model.state_dict().items() if not torch.equal(v, start[k])}
        info = dict(valid_loss=loss, secs=time.time()-t0, n_changed=len(diff))
        _save_atomic(dict(state=diff, info=info), self.head_path(seed))
        return info

    def learner(self, seed:int=0, scratch:bool=False)->Learner:
        """The learner as the user has it when calling lr_find: pretrained body, new head (initialised by `seed`),
        frozen, or unfrozen after the cached head epoch. `scratch=True`: the same model from random weights, unfrozen
        (the reference that shows what the pretrained body is worth)"""
        if scratch:
            set_seed(seed, reproducible=True)
            return self.B.learner('tgt', self.opt, self.bs)
        learn = self._frozen(seed)
        if self.mode!='frozen':
            if not self.head_path(seed).exists(): self.head_epoch(seed)
            learn.model.load_state_dict(torch.load(self.head_path(seed), weights_only=False)['state'], strict=False)
            learn.unfreeze()
        return learn

    def fit_scratch(self, learn, lr, cbs=None):
        "The from-scratch reference trains the whole model at one rate for the same epochs (plus the head epoch)"
        learn.fit_one_cycle(self.epochs + (self.mode!='frozen'), lr, cbs=cbs)

    def prepare_jobs(self, seeds=()):
        jobs = [] if self.B.path.exists() else [('body', self.body)]
        if self.mode!='frozen': jobs += [('head', self.name, s) for s in seeds if not self.head_path(s).exists()]
        return jobs

    def summary(self)->str:
        if self.B.arch=='resnet18': nt,nv = (len(a) for a in _digits_split('tgt')[4])
        else: nt,nv = (len(a) for a in self.B.split('tgt')[4])
        how = ('frozen body (`freeze()`)' if self.mode=='frozen' else
               f'1 frozen head epoch at {self.head_lr:g}, then `unfreeze()`, ' +
               ('one rate' if self.mode=='unfrozen' else f'`slice(lr/{self.slice_R:g}, lr)`'))
        return (f"{self.desc}; {how}; {self.opt}, bs {self.bs}, {self.epochs} epochs of fit_one_cycle "
                f"({nt} train / {nv} valid, {nt//self.bs} batches per epoch)")

    def sig(self)->dict:
        return dict(family=self.family, body=self.B.spec, mode=self.mode, head_lr=self.head_lr, R=self.R,
                    epochs=self.epochs, bs=self.bs, opt=self.opt, grid=list(self.grid), seeds=list(self.seeds),
                    desc=self.desc, n_train=N_FT_TRAIN)
    def curve_sig(self)->dict:
        return dict(family=self.family, body=self.B.spec, mode=self.mode, head_lr=self.head_lr, R=self.R,
                    bs=self.bs, opt=self.opt, desc=self.desc, n_train=N_FT_TRAIN)

# ---------------------------------------------------------------------------------------------------------------
# Family `apps`: fastai's application learners, offline

_POS = 'good great excellent wonderful fine lovely superb nice brilliant'.split()
_NEG = 'bad awful terrible poor boring ugly dull weak mediocre'.split()
_FILL = 'the movie film plot was and it story acting a very really quite this i think of music ending'.split()

@lru_cache(None)
def _text_df(n=1200, n_val=400, seed=0):
    """Generated reviews: 4-9 filler words and 1-2 sentiment words, each agreeing with the review's label with
    probability 0.85, some negated ('not bad' for a positive word); 5% of labels flipped"""
    import pandas as pd
    rng = np.random.RandomState(seed)
    texts,labels = [],[]
    for _ in range(n):
        lab = rng.rand()<0.5
        w = list(rng.choice(_FILL, rng.randint(4,10)))
        for _ in range(rng.randint(1,3)):
            p = lab if rng.rand()<0.85 else not lab
            word = 'not '+rng.choice(_NEG if p else _POS) if rng.rand()<0.15 else rng.choice(_POS if p else _NEG)
            w.insert(rng.randint(len(w)+1), word)
        if rng.rand()<0.05: lab = not lab
        texts.append(' '.join(w)); labels.append('pos' if lab else 'neg')
    return pd.DataFrame(dict(text=texts, label=labels, is_valid=np.arange(n)<n_val))

@lru_cache(None)
def _cancer_df():
    "Breast cancer as a DataFrame: 30 continuous columns, two binned copies of features and one noise category"
    import pandas as pd
    d = skd.load_breast_cancer(as_frame=True).frame
    d['size_bin'] = pd.qcut(d['mean radius'], 5, labels=False).astype(str)
    d['texture_bin'] = pd.qcut(d['mean texture'], 4, labels=False).astype(str)
    d['noise_cat'] = np.random.RandomState(0).choice(list('abcdef'), len(d))
    d['target'] = d['target'].map({0:'malignant', 1:'benign'})
    return d

@lru_cache(None)
def _synth_tab_df(n=3000):
    "A regression DataFrame: 3 categorical columns (with per-level effects and an interaction) and 6 continuous ones"
    import pandas as pd
    rng = np.random.RandomState(0)
    c = rng.randn(n, 6)
    a,b,e = rng.randint(0,8,n),rng.randint(0,5,n),rng.randint(0,12,n)
    ea,eb,ee = rng.randn(8),rng.randn(5),rng.randn(12)*0.5
    y = (ea[a] + eb[b]*c[:,0] + ee[e] + np.sin(2*c[:,1]) + c[:,2]*c[:,3] + 0.5*c[:,4]**2 + 0.5*rng.randn(n))
    d = pd.DataFrame(c, columns=[f'x{i}' for i in range(6)])
    d['shop'],d['kind'],d['month'] = [f's{o}' for o in a],[f'k{o}' for o in b],[f'm{o}' for o in e]
    d['y'] = ((y-y.mean())/y.std()).astype(np.float32)
    return d

@lru_cache(None)
def _ratings_df(seed=0, n_users=300, n_items=200, n=10000, k=4):
    "Synthetic ratings 1-5: user and item biases plus a k-factor interaction plus noise"
    import pandas as pd
    rng = np.random.RandomState(seed)
    U,V = rng.randn(n_users,k),rng.randn(n_items,k)
    bu,bi = rng.randn(n_users)*.5,rng.randn(n_items)*.5
    u,i = rng.randint(0,n_users,n),rng.randint(0,n_items,n)
    r = np.clip(3+bu[u]+bi[i]+(U[u]*V[i]).sum(1)*0.5+rng.randn(n)*.5, 1, 5)
    return pd.DataFrame(dict(user=u, item=i, rating=r.astype(np.float32)))

@lru_cache(None)
def _clf_tab_df(n=3000):
    "A 3-class DataFrame from `make_classification`: 6 continuous columns, two of them also binned, and one noise category"
    import pandas as pd
    x,y = skd.make_classification(n, n_features=6, n_informative=4, n_redundant=1, n_classes=3, flip_y=0.03, random_state=2)
    d = pd.DataFrame(x, columns=[f'f{i}' for i in range(6)])
    d['f0_bin'] = pd.qcut(d['f0'], 6, labels=False).astype(str)
    d['f1_bin'] = pd.qcut(d['f1'], 4, labels=False).astype(str)
    d['noise_cat'] = np.random.RandomState(2).choice(list('abcd'), n)
    d['target'] = [f'c{v}' for v in y]
    return d

def _valid_idx(n, seed=0): return list(np.random.RandomState(seed).permutation(n)[:n//5])

def _app_learner(kind, opt, bs, kw):
    "The application learner `kind`, built as its tutorial does (no pretrained weights, in-process data loading)"
    o = dict(opt_func=OPTS[opt])
    if kind=='vision':
        from fastai.vision.learner import vision_learner
        from fastai.vision.models import resnet18
        return vision_learner(_image_dls('all', bs), resnet18, pretrained=False, **o, **kw)
    if kind in ('tabular_cancer','tabular_synth','tabular_clf'):
        from fastai.tabular.all import TabularDataLoaders,tabular_learner,Categorify,FillMissing,Normalize
        if kind=='tabular_cancer':
            d = _cancer_df(); cats,y = ['size_bin','texture_bin','noise_cat'],'target'
        elif kind=='tabular_clf':
            d = _clf_tab_df(); cats,y = ['f0_bin','f1_bin','noise_cat'],'target'
        else:
            d = _synth_tab_df(); cats,y = ['shop','kind','month'],'y'
        conts = [c for c in d.columns if c not in (*cats, y)]
        dls = TabularDataLoaders.from_df(d, procs=[Categorify, FillMissing, Normalize], cat_names=cats, cont_names=conts,
                                         y_names=y, valid_idx=_valid_idx(len(d)), bs=bs, num_workers=0)
        return tabular_learner(dls, **o, **kw)
    if kind=='text':
        from fastai.text.all import TextBlock,CategoryBlock,DataBlock,ColReader,ColSplitter,text_classifier_learner,AWD_LSTM
        from fastai.text.models.awdlstm import awd_lstm_clas_config
        db = DataBlock(blocks=(TextBlock.from_df('text', n_workers=0, seq_len=72), CategoryBlock),
                       get_x=ColReader('text'), get_y=ColReader('label'), splitter=ColSplitter('is_valid'))
        dls = db.dataloaders(_text_df(), bs=bs, num_workers=0)
        kw = dict(kw); cfg = {**awd_lstm_clas_config, **kw.pop('config', {})}
        return text_classifier_learner(dls, AWD_LSTM, pretrained=False, config=cfg, **o, **kw)
    if kind in ('collab_dot','collab_nn','collab_dot2'):
        from fastai.collab import CollabDataLoaders,collab_learner
        d = _ratings_df(seed=dict(collab_dot=0, collab_nn=1, collab_dot2=2)[kind])
        dls = CollabDataLoaders.from_df(d, bs=bs, valid_pct=0.2, seed=0, num_workers=0)
        return collab_learner(dls, y_range=(0.5,5.5), use_nn=kind=='collab_nn', **o, **kw)
    raise ValueError(kind)

_APP_DATA = dict(vision=lambda: (len(_data('digits')[0]),len(_data('digits')[2])),
                 tabular_cancer=lambda: (len(_cancer_df())-len(_cancer_df())//5,len(_cancer_df())//5),
                 tabular_synth=lambda: (len(_synth_tab_df())-len(_synth_tab_df())//5,len(_synth_tab_df())//5),
                 text=lambda: (int((~_text_df().is_valid).sum()),int(_text_df().is_valid.sum())),
                 tabular_clf=lambda: (len(_clf_tab_df())-len(_clf_tab_df())//5,len(_clf_tab_df())//5),
                 collab_dot=lambda: (8000,2000), collab_nn=lambda: (8000,2000), collab_dot2=lambda: (8000,2000))

@dataclass
class AppTask(_TaskBase):
    "A fastai application learner trained from random weights with `fit_one_cycle`"
    name:str
    kind:str # 'vision', 'tabular_cancer', 'tabular_synth', 'text', 'collab_dot', 'collab_nn'
    opt:str
    bs:int
    epochs:int
    grid:tuple
    desc:str=''
    heldout:bool=False
    kw:dict=field(default_factory=dict) # more arguments of the learner function (wd, layers, config, ...)
    seeds:tuple=(0,1,2)
    family = 'apps'

    def learner(self, seed:int=0)->Learner:
        set_seed(seed, reproducible=True)
        return _app_learner(self.kind, self.opt, self.bs, self.kw)

    def prepare_jobs(self, seeds=()):
        return [('png', 'all')] if self.kind=='vision' and not png_folder_exists('all') else []

    def summary(self)->str:
        nt,nv = _APP_DATA[self.kind]()
        kw = ', '.join(f'{k}={v}' for k,v in self.kw.items())
        return (f"{self.desc}{' ('+kw+')' if kw else ''}; {self.opt}, bs {self.bs}, {self.epochs} epochs of fit_one_cycle "
                f"({nt} train / {nv} valid, {nt//self.bs} batches per epoch)")

    def _data_sig(self): return dict(v=DATA_VERSION, **(dict(px=IMG_SIZE) if self.kind=='vision' else {}))
    def sig(self)->dict:
        return dict(family=self.family, kind=self.kind, kw=self.kw, epochs=self.epochs, bs=self.bs, opt=self.opt,
                    grid=list(self.grid), seeds=list(self.seeds), desc=self.desc, **self._data_sig())
    def curve_sig(self)->dict:
        return dict(family=self.family, kind=self.kind, kw=self.kw, bs=self.bs, opt=self.opt, desc=self.desc, **self._data_sig())

def run_prepare_job(job)->tuple:
    "Build one cache entry: ('body', key), ('head', task name, seed) or ('png', which)"
    t0 = time.time()
    if job[0]=='body': BODIES[job[1]].pretrain()
    elif job[0]=='head': TASK[job[1]].head_epoch(job[2])
    elif job[0]=='png': png_folder(job[1])
    else: raise ValueError(job)
    return job,time.time()-t0

# ---------------------------------------------------------------------------------------------------------------

TASKS = [
    # --- scratch: dev (the suggesters may be tuned on these)
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
    # --- scratch: held out (run only at the end, never tuned on)
    Task('digits_cnnbn_adam', 'digits', lambda i,o: cnn(o, bn=True), 'adam', 64, 4, (-5,1),
         'digits, 2-layer CNN with BatchNorm', heldout=True),
    Task('friedman_reg_sgdm', 'friedman', lambda i,o: mlp(i,o,(64,64)), 'sgdm', 64, 6, (-5,1),
         'Friedman #1 regression (MSE), MLP 10-64-64-1', heldout=True),
    Task('classif_bn_adam', 'classif', lambda i,o: mlp(i,o,(128,128),bn=True), 'adam', 16, 3, (-5,1),
         '5-class make_classification, MLP 20-128-128-5 with BatchNorm', heldout=True),
    Task('cancer_bn_adam', 'cancer', lambda i,o: mlp(i,o,(32,32),bn=True), 'adam', 64, 10, (-5,1),
         'breast cancer, MLP 30-32-32-2 with BatchNorm', heldout=True),

    # --- finetune: dev. Bodies pretrained on the source rows (10 classes); targets: 300 new rows, 5 classes (pairs)
    FinetuneTask('ft_cnn_frozen_adam', 'cnn', 'frozen', 'adam', 32, 5, (-5,1), 'digits pairs, 2-layer CNN body, new linear head'),
    FinetuneTask('ft_mlp_frozen_sgdm', 'mlp', 'frozen', 'sgdm', 32, 5, (-5,1),
                 'make_classification pairs, MLP body 30-128-128, new linear head'),
    FinetuneTask('ft_cnn_unfrozen_sgdm', 'cnn', 'unfrozen', 'sgdm', 32, 4, (-5,1),
                 'digits pairs, 2-layer CNN body, new linear head', head_lr=0.1),
    FinetuneTask('ft_resnet_slice_adam', 'resnet18', 'slice', 'adam', 32, 3, (-5,1),
                 f'digits pairs as {IMG_SIZE}px RGB PNGs, vision_learner(resnet18, pretrained=False) with its pretrained body',
                 head_lr=1e-2, seeds=(0,1), ref_seeds=(0,)),
    # --- finetune: held out
    FinetuneTask('ft_resnet_frozen_sgdm', 'resnet18', 'frozen', 'sgdm', 32, 4, (-4,2),
                 f'digits pairs as {IMG_SIZE}px RGB PNGs, vision_learner(resnet18, pretrained=False) with its pretrained body',
                 heldout=True, seeds=(0,1), ref_seeds=(0,)),
    FinetuneTask('ft_mlpbn_slice_adam', 'mlpbn', 'slice', 'adam', 32, 5, (-5,1),
                 'make_classification pairs, MLP body 30-128-128 with BatchNorm, new linear head', heldout=True, head_lr=1e-2),
    FinetuneTask('ft_cnnbn_unfrozen_adam', 'cnnbn', 'unfrozen', 'adam', 32, 4, (-5,1),
                 'digits pairs, 2-layer CNN body with BatchNorm, new linear head', heldout=True, head_lr=1e-2),
    # --- apps: dev (fastai's application learners, random weights)
    AppTask('app_vision_resnet18', 'vision', 'adam', 64, 3, (-5,1),
            f'digits (10 classes) as {IMG_SIZE}px RGB PNGs, ImageDataLoaders.from_folder, vision_learner(resnet18, pretrained=False)',
            seeds=(0,1)),
    AppTask('app_tabular_cancer', 'tabular_cancer', 'adam', 32, 5, (-5,1),
            'breast cancer DataFrame (30 continuous + 3 categorical columns), tabular_learner (200-100)'),
    AppTask('app_text_awd', 'text', 'adam', 64, 6, (-5,1),
            'generated 4-11 word reviews (800 train), spaCy tokenizer, text_classifier_learner(AWD_LSTM, pretrained=False), small config',
            kw=dict(config=dict(emb_sz=64, n_hid=128, n_layers=2))),
    AppTask('app_collab_dot', 'collab_dot', 'adam', 128, 4, (-5,1),
            'synthetic ratings (300 users, 200 items, 4 factors), collab_learner dot product', kw=dict(n_factors=20, wd=0.1)),
    # --- apps: held out
    AppTask('app_collab_nn', 'collab_nn', 'adam', 128, 4, (-5,1),
            'synthetic ratings (another draw), collab_learner(use_nn=True)', heldout=True, kw=dict(layers=[64], wd=0.1)),
    AppTask('app_tabular_synth', 'tabular_synth', 'ranger', 64, 5, (-5,1),
            'synthetic regression DataFrame (6 continuous + 3 categorical columns, MSE), tabular_learner (200-100)', heldout=True),
]
# A second, fresh held-out set (bench/fresh.py), defined on 2026-12-02 after every rule and candidate of
# bench/candidates.py had been chosen, before any of these was trained or looked at; run once, reported apart from
# TASKS so that the figures quoted elsewhere stay those of the first 25 tasks.
FRESH = [
    Task('wine_mlp_adam', 'wine', lambda i,o: mlp(i,o,(32,)), 'adam', 16, 10, (-5,1), 'wine (3 classes), MLP 13-32-3',
         heldout=True),
    Task('circles_mlp_sgdm', 'circles', lambda i,o: mlp(i,o,(32,32)), 'sgdm', 64, 6, (-4,2),
         'two circles, MLP 2-32-32-2', heldout=True),
    Task('friedman3_reg_adam', 'friedman3', lambda i,o: mlp(i,o,(64,)), 'adam', 32, 8, (-5,1),
         'Friedman #3 regression (MSE), MLP 4-64-1', heldout=True),
    Task('digits_cnn_adam', 'digits', lambda i,o: cnn(o), 'adam', 128, 5, (-5,1), 'digits, 2-layer CNN', heldout=True),
    FinetuneTask('ft_mlp_unfrozen_adam', 'mlp', 'unfrozen', 'adam', 32, 5, (-5,1),
                 'make_classification pairs, MLP body 30-128-128, new linear head', heldout=True, head_lr=1e-2),
    FinetuneTask('ft_cnnbn_frozen_sgdm', 'cnnbn', 'frozen', 'sgdm', 32, 4, (-4,2),
                 'digits pairs, 2-layer CNN body with BatchNorm, new linear head', heldout=True),
    FinetuneTask('ft_cnn_slice_sgdm', 'cnn', 'slice', 'sgdm', 32, 4, (-4,2),
                 'digits pairs, 2-layer CNN body, new linear head', heldout=True, head_lr=0.1),
    FinetuneTask('ft_mlpbn_frozen_adam', 'mlpbn', 'frozen', 'adam', 32, 5, (-5,1),
                 'make_classification pairs, MLP body 30-128-128 with BatchNorm, new linear head', heldout=True),
    AppTask('app_tabular_clf', 'tabular_clf', 'adam', 64, 5, (-5,1),
            '3-class make_classification DataFrame (6 continuous + 3 categorical columns), tabular_learner (200-100)', heldout=True),
    AppTask('app_collab_dot_sgdm', 'collab_dot2', 'sgdm', 64, 4, (-4,2),
            'synthetic ratings (a third draw), collab_learner dot product', heldout=True, kw=dict(n_factors=20, wd=0.1)),
    AppTask('app_tabular_cancer_sgdm', 'tabular_cancer', 'sgdm', 32, 6, (-4,2),
            'breast cancer DataFrame (30 continuous + 3 categorical columns), tabular_learner (100-50)', heldout=True,
            kw=dict(layers=[100,50])),
]
TASK = {t.name:t for t in TASKS+FRESH}
DEV = [t for t in TASKS if not t.heldout]
HELDOUT = [t for t in TASKS if t.heldout]
FAMILIES = list(dict.fromkeys(t.family for t in TASKS))
