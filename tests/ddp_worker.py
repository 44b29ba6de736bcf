"Run under `torchrun --nproc_per_node 2`: a tiny CPU training with gloo; each rank saves its weights and the real images it saw.\n\nArguments: the output folder, then `section.field=value` overrides of the smoke preset; `sigterm_rank0_at=K` sends SIGTERM to rank 0 alone after its step K."
import json, os, signal, sys
from pathlib import Path
import torch
from histogan_nb.config import preset, apply_overrides
from histogan_nb.runtime import unwrap
from histogan_nb.data import RealBatches
from histogan_nb.data import toy_data
from histogan_nb.run import Callback, fit, Interrupted

out, steps = Path(sys.argv[1]), 3
seen, final = [], {}
_next = RealBatches.__next__
def recording_next(self):
    x, y = _next(self); seen.append(x[:, 0, 0, 0].long().clone()); return x, y
RealBatches.__next__ = recording_next

class KeepWeights(Callback):
    def after_step(self, run, logs):
        gan = run.gan
        if gan.step == steps:
            final.update(rank=gan.dist.rank, world=gan.dist.world, G=unwrap(gan.G).state_dict(),
                         D=unwrap(gan.D).state_dict(), mlw=gan.mlw.state_dict())

# toy images whose first pixel is their index, so the test can see which rank got which image
data = toy_data(n=64)
data['train'][0][:, 0, 0, 0] = torch.arange(64, dtype=torch.uint8)
args = dict(a.split('=', 1) for a in sys.argv[2:])
term_at = int(args.pop('sigterm_rank0_at', 0))
class TermRank0(Callback):
    def after_step(self, run, logs):
        if run.gan.dist.rank == 0 and run.gan.step == term_at: os.kill(os.getpid(), signal.SIGTERM)

p = preset('smoke', **{'train.max_steps': 10 if term_at else steps, 'runtime.device': 'cpu', 'train.batch_size': 8})
p = apply_overrides(p, args)   # e.g. runtime.penalty_apart=true
try: fit(p, out, progress=False, data=data, callbacks=[KeepWeights(), TermRank0()])
except Interrupted as e:   # every rank stops at the same step, the signal named on each
    rank = int(os.environ['RANK'])
    (out/f'stopped{rank}.json').write_text(json.dumps(dict(step=e.step, signal=e.signum)))
    sys.exit(128 + e.signum)
torch.save(dict(final, seen=torch.stack(seen), apart=p.runtime.penalty_apart), out/f"rank{final['rank']}.pt")
