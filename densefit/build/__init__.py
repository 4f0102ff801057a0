"""`densefit build FOLDER --out OUT`: documents -> chunks -> generated queries -> the recipe -> index -> report.

Stages, each resumable and each writing its output atomically (OUT/build.json records which are done):
  chunks   OUT/chunks.jsonl, OUT/files.json  (only new or changed files are read again)
  queries     OUT/data/ (a BEIR set: the chunks, generated training queries, the test split)
  index-base  OUT/index-base/ (the base model: the page's compare mode and the "before" score)
  train       OUT/train/ (the recipe: dev carved from the pairs, dev-picked checkpoint, never worse than base)
  index       OUT/index/ (the shipped model)
  evaluate    the test queries searched in both indexes, with paired CIs
`densefit serve OUT` then serves both with the page.
"""
