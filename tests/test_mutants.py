"""Mutation tests: the notebook tests must notice when the maths is wrong.

Each mutant is one exact text substitution in an `#| export` cell. The test copies the repo, applies it, runs
`nbdev_export` in the copy and then the tests of the notebook that defines the code, in a fresh process whose
`histogan_nb` is the copy's: they must FAIL. The original text must occur exactly once in the notebook, so a mutant
whose code has been rewritten fails loudly here instead of silently testing nothing. A control per notebook (no
mutation) must PASS, so neither a broken harness nor a notebook that fails anyway can pass for a strict test suite.
"""
import json, os, shutil, subprocess, sys, tempfile
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
IGNORE = shutil.ignore_patterns('.venv', '.git', 'data', 'runs', '__pycache__', 'figures', '*.egg-info', '.ipynb_checkpoints')

# name: (notebook, original text, mutated text); the notebook's own tests must fail on the mutant
MUTANTS = {
    # 1. the penalty's sign flipped in D's loss
    'gp_sign_in_d_step': ('11_train.ipynb', "loss = l_critic + gp + gan.mlw([l1, l2 * sw.l2_factor])",
                          "loss = l_critic - gp + gan.mlw([l1, l2 * sw.l2_factor])"),
    # (the critic's own sign in D's step)
    'critic_sign_in_d_step': ('11_train.ipynb', "l_critic = sw.critic_loss(src[:n], src[n:])",
                              "l_critic = sw.critic_loss(src[n:], src[:n])"),
    # 2. G ascending the critic
    'generator_loss_sign': ('07_losses.ipynb', "return -src_fake.mean()", "return src_fake.mean()"),
    'g_step_ascends': ('11_train.ipynb', "loss = l_adv + t.g_cls_weight * gan.mlw.weighted(1, l2_g)",
                       "loss = -l_adv + t.g_cls_weight * gan.mlw.weighted(1, l2_g)"),
    # G's class factor ignored, or put on the adversarial term
    'g_cls_weight_ignored': ('11_train.ipynb', "loss = l_adv + t.g_cls_weight * gan.mlw.weighted(1, l2_g)",
                             "loss = l_adv + gan.mlw.weighted(1, l2_g)"),
    'g_cls_weight_on_adv': ('11_train.ipynb', "loss = l_adv + t.g_cls_weight * gan.mlw.weighted(1, l2_g)",
                            "loss = t.g_cls_weight * l_adv + gan.mlw.weighted(1, l2_g)"),
    # 3. the penalty at the synthetic images instead of the interpolates
    'gp_at_fakes': ('07_losses.ipynb', "x_hat = interpolate(real.detach(), fake.detach(), eps)",
                    "x_hat = interpolate(real.detach(), fake.detach(), torch.zeros(len(real)))"),
    # 4. one eps for the whole batch
    'one_eps_per_batch': ('07_losses.ipynb', "if eps is None: eps = torch.rand(n, device=real.device, dtype=real.dtype)",
                          "if eps is None: eps = torch.rand(1, device=real.device, dtype=real.dtype).expand(n)"),
    # 5. the penalty on the class logits instead of the source head
    'gp_on_logits_in_losses': ('07_losses.ipynb', "return out.source if hasattr(out, 'source') else out",
                               "return out.logits[:, 0] if hasattr(out, 'logits') else out"),
    'gp_on_logits_in_d_step': ('11_train.ipynb', "src_hat = penalty_pass_scores(gan, x_hat, labels) if sw.apart else src[2*n:]",
                               "src_hat = penalty_pass_scores(gan, x_hat, labels) if sw.apart else logits[2*n:, 0]"),
    'gp_on_logits_apart': ('11_train.ipynb', "return gan.D_bare(x_hat.view_as(x_hat), labels).source.float()",
                           "return gan.D_bare(x_hat.view_as(x_hat), labels).logits[:, 0].float()"),
    # 6. >= instead of > in the selective mask
    'mask_not_strict': ('08_selective_augmentation.ipynb', "return p > confidence", "return p >= confidence"),
    # 7. a clamped instead of a truncated normal
    'clamped_latent': ('08_selective_augmentation.ipynb',
                       "if truncate: return truncated_normal((n, z_dim), tau, generator=generator, device=device)",
                       "if truncate: return torch.randn(n, z_dim, generator=generator, device=device).clamp(-tau, tau)"),
    # 8. grid attention without window_reverse (windows written back in window order)
    'no_window_reverse': ('02_vit.ipynb', "m = window_reverse(self.attn(window_partition(m, self.window)), self.window, H, W)",
                          "m = self.attn(window_partition(m, self.window)).reshape(N, H, W, C)"),
    # 8b. shifted windows that do not shift (02_vit), or a generator that does not pass the shift on (04_generator)
    'shift_ignored': ('02_vit.ipynb', "m, s = x.view(N, H, W, C), self.shift", "m, s = x.view(N, H, W, C), 0"),
    'g_shift_not_passed': ('04_generator.ipynb', "shifts.append(w // 2 if cfg.g_shift and w and n % 2 == 0 else 0)",
                           "shifts.append(0)"),
    # 8c. wider late stages: the ratio not passed to the stages, or the extra layer in the paper's G too
    'g_width_ratio_not_passed': ('04_generator.ipynb', "cond_dim, cfg.g_noise, shifts[k], cfg.g_width_ratio, cfg.g_local)",
                                 "cond_dim, cfg.g_noise, shifts[k], local=cfg.g_local)"),
    'g_expand_in_paper': ('04_generator.ipynb', "wide = mode == 'pixel_shuffle' and ratio != 4",
                          "wide = mode == 'pixel_shuffle'"),
    # 8f. G's local MLP (02_vit, 04_generator): the switch not passed, or the token map read in the wrong order
    'g_local_not_passed': ('04_generator.ipynb', "cond_dim, cfg.g_noise, shifts[k], cfg.g_width_ratio, cfg.g_local)",
                           "cond_dim, cfg.g_noise, shifts[k], cfg.g_width_ratio)"),
    'local_mlp_map_order': ('02_vit.ipynb', "m = h.transpose(1, 2).reshape(N, -1, H, W)", "m = h.reshape(N, -1, H, W)"),
    # 8d. the EMA's warm-up k ignored (07a_updates), or the study's averages moved one step late (17e)
    'ema_warmup_ignored': ('07a_updates.ipynb', "decay = min(decay, (1 + step)/(warmup + step))",
                           "decay = min(decay, (1 + step)/(10 + step))"),
    'averages_step_late': ('17e_remedy_study.ipynb',
                           "ema_update(g, run.gan.G_bare, run.p.train.ema, run.gan.step - 1, self.ks[k])",
                           "ema_update(g, run.gan.G_bare, run.p.train.ema, run.gan.step, self.ks[k])"),
    # 8e. the measuring tools of 17f: a Gaussian with sigma for 2 sigma^2, colours matched per patch, rings in
    # cycles per pixel instead of per patch
    'blur_sigma_not_squared': ('17f_texture_study.ipynb', "g = torch.exp(-t**2/(2*sigma**2))",
                               "g = torch.exp(-t**2/(2*sigma))"),
    'colour_per_patch': ('17f_texture_study.ipynb',
                         "m, s = x.mean((0, 2, 3), keepdim=True), x.std((0, 2, 3), keepdim=True)",
                         "m, s = x.mean((1, 2, 3), keepdim=True), x.std((1, 2, 3), keepdim=True)"),
    'spectrum_cycles_per_pixel': ('07_losses.ipynb',
                                  "k = torch.sqrt((torch.fft.fftfreq(h)*h)[:, None]**2 + (torch.fft.fftfreq(w)*w)[None, :]**2)",
                                  "k = torch.sqrt(torch.fft.fftfreq(h)[:, None]**2 + torch.fft.fftfreq(w)[None, :]**2)"),
    # 9. nearest instead of bicubic in generator stage 1
    'nearest_upsampling': ('04_generator.ipynb',
                           "m = F.interpolate(m, scale_factor=2, mode='bicubic', align_corners=False)",
                           "m = F.interpolate(m, scale_factor=2, mode='nearest')"),
    # 10. the class head inside the game (11_train; its evaluation in 11a_run): the control, L_2's switch and ramp, D's EMA, lr_cls, clipping
    'control_updates_g': ('11_train.ipynb', "if t.adversarial: logs.update(g_step(gan, t.batch_size // gan.dist.world))",
                          "if True: logs.update(g_step(gan, t.batch_size // gan.dist.world))"),
    'synthetic_cls_ignored': ('11_train.ipynb', "if not t.synthetic_cls: return 0.0", "if False: return 0.0"),
    'l2_ramp_reversed': ('11_train.ipynb', "return min(1.0, step / t.l2_ramp) if t.l2_ramp else 1.0",
                         "return max(0.0, 1 - step / t.l2_ramp) if t.l2_ramp else 1.0"),
    'd_ema_swapped': ('07a_updates.ipynb', "ema_update(gan.D_ema, gan.D_bare, t.cls_ema, gan.d_steps - 1)",
                      "ema_update(gan.D_bare, gan.D_ema, t.cls_ema, gan.d_steps - 1)"),
    'eval_reads_raw_d': ('11a_run.ipynb', "probs = predict(gan.D_eval, valid[0], device=gan.device)",
                         "probs = predict(unwrap(gan.D), valid[0], device=gan.device)"),
    'lr_cls_not_applied': ('11_train.ipynb', "dict(params=cls, lr=t.lr_cls)", "dict(params=cls)"),
    'r1_at_interpolates': ('07_losses.ipynb', "if not at_real else real.detach().clone()", "if not at_real else interpolate(real.detach(), fake.detach())"),
    'ns_g_ascends': ('07_losses.ipynb', "return F.softplus(-src_fake).mean()", "return F.softplus(src_fake).mean()"),
    # 11. the seam remedies: bilinear upsampling that is not, noise that is not added, patches that do not overlap
    'bilinear_is_nearest': ('04_generator.ipynb',
                            "m = F.interpolate(m, scale_factor=2, mode='bilinear', align_corners=False)",
                            "m = F.interpolate(m, scale_factor=2, mode='nearest')"),
    'noise_not_added': ('04_generator.ipynb', "if self.noise is not None: x = x + self.noise * torch.randn_like(x[..., :1])",
                        "if False: x = x + self.noise * torch.randn_like(x[..., :1])"),
    'overlap_ignored': ('05_discriminator.ipynb', "o = patch // 2 if overlap else 0", "o = 0"),
    'clip_d_ignored': ('07a_updates.ipynb', "if t.clip_d: nn.utils.clip_grad_norm_(", "if False: nn.utils.clip_grad_norm_("),
    'mbstd_strided_groups': ('05_discriminator.ipynb',
                             "s = h.reshape(len(h) // g, g, -1).var(1, unbiased=False).add(1e-8).sqrt()\n    return s.repeat_interleave(g, 0)",
                             "s = h.reshape(g, len(h) // g, -1).var(0, unbiased=False).add(1e-8).sqrt()\n    return s.repeat(g, 1)"),
    'mode_seeking_neighbours': ('07_losses.ipynb', "(fake[:h] - fake[h:]).abs().mean() / (z[:h] - z[h:])",
                                "(fake[::2] - fake[1::2]).abs().mean() / (z[::2] - z[1::2])"),
    'mode_seeking_ascends': ('11_train.ipynb', "loss = loss + t.ms_weight * mode_seeking_loss(",
                             "loss = loss - t.ms_weight * mode_seeking_loss("),
    'mode_seeking_pairs_unlabelled': ('11_train.ipynb', "if paired: c = c[:n // 2].repeat(2)", "if False: c = c[:n // 2].repeat(2)"),
    # sampling moves training's RNG, or its noise is not fixed by the seed
    'seeded_noise_not_restored': ('04_generator.ipynb', "with torch.random.fork_rng(devices=cuda):", "if True:"),
    'generate_noise_unseeded': ('11_train.ipynb', "with eval_mode(G), seeded_noise(noise_seed, device):",
                                "with eval_mode(G):"),
    # a resume refused when the same patches were moved to another folder
    'resume_refuses_moved_data': ('11a_run.ipynb', "if changed == ['path']: changed = []",
                                  "if False: changed = []"),
    # the projection D's label: left out of G's step, x_hat scored with G's labels, or e_c on the class token
    'projection_g_unlabelled': ('11_train.ipynb', "D(diff_augment(fake, gan.preset.train.diffaug), c)",
                                "D(diff_augment(fake, gan.preset.train.diffaug))"),
    'projection_x_hat_fake_labels': ('11_train.ipynb', "y = torch.cat([labels, c] + [labels] * (not sw.apart))",
                                     "y = torch.cat([labels, c] + [c] * (not sw.apart))"),
    'projection_on_class_token': ('05_discriminator.ipynb', "(self.class_embed(labels) * h[:, 1]).sum(-1)",
                                  "(self.class_embed(labels) * h[:, 0]).sum(-1)"),
    # dihedral augmentation: every rank takes the global batch's first draws
    'dihedral_ranks_share_draws': ('01_data.ipynb', "x = apply_dihedral(x, mirror[part], turns[part])",
                                   "x = apply_dihedral(x, mirror[:local], turns[:local])"),
    # the rates' decay compounded step on step, or spread over the whole run
    'rate_decay_compounds': ('11_train.ipynb', "group['lr'] = group.setdefault('initial_lr', group['lr']) * factor",
                             "group['lr'] = group['lr'] * factor"),
    'rate_decay_over_whole_run': ('11_train.ipynb', "(total - step) / (t.lr_decay * total)", "(total - step) / total"),
}
# every notebook above, unmutated, must pass in the harness: so a mutant cannot count as caught because its notebook
# fails anyway (or because the harness is broken)
CONTROLS = sorted({nb for nb, _, _ in MUTANTS.values()})

RUN_TESTS = """
import sys
from pathlib import Path
import histogan_nb
assert Path(histogan_nb.__file__).resolve().is_relative_to(Path.cwd().resolve()), histogan_nb.__file__
from nbdev.test import test_nb
ok, _ = test_nb(Path('nbs')/sys.argv[1], skip_flags=['slow', 'gpu'], showerr=True)
sys.exit(0 if ok else 1)
"""

def mutate(nb_path: Path, old: str, new: str):
    "Replace `old` by `new` in the one export cell of `nb_path` that holds it (it must occur exactly once)."
    nb = json.loads(nb_path.read_text())
    counts = [''.join(c['source']).count(old) for c in nb['cells']]
    assert sum(counts) == 1, f"{nb_path.name}: the mutant's original text occurs {sum(counts)} times (expected 1): {old!r}"
    cell = nb['cells'][counts.index(1)]
    src = ''.join(cell['source'])
    assert cell['cell_type'] == 'code' and src.lstrip().startswith('#| export'), f"{nb_path.name}: {old!r} is not in an export cell"
    cell['source'] = src.replace(old, new).splitlines(keepends=True)
    nb_path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + '\n')

def run_in_copy(nb: str, mutation=None) -> subprocess.CompletedProcess:
    "Copy the repo, apply `mutation` (old, new) to `nb`, export, and run `nb`'s tests there."
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)/'repo'
        shutil.copytree(ROOT, tmp, ignore=IGNORE)
        if mutation: mutate(tmp/'nbs'/nb, *mutation)
        env = {**os.environ, 'PYTHONPATH': str(tmp), 'OMP_NUM_THREADS': '1', 'MPLBACKEND': 'Agg'}
        env.pop('IN_TEST', None)     # set by an in-process test_nb (test_notebooks.py); nbdev_export would do nothing
        subprocess.run([sys.executable, '-c', 'from nbdev.doclinks import nbdev_export; nbdev_export()'],
                       cwd=tmp, env=env, check=True, capture_output=True, timeout=300)
        if mutation:
            assert any(mutation[1] in p.read_text() for p in (tmp/'histogan_nb').glob('*.py')), 'the mutant did not reach histogan_nb/'
        return subprocess.run([sys.executable, '-c', RUN_TESTS, nb], cwd=tmp, env=env, capture_output=True, text=True,
                              timeout=900)

@pytest.mark.parametrize('name', list(MUTANTS))
def test_mutant_is_caught(name):
    nb, old, new = MUTANTS[name]
    r = run_in_copy(nb, (old, new))
    assert r.returncode != 0, f"mutant {name!r} ({old!r} -> {new!r}) passes every test of {nb}:\n{r.stderr[-3000:]}"
    assert 'While Executing Cell' in r.stderr, f"{name!r}: the notebook did not fail in a cell:\n{r.stderr[-3000:]}"

@pytest.mark.parametrize('nb', CONTROLS)
def test_control_passes(nb):
    r = run_in_copy(nb)
    assert r.returncode == 0, f"the unmutated {nb} fails in the harness:\n{r.stdout[-2000:]}\n{r.stderr[-3000:]}"
