"""What evaluation does unless told otherwise, in a light module (no torch) that the command line
can read: `wgan-kit eval`, `wgan-kit report --eval` and a sweep's `eval.` metric all score this
many generated samples against as many held-out real ones, so one run gets one number."""

EVAL_SAMPLES = 2500  # the 2,500 of the modes-captured rule (≥ 20 high-quality samples per 2,500)
