"""Training-step speed at the paper preset on a GPU: eager fp32 vs bf16 autocast vs bf16 + torch.compile.

    python -m bench.gpu_bench                       # from the checkout's root, on a lent GPU: well within 8 minutes
    python -m bench.gpu_bench --json runs/gpu_bench.json --steps 20
    python -m bench.gpu_bench --dry                 # CPU, smoke-sized model, 1 step: the CI check of this script

`-m` from the root finds `histogan_nb` in the checkout, so the script also runs where the kit is not installed.

Each row is `histogan_nb.bench.run_bench` with overrides: images/s (real images consumed per second), ms per step
(and its D / penalty / G parts), peak memory, FLOPs per step and MFU against the card's measured bf16 peak
(H100/H200 ~790 TFLOP/s dense; fp32 rows are also quoted against that bf16 peak, so their MFU shows what bf16 buys).
The penalty's double backward runs D with the SDPA math backend (it is the one with a double backward); under
autocast it computes in bf16. `compile` compiles G only (D sits inside the double backward).
In `--dry` mode the compile row uses the 'eager' dynamo backend: it checks that G traces, without minutes of C++ builds.
"""
import argparse, json, sys, time
from pathlib import Path
import torch

from histogan_nb.bench import run_bench

DRY = {'model.g_dim': 64, 'model.g_heads': (1, 1, 1, 1), 'model.d_dim': 16, 'model.d_heads': 1, 'model.d_depth': (1, 1, 1, 1),
       'train.batch_size': 2, 'train.n_critic': 1, 'runtime.threads': 1}   # --dry: a tiny model, only to check the script runs

ROWS = [('eager fp32', {'runtime.amp': False, 'runtime.compile': False}),
        ('bf16', {'runtime.amp': True, 'runtime.compile': False}),
        ('bf16+compile', {'runtime.amp': True, 'runtime.compile': True})]

def row_text(name, r):
    mfu = f"{100*r['mfu']:.1f}%" if r.get('mfu') is not None else 'n/a'
    return (f"{name:14s} {r['images_per_s']:9.1f} {r['step_ms']:9.1f} {r['d_ms']:8.1f} {r['gp_ms']:8.1f} {r['g_ms']:8.1f} "
            f"{r['peak_mem_mb']:9.0f} {r['flops_per_step']/1e12:9.3f} {mfu:>7s}")

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--dry', action='store_true', help='CPU, smoke preset, 1 step (CI)')
    ap.add_argument('--preset', default=None, help="default: 'paper' ('smoke' with --dry)")
    ap.add_argument('--steps', type=int, default=None, help='timed steps per row (default 15; 1 with --dry)')
    ap.add_argument('--device', default=None, help="default: 'cuda' ('cpu' with --dry)")
    ap.add_argument('--rows', default=','.join(n for n, _ in ROWS), help='comma-separated subset of the rows')
    ap.add_argument('--json', default=None, help='write all rows here')
    ap.add_argument('--profile', action='store_true', help='also print the top ops of one step of the first row')
    a = ap.parse_args(argv)
    name, steps = a.preset or ('smoke' if a.dry else 'paper'), a.steps or (1 if a.dry else 15)
    device = a.device or ('cpu' if a.dry else 'cuda')
    if device.startswith('cuda') and not torch.cuda.is_available():
        raise SystemExit("gpu_bench: no CUDA device here; use --dry for the CPU check")
    if device.startswith('cuda'):
        torch.backends.cuda.matmul.allow_tf32 = True; torch.backends.cudnn.allow_tf32 = True
    want = a.rows.split(',')
    unknown = [w for w in want if w not in dict(ROWS)]
    if unknown: raise SystemExit(f"gpu_bench: unknown rows {unknown}; choose from {[n for n, _ in ROWS]}")
    dev_name = torch.cuda.get_device_name() if device.startswith('cuda') else 'cpu'
    print(f"preset {name}, device {device} ({dev_name}), torch {torch.__version__}, {steps} timed steps per row")
    print(f"{'mode':14s} {'img/s':>9s} {'ms/step':>9s} {'D ms':>8s} {'GP ms':>8s} {'G ms':>8s} {'peak MiB':>9s} {'TFLOP/st':>9s} {'MFU':>7s}")
    out = {}
    for row, ov in ROWS:
        if row not in want: continue
        t0 = time.perf_counter()
        try:
            r = run_bench(name, steps=steps, device=device, overrides={**(DRY if a.dry else {}), **ov}, print_table=False,
                          compile_backend='eager' if a.dry else 'inductor', warmup=1 if a.dry else 3,
                          infer=not a.dry)
        except Exception as e:  # one failing mode must not hide the others
            print(f"{row:14s} FAILED: {type(e).__name__}: {str(e).splitlines()[0][:200]}"); out[row] = dict(error=repr(e)); continue
        r['wall_s'] = time.perf_counter() - t0; out[row] = r
        print(row_text(row, r), flush=True)
        if device.startswith('cuda'): torch.cuda.empty_cache(); torch.cuda.reset_peak_memory_stats()
    if a.profile: profile_step(name, device, dict(ROWS)[want[0]])
    if a.json:
        Path(a.json).parent.mkdir(parents=True, exist_ok=True); Path(a.json).write_text(json.dumps(out, indent=1))
    return out

def profile_step(name, device, overrides):
    "Top ops (self time) of one training step after a warm-up."
    from torch.profiler import profile, ProfilerActivity
    from histogan_nb.config import preset
    from histogan_nb.runtime import Dist
    from histogan_nb.train import make_gan, train_step
    from histogan_nb.bench import random_batches
    p = preset(name, **overrides); dev = torch.device(device)
    gan = make_gan(p, Dist(device=dev)); b = random_batches(p); train_step(gan, b)
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if dev.type == 'cuda' else [])
    with profile(activities=acts) as pr:
        train_step(gan, b)
        if dev.type == 'cuda': torch.cuda.synchronize()
    key = 'self_cuda_time_total' if dev.type == 'cuda' else 'self_cpu_time_total'
    print(pr.key_averages().table(sort_by=key, row_limit=10, max_name_column_width=50))

if __name__ == '__main__': main()
