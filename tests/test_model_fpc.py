"""FPC pieces (paper eq. 1-7) against direct, loop-based readings of the equations on
small hand-made inputs, in float64."""
from __future__ import annotations

import math

import pytest
import torch

from edge_rppg.pulse.models import fpc


def _points(seed: int, n: int = 7, d: int = 3, frames: int = 1) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(frames, n, d, generator=gen, dtype=torch.float64)


SQUARE = torch.tensor([[[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]], dtype=torch.float64)


# ---------------- loop references ----------------

def ref_dist(x: torch.Tensor) -> list:
    n = x.shape[0]
    return [[math.sqrt(sum((float(x[i, c]) - float(x[j, c])) ** 2 for c in range(x.shape[1])))
             for j in range(n)] for i in range(n)]


def ref_density(x: torch.Tensor, k: int) -> list:
    dist = ref_dist(x)
    n = len(dist)
    out = []
    for i in range(n):
        others = sorted(dist[i][j] for j in range(n) if j != i)[: min(k, n - 1)]
        out.append(math.exp(-sum(others) / len(others)))
    return out


def ref_denser(phi: list, i: int, j: int) -> bool:
    return phi[j] > phi[i] or (phi[j] == phi[i] and j < i)


def ref_delta(x: torch.Tensor, phi: list) -> list:
    dist = ref_dist(x)
    n = len(dist)
    out = []
    for i in range(n):
        higher = [dist[i][j] for j in range(n) if j != i and ref_denser(phi, i, j)]
        out.append(min(higher) if higher else max(dist[i]))
    return out


def ref_topk(score: list, K: int) -> list:
    order = sorted(range(len(score)), key=lambda i: (-score[i], i))
    return sorted(order[:K])


# ---------------- tests ----------------

def test_pairwise_distance_matches_loop() -> None:
    x = _points(0)
    got = fpc.pairwise_distance(x)[0]
    assert torch.allclose(got, torch.tensor(ref_dist(x[0]), dtype=torch.float64), atol=1e-9)
    assert torch.all(torch.diagonal(got) == 0)


@pytest.mark.parametrize("k", [1, 3, 6, 50])
def test_density_eq1_matches_loop(k: int) -> None:
    x = _points(1)
    got = fpc.knn_density(fpc.pairwise_distance(x), k)[0]
    assert torch.allclose(got, torch.tensor(ref_density(x[0], k), dtype=torch.float64), atol=1e-9)


def test_density_single_point_is_one() -> None:
    x = _points(2, n=1)
    assert torch.equal(fpc.knn_density(fpc.pairwise_distance(x), 5), torch.ones(1, 1, dtype=torch.float64))


def test_delta_eq2_matches_loop_including_densest_point() -> None:
    x = _points(3)
    dist = fpc.pairwise_distance(x)
    phi = fpc.knn_density(dist, 3)
    got = fpc.delta_distance(dist, phi)[0]
    want = ref_delta(x[0], phi[0].tolist())
    assert torch.allclose(got, torch.tensor(want, dtype=torch.float64), atol=1e-9)
    densest = int(torch.argmax(phi[0]))
    assert got[densest] == pytest.approx(max(ref_dist(x[0])[densest]))


def test_delta_and_topk_with_density_ties_square() -> None:
    # 4 corners of a unit square: every density ties, so "denser" falls back to lower index.
    dist = fpc.pairwise_distance(SQUARE)
    phi = fpc.knn_density(dist, 2)
    assert torch.all(phi == phi[0, 0])
    delta = fpc.delta_distance(dist, phi)[0]
    # point 0 has no denser point -> its max distance (diagonal sqrt 2); others -> nearest lower index
    assert delta.tolist() == pytest.approx([math.sqrt(2), 1.0, 1.0, 1.0])
    assert delta.tolist() == pytest.approx(ref_delta(SQUARE[0], phi[0].tolist()))
    score = phi * delta.unsqueeze(0)
    onehot = fpc.topk_onehot(score, 2)
    # scores: [phi*sqrt2, phi, phi, phi] -> point 0, then tie among 1,2,3 -> lowest index 1
    assert onehot[0].argmax(-1).tolist() == [0, 1] == ref_topk(score[0].tolist(), 2)
    idx, protos = fpc.dpc_knn_init(SQUARE, 2, 2)
    assert idx.tolist() == [[0, 1]]
    assert torch.equal(protos[0], SQUARE[0, [0, 1]])


def test_all_identical_points_select_first_k_deterministically() -> None:
    x = torch.ones(2, 6, 4, dtype=torch.float64)
    for _ in range(3):
        idx, protos = fpc.dpc_knn_init(x, 3, 2)
        assert idx.tolist() == [[0, 1, 2], [0, 1, 2]]
        assert torch.equal(protos, torch.ones(2, 3, 4, dtype=torch.float64))


def test_stable_rank_ties() -> None:
    score = torch.tensor([[1.0, 3.0, 3.0, 0.5, 3.0]])
    assert fpc.stable_rank(score).tolist() == [[3, 0, 1, 4, 2]]
    assert fpc.topk_onehot(score, 3)[0].argmax(-1).tolist() == [1, 2, 4]


@pytest.mark.parametrize("K,k", [(1, 2), (3, 3), (4, 5), (7, 6)])
def test_dpc_knn_init_batched_matches_per_frame_loop(K: int, k: int) -> None:
    x = _points(4, n=7, d=3, frames=5)
    idx, protos = fpc.dpc_knn_init(x, K, k)
    assert idx.shape == (5, K) and protos.shape == (5, K, 3)
    for f in range(5):
        phi = ref_density(x[f], k)
        delta = ref_delta(x[f], phi)
        want = ref_topk([p * d for p, d in zip(phi, delta)], K)
        assert idx[f].tolist() == want
        assert torch.equal(protos[f], x[f, want])


def test_dpc_knn_init_gradient_reaches_selected_rows_only() -> None:
    x = _points(5, frames=2).requires_grad_(True)
    idx, protos = fpc.dpc_knn_init(x, 3, 2)
    protos.sum().backward()
    for f in range(2):
        rows = x.grad[f].abs().sum(-1) > 0
        assert sorted(torch.nonzero(rows).flatten().tolist()) == idx[f].tolist()


def test_topk_rejects_bad_k() -> None:
    with pytest.raises(ValueError, match=r"K must be in \[1, 4\]"):
        fpc.topk_onehot(torch.zeros(1, 4), 5)


def test_em_step_eq3_eq4_matches_loop() -> None:
    torch.manual_seed(0)
    d, n, kk = 4, 5, 2
    c = _points(6, n=kk, d=d)
    q_proj = torch.nn.Linear(d, d).double()
    k_x = _points(8, n=n, d=d)
    v_x = _points(9, n=n, d=d)
    got = fpc.em_step(c, k_x, v_x, q_proj)[0]
    q = q_proj(c)[0].detach()
    for j in range(kk):
        logits = [float(q[j] @ k_x[0, i]) / math.sqrt(d) for i in range(n)]
        m = max(logits)
        w = [math.exp(v - m) for v in logits]
        a = [v / sum(w) for v in w]
        want = sum(a[i] * v_x[0, i] for i in range(n))
        assert torch.allclose(got[j], want, atol=1e-9)


def _ref_update(x: torch.Tensor, c: torch.Tensor):
    n, kk = x.shape[0], c.shape[0]
    s = [[float(x[i] @ c[j]) / (float(x[i].norm()) * float(c[j].norm())) for j in range(kk)] for i in range(n)]
    owner = [max(range(kk), key=lambda j: (s[i][j], -j)) for i in range(n)]
    out, w_i, w_j = [], [[0.0] * kk for _ in range(n)], []
    for j in range(kk):
        members = [i for i in range(n) if owner[i] == j]
        denom = sum(math.exp(s[i][j]) for i in members) + math.e
        wj = math.e / denom
        w_j.append(wj)
        new = wj * c[j]
        for i in members:
            w_i[i][j] = math.exp(s[i][j]) / denom
            new = new + w_i[i][j] * x[i]
        out.append(new)
    return torch.stack(out), torch.tensor(w_i, dtype=torch.float64), torch.tensor(w_j, dtype=torch.float64)


def test_prototype_update_eq5_to_eq7_matches_loop() -> None:
    x = _points(10, n=8, d=4, frames=3)
    c = _points(11, n=3, d=4, frames=3)
    got_c, got_wi, got_wj = fpc.prototype_update(x, c)
    for f in range(3):
        want_c, want_wi, want_wj = _ref_update(x[f], c[f])
        assert torch.allclose(got_c[f], want_c, atol=1e-9)
        assert torch.allclose(got_wi[f], want_wi, atol=1e-12)
        assert torch.allclose(got_wj[f], want_wj, atol=1e-12)
    # prototype weight plus member weights sum to one per prototype
    assert torch.allclose(got_wj + got_wi.sum(-2), torch.ones_like(got_wj))


def test_prototype_update_empty_cluster_keeps_prototype() -> None:
    x = torch.tensor([[[1.0, 0.0], [0.9, 0.1]]], dtype=torch.float64)
    c = torch.tensor([[[1.0, 0.0], [-1.0, 0.0]]], dtype=torch.float64)  # nobody is near c_1
    new, w_i, w_j = fpc.prototype_update(x, c)
    assert w_j[0, 1] == 1.0 and torch.equal(new[0, 1], c[0, 1])
    assert w_i[0, :, 1].abs().sum() == 0


def test_prototype_update_is_differentiable_through_similarity() -> None:
    x = _points(12, n=6, d=3).requires_grad_(True)
    c = _points(13, n=2, d=3).requires_grad_(True)
    new, _, _ = fpc.prototype_update(x, c)
    new.pow(2).sum().backward()
    assert x.grad.abs().sum() > 0 and c.grad.abs().sum() > 0


def test_hard_assign_mean_matches_loop_kmeans() -> None:
    x = _points(14, n=9, d=2)
    c0 = x[:, [0, 4, 8]].clone()
    got = fpc.hard_assign_mean(x, c0, iters=2)[0]
    cs = [c0[0, j].clone() for j in range(3)]
    for _ in range(2):
        owner = [min(range(3), key=lambda j: (float((x[0, i] - cs[j]).pow(2).sum()), j)) for i in range(9)]
        cs = [torch.stack([x[0, i] for i in range(9) if owner[i] == j]).mean(0) if j in owner else cs[j]
              for j in range(3)]
    assert torch.allclose(got, torch.stack(cs), atol=1e-9)


@pytest.mark.parametrize("name", sorted(fpc.CLUSTER_STRATEGIES))
def test_strategies_shape_and_determinism(name: str) -> None:
    kwargs = dict(dim=4, n_in=9, k_out=3, knn_k=3, em_iters=2, kmeans_iters=2, seed=1, stage=0)
    torch.manual_seed(0)
    a = fpc.CLUSTER_STRATEGIES[name](**kwargs).double()
    torch.manual_seed(0)
    b = fpc.CLUSTER_STRATEGIES[name](**kwargs).double()
    x = _points(15, n=9, d=4, frames=4)
    out = a(x)
    assert out.shape == (4, 3, 4) and torch.isfinite(out).all()
    assert torch.equal(out, b(x))


def test_fixed_grouping_is_contiguous_mean() -> None:
    g = fpc.FixedGrouping(n_in=6, k_out=3).double()
    x = torch.arange(6, dtype=torch.float64).view(1, 6, 1)
    assert g(x).flatten().tolist() == [0.5, 2.5, 4.5]


def test_init_fn_is_swappable() -> None:
    clusterer = fpc.FPCClusterer(dim=4, n_in=6, k_out=2, knn_k=2, em_iters=1).double()
    calls = []

    def first_k(x: torch.Tensor, K: int, k: int, temperature: float):
        calls.append((K, k, temperature))
        return torch.arange(K).expand(x.shape[0], K), x[:, :K]

    clusterer.init_fn = first_k
    clusterer(_points(16, n=6, d=4, frames=2))
    assert calls == [(2, 2, 0.0)]


def test_soft_assignment_rows_sum_to_one_and_tend_to_hard() -> None:
    x = _points(20, n=9, d=4, frames=2)
    c = _points(21, n=3, d=4, frames=2)
    s = fpc.cosine_similarity(x, c)
    hard = fpc.nearest_assignment(s, 0.0)
    soft = fpc.nearest_assignment(s, 0.05)
    assert torch.allclose(soft.sum(-1), torch.ones(2, 9, dtype=s.dtype))
    assert torch.equal(soft.argmax(-1), hard.argmax(-1))  # the largest share is the nearest prototype
    sharp = fpc.nearest_assignment(s, 1e-4)
    assert torch.allclose(sharp, hard, atol=1e-6)  # tau -> 0 recovers the paper's hard match
    # with a hard assignment the soft update tends to the paper's eq. 5-7 update too
    assert torch.allclose(fpc.prototype_update(x, c, 1e-4)[0], fpc.prototype_update(x, c)[0], atol=1e-6)
    with pytest.raises(ValueError, match=">= 0"):
        fpc.nearest_assignment(s, -1.0)


def test_soft_update_is_continuous_where_the_hard_one_jumps() -> None:
    """A feature exactly between two prototypes: nudging it by 1e-7 either way flips the
    hard assignment (a finite jump of the prototypes) but moves the soft one by ~1e-6."""
    c = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]], dtype=torch.float64)
    base = torch.tensor([[[1.0, 1.0], [1.0, -0.2], [-0.2, 1.0]]], dtype=torch.float64)
    eps = torch.tensor([[[1e-7, -1e-7], [0.0, 0.0], [0.0, 0.0]]], dtype=torch.float64)
    hard_a, hard_b = fpc.prototype_update(base + eps, c)[0], fpc.prototype_update(base - eps, c)[0]
    soft_a, soft_b = fpc.prototype_update(base + eps, c, 0.05)[0], fpc.prototype_update(base - eps, c, 0.05)[0]
    assert (hard_a - hard_b).abs().max() > 0.05
    assert (soft_a - soft_b).abs().max() < 1e-5


def test_soft_update_passes_gradient_through_the_assignment() -> None:
    x = _points(22, n=6, d=3).requires_grad_(True)
    c = _points(23, n=2, d=3)
    s = fpc.cosine_similarity(x, c)
    fpc.nearest_assignment(s, 0.05)[..., 0].sum().backward()
    assert x.grad.abs().sum() > 0


def test_soft_selection_tends_to_the_hard_one_and_fills_every_slot() -> None:
    x = _points(30, n=12, d=5, frames=16)
    hard_idx, hard_proto = fpc.dpc_knn_init(x, 5, 3)
    sharp_idx, sharp_proto = fpc.dpc_knn_init(x, 5, 3, 1e-7)
    assert torch.allclose(sharp_proto, hard_proto, atol=1e-9)  # tau -> 0: the paper's hard selection
    assert torch.allclose(sharp_idx, hard_idx.to(sharp_idx.dtype), atol=1e-9)
    masks = fpc.SelectionMasks.build(12, 5)
    p, idx = fpc.soft_density_peak_selection(x, 5, 3, 0.05, masks)
    assert p.shape == (16, 5, 12) and bool((p >= 0).all())
    assert torch.allclose(p.sum(-1), torch.ones(16, 5, dtype=x.dtype), atol=1e-9)  # every slot is a convex mix
    assert bool((idx[:, 1:] >= idx[:, :-1]).all())  # slots keep ascending ROI order
    with pytest.raises(ValueError, match=">= 0"):
        fpc.dpc_knn_init(x, 5, 3, -0.1)


def test_soft_selection_is_continuous_at_a_tie_where_the_hard_one_jumps() -> None:
    """Two points tied for the last top-K place: a 1e-9 nudge either way swaps the hard
    selection (prototype jumps by their distance) but moves the soft one by ~1e-7."""
    base = _points(31, n=10, d=4)
    _, _, score = fpc.dpc_score(base, 3)
    order = torch.argsort(score[0], descending=True)
    a, b = int(order[2]), int(order[3])  # K = 3: the 3rd and 4th best compete for the last place
    lo, hi = 0.0, 1.0                    # bisect the mix of b towards a where the hard choice flips

    def moved(t: float) -> torch.Tensor:
        y = base.clone()
        y[0, b] = (1 - t) * base[0, b] + t * base[0, a] * 0.999 + t * 0.001 * base[0, b]
        return y

    first = fpc.dpc_knn_init(moved(lo), 3, 3)[0]
    for _ in range(60):
        mid = (lo + hi) / 2
        same = torch.equal(fpc.dpc_knn_init(moved(mid), 3, 3)[0], first)
        lo, hi = (mid, hi) if same else (lo, mid)
    if torch.equal(fpc.dpc_knn_init(moved(hi), 3, 3)[0], first):
        pytest.skip("no flip of the hard selection along this path")
    hard_jump = (fpc.dpc_knn_init(moved(lo), 3, 3)[1] - fpc.dpc_knn_init(moved(hi), 3, 3)[1]).abs().max()
    soft_jump = (fpc.dpc_knn_init(moved(lo), 3, 3, 0.05)[1] - fpc.dpc_knn_init(moved(hi), 3, 3, 0.05)[1]).abs().max()
    assert hard_jump > 1e-2
    assert soft_jump < 1e-6


@pytest.mark.parametrize("n", [2, 3, 8, 16, 24, 32, 47, 48, 63, 64, 100])
@pytest.mark.parametrize("k", [1, 2, 5, 7])
def test_knn_mean_distance_selects_exactly_the_k_smallest(n: int, k: int) -> None:
    """The TopK-free selection network picks the same multiset as TopK (self excluded),
    including rows with exact ties and duplicate points (zero off-diagonal distances)."""
    if k > n - 1:
        pytest.skip("k must be <= n - 1")
    gen = torch.Generator().manual_seed(n * 31 + k)
    x = torch.randn(6, n, 4, generator=gen)
    x[1] = torch.round(x[1])            # many exact distance ties
    x[2, : n // 2] = x[2, 0]            # duplicate points: zero distances off the diagonal
    dist = fpc.pairwise_distance(x)
    got = fpc.knn_mean_distance(dist, k, 1.0 - torch.eye(n))
    eye = torch.eye(n, dtype=torch.bool)
    want = torch.topk(torch.where(eye, torch.inf, dist), k, dim=-1, largest=False).values
    assert torch.allclose(got, want.mean(-1), rtol=1e-6, atol=1e-7)


def test_knn_mean_distance_is_exact_in_float64_and_rejects_bad_k() -> None:
    x = _points(7, n=63)
    dist = fpc.pairwise_distance(x)
    got = fpc.knn_mean_distance(dist, 5, 1.0 - torch.eye(63, dtype=torch.float64))
    want = torch.tensor(ref_density(x[0], 5), dtype=torch.float64)
    assert torch.allclose(torch.exp(-got[0]), want, rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="k must be in"):
        fpc.knn_mean_distance(dist, 63, torch.ones(63, 63))
