import os, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# tests share 2 cores with a parallel worker: one torch thread each keeps them from fighting
os.environ.setdefault('OMP_NUM_THREADS', '1')
os.environ.setdefault('MPLBACKEND', 'Agg')

# Longest first (as `make test --durations` measures them): two workers share the suite, and a long test that starts
# last leaves the other worker idle at the end. Modules stay whole, so their module-scoped fixtures are built once.
MODULES_FIRST = ('test_repro', 'test_exercises', 'test_docs', 'test_bench', 'test_jupyterlab', 'test_train_cli', 'test_notebooks',
                 'test_bad_inputs', 'test_mutants')
NOTEBOOKS_FIRST = ('09_metrics', '17_recipe_study', '12_baselines', '11a_run', '11_train', 'repro/table1', '14_bench')

def pytest_collection_modifyitems(items):
    def rank(names, text): return next((i for i, n in enumerate(names) if n in text), len(names))
    order = {id(it): i for i, it in enumerate(items)}
    items.sort(key=lambda it: (rank(MODULES_FIRST, it.module.__name__ if it.module else ''),
                               rank(NOTEBOOKS_FIRST, it.nodeid) if 'test_notebook[' in it.nodeid else 0, order[id(it)]))
