#!/usr/bin/env python
"""Suggestion quality: how close each suggester's learning rate lands to the best one, on small real tasks.

One command (`make bench-quality`, or `python bench/quality.py`) prints the tables and writes them to
bench/results/quality.md, with the raw numbers in bench/results/quality.json. The truths, curves and scoring are
bench/harness.py's (its docstring says how each is made); the tasks are bench/tasks.py's `TASKS`, in three families,
each with dev and held-out tasks: `scratch` (small models from random weights), `finetune` (a body pretrained inside
the benchmark, fine-tuned with a new head: frozen, or unfrozen after one head epoch with one rate or a discriminative
slice) and `apps` (fastai's vision, tabular, text and collab learners). Rows: fastai's four (its own `lr_find`) and
every registered suggester; the ideas measured and not shipped are bench/study_candidates.py's.

Held-out tasks are reported in tables of their own; nothing was tuned on them. Once their grids and curves are cached
they are included by default (`--dev-only` leaves them out; `--heldout` builds them).

Options: --heldout, --dev-only, --family F[,F], --tasks T[,T], --recompute-grid, --recompute-fine, --recompute-curves,
--build-only, --workers N (default 2), --no-write (also implied by --family/--tasks: a partial report never overwrites
the full one)."""
import argparse,os,time
import harness as H
from harness import LRF_SEEDS,NUM_ITS,TARGET,TOL,FINE_PER_DECADE,FINE_HALF,RES
os.environ.setdefault('MPLBACKEND', 'Agg')

def _cost(tasks, grid, curves)->str:
    "The training a run from scratch does, in words"
    n = g = 0
    for t in tasks:
        e = grid[t.name]
        for p,seeds,init in ((e,t.seeds,True), (e.get('fine'),t.seeds,False), (e.get('scratch_ref'),getattr(t, 'ref_seeds', ()),True)):
            if not p: continue
            k = (len(p['lrs'])+init)*len(seeds)
            n += k; g += p['secs_per_run']*k
    c = sum(sum(curves[f'{t.name}/{s}/{k}']['secs'].values()) for t in tasks for s in LRF_SEEDS for k in NUM_ITS)
    from tasks import BODIES
    infos = [BODIES[b].info() for b in {getattr(t, 'body', None) for t in tasks} if b]
    pre = sum(i.get('secs', 0) for i in infos if i)
    pre_txt = (f"{pre/60:.0f} CPU-minutes" if all(infos) else
               "time not known here: bench/cache/ holds no pretrained body; 5 CPU-minutes when last measured")
    return (f"{n} `fit_one_cycle` runs ({g/60:.0f} CPU-minutes), {2*len(tasks)*len(LRF_SEEDS)*len(NUM_ITS)} `lr_find` "
            f"runs ({c/60:.0f} CPU-minutes) and the bodies' pretraining ({pre_txt}, plus the head "
            f"epochs), one thread each; about {(g+c+pre)/60/2:.0f} minutes with the 2 default workers on this machine, "
            f"if it is otherwise idle")

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--heldout', action='store_true',
                    help='also build the held-out tasks (once their grids and curves are cached they are included by default)')
    ap.add_argument('--dev-only', action='store_true', help='leave the held-out tasks out')
    ap.add_argument('--family', default='', help='only these families (comma-separated: scratch,finetune,apps); implies --no-write')
    ap.add_argument('--tasks', default='', help='only these tasks (comma-separated names); implies --no-write')
    ap.add_argument('--recompute-grid', action='store_true', help='train the coarse and fine grids again instead of reading grid.json')
    ap.add_argument('--recompute-fine', action='store_true', help='train the fine grids again')
    ap.add_argument('--recompute-curves', action='store_true', help='record the lr_find curves again')
    ap.add_argument('--build-only', action='store_true', help='build the caches and stop (no scoring, no report)')
    ap.add_argument('--workers', type=int, default=2, help='worker processes (one thread each)')
    ap.add_argument('--no-write', action='store_true', help='print only; leave the results files alone')
    a = ap.parse_args()

    import torch; torch.set_num_threads(1) # steep reads a torch tensor: one thread is steadier on a shared machine
    import warnings; warnings.filterwarnings('ignore')
    from tasks import TASKS,TASK
    import lrfind_ext, lrfind_ext.rules
    from lrfind_ext.finder import default_suggest
    from machine import machine
    from speed import rules_ms,RULES_BUDGET_MS
    t0 = time.time()
    print(f"lrfind_ext from {lrfind_ext.__file__}", flush=True)
    pool = TASKS
    if a.family: pool = [t for t in pool if t.family in a.family.split(',')]
    if a.tasks: pool = [TASK[n] for n in a.tasks.split(',')]
    partial = bool(a.family or a.tasks)
    grid0,curves0 = H.load_json(H.GRID_FN),H.load_json(H.CURVES_FN)
    heldout = not a.dev_only and (a.heldout or bool(a.tasks) or all(H.cached(t, grid0, curves0) for t in pool if t.heldout))
    tasks = [t for t in pool if heldout or not t.heldout]
    grid = H.run_grid(tasks, recompute=a.recompute_grid, recompute_fine=a.recompute_fine, workers=a.workers)
    curves = H.run_curves(tasks, recompute=a.recompute_curves, workers=a.workers)
    if a.build_only: print(f"built in {time.time()-t0:.0f}s"); return
    t1 = time.time()
    truths = {t.name:H.Truth(grid[t.name]) for t in tasks}
    rows = H.suggestions(curves, tasks)
    names = H.order(list(rows))
    sets = H.sets(tasks, heldout)
    overall = [('all',split,[t for t in tasks if t.heldout==(split=='held-out')]) for split in ('dev','held-out')
               if any(t.heldout==(split=='held-out') for t in tasks) and (heldout or split=='dev')]
    scores = {f'{f}/{k}':H.score(rows, truths, ts) for f,k,ts in sets+overall}
    t_score = time.time()-t1
    sp = {n:rules_ms(n) for n in (100, 10_000)}
    rec = getattr(lrfind_ext.rules, 'recommended', None) or default_suggest[0]
    tgt = (f"within 10% on all tasks but {TARGET['misses']}, geomean <= {TARGET['geomean']}, seed spread <= "
           f"{TARGET['spread']} decades, num_it shift <= {TARGET['shift']} decades")

    md = [f"# Suggestion quality\n",
          f"Generated by `python bench/quality.py` ({time.strftime('%Y-%m-%d')}{', held-out tasks included' if heldout else ''}) "
          f"on {machine()}; raw numbers in `quality.json`.\n",
          f"Ratio: validation loss of the task's `fit_one_cycle` at the suggested learning rate (read off the truth: the "
          f"union of a coarse grid, 3 per decade, and a fine grid, {FINE_PER_DECADE} per decade within {FINE_HALF:.2g} of a "
          f"decade of the coarse best; interpolated in log10(lr)) over the best of the truth. Per task, the geometric mean "
          f"over {len(LRF_SEEDS)} lr_find seeds at num_it=100. `within 10%`: tasks with ratio <= {TOL:.2f}; `seed spread`: "
          f"std of log10(lr) over the seeds, mean over tasks; `num_it shift`: |mean log10(lr) at num_it=400 - at 100|, "
          f"mean over tasks. Target for a default: {tgt}. `fastai.*` rows come from fastai's own `lr_find` run on the "
          f"same learners; the plain rows are this package's registered suggesters on this package's curves (the "
          f"default, in bold: `{rec}`); the ideas measured and not shipped are in `candidates.md` "
          f"(`bench/study_candidates.py`). On the slice tasks every rate is the top rate of `slice(lr/R, lr)`, both for "
          f"the sweep and the fit.\n",
          "Held-out tasks: nothing was chosen while looking at their rows."]
    def verdict(k, n):
        r,v = scores[k][rec],scores[k]['valley']
        return (f"\n`{rec}` {'beats' if H.beats(r, v) else 'does not beat'} `valley` on every figure here, and "
                f"{'meets' if H.meets(r, n) else 'does not meet'} the whole target.")
    if overall:
        md += ["\n## Overall (all families)\n"]
        for f,k,ts in overall:
            md += [f"\n### {k.capitalize()} tasks ({len(ts)})\n", H.table(scores[f'all/{k}'], names, rec),
                   verdict(f'all/{k}', len(ts))]
    for fam in dict.fromkeys(f for f,_,_ in sets):
        md += [f"\n## Family `{fam}`\n"]
        for f,k,ts in [s for s in sets if s[0]==fam]:
            sc = scores[f'{f}/{k}']
            md += [f"\n### {fam}: {k} tasks ({len(ts)})\n", H.table(sc, names, rec), verdict(f'{f}/{k}', len(ts)),
                   f"\nRatio per task:\n", H.per_task_table(sc, names, ts),
                   f"\nWhere each rule lands, mean log10(suggested lr / best lr) at num_it=100 (decades; + is above the best):\n",
                   H.per_task_table(sc, names, ts, key='decades', fmt='{:+.2f}')]
    md += ["\n## Tasks\n", H.task_table(tasks, truths, grid),
           f"\nGrid seeds (column `seeds`): {list(H.GRID_SEEDS)} on the scratch tasks, 0-2 on the others, 0-1 on the costly "
           f"ResNet tasks; the same seeds on the coarse and fine grids. lr_find seeds {list(LRF_SEEDS)}. A diverged grid run (NaN), or one that ends above the "
           "loss of the learner lr_find got, counts as that loss; a suggestion outside the grid is read at the grid's end."]
    rt = H.ref_table(tasks, truths, grid)
    if rt:
        md += ["\n### What the pretrained bodies are worth\n",
               f"Each fine-tuning task's model trained from random weights (unfrozen, one rate, its epochs plus the head "
               f"epoch where there is one), on the coarse grid with seed 0 (and 1 where the task is cheap), against "
               f"the fine-tuned truth:\n", rt]
        from tasks import BODIES
        md += ["\nBodies (pretrained once, seed 0, Adam, on the source classes; cached in bench/cache/):\n",
               '| body | pretraining | source valid loss |\n|---|---|---|',
               *[f"| {k} | {b.arch} on {'digits' if b.data=='digits' else 'make_classification'} (source rows, 10 classes), "
                 f"{b.epochs} epochs at {b.lr:g}, bs {b.bs} | {(b.info() or {}).get('src_valid_loss', float('nan')):.3g} |"
                 for k,b in BODIES.items() if any(getattr(t, 'body', None)==k for t in tasks)]]
    iv = {n:s['all with their intervals'] for n,s in sp.items()}
    over = [f"{n:,}" for n,v in iv.items() if v>=RULES_BUDGET_MS]
    md += ["\n## Speed\n", f"Time per call on a 100-step and a 10,000-point curve (`synth_curve(n, noise=0.05, stop_div=False)`), "
           f"this machine: the median of 20 calls, best of 5 rounds (`rules_ms` of bench/speed.py):\n",
           '| suggester | 100 points (ms) | 10,000 points (ms) |\n|---|---:|---:|',
           *[f'| {k} | {sp[100][k]:.2f} | {sp[10_000][k]:.2f} |' for k in sp[100]],
           f"\nBudget (issue 21): the built-in rules with their intervals under {RULES_BUDGET_MS:g} ms at 100 and at 10,000 "
           f"points: {iv[100]:.1f} and {iv[10_000]:.1f} ms, {'OVER at '+', '.join(over) if over else 'within budget'} (load "
           f"average {os.getloadavg()[0]:.2f} at the end of the run; timings from a busy machine run high). Each rule is "
           f"written once, for one curve and for the resampled runs alike; issue 12's 5 ms at 10,000 points was for "
           f"batched copies of the rules, which are gone.",
           f"\nThis run took {time.time()-t0:.1f}s (scoring {t_score:.1f}s). Training everything from scratch "
           f"(`--recompute-grid --recompute-curves`, and an empty bench/cache/) takes {_cost(tasks, grid, curves)}."]
    text = '\n'.join(md)+'\n'
    print(text)
    if partial and not a.no_write: print("(--family/--tasks: partial report, results files left alone)")
    if not a.no_write and not partial:
        (RES/'quality.md').write_text(text)
        H.save_json(dict(default_suggest=list(default_suggest), recommended=rec, tol=TOL, target=TARGET,
                         grid_seeds={t.name:list(t.seeds) for t in tasks}, lrf_seeds=list(LRF_SEEDS), num_its=list(NUM_ITS),
                         fine=dict(per_decade=FINE_PER_DECADE, half=FINE_HALF), speed_ms=sp,
                         tasks={t.name:dict(family=t.family, heldout=t.heldout, setup=t.summary(), best_lr=truths[t.name].best_lr,
                                            best_loss=truths[t.name].best, grid_lrs=truths[t.name].lrs.tolist(),
                                            grid_loss=truths[t.name].loss.tolist(), window=list(truths[t.name].window()))
                                for t in tasks},
                         scores=scores), RES/'quality.json')
        print(f"wrote {RES/'quality.md'} and {RES/'quality.json'}")

if __name__=='__main__': main()
