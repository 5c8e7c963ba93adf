"""LightSB: the learned bridge, simulated forward by Euler–Maruyama, reaches the target marginal (sliced
W₂ against fresh target draws, compared with the floor of an exact sample of the same size); training
reports progress, can be cancelled and is cached."""
import threading

import numpy as np
import pytest

from kernels.bridges.clouds import sample_cloud
from kernels.bridges.learned import TrainingCancelled, cached_lightsb, simulate, train_lightsb
from kernels.metrics import sliced_w2

pytest.importorskip("torch")


def test_lightsb_bridge_reaches_the_target_marginal():
    x, y = sample_cloud("gauss", 500, seed=1), sample_cloud("8gaussians", 500, seed=2)
    reference = sample_cloud("8gaussians", 5000, seed=3)
    seen = []
    model = train_lightsb(x, y, 0.1, n_components=16, steps=400, learning_rate=0.1, seed=0,
                          progress=seen.append)
    assert seen and seen[-1] == 1.0
    paths = simulate(model.drift, x, 0.1, 100, np.linspace(0, 1, 6), seed=4)
    assert paths.shape == (6, 500, 2) and paths.dtype == np.float32
    assert np.array_equal(paths[0], x.astype(np.float32))
    floor = sliced_w2(sample_cloud("8gaussians", 500, seed=5), reference)
    start = sliced_w2(x, reference)
    end = sliced_w2(paths[-1].astype(np.float64), reference)
    assert end < 2 * floor + 0.05 < start


def test_training_can_be_cancelled_and_is_cached():
    x, y = sample_cloud("gauss", 50, seed=1), sample_cloud("moons", 50, seed=2)
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(TrainingCancelled):
        train_lightsb(x, y, 0.5, steps=20, cancel=cancel)
    first = cached_lightsb(x, y, 0.5, n_components=2, steps=20, seed=0)
    assert cached_lightsb(x, y, 0.5, n_components=2, steps=20, seed=0) is first
    assert cached_lightsb(x, y, 0.6, n_components=2, steps=20, seed=0) is not first
