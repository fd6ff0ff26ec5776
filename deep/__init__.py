"""Paper 000 Sec. 3 on real networks: iterative pruning (IMP, WR, LRR and their variants), masks and sign
statistics, with PyTorch.

* :mod:`deep.run`: the command line; :class:`deep.run.RunConfig` is a run (data, network, seed, training,
  cycles) and names its results folder;
* :mod:`deep.cycles`: the pruning cycles (:class:`deep.cycles.CycleConfig`), checkpointed after every level,
  in a results folder of the toolkit's contract (:mod:`sim.core.folders`);
* :mod:`deep.rewind`: what a level starts from (init, epoch, none, bn); :mod:`deep.mask_source`: where its
  mask comes from (magnitude, snip, synflow, random, run); :mod:`deep.methods`: the paper's method names as
  pairs of the two;
* :mod:`deep.masks`: the :class:`deep.masks.Mask` type, magnitude pruning, balanced random masks;
  :mod:`deep.criteria`: SNIP and Synflow scores; :mod:`deep.transplant`: mask and sign transplants, sign
  perturbation; :mod:`deep.signs`: sign statistics across levels;
* :mod:`deep.checkpoint`: what a run saves after every level;
* :mod:`deep.train`: one level's training (:class:`deep.train.TrainConfig`); :mod:`deep.augment`: on-device
  augmentation; :mod:`deep.models`: the networks; :mod:`deep.data`: the dataset registry (resident tensors);
  :mod:`deep.imagefolder`: streamed ImageNet;
* :mod:`deep.summary`: LRR vs IMP / WR over seeds; :mod:`deep.bench`: training-step throughput.
"""
