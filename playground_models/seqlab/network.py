"""`SeqNet`: torch's own recurrent layers (`nn.RNN`, `nn.GRU`, `nn.LSTM`) and a linear read-out.

Training runs torch's layers. To look inside, `unroll` runs the same weights one step at a time
with the cell equations written out (those of torch's documentation, in its gate order), so each
step's hidden state can keep its gradient and the LSTM's gates can be read;
`tests/test_seqlab_engine.py` checks that it gives torch's outputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

LAYERS = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}
GATES = {"rnn": 1, "gru": 3, "lstm": 4}  # weight blocks per layer: the cost of a step


class SeqNet(nn.Module):
    def __init__(self, cell: str, inputs: int, hidden: int, layers: int, outputs: int):
        super().__init__()
        self.cell = cell
        self.rnn = LAYERS[cell](inputs, hidden, layers, batch_first=True)
        self.head = nn.Linear(hidden, outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """`[B, T, inputs]` → `[B, T, outputs]`: the read-out of the top layer at every step."""
        states, _ = self.rnn(x)
        return self.head(states)


def parameter_count(cell: str, inputs: int, hidden: int, layers: int, outputs: int) -> int:
    """Weights and biases of a `SeqNet`, from its sizes alone (before any tensor exists)."""
    g = GATES[cell]
    first = g * hidden * (inputs + hidden + 2)
    rest = (layers - 1) * g * hidden * (2 * hidden + 2)
    return first + rest + outputs * (hidden + 1)


@dataclass
class Unrolled:
    out: torch.Tensor  # [B, T, outputs]
    states: list[torch.Tensor]  # the top layer's h_t, T tensors [B, H], each keeping its grad
    gates: dict[str, torch.Tensor]  # LSTM: "input", "forget", "output" → [B, T, H] (no grad)


def unroll(net: SeqNet, x: torch.Tensor) -> Unrolled:
    """`net(x)` step by step. Each top-layer state `h_t` retains its gradient, so after
    `loss.backward()` its `.grad` is d loss / d h_t: what reaches step t back through time."""
    rnn = net.rnn
    batch, steps, _ = x.shape
    layer_in = [x[:, t] for t in range(steps)]
    gates: dict[str, list[torch.Tensor]] = {"input": [], "forget": [], "output": []}
    for layer in range(rnn.num_layers):
        w_ih, w_hh = getattr(rnn, f"weight_ih_l{layer}"), getattr(rnn, f"weight_hh_l{layer}")
        b_ih, b_hh = getattr(rnn, f"bias_ih_l{layer}"), getattr(rnn, f"bias_hh_l{layer}")
        h = x.new_zeros(batch, rnn.hidden_size)
        c = x.new_zeros(batch, rnn.hidden_size)
        top = layer == rnn.num_layers - 1
        outs = []
        for xt in layer_in:
            a = xt @ w_ih.T + b_ih
            r = h @ w_hh.T + b_hh
            if net.cell == "rnn":
                h = torch.tanh(a + r)
            elif net.cell == "gru":
                ar, az, an = a.chunk(3, dim=1)
                rr, rz, rn = r.chunk(3, dim=1)
                reset, update = torch.sigmoid(ar + rr), torch.sigmoid(az + rz)
                h = (1 - update) * torch.tanh(an + reset * rn) + update * h
            else:
                i, f, g, o = (a + r).chunk(4, dim=1)
                i, f, o = torch.sigmoid(i), torch.sigmoid(f), torch.sigmoid(o)
                c = f * c + i * torch.tanh(g)
                h = o * torch.tanh(c)
                if top:
                    for name, value in (("input", i), ("forget", f), ("output", o)):
                        gates[name].append(value.detach())
            if top and h.requires_grad:
                h.retain_grad()
            outs.append(h)
        layer_in = outs
    out = net.head(torch.stack(layer_in, dim=1))
    stacked = {k: torch.stack(v, dim=1) for k, v in gates.items() if v}
    return Unrolled(out, layer_in, stacked)
