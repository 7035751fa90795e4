"Appends the run hooks cells to nbs/10_train.ipynb (one-off)."
import nbformat as nbf
nb = nbf.read('nbs/10_train.ipynb', as_version=4)
M, C = nbf.v4.new_markdown_cell, nbf.v4.new_code_cell
nb.cells += [
M("""## Hooks: how the extension layer learns of runs

Every run, as its worker thread starts, is passed to each callable in `gmwidgets.run_hooks` (a list in the package's
`__init__`, below every layer). The Runs panel's reporter (`gmwidgets.runspanel`) adds itself there, so this layer
never imports the extension layer. A hook that raises is reported as a warning; the run goes on."""),
C("""#| export
import gmwidgets
_launch_thread = getattr(Run, '_launch_thread', Run._launch)  # the plain launch, kept when this cell runs again

@patch
def _launch(self:Run):
    "Start the worker thread, then pass the run to each of `gmwidgets.run_hooks`."
    _launch_thread(self)
    for hook in list(gmwidgets.run_hooks):
        try: hook(self)
        except Exception as e: warnings.warn(f"run hook {hook!r} raised {e!r}; training goes on", RuntimeWarning)
Run._launch_thread = _launch_thread"""),
C("""seen = []
gmwidgets.run_hooks.append(seen.append)
try:
    run = Run(TinyGRU(), Counting(), batch_size=16, max_steps=2).start(); run.wait()
finally: gmwidgets.run_hooks.remove(seen.append)
test_eq(seen, [run])"""),
]
nbf.write(nb, 'nbs/10_train.ipynb')
