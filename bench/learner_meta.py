"""`learner_meta(learn)`: what `lr_find` could know about a fastai `Learner` before it runs, as a plain dict.

Self-contained (fastai, torch and the standard library only) so that the finder may adopt it: it reads the learner
and changes nothing (no optimizer is created on the learner, no random number is drawn, no batch is loaded)."""
from __future__ import annotations
import functools,math
import torch

__all__ = ['learner_meta']

_NORM = ('BatchNorm','LayerNorm','GroupNorm','InstanceNorm')
_FAMILY = dict(sgd='sgd', adam='adam', radam='adam', qhadam='adam', lamb='adam', ranger='adam', adamw='adam',
               rmsprop='rmsprop', larc='sgd', adagrad='adagrad', adadelta='adadelta', nadam='adam', adamax='adam')

def _fn_name(f)->str:
    "Name of an optimizer function, through partials and fastai's `OptimWrapper` partials"
    while isinstance(f, functools.partial):
        if getattr(f.func, '__name__', '')=='OptimWrapper' and 'opt' in f.keywords: f = f.keywords['opt']
        elif getattr(f.func, '__name__', '')=='OptimWrapper' and f.args: f = f.args[0]
        else: f = f.func
    return getattr(f, '__name__', type(f).__name__)

def _num(v):
    "A hyper-parameter as a JSON-friendly number (or list of numbers)"
    if isinstance(v, (tuple,list)): return [_num(o) for o in v]
    try: v = float(v)
    except (TypeError,ValueError): return None
    return v if math.isfinite(v) else None

def _hypers(learn):
    "The optimizer's hyper-parameters per group: the learner's optimizer if it has one, else one built aside"
    opt = learn.opt
    if opt is None:
        try: opt = learn.opt_func(learn.splitter(learn.model), lr=learn.lr)
        except Exception: return None,None
    if hasattr(opt, 'hypers'): hs = [dict(h) for h in opt.hypers] # fastai Optimizer (and OptimWrapper's view)
    elif hasattr(opt, 'param_groups'): hs = [{k:v for k,v in g.items() if k!='params'} for g in opt.param_groups]
    else: hs = []
    return opt,hs

def _groups(learn, opt):
    "Parameter lists per group"
    if opt is not None and hasattr(opt, 'param_lists'): return [list(g) for g in opt.param_lists]
    if opt is not None and hasattr(opt, 'param_groups'): return [list(g['params']) for g in opt.param_groups]
    ps = list(learn.splitter(learn.model))
    return [ps] if not ps or isinstance(ps[0], torch.Tensor) else [list(g) for g in ps]

def _n_items(dl):
    "Items in a loader: fastai's `n`, else its dataset's length"
    if isinstance(getattr(dl, 'n', None), int): return dl.n
    try: return len(dl.dataset)
    except Exception: return None

def _name(f): return None if f is None else getattr(f, '__name__', type(f).__name__)

def learner_meta(learn)->dict:
    """Facts about `learn` that lr_find could use: the optimizer (name, family, main hypers), the parameter groups
    (how many, how many frozen, the trainable fraction), the data (batch size, training items, batches per epoch),
    the model (parameter count, normalisation layers) and the loss function"""
    opt,hs = _hypers(learn)
    opt_name = _fn_name(learn.opt_func)
    h = hs[-1] if hs else {} # the group lr_find records: the last
    pick = lambda *ks: next((_num(h[k]) for k in ks if k in h), None)
    mom,beta = pick('mom','momentum'),pick('sqr_mom')
    if 'betas' in h: mom,beta = _num(h['betas'][0]),_num(h['betas'][1])
    if beta is None and 'alpha' in h and opt_name.lower()=='rmsprop': beta = _num(h['alpha'])
    fam = _FAMILY.get(opt_name.lower(), 'other')
    if fam=='sgd': fam = 'sgd_momentum' if mom else 'sgd'
    wd = learn.wd if getattr(learn, 'wd', None) is not None else pick('wd','weight_decay')
    cbs = {getattr(c, '__name__', '') for c in getattr(opt, 'cbs', ())} # fastai Optimizer's steppers
    decouple = True if 'weight_decay' in cbs else False if 'l2_reg' in cbs else h.get('decouple_wd')
    if opt_name.lower()=='adamw': decouple = True

    # parameter groups: a group is frozen when fastai froze it (`freeze_to`), or when none of its parameters trains
    groups = _groups(learn, opt)
    seen,n_all,n_train = set(),0,0
    for p in learn.model.parameters():
        if id(p) in seen: continue
        seen.add(id(p)); n_all += p.numel(); n_train += p.numel()*p.requires_grad
    frozen_idx = getattr(opt, 'frozen_idx', None) if opt is not None else None
    g_frac = []
    for g in groups:
        tot = sum(p.numel() for p in g)
        g_frac.append(sum(p.numel() for p in g if p.requires_grad)/tot if tot else 0.)
    n_frozen = int(frozen_idx) if isinstance(frozen_idx, int) and frozen_idx>0 else sum(f==0 for f in g_frac)

    dl = learn.dls.train
    n_items = _n_items(dl)
    try: n_batches = len(dl)
    except Exception: n_batches = None
    loss = getattr(learn, 'loss_func', None)
    inner = getattr(loss, 'func', None)
    norms = sorted({type(m).__name__ for m in learn.model.modules() if type(m).__name__.startswith(_NORM)})
    return dict(
        opt=opt_name, opt_family=fam, adaptive=beta is not None or fam in ('adam','rmsprop','adagrad','adadelta'),
        mom=mom, beta=beta, eps=pick('eps'), wd=_num(wd), decouple_wd=decouple,
        moms=_num(getattr(learn, 'moms', None)), # fit_one_cycle's momentum schedule
        n_groups=len(groups), n_frozen_groups=n_frozen, group_trainable_frac=[round(f, 4) for f in g_frac],
        trainable_frac=n_train/n_all if n_all else 0., n_params=n_all, n_trainable=n_train,
        train_bn=getattr(learn, 'train_bn', None), norm_layers=norms,
        bs=getattr(dl, 'bs', None), n_train=n_items, batches_per_epoch=n_batches, drop_last=getattr(dl, 'drop_last', None),
        n_valid=_n_items(learn.dls.valid) if len(learn.dls.loaders)>1 else None,
        loss_func=_name(loss), loss_inner=_name(inner), # e.g. CrossEntropyLossFlat wrapping CrossEntropyLoss
        model=type(learn.model).__name__,
    )
