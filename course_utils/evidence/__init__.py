"""Evidence: the comparison harness every headline claim goes through.

Reading order: ``seeds`` (the base seed from ``COURSE_SEED`` and the seeds of an experiment),
``intervals`` (mean and Student-t interval over seeds, paired differences), ``compare`` (arms
as one base configuration plus the values of one factor, the claim fixed before the run, its
check and its record in ``claims.json``), ``stacked`` (K seeds of a small network trained
together, equal to K separate trainings).
"""
