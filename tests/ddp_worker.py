"Run under `torchrun --nproc_per_node 2`: a tiny CPU training with gloo; each rank saves its weights and the real images it saw.\n\nArguments: the output folder, then `section.field=value` overrides of the smoke preset."
import sys
from pathlib import Path
import torch
from histogan_nb.config import preset, apply_overrides
from histogan_nb import train

out, steps = Path(sys.argv[1]), 3
seen, final = [], {}
_next = train.RealBatches.__next__
def recording_next(self):
    x, y = _next(self); seen.append(x[:, 0, 0, 0].long().clone()); return x, y
train.RealBatches.__next__ = recording_next

class KeepWeights(train.Callback):
    def after_step(self, run, logs):
        gan = run.gan
        if gan.step == steps:
            final.update(rank=gan.dist.rank, world=gan.dist.world, G=train.unwrap(gan.G).state_dict(),
                         D=train.unwrap(gan.D).state_dict(), mlw=gan.mlw.state_dict())

# toy images whose first pixel is their index, so the test can see which rank got which image
data = train.toy_data(n=64)
data['train'][0][:, 0, 0, 0] = torch.arange(64, dtype=torch.uint8)
p = preset('smoke', **{'train.max_steps': steps, 'runtime.device': 'cpu', 'train.batch_size': 8})
p = apply_overrides(p, dict(a.split('=', 1) for a in sys.argv[2:]))   # e.g. runtime.penalty_apart=true
train.fit(p, out, progress=False, data=data, callbacks=[KeepWeights()])
torch.save(dict(final, seen=torch.stack(seen), apart=p.runtime.penalty_apart), out/f"rank{final['rank']}.pt")
