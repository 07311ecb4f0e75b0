"""``AssociativeLeaky``: a spiking associative (outer-product) memory with learnt, input-dependent decay."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor, nn

from ._base import SpikingNeuron, positive_int


class AssociativeLeaky(SpikingNeuron):
    r"""Spiking associative memory (snntorch 1.0.0 ``AssociativeLeaky``; a gated linear-attention state,
    cf. Katharopoulos et al. 2020 and Yang et al. 2024, read out through spikes).

    For an input sequence ``x[t]`` (``in_dim`` features):

    * ``v[t] = W_v x[t] + b_v`` (``d_value``), ``k[t] = W_k x[t] + b_k`` (``d_key``),
      ``a[t] = sigmoid(W_a x[t] + b_a)`` (``d_key``, the per-key decay in (0, 1));
    * matrix state ``M[t] = a[t] * M[t-1] + v[t] k[t]^T`` (``d_value x d_key``; ``a`` scales the
      columns), ``M[-1] = 0``;
    * spikes ``Z[t] = H(flatten(M[t]) - theta) * g`` (``d_value*d_key`` neurons);
    * with ``use_q_projection`` the output is
      ``Z[t] (d_value x d_key) @ reshape(W_q x[t] + b_q, d_key x d_value)`` flattened to
      ``d_value*d_value`` features (snntorch's definition); without it the output is ``Z``.

    The recurrence is evaluated exactly step by step (snntorch uses a log-cumsum prefix-product trick that
    loses precision on long sequences or small ``a``).

    Args:
        in_dim: input features (positive int).
        d_value, d_key: state dimensions (positive ints).
        num_spiking_neurons: must equal ``d_value * d_key``.
        use_q_projection: apply the query read-out.

    Shapes: input ``[T, B, in_dim]`` (time-major); output ``[T, B, d_value*d_key]`` without q,
    ``[T, B, d_value*d_value]`` with q. dtype follows the input.

    Raises:
        ValueError: non-positive sizes, ``num_spiking_neurons != d_value*d_key``, an input that is not
            ``[T, B, in_dim]``. TypeError: a non-tensor input.
    """

    def __init__(
        self,
        in_dim: int,
        d_value: int,
        d_key: int,
        num_spiking_neurons: int,
        use_q_projection: bool = True,
    ) -> None:
        super().__init__()
        positive_int("AssociativeLeaky", "in_dim", in_dim)
        positive_int("AssociativeLeaky", "d_value", d_value)
        positive_int("AssociativeLeaky", "d_key", d_key)
        if num_spiking_neurons != d_value * d_key:
            raise ValueError(
                f"AssociativeLeaky: num_spiking_neurons={num_spiking_neurons} must equal "
                f"d_value * d_key = {d_value * d_key}"
            )
        self.in_dim, self.d_value, self.d_key = in_dim, d_value, d_key
        self.num_spiking_neurons = num_spiking_neurons
        self.use_q_projection = use_q_projection
        self.to_v = nn.Linear(in_dim, d_value)
        self.to_k = nn.Linear(in_dim, d_key)
        self.to_alpha = nn.Linear(in_dim, d_key)
        if use_q_projection:
            self.to_q = nn.Linear(in_dim, d_value * d_key)

    @classmethod
    def from_num_spiking_neurons(
        cls, in_dim: int, num_spiking_neurons: int, use_q_projection: bool = True
    ) -> AssociativeLeaky:
        """Build with ``d_value = d_key = sqrt(num_spiking_neurons)``.

        Raises:
            ValueError: if ``num_spiking_neurons`` is not a positive perfect square.
        """
        n = num_spiking_neurons
        d = math.isqrt(n) if isinstance(n, int) and n > 0 else 0
        if d * d != num_spiking_neurons or d == 0:
            raise ValueError(
                f"num_spiking_neurons={num_spiking_neurons} must be a positive perfect square "
                "(d_value = d_key = sqrt(num_spiking_neurons))"
            )
        return cls(in_dim, d, d, num_spiking_neurons, use_q_projection)

    def forward(self, x: Tensor) -> Tensor:
        x = self._check_input(x, "x")
        if x.dim() != 3 or x.shape[-1] != self.in_dim or x.shape[0] == 0:
            raise ValueError(
                f"AssociativeLeaky expects a time-major input [T, B, in_dim={self.in_dim}] with T >= 1, "
                f"got shape {tuple(x.shape)}"
            )
        v, k, a = self.to_v(x), self.to_k(x), torch.sigmoid(self.to_alpha(x))
        q = self.to_q(x) if self.use_q_projection else None
        batch = x.shape[1]
        state = x.new_zeros(batch, self.d_value, self.d_key)
        outs = []
        spike: Callable[[Tensor], Tensor] = self.spike_grad
        for t, (v_t, k_t, a_t) in enumerate(zip(v.unbind(0), k.unbind(0), a.unbind(0))):
            state = a_t.unsqueeze(1) * state + v_t.unsqueeze(2) * k_t.unsqueeze(1)
            z = spike(state.flatten(1) - self.threshold) * self.graded_spikes_factor
            if q is not None:
                qm = q[t].reshape(batch, self.d_key, self.d_value)
                z = torch.bmm(z.reshape(batch, self.d_value, self.d_key), qm).flatten(1)
            outs.append(z)
        return torch.stack(outs)

    def forward_sequence(self, x: Tensor) -> tuple[Tensor]:
        """The whole-sequence forward in the ``(spk, ...)`` convention: returns ``(forward(x),)``."""
        return (self.forward(x),)
