"""The training machinery around the loop: composing a run, launching it (preflight, run folder,
data-parallel ranks, clean stops, progress) and making its passes fast."""
