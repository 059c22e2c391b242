"""Developer tools (not the course library): notebook runner, notebook sync, benchmarks, evidence scripts."""
