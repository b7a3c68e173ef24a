"""The image lab: small conv nets on digits, their layer table, training and inspection.

`layers` (spec, shapes, parameter counts), `presets`, `config` (settings and share URL), `data`
and `handwriting` (offline digits), `network` (PyTorch modules), `trainer`, `inspection`
(filters, feature maps, predictions, activation maximization), `race` (optimizers in lockstep),
`session` (the live session the server drives in short jobs), `parts` (long work in pieces),
`summary` (`netplay summary`).
"""
