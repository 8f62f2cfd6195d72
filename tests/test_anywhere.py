"lr_find wherever a user calls it: after fine_tune or a fit, on a learner loaded with load_learner, and in two processes at once on one path (between two fits: tests/test_state.py's lr_find-then-fit matrix)."
import json,math,os,subprocess,sys,time
from pathlib import Path
import pytest
import torch
from fastai.learner import load_learner
from fastai.callback.schedule import valley
import lrfind_ext
from lrfind_ext.finder import fastai_lr_find
from lrfind_ext.examples import cancer_tabular_learner,digits_vision_learner
from lrf_testutils import digits,two_groups,weights,same_weights

ROOT = Path(__file__).resolve().parent.parent

def run(learn, *args, **kw):
    with learn.no_bar(): return learn.lr_find(*args, show_plot=False, **kw)

def listing(d):
    "Every file and folder under `d`, with its size and modification time"
    return sorted((str(p.relative_to(d)), p.is_dir(), p.stat().st_size, p.stat().st_mtime_ns) for p in Path(d).rglob('*'))

# ---- after fine_tune ----

def test_after_fine_tune():
    "fine_tune freezes, trains, unfreezes, trains: lr_find after it sweeps every group, and a discriminative sweep suggests per group"
    learn = digits(splitter=two_groups)
    with learn.no_bar(): learn.fine_tune(1)
    assert learn.opt.frozen_idx == 0 and len(learn.opt.param_lists) == 2
    res = run(learn)
    assert len(res.curve) > 50 and math.isfinite(res.basin) and learn.opt.frozen_idx == 0
    res = run(learn, slice(1e-9, 1e-7), slice(1e-1, 10), set_lr=True)
    assert isinstance(learn.lr, slice) and learn.lr.stop == res.basin
    with learn.no_bar(): learn.fit_one_cycle(1) # and training goes on at it

def test_after_fine_tune_early_divergence(tmp_path):
    "fastai issue 3658: after fine_tune, a run that diverged early gave fastai's suggesters an empty slice (IndexError); here a result"
    learn = digits(splitter=two_groups, path=tmp_path)
    with learn.no_bar(): learn.fine_tune(1)
    res = run(learn, start_lr=0.1, end_lr=1e12, suggest_funcs=(valley, 'basin'))
    assert res.curve.stop == 'diverged' and len(res.curve) < 30 and all(math.isfinite(v) for v in res)
    with learn.no_bar(), pytest.raises(IndexError): fastai_lr_find(learn, start_lr=0.1, end_lr=1e12, show_plot=False, suggest_funcs=valley)

@pytest.mark.slow
def test_vision_learner_after_fine_tune():
    "fastai's vision_learner (resnet18 body and head, three groups) after fine_tune, then a discriminative sweep"
    learn = digits_vision_learner()
    with learn.no_bar(): learn.fine_tune(1)
    res = run(learn, slice(1e-9, 1e-7), slice(1e-1, 10), set_lr='basin')
    assert learn.opt.frozen_idx == 0 and len(res.group_lrs('basin')) == 3 and learn.lr == res.fit_lr('basin')

def _augmented_images():
    "A small CNN on 64 of the digits as 16-pixel RGB images, with fastai's default augmentations (`aug_transforms`) on the batches"
    import numpy as np
    from torch import nn
    from sklearn.datasets import load_digits
    from fastai.vision.all import DataBlock,ImageBlock,CategoryBlock,PILImage,RandomSplitter,Resize,aug_transforms,Learner,set_seed
    x,y = load_digits(return_X_y=True)
    imgs = np.repeat((x[:64].reshape(-1,8,8,1)/16*255).astype(np.uint8), 3, axis=3)
    set_seed(0, reproducible=True)
    dblock = DataBlock(blocks=(ImageBlock, CategoryBlock), get_x=lambda i: PILImage.create(imgs[i]), get_y=lambda i: str(y[i]),
                       splitter=RandomSplitter(0.25, seed=0), item_tfms=Resize(16), batch_tfms=aug_transforms(size=16))
    dls = dblock.dataloaders(list(range(64)), bs=16, num_workers=0, device='cpu')
    model = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10))
    return Learner(dls, model)

def test_after_a_fit_with_fastai_s_augmentations():
    "After a fit, fastai's batch augmentations hold an expanded tensor (Flip's coordinates, stride 0): lr_find puts the learner back"
    learn = _augmented_images()
    with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-3)
    w = weights(learn)
    res = run(learn, num_it=8, stop_div=False)
    assert len(res.curve) == 8 and same_weights(w, weights(learn))

# ---- a learner loaded with load_learner ----

def test_on_a_loaded_learner(tmp_path):
    "Exported, loaded back, given its data again: lr_find runs on it and leaves its folder exactly as it was"
    learn = cancer_tabular_learner()
    dls = learn.dls
    learn.path = tmp_path
    learn.export('export.pkl')
    before = listing(tmp_path)
    loaded = load_learner(tmp_path/'export.pkl')
    loaded.path = tmp_path
    with pytest.raises(ValueError, match='training dataloader is empty'): run(loaded) # an exported learner keeps no data
    loaded.dls = dls
    w = [p.detach().clone() for p in loaded.model.parameters()]
    res = run(loaded)
    assert math.isfinite(res.basin) and all(torch.equal(a, p) for a,p in zip(w, loaded.model.parameters()))
    assert listing(tmp_path) == before
    with loaded.no_bar(): fastai_lr_find(loaded, show_plot=False) # fastai's leaves its model folder behind
    assert (tmp_path/'models').is_dir() and listing(tmp_path) != before

# ---- two processes on one path ----

def _two(tmp_path, *extra):
    path,go = tmp_path/'learner',tmp_path/'go'
    path.mkdir()
    (path/'keep.txt').write_text('a file the runs must leave alone')
    before = listing(path)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT/'tests'), str(ROOT), os.environ.get('PYTHONPATH', '')]))
    procs = [subprocess.Popen([sys.executable, str(ROOT/'tests'/'parallel_lr_find.py'), str(path), str(go), str(tmp_path/f'out{i}.json'), *extra],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for i in range(2)]
    ready = [tmp_path/f'out{i}.ready' for i in range(2)]
    t0 = time.time()
    while not all(r.exists() for r in ready) and time.time()-t0<300 and all(p.poll() is None for p in procs): time.sleep(0.01)
    go.write_text('go') # both start together, once both have imported and built their learner (a loaded machine imports slowly)
    outs = [p.communicate(timeout=300)[0].decode() for p in procs]
    for p,o in zip(procs, outs): assert p.returncode == 0, o[-3000:]
    return [json.loads((tmp_path/f'out{i}.json').read_text()) for i in range(2)],before,listing(path)

def test_two_processes_on_one_path(tmp_path):
    "fastai issue 3240: parallel runs clashed on fastai's temporary file. Two at once here: neither writes, the folder is unchanged"
    (a,b),before,after = _two(tmp_path)
    assert a['start'] < b['end'] and b['start'] < a['end'] # they did run at the same time
    assert a['writes'] == [] and b['writes'] == [] and after == before
    assert a['suggestions'] == b['suggestions'] # the same learner, the same answers, whatever the other did

@pytest.mark.slow
def test_the_check_sees_fastai_s_writes(tmp_path):
    "The same two processes with fastai's own lr_find: the watcher sees its temporary files, and the folder changes"
    (a,b),before,after = _two(tmp_path, 'fastai')
    assert any('save' in w for w in a['writes']) and any('save' in w for w in b['writes'])
    assert after != before
