"""The sequence lab: small recurrent networks (RNN, GRU, LSTM) on toy tasks with long
dependencies, trained live and looked into step by step (`/seq`, docs/seq-protocol.md)."""
