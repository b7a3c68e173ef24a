"""The image lab: small conv nets on digits, their layer table, training and inspection.

`layers` (spec, shapes, parameter counts), `presets`, `config` (settings and share URL), `data`
and `handwriting` (offline digits), `network` (PyTorch modules), `trainer`, `inspection`
(filters, feature maps, predictions, activation maximization), `race` (optimizers in lockstep),
`session` (the live-training worker the server drives), `summary` (`netplay summary`).
"""
