"""Forward+backward time of G and D at each preset on this machine (CPU by default), and images/s.

    .venv/bin/python bench/bench_model.py                      # smoke, cpu, paper
    .venv/bin/python bench/bench_model.py --presets cpu --iters 10 --json runs/bench_model.json

Per preset and batch size it times, after one warm-up iteration:
  G      : G(z, c) then a backward of a scalar of the images (fp32 eager)
  D      : D(x) on a batch of images, backward of f1 + f2 terms
  D+GP   : the gradient-penalty pass: D(x_hat) under double_backward_attention(), grad w.r.t. x_hat with
           create_graph=True, then the backward of the penalty (the double backward)
images/s = batch / (G + D), and images/s with the penalty = batch / (G + D + D+GP).
The paper preset is slow on CPU: batch 2 and 1 timed iteration by default. Never run in the tests.
"""
import argparse, json, platform
from pathlib import Path
import torch
import torch.nn.functional as F

from histogan_nb.config import preset, get_device
from histogan_nb.models import build_models, count_params
from histogan_nb.vit import double_backward_attention
from histogan_nb.losses import penalty_at
from histogan_nb.bench import timed

DEFAULTS = {'smoke': (8, 10), 'cpu': (32, 5), 'paper': (2, 1)}  # batch, timed iterations

def _time(fn, iters, dev):
    fn()  # warm-up
    return timed(fn, dev, iters)

def bench(name, batch, iters, dev):
    cfg = preset(name).model
    torch.manual_seed(0)
    G, D = build_models(cfg)
    G, D = G.to(dev), D.to(dev)
    z, c = torch.randn(batch, cfg.z_dim, device=dev), torch.randint(0, cfg.num_classes, (batch,), device=dev)
    x = torch.rand(batch, 3, cfg.image_size, cfg.image_size, device=dev)*2 - 1

    # forward + backward passes only (not the training's d_step/g_step: no optimiser, no losses of eq. 8)
    def g_pass():
        G.zero_grad(set_to_none=True); G(z, c).square().mean().backward()
    def d_pass():
        D.zero_grad(set_to_none=True); o = D(x)
        (o.source.mean() + F.cross_entropy(o.logits, c)).backward()
    def gp_pass():
        D.zero_grad(set_to_none=True)
        xh = x.detach().requires_grad_(True)
        with double_backward_attention(): penalty_at(D(xh).source, xh).backward()

    tg, td, tgp = (_time(f, iters, dev) for f in (g_pass, d_pass, gp_pass))
    return dict(preset=name, image_size=cfg.image_size, batch=batch, iters=iters,
                g_params=count_params(G), d_params=count_params(D),
                g_ms=1e3*tg, d_ms=1e3*td, gp_ms=1e3*tgp,
                img_per_s=batch/(tg + td), img_per_s_with_gp=batch/(tg + td + tgp))

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--presets', default='smoke,cpu,paper')
    ap.add_argument('--batch', type=int, default=None, help='override the batch of every preset')
    ap.add_argument('--iters', type=int, default=None, help='override the timed iterations of every preset')
    ap.add_argument('--device', default='cpu')
    ap.add_argument('--threads', type=int, default=None, help='torch.set_num_threads (default: torch default)')
    ap.add_argument('--json', default=None, help='also write the rows to this JSON file')
    a = ap.parse_args(argv)
    if a.threads: torch.set_num_threads(a.threads)
    dev = get_device(a.device)
    print(f"device {dev}, torch {torch.__version__}, threads {torch.get_num_threads()}, {platform.processor() or platform.machine()}")
    hdr = f"{'preset':6s} {'S':>3s} {'batch':>5s} {'G params':>11s} {'D params':>11s} {'G ms':>9s} {'D ms':>9s} {'D+GP ms':>9s} {'img/s':>8s} {'img/s+GP':>8s}"
    print(hdr); rows = []
    for name in a.presets.split(','):
        b, it = DEFAULTS.get(name, (8, 3))
        r = bench(name, a.batch or b, a.iters or it, dev); rows.append(r)
        print(f"{r['preset']:6s} {r['image_size']:3d} {r['batch']:5d} {r['g_params']:11,} {r['d_params']:11,} "
              f"{r['g_ms']:9.1f} {r['d_ms']:9.1f} {r['gp_ms']:9.1f} {r['img_per_s']:8.2f} {r['img_per_s_with_gp']:8.2f}",
              flush=True)
    if a.json:
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json).write_text(json.dumps(dict(device=str(dev), torch=torch.__version__,
                                                threads=torch.get_num_threads(), rows=rows), indent=1))

if __name__ == '__main__': main()
