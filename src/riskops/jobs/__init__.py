"""Background jobs with a row each: status, progress, result, so any process can report them."""
