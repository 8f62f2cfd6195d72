"What the benchmarks ran on, in one line for their result files."
import os,platform
from pathlib import Path
import torch,fastai

def machine()->str:
    "CPU, core count, torch and its threads, fastai, Python, and the load when the run started"
    cpu = platform.processor() or ''
    try:
        for l in Path('/proc/cpuinfo').read_text().splitlines():
            if l.startswith('model name'): cpu = l.split(':',1)[1].strip(); break
    except OSError: pass
    load = os.getloadavg()[0] if hasattr(os, 'getloadavg') else float('nan')
    n = torch.get_num_threads()
    return (f"{os.cpu_count()} CPU cores ({cpu}), no GPU; torch {torch.__version__} ({n} intra-op thread{'s'*(n!=1)}), "
            f"fastai {fastai.__version__}, Python {platform.python_version()}, {platform.system()}; "
            f"load average {load:.2f} when the run started")
