"The exercise notebooks as coursework: the self-study version runs and reports; the nbgrader course grades."
import json, os, shutil, subprocess, sys
from pathlib import Path
import pytest
from execnb.nbio import read_nb
from execnb.shell import CaptureShell
from histogan_nb.checking import NOT_IMPLEMENTED, FAIL, PASS
from histogan_nb.coursework import write_student_version, write_course, BEGIN, END, ANSWER_PLACEHOLDER

ROOT = Path(__file__).resolve().parents[1]
EXERCISES = sorted((ROOT/'nbs'/'exercises').glob('*.ipynb'))
BIN = Path(sys.executable).parent   # nbgrader runs `alembic` from PATH

def _text(nb) -> str:
    "All the text a notebook's cells printed or displayed."
    out = []
    for c in nb.cells:
        for o in c.get('outputs', []):
            if o.get('output_type') == 'stream': out.append(''.join(o['text']) if isinstance(o['text'], list) else o['text'])
            elif 'data' in o and 'text/plain' in o['data']:
                t = o['data']['text/plain']; out.append(''.join(t) if isinstance(t, list) else t)
    return '\n'.join(out)

@pytest.fixture(scope='module')
def student_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp('student')
    written = write_student_version(ROOT/'nbs'/'exercises', d)
    assert [p.name for p in written] == [p.name for p in EXERCISES]
    return d

def test_at_least_six_exercises_plus_experiment():
    assert len(EXERCISES) >= 7

@pytest.mark.parametrize('src', EXERCISES, ids=[p.stem for p in EXERCISES])
def test_student_version_runs_and_reports(src, student_dir):
    dst = student_dir/src.name
    raw = dst.read_text()
    assert BEGIN not in raw and END not in raw, 'solution markers left in the student version'
    assert 'instructor' not in json.dumps([c.get('metadata', {}) for c in json.loads(raw)['cells']])
    assert json.loads(raw)['metadata']['kernelspec']['name'] == 'python3'
    nb = read_nb(dst)
    sh = CaptureShell(path=ROOT)
    sh.run_all(nb, exc_stop=True)  # raises if any cell of the unfilled student version crashes
    text = _text(nb)
    assert NOT_IMPLEMENTED in text, f'{src.name}: no checker reported "{NOT_IMPLEMENTED}"'
    assert FAIL in text and PASS not in text, f'{src.name}: unfilled stubs must give FAIL lines only'
    assert ANSWER_PLACEHOLDER in raw or 'Think about it' not in src.read_text()

# ---- nbgrader: the instructor's workflow of nbs/exercises/README.md, end to end ----

# known wrong answers: (notebook, solution cell's grade_id, wrong source, the test cells it must fail, the sentence they show)
WRONG = [('01_class_projection', 'solution-cond_layer_norm',
          'def cond_layer_norm(a, cond, w_gamma, w_beta, eps=1e-5):\n'
          '    mu, sd = a.mean(-1, keepdim=True), a.std(-1, unbiased=False, keepdim=True)\n'
          '    return (a - mu) / (sd + eps) * (1 + cond @ w_gamma.T)[:, None] + (cond @ w_beta.T)[:, None]',
          ['test-check_class_projection'], 'not by sqrt(var) + eps'),
         ('03_gradient_penalty', 'solution-gradient_penalty',
          'def gradient_penalty(critic, real, fake, lambda_gp=10., eps=None):\n'
          '    if eps is None: eps = torch.rand(real.shape[0])\n'
          '    e = eps.view(-1, 1, 1, 1)\n'
          '    x_hat = (e*real + (1 - e)*fake).detach().requires_grad_(True)\n'
          '    grad, = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)\n'
          '    return lambda_gp * ((grad.flatten(1).norm(dim=0) - 1)**2).mean()',
          ['test-check_gradient_penalty'], 'over the batch axis'),
         ('05_selective_augmentation', 'solution-selective_mask',
          'def selective_mask(logits, c, confidence):\n'
          '    return logits.softmax(0)[torch.arange(len(c)), c] > confidence',
          ['test-check_selective_mask'], 'softmax over the batch')]

def _nbgrader(course: Path, *args):
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    r = subprocess.run([str(BIN/'nbgrader'), *args], cwd=course, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"

def _submit(course: Path, student: str, answers: dict, only=None):
    "Fill the released notebooks: `answers[(notebook, grade_id)]` is the source of each solution cell."
    d = course/'submitted'/student/'histogan'; d.mkdir(parents=True)
    for p in sorted((course/'release'/'histogan').glob('*.ipynb')):
        if only and p.stem not in only: continue
        nb = json.loads(p.read_text())
        for c in nb['cells']:
            m = c['metadata'].get('nbgrader', {})
            if m.get('solution'): c['source'] = answers[(p.stem, m['grade_id'])]
        (d/p.name).write_text(json.dumps(nb))

def _scores(course: Path, student: str) -> dict:
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{course/'gradebook.db'}") as gb:
        sub = gb.find_submission('histogan', student)
        return {(nb.name, g.name): (g.auto_score, g.max_score) for nb in sub.notebooks for g in nb.grades
                if g.cell.cell_type == 'code'}   # the autograded test cells (prose answers are graded by hand)

def test_nbgrader_course_grades_reference_and_wrong_answers(tmp_path):
    course = tmp_path/'course'
    write_course(ROOT/'nbs'/'exercises', course)
    _nbgrader(course, 'generate_assignment', 'histogan')
    released = [json.loads(p.read_text()) for p in sorted((course/'release'/'histogan').glob('*.ipynb'))]
    assert len(released) == len(EXERCISES)
    for nb in released:   # the student version: no solutions, no instructor notes, opens with its kernel
        raw = json.dumps(nb)
        assert BEGIN not in raw and 'Instructor notes' not in raw and nb['metadata']['kernelspec']['name'] == 'python3'
    ref = {}
    for p in sorted((course/'source'/'histogan').glob('*.ipynb')):
        for c in json.loads(p.read_text())['cells']:
            m = c['metadata'].get('nbgrader', {})
            if m.get('solution'): ref[(p.stem, m['grade_id'])] = c['source']
    wrong = {**ref, **{(nb, gid): src for nb, gid, src, *_ in WRONG}}
    _submit(course, 'reference', ref)
    _submit(course, 'wrong', wrong, only={w[0] for w in WRONG})
    _nbgrader(course, 'autograde', 'histogan')

    full = _scores(course, 'reference')
    assert len(full) >= 10 and all(m > 0 for _, m in full.values())
    assert all(s == m for s, m in full.values()), f'reference solutions lost points: {full}'
    part = _scores(course, 'wrong')
    sent = {w[0] for w in WRONG}   # the other notebooks were not submitted: they score 0
    failed = {k for k, (s, m) in part.items() if s < m and k[0] in sent}
    assert failed == {(nb, t) for nb, _, _, tests, _ in WRONG for t in tests}, failed
    got, total = sum(s for s, _ in part.values()), sum(m for _, m in full.values())
    assert 0 < got < total, (got, total)
    for nb, _, _, tests, sentence in WRONG:   # the feedback is the checker's one sentence
        graded = json.loads((course/'autograded'/'wrong'/'histogan'/f'{nb}.ipynb').read_text())
        errors = [o for c in graded['cells'] if c['metadata'].get('nbgrader', {}).get('grade_id') in tests
                  for o in c['outputs'] if o['output_type'] == 'error']
        assert errors and sentence in errors[0]['evalue'] and errors[0]['evalue'].startswith(FAIL), errors
