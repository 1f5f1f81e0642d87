"""Test and benchmark helpers: healthy base workloads and fault injections with ground truth."""
