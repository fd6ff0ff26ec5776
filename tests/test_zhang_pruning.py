"""sim.zhang.pruning (paper 001, Sec. 4.1 and 5.2) on hand-solved small cases: magnitude masks over all K d
weights of a run, one IMP pruning step, the neuron matching and support recall, the separation of Sec. 4.1,
one-shot pruning, and the IMP loop (values in, values out: the instance is not written to)."""

from __future__ import annotations

import numpy as np
import torch

from sim.zhang.agd import AGD, run_agd
from sim.zhang.pruning import (iterative_magnitude_pruning, keep_largest_weights, magnitude_oneshot, match_neurons,
                               on_mask, prune_fraction, separated, support_recall)
from sim.zhang.sparse_teacher import SparseProblem, make_instance

T, F = True, False


def _mask(rows) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.bool)


def test_keep_largest_weights_ranks_all_neurons_of_a_run_together():
    W = torch.tensor([[[0.5, -3.0, 1.0], [2.0, -0.1, 4.0]],
                      [[-9.0, 0.2, 0.3], [0.1, 8.0, -7.0]]])
    # run 0: |W| = 4, 3, 2 are the three largest; run 1: 9, 8, 7
    assert torch.equal(keep_largest_weights(W, 3), _mask([[[F, T, F], [T, F, T]], [[T, F, F], [F, T, T]]]))
    alive = _mask([[[T, T, T], [T, T, F]], [[F, T, T], [T, T, T]]])
    # with the 4 (run 0) and the 9 (run 1) pruned before: 3, 2, 1 and 8, 7, 0.3
    assert torch.equal(keep_largest_weights(W, 3, alive), _mask([[[F, T, T], [T, F, F]], [[F, F, T], [F, T, T]]]))


def test_prune_fraction_keeps_the_rounded_share_of_the_alive_weights():
    W = torch.tensor([[[0.5, -3.0, 1.0, 0.7], [2.0, -0.1, 4.0, 0.6]]])
    M = _mask([[[T, T, T, F], [T, F, T, T]]])  # 6 alive
    # keep round(6 x 0.5) = 3 of the alive: 4, 3, 2 (the 0.7 is not alive)
    assert torch.equal(prune_fraction(W, M, 0.5), _mask([[[F, T, F, F], [T, F, T, F]]]))
    # keep round(6 x 0.8) = round(4.8) = 5: drop the smallest alive, 0.5
    assert torch.equal(prune_fraction(W, M, 0.2), _mask([[[F, T, T, F], [T, F, T, T]]]))


def test_match_neurons_finds_the_relabelling_that_keeps_most_teacher_weights():
    Mt = _mask([[[T, T, F, F], [F, F, T, T]]])  # teacher neuron 0 reads inputs 0, 1; neuron 1 reads 2, 3
    M = _mask([[[F, F, T, T], [T, F, F, F]]])  # student 0 holds teacher 1's support, student 1 half of teacher 0's
    assigned, recall = match_neurons(M, Mt)
    assert assigned[0].tolist() == [1, 0]
    assert recall.tolist() == [3 / 4]
    assert support_recall(M, Mt).tolist() == [3 / 4]
    # without relabelling the same mask would keep none of the teacher's weights
    assert support_recall(_mask([[[F, F, F, F], [F, F, F, F]]]), Mt).tolist() == [0.0]


def test_separated_compares_each_student_neuron_on_its_assigned_support():
    Mt = _mask([[[T, T, F, F], [F, F, T, T]]])
    W = torch.tensor([[[0.1, 0.0, 2.0, -3.0], [1.5, -1.0, 0.2, 0.05]]])
    # student 0 -> teacher 1 (inputs 2, 3), student 1 -> teacher 0 (inputs 0, 1): on = {2, 3, 1.5, 1}, off <= 0.2
    assert separated(W, Mt, [np.array([1, 0])]).tolist() == [True]
    # labelled as they stand (student j -> teacher j) the off-support weights 2 and 3 are the largest
    assert separated(W, Mt, [np.array([0, 1])]).tolist() == [False]


def test_magnitude_oneshot_recall_and_separation():
    Mt = _mask([[[T, T, F, F], [F, F, T, T]], [[T, T, F, F], [F, F, T, T]]])
    W = torch.tensor([[[0.1, 0.0, 2.0, -3.0], [1.5, -1.0, 0.2, 0.05]],  # the teacher's supports, swapped
                      [[2.0, 0.9, 1.0, 0.0], [0.0, 0.0, 3.0, 0.5]]])  # 1.0 (off) beats 0.9 and 0.5 (on)
    recall, sep = magnitude_oneshot(W, Mt)
    # run 0 keeps the 4 largest {3, 2, 1.5, 1}: the whole support up to relabelling;
    # run 1 keeps {3, 2, 1.0, 0.9}: 3 of the 4 teacher weights (0.5 is dropped for the off-support 1.0)
    assert recall.tolist() == [1.0, 3 / 4]
    assert sep.tolist() == [True, False]


def test_imp_prunes_nested_masks_rewinds_and_leaves_the_instance_as_it_was():
    torch.set_num_threads(1)
    inst = make_instance(SparseProblem(K=2, d=5, r=5, N=80, r_star=2, trials=2), seed=3)
    M0, Ws0 = inst.M.clone(), inst.W_star.clone()
    W_init = torch.randn(inst.W_star.shape, generator=torch.Generator().manual_seed(4), dtype=torch.float64) * 0.1
    agd = AGD(eta=0.5, beta=0.2, max_iter=60, tol=1e-8)
    rounds = iterative_magnitude_pruning(inst, W_init, agd, rounds=3, prune_frac=0.3)
    assert len(rounds) == 4
    assert bool(rounds[0].mask.all())
    counts = [int(r.mask[0].sum()) for r in rounds]
    assert counts == [10, 7, 5, 4]  # round(10 x 0.7) = 7, round(7 x 0.7) = 5, round(5 x 0.7) = round(3.5) = 4
    for k, (prev, nxt) in enumerate(zip(rounds, rounds[1:]), start=1):
        assert bool((nxt.mask <= prev.mask).all())  # nested
        # the kept weights are the largest |W| of the previous round's training among its alive weights
        for b in range(2):
            a = prev.result.W[b].abs().flatten().numpy()
            alive = prev.mask[b].flatten().numpy()
            order = [i for i in np.argsort(-a, kind="stable") if alive[i]][:counts[k]]
            assert sorted(order) == np.flatnonzero(nxt.mask[b].flatten().numpy()).tolist()
    for rnd in rounds:  # each round trained from the rewound W_init on its own mask
        again = run_agd(on_mask(inst, rnd.mask), W_init * rnd.mask, agd)
        assert torch.equal(again.W, rnd.result.W)
        assert bool((rnd.result.W[~rnd.mask] == 0).all())
    assert torch.equal(inst.M, M0) and torch.equal(inst.W_star, Ws0)


def test_on_mask_sets_the_ground_truth_to_the_teachers_weights_on_the_mask():
    inst = make_instance(SparseProblem(K=2, d=4, r=4, N=10, r_star=2, trials=1), seed=0)
    M = _mask([[[T, F, T, F], [F, T, F, T]]])
    new = on_mask(inst, M)
    assert torch.equal(new.M, M)
    assert torch.equal(new.W_star, torch.where(M, inst.W_teacher, torch.zeros_like(inst.W_teacher)))
    assert new.X is inst.X and new is not inst
