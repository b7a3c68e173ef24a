"""TensorFlow Playground mode: TF Playground's random stream, data, network and training.

A link with `compat=tf` (or a playground.tensorflow.org link) runs exactly as TF Playground runs
it: same points, same starting weights, same loss curve, in float64. See `engine.TfRun`.
"""
