"""
The early-warning back-test: a synthetic portfolio with known stories
(`portfolio`), replayed period by period through the real pipeline
(`replay`), scored per signal against two naive baselines (`score`).
"""
