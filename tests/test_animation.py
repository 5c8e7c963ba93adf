"""Every scene's GIF and MP4 animate: one image per requested frame, and each frame's main panel differs from
the one before inside the plot's axes (so a still picture, or a title that alone changes, fails)."""
import importlib.util

import numpy as np
import pytest

from explorer.export import ExportOptions, export_bytes
from scenes import SCENES

TINY = {  # a few hundred particles and a handful of frames: the run is cheap, the drawing is what is tested
    "langevin": dict(n_particles=300, n_steps=40, n_frames=5, seed=4),
    "ode_sde": dict(n_particles=300, nfe=20, n_frames=5),
    "bridges": dict(n_particles=300, n_frames=5, backend="cpu"),
    "lorenz": dict(n_members=200, horizon=4.0, n_frames=5, enkf_cycles=10, train_length=200, backend="cpu"),
}
OPTIONS = ExportOptions(first=1, last=3, fps=4)  # frames 1..3 of 5
REQUESTED = OPTIONS.last - OPTIONS.first + 1
CHANNEL_CHANGE = 48   # out of 255: more than the GIF palette's or the video codec's error on a still pixel
MIN_CHANGED = 25      # pixels: about one marker's area at the export's 100 dpi
HAS_FFMPEG = importlib.util.find_spec("imageio_ffmpeg") is not None


@pytest.fixture(scope="module", params=sorted(TINY))
def scene_and_result(request):
    scene = SCENES[request.param](**TINY[request.param])
    return scene, scene.run()


def plot_area(image: np.ndarray) -> tuple[slice, slice]:
    """Rows and columns strictly inside the axes' frame: between the outermost rows and columns that are dark
    across more than half the image (the spines). The title and the tick labels lie outside."""
    dark = image.max(axis=2) < 100
    rows = np.flatnonzero(dark.sum(axis=1) > 0.5 * image.shape[1])
    cols = np.flatnonzero(dark.sum(axis=0) > 0.5 * image.shape[0])
    assert len(rows) >= 2 and len(cols) >= 2, "no axes frame found in the frame image"
    return slice(rows[0] + 2, rows[-1] - 1), slice(cols[0] + 2, cols[-1] - 1)


def changed_pixels(before: np.ndarray, after: np.ndarray, area) -> int:
    difference = np.abs(before[area].astype(int) - after[area].astype(int)).max(axis=2)
    return int((difference > CHANNEL_CHANGE).sum())


def assert_animates(frames: list[np.ndarray]):
    assert len(frames) == REQUESTED
    area = plot_area(frames[0])
    changes = [changed_pixels(a, b, area) for a, b in zip(frames, frames[1:])]
    assert min(changes) >= MIN_CHANGED, f"pixels changed inside the axes between consecutive frames: {changes}"


def test_gif_frames_differ(scene_and_result):
    import imageio.v3 as iio

    scene, result = scene_and_result
    data = export_bytes(scene, "gif", result, OPTIONS)
    assert_animates([frame[..., :3] for frame in iio.imread(data, index=None, extension=".gif")])


@pytest.mark.skipif(not HAS_FFMPEG, reason="MP4 export needs imageio-ffmpeg")
def test_mp4_frames_differ(tmp_path, scene_and_result):
    import imageio.v2 as imageio

    scene, result = scene_and_result
    path = tmp_path / "run.mp4"
    path.write_bytes(export_bytes(scene, "mp4", result, OPTIONS))
    reader = imageio.get_reader(path)
    try:
        assert_animates([frame[..., :3] for frame in reader])
    finally:
        reader.close()
