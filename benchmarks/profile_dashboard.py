"""Where the dashboard's cost goes: py-spy samples a real kernel training the bench_dashboard loop with a
`TrainingDashboard` displayed, and the training thread's samples are split by what they are doing.

    pip install py-spy   # a sampling profiler (not a dependency of gmwidgets)
    python benchmarks/profile_dashboard.py [--steps 1500] [--rate 200]

Prints the share of the training thread's samples spent in the dashboard's callback (`on_step`: chart push, collapse
watch), in `Run`'s own bookkeeping, in sending widget messages, and in the model step itself."""
import argparse, collections, os, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'benchmarks'))
from bench_dashboard import SETUP  # the same model, data and loop


def profile(steps:int, rate:int) -> dict[str, int]:
    "Collapsed stacks of the training thread while `run(steps, dashboard=True)` runs in a fresh kernel."
    from jupyter_client.manager import start_new_kernel
    km, kc = start_new_kernel(kernel_name='python3', cwd=str(ROOT))
    try:
        for code in (SETUP, 'run(20, dashboard=True)'):
            kc.execute_interactive(code, timeout=600, output_hook=lambda m: None)
        pid = km.provisioner.process.pid
        out = Path(tempfile.mkdtemp()) / 'stacks.txt'
        spy = subprocess.Popen([str(Path(sys.executable).parent / 'py-spy'), 'record', '--pid', str(pid),
                                '--rate', str(rate), '--format', 'raw', '--threads', '--output', str(out),
                                '--nonblocking'],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(2)
        kc.execute_interactive(f'run({steps}, dashboard=True)', timeout=1800, output_hook=lambda m: None)
        spy.send_signal(2); spy.wait(60)
        return {l.rsplit(' ', 1)[0]: int(l.rsplit(' ', 1)[1]) for l in out.read_text().splitlines() if l.strip()}
    finally:
        kc.stop_channels(); km.shutdown_kernel(now=True)


KINDS = [  # (what, a frame name that marks it), first match wins, looked for from the innermost frame outwards
    ('widget messages (comm send, hold_sync)', ('send_state', 'hold_sync', '_send', 'session.py')),
    ('dashboard on_step (chart push, collapse watch)', ('on_step (gmwidgets/dashboard.py',)),
    ('Run bookkeeping (history row, callbacks, pause/stop checks)', ('_record', '_emit', '_row', 'gmwidgets/train.py')),
    ('model step (forward, backward, optimiser)', ('torch/', 'autoregressive.py', 'data.py')),
]


def classify(stacks:dict[str, int]) -> collections.Counter:
    "Samples of the training thread by kind."
    c = collections.Counter()
    for stack, n in stacks.items():
        if 'gmwidgets-run' not in stack.split(';', 1)[0]: continue
        frames = stack.split(';')[1:][::-1]  # innermost first
        kind = next((k for f in frames for k, marks in KINDS if any(m in f for m in marks)), 'other')
        c[kind] += n
    return c


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--steps', type=int, default=1500); p.add_argument('--rate', type=int, default=200)
    a = p.parse_args()
    c = classify(profile(a.steps, a.rate))
    total = sum(c.values())
    print(f"training thread: {total} samples at {a.rate} Hz, load average {os.getloadavg()[0]:.1f}")
    for k, n in c.most_common(): print(f"{100 * n / total:6.2f} %  {k}")


if __name__ == '__main__':
    main()
