"""The painting lab (ConvNetJS's `image_regression`): a network maps a pixel's place (x, y) to
its colour (r, g, b) and learns to paint a photograph, live."""
