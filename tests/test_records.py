"""What a run records (issue 22, items 9 and 10): with `valid=`, each point is what fastai's `validate()` gives on the
sample at that step's weights, with the same callbacks; without it, a point is the loss of the batches the optimizer
stepped on, as fastai counts them: a batch cancelled before its backward counts toward no step."""
import math,numpy as np,pytest,torch
from torch.utils.data import DataLoader,TensorDataset
from fastai.basics import Callback
from fastai.callback.core import CancelBatchException,CancelBackwardException
from fastai.callback.mixup import MixUp,CutMix
from fastai.torch_core import find_bs
import lrfind_ext
from lrf_testutils import *

pytestmark = pytest.mark.filterwarnings('ignore::UserWarning', 'ignore::DeprecationWarning')

class Weights(Callback):
    "The model's weights after each optimizer step, once lr_find has scored it (in a `Log`: the restore leaves it)"
    order,run_valid = 70,False
    def __init__(self): self.sds = Log()
    def after_step(self): self.sds.append({k:v.detach().clone() for k,v in self.learn.model.state_dict().items()})

class Rescale(Callback):
    "Multiplies the inputs by 10, in training and validation, as a callback that normalizes on the fly does"
    def before_batch(self): self.learn.xb = (self.xb[0]*10,)

def _sample(learn, bs, n=2):
    "A PyTorch DataLoader of `n` batches of `bs` items of the digits validation set"
    ds = learn.dls.valid.dataset
    return DataLoader(TensorDataset(ds.tensors[0][:bs*n], ds.tensors[1][:bs*n]), batch_size=bs)

def _validated(learn, sds, dl):
    "What `learn.validate(dl=dl)` gives at each of the weights `sds`"
    res = []
    with learn.no_bar():
        for sd in sds:
            learn.model.load_state_dict(sd)
            res.append(learn.validate(dl=dl)[0])
    return res

def _points_and_validate(learn, dl, num_it=6):
    "The run's points with `valid=dl`, and `validate` on `dl` at each step's weights"
    w = Weights()
    with learn.no_bar(): res = learn.lr_find(num_it=num_it, stop_div=False, valid=dl, cbs=w, show_plot=False)
    assert len(res.curve) == len(w.sds) == num_it
    return res.curve.losses.tolist(),_validated(learn, w.sds, dl)

# ---- item 9: the validation sample is scored as fastai's validate() scores it ----

@pytest.mark.parametrize('vbs', [64, 16], ids=['equal-bs', 'unequal-bs'])
@pytest.mark.parametrize('mix', [MixUp, CutMix])
def test_valid_with_mixing_is_validate(mix, vbs):
    "MixUp and CutMix stand aside in validation: each point is `validate`'s loss, whatever the sample's batch size"
    learn = digits(arch='cnn', cbs=mix())
    pts,val = _points_and_validate(learn, _sample(learn, vbs))
    np.testing.assert_allclose(pts, val, rtol=1e-6)

def test_valid_one_step_exactly_validate():
    "One batch of 16 (a power of two: a size-weighted mean is then exact in float32): each point is `validate`'s, to the bit"
    learn = digits(arch='cnn', cbs=MixUp())
    pts,val = _points_and_validate(learn, _sample(learn, 16, n=1))
    assert pts == val

def test_valid_runs_the_callbacks_before_batch():
    "A callback that rescales the inputs rescales the sample's too, as in `validate`"
    learn = digits(cbs=Rescale())
    pts,val = _points_and_validate(learn, _sample(learn, 64))
    np.testing.assert_allclose(pts, val, rtol=1e-6)

class SkipSecond(Callback):
    "Cancels the second batch of each validation pass: validation only"
    run_train = False
    def before_batch(self):
        if self.iter==1: raise CancelBatchException()

def test_valid_cancelled_batch_not_scored():
    """A sample batch a callback cancels (CancelBatchException) is not scored, and the training step goes on: the points
    are `validate`'s on the first batch alone"""
    learn = digits(cbs=SkipSecond())
    dl = _sample(learn, 64)
    w = Weights()
    with learn.no_bar(): res = learn.lr_find(num_it=6, stop_div=False, valid=dl, cbs=w, show_plot=False)
    assert len(res.curve) == 6 and res.curve.stop == 'num_it'
    learn.remove_cb(SkipSecond)
    np.testing.assert_allclose(res.curve.losses, _validated(learn, w.sds, _sample(learn, 64, n=1)), rtol=1e-6)

class Held(Callback):
    "Notes the training batches after which the learner holds other objects than before lr_find scored the sample"
    order,run_valid = 70,False
    attrs = 'xb','yb','pred','loss','loss_grad','iter','training','model','dl'
    def __init__(self): self.moved,self.iters = Log(),Log()
    def after_loss(self): self.was = [getattr(self.learn, k) for k in self.attrs]
    def after_batch(self):
        self.iters.append(self.iter)
        now = [getattr(self.learn, k) for k in self.attrs]
        self.moved.extend(k for k,a,b in zip(self.attrs, self.was, now) if a is not b)

def test_valid_puts_back_what_the_learner_held():
    "After scoring the sample, the learner holds the training batch, its prediction and loss, its index, `training`"
    held = Held()
    learn = digits(cbs=MixUp())
    with learn.no_bar(): learn.lr_find(num_it=6, stop_div=False, valid=2, cbs=held, show_plot=False)
    assert held.moved == [] and held.iters == list(range(5)) # (the last batch ends the run in lr_find's after_batch, first)

def test_valid_leaves_the_runs_progress_and_smoothing():
    """The run's progress bar sees only training batches and the Recorder's validation metrics are not computed on the
    sample: both stand aside while it is scored"""
    from fastai.callback.progress import ProgressCallback
    from fastai.metrics import AccumMetric
    class Bar(ProgressCallback):
        def __init__(self): self.seen = Log()
        def after_batch(self): self.seen.append(self.iter); super().after_batch()
    calls = []
    def counted(pred, targ): calls.append(1); return (pred.argmax(-1)==targ).float().mean()
    learn = digits()
    learn.metrics = AccumMetric(counted, flatten=False)
    learn.remove_cb(ProgressCallback)
    bar = Bar()
    learn.add_cb(bar)
    learn.lr_find(num_it=6, stop_div=False, valid=2, show_plot=False)
    assert bar.seen == list(range(6)) and calls == []

def test_valid_text_learner_tuple_output():
    "An RNN's tuple of outputs (fastai's RNNCallback keeps the first in after_pred): the points are `validate`'s"
    from fastai.callback.rnn import RNNCallback
    from test_setups import TupleNet
    learn = digits(cbs=RNNCallback())
    learn.model = TupleNet(learn.model)
    pts,val = _points_and_validate(learn, _sample(learn, 64))
    np.testing.assert_allclose(pts, val, rtol=1e-6)

# ---- item 10: a batch cancelled before its backward counts toward no step ----

class SkipNaN(Callback):
    "Skips a batch whose loss is not finite, as users' NaN guards do: in `event`, after lr_find's own `after_loss`"
    order = 70
    def __init__(self, event): self.n = 0; setattr(self, event, self._skip)
    def _skip(self):
        if torch.isfinite(self.learn.loss).all(): return
        self.n += 1
        raise CancelBatchException()

class Stepped(Callback):
    "The loss of each batch the optimizer stepped on"
    order = 71
    def __init__(self): self.losses = Log()
    def after_step(self): self.losses.append(float(self.learn.loss))

@pytest.mark.parametrize('event', ['after_loss', 'before_backward'])
def test_cancelled_batch_counts_toward_no_point(event):
    "Every third batch NaN and skipped: the curve is finite, reaches num_it, and its points are the stepped batches' losses"
    learn = digits()
    learn.loss_func = nan_after(learn.loss_func, 3, every=True)
    skip,st = SkipNaN(event),Stepped()
    with learn.no_bar(): res = learn.lr_find(end_lr=0.1, num_it=30, cbs=[skip, st], show_plot=False)
    c = res.curve
    assert c.stop == 'num_it' and len(c) == 30 and np.isfinite(c.losses).all()
    assert skip.n == 14 # batches 3, 6... 42 of 44
    np.testing.assert_allclose(c.losses, st.losses, rtol=1e-6)

class OwnBackward(Callback):
    "Does the backward itself and cancels fastai's, as accelerate's `DistributedTrainer` does"
    def before_backward(self):
        self.learn.loss_grad.backward()
        raise CancelBackwardException()

def test_own_backward_still_counts():
    "A batch whose backward a callback did itself (fastai still calls `after_backward`) counts: the plain run's curve"
    runs = [digits(cbs=cbs) for cbs in (None, OwnBackward())]
    with runs[0].no_bar(), runs[1].no_bar():
        a,b = [l.lr_find(num_it=20, stop_div=False, show_plot=False).curve.losses.tolist() for l in runs]
    assert a == b
