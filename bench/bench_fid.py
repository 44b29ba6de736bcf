"""FID / KID benchmark on the real PCam JPEG subset (a benchmark, not a test).

Prints the FID Inception's feature throughput (images/s) on this machine, then FID and KID of
valid vs test and valid vs a colour-jittered copy of the same valid images, with the number of images used.
Images: full 96x96 patches, read with PIL, a seeded class-stratified sample per split; the kit's
preprocessing ([-1,1], bilinear resize to 299, align_corners=False). Usage:

    .venv/bin/python bench/bench_fid.py [--n 500] [--data PATH] [--json out.json] [--device cpu]
"""
import argparse, json, os, platform, random, time
from pathlib import Path
import numpy as np
import torch
from PIL import Image
from histogan_nb.config import default_data_path
from histogan_nb.data import list_files
from histogan_nb.metrics import InceptionFeatures, extract_features, fid_from_features, kid_from_features


NAMES = ('valid', 'test', 'valid_jittered')


def sample_split(root: Path, split: str, n: int, seed: int) -> torch.Tensor:
    "n images (uint8, (n,3,96,96)) from root/split, half from each class folder, seeded."
    paths, labels = list_files(root, split)      # the kit's one reader of class-folder trees
    classes = sorted(set(labels))
    rng, out = random.Random(seed), []
    for i, c in enumerate(classes):
        files = [f for f, y in zip(paths, labels) if y == c]
        k = n//len(classes) + (1 if i < n % len(classes) else 0)
        if len(files) < k: raise ValueError(f"class {c} of {root/split} holds {len(files)} images, {k} asked for")
        for f in rng.sample(files, k):
            out.append(torch.from_numpy(np.asarray(Image.open(f).convert('RGB'))).permute(2, 0, 1))
    return torch.stack(out)


def colour_jitter(x: torch.Tensor, seed: int) -> torch.Tensor:
    "A stain-like shift: torchvision ColorJitter(brightness=.2, contrast=.2, saturation=.2, hue=.05) per image."
    from torchvision.transforms import ColorJitter
    torch.manual_seed(seed)
    cj = ColorJitter(0.2, 0.2, 0.2, 0.05)
    return torch.stack([cj(im) for im in x])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--n', type=int, default=500, help='images per set')
    ap.add_argument('--data', default=default_data_path())
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--device', default='cpu')
    ap.add_argument('--batch-size', type=int, default=50)
    ap.add_argument('--json', default='')
    ap.add_argument('--features', default='', help='.npz to save the features to, or to reuse them from if it exists')
    a = ap.parse_args()
    root = Path(a.data)
    t = time.time()
    valid, test = sample_split(root, 'valid', a.n, a.seed), sample_split(root, 'test', a.n, a.seed)
    jittered = colour_jitter(valid, a.seed)
    print(f"read {len(valid)} valid + {len(test)} test images from {root} in {time.time() - t:.1f}s")

    ext = InceptionFeatures()
    feats, speed = {}, {}
    if a.features and Path(a.features).exists():
        with np.load(a.features) as z: feats, speed = {k: z[k] for k in z.files if k != 'speed'}, dict(zip(NAMES, z['speed'].tolist()))
        print(f"reusing features from {a.features} (throughput as measured when they were computed)")
    else:
        for name, x in zip(NAMES, [valid, test, jittered]):
            t = time.time()
            feats[name] = extract_features(ext, x, batch_size=a.batch_size, device=a.device, progress=False)
            speed[name] = len(x)/(time.time() - t)
            print(f"features {name:15s} {len(x)} images, {speed[name]:.2f} images/s")
        if a.features: np.savez(a.features, speed=np.array([speed[k] for k in NAMES]), **feats)
    if len(feats['valid']) != a.n: raise ValueError(f"{a.features} holds {len(feats['valid'])} images per set, --n is {a.n}")
    res = dict(n_per_set=a.n, device=a.device, torch_threads=torch.get_num_threads(), machine=platform.node(),
               cpu_count=os.cpu_count(), inception_images_per_s=float(np.mean(list(speed.values()))))
    for other in ['test', 'valid_jittered']:
        t = time.time()
        fid = fid_from_features(feats['valid'], feats[other])
        kid, kid_std = kid_from_features(feats['valid'], feats[other], subset_size=a.n//2, n_subsets=100, seed=a.seed)
        res[f'valid_vs_{other}'] = dict(fid=fid, kid=kid, kid_std=kid_std, n1=len(feats['valid']), n2=len(feats[other]))
    # the small-sample floor: two disjoint halves of the valid sample (even / odd rows: both classes in each)
    va, vb = feats['valid'][0::2], feats['valid'][1::2]
    h = min(len(va), len(vb)); va, vb = va[:h], vb[:h]
    fid_h = fid_from_features(va, vb)
    kid_h, kid_hs = kid_from_features(va, vb, subset_size=h//2, n_subsets=100, seed=a.seed)
    res['valid_half_vs_half'] = dict(fid=fid_h, kid=kid_h, kid_std=kid_hs, n1=h, n2=h)

    print(f"\nInception (fid-helper TorchScript) throughput on {a.device}: {res['inception_images_per_s']:.2f} images/s "
          f"({res['torch_threads']} threads)")
    print(f"KID: unbiased MMD^2, cubic kernel, mean/std over 100 subsets of n/2")
    print(f"{'comparison':28s} {'n1':>5s} {'n2':>5s} {'FID':>9s} {'KID':>9s} {'KID std':>9s}")
    for k in ['valid_vs_test', 'valid_vs_valid_jittered', 'valid_half_vs_half']:
        r = res[k]
        print(f"{k:28s} {r['n1']:5d} {r['n2']:5d} {r['fid']:9.2f} {r['kid']:9.4f} {r['kid_std']:9.4f}")
    if a.json: Path(a.json).write_text(json.dumps(res, indent=2))


if __name__ == '__main__':
    main()
