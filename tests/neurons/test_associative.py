"""AssociativeLeaky: the recurrence of API.md 2.13, snntorch 1.0.0 parity, state_dict keys, errors."""

from __future__ import annotations

import pytest
import torch

import spikeforge as snn


def _reference(m: snn.AssociativeLeaky, x: torch.Tensor) -> torch.Tensor:
    """API.md 2.13 written out per element: M[d,n] = a[n] M[d,n] + v[d] k[n]; Z = H(M - 1)."""
    T, B, _ = x.shape
    d, n = m.d_value, m.d_key
    out = []
    M = torch.zeros(B, d, n, dtype=x.dtype)
    for t in range(T):
        v, k = m.to_v(x[t]), m.to_k(x[t])
        a = torch.sigmoid(m.to_alpha(x[t]))
        for b in range(B):
            for i in range(d):
                for j in range(n):
                    M[b, i, j] = a[b, j] * M[b, i, j] + v[b, i] * k[b, j]
        z = (M.reshape(B, d * n) > 1).to(x.dtype)
        if m.use_q_projection:
            q = m.to_q(x[t]).reshape(B, n, d)
            z = torch.stack([z[b].reshape(d, n) @ q[b] for b in range(B)]).reshape(B, d * d)
        out.append(z)
    return torch.stack(out)


@pytest.mark.parametrize("use_q", [False, True])
def test_matches_explicit_recurrence(use_q: bool) -> None:
    torch.manual_seed(3)
    m = snn.AssociativeLeaky(4, 2, 3, 6, use_q_projection=use_q).double()
    x = torch.randn(7, 2, 4, dtype=torch.float64) * 2
    with torch.no_grad():
        got = m(x)
        want = _reference(m, x)
    assert got.dtype == torch.float64
    assert got.shape == (7, 2, 4 if use_q else 6)
    torch.testing.assert_close(got, want, atol=1e-12, rtol=0)
    assert m.forward_sequence(x)[0].shape == got.shape


@pytest.mark.parametrize("use_q", [False, True])
def test_matches_snntorch(use_q: bool) -> None:
    st = pytest.importorskip("snntorch")
    torch.manual_seed(1)
    ours = snn.AssociativeLeaky(3, 2, 3, 6, use_q_projection=use_q)
    theirs = st.AssociativeLeaky(3, 2, 3, 6, use_q_projection=use_q)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    theirs.load_state_dict(ours.state_dict(), strict=True)
    ours.load_state_dict(theirs.state_dict(), strict=True)
    x = torch.randn(6, 4, 3)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), theirs(x), atol=1e-5, rtol=0)


def test_from_num_spiking_neurons_and_errors() -> None:
    m = snn.AssociativeLeaky.from_num_spiking_neurons(3, 9)
    assert (m.d_value, m.d_key) == (3, 3)
    with pytest.raises(ValueError, match="perfect square"):
        snn.AssociativeLeaky.from_num_spiking_neurons(3, 12)
    with pytest.raises(ValueError, match="num_spiking_neurons=5"):
        snn.AssociativeLeaky(3, 2, 3, 5)
    with pytest.raises(ValueError, match="in_dim"):
        snn.AssociativeLeaky(0, 2, 3, 6)
    with pytest.raises(ValueError, match=r"\[T, B, in_dim=3\]"):
        snn.AssociativeLeaky(3, 2, 3, 6)(torch.randn(2, 4))
    with pytest.raises(TypeError, match="torch.Tensor"):
        snn.AssociativeLeaky(3, 2, 3, 6)([1.0, 2.0, 3.0])
