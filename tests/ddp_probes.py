"""lr_probe under fastai's `distrib_ctx`, in each process of a CPU run: `torchrun --nproc_per_node 2 tests/ddp_probes.py OUT`.
Each process writes its probes, the one it kept and whether its learner was put back to OUT/rank<N>.json;
tests/test_probes.py compares the processes."""
import gc,json,os,sys,warnings
warnings.filterwarnings('ignore')
os.environ.setdefault('MPLBACKEND', 'Agg')
import torch,torch.distributed as dist
from fastai.basics import rank_distrib,num_distrib
import lrfind_ext,lrfind_ext.probes
from lrfind_ext.setups import allow_cpu_distrib
from lrf_testutils import digits,capture,diff

allow_cpu_distrib()

if __name__=='__main__':
    torch.set_num_threads(1)
    learn = digits()
    with learn.no_bar(), learn.distrib_ctx(cpu=True, sync_bn=False):
        res = learn.lr_find(num_it=30, show_plot=False)
        before = capture(learn)
        pr = learn.lr_probe(res, n=3, steps=8, show_plot=False)
        after = capture(learn)
    out = dict(world=num_distrib(), lrs=[p.lr for p in pr.probes], losses=[p.loss for p in pr.probes], kept=pr.kept, lr=pr.lr,
               diff=diff(before, after))
    with open(os.path.join(sys.argv[1], f'rank{rank_distrib()}.json'), 'w') as f: json.dump(out, f)
    gc.collect()
    if dist.is_initialized(): dist.destroy_process_group()
