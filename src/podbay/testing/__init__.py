"""In-memory fakes of the ports in ``podbay.ports`` and a harness that runs the real pod workers on them.

Used by the unit tests (no root, no runtime, no network); each fake records what it was asked to do
so a test can assert on it, and lets the test act as the world (a container exits, a probe fails).
"""
