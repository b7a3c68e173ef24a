"""The autoencoder lab (ConvNetJS's `autoencoder`): digits squeezed through a code of two
numbers and drawn back, live, with the code plane drawn as a map of the digits."""
