"""Every export format written, then opened and checked; presets load and round-trip."""
import io
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import yaml
from PIL import Image

from explorer.cli import main as cli
from explorer.export import ExportError, export_bytes, export_scene
from explorer.presets import PresetError, list_presets, load_preset, params_from_yaml, read_preset_file
from scenes import LangevinScene, SceneError

SMALL = ["--set", "n_particles=300", "--set", "n_steps=40", "--set", "n_frames=5"]


@pytest.fixture(scope="module")
def scene_and_result():
    scene = LangevinScene(sampler="mala", compare_sampler="ula", n_particles=300, n_steps=40, n_frames=5, seed=4)
    return scene, scene.run()


def test_png_is_an_image_of_sensible_size(tmp_path, scene_and_result):
    path = export_scene(*scene_and_result[:1], tmp_path / "view.png", result=scene_and_result[1])
    with Image.open(path) as image:
        assert image.format == "PNG" and image.width > 600 and image.height > 400
        assert len(set(image.convert("L").getdata())) > 20  # not a blank canvas


def test_svg_parses_and_holds_drawing(tmp_path, scene_and_result):
    path = export_scene(scene_and_result[0], tmp_path / "view.svg", result=scene_and_result[1])
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg")
    assert len(list(root.iter("{http://www.w3.org/2000/svg}path"))) > 50


def test_pdf_has_a_header_and_one_page(scene_and_result):
    data = export_bytes(scene_and_result[0], "pdf", scene_and_result[1])
    assert data.startswith(b"%PDF-") and data.count(b"/Type /Page\n") + data.count(b"/Type /Page ") >= 1


def test_npz_holds_paths_times_metrics_and_parameters(scene_and_result):
    scene, result = scene_and_result
    with np.load(io.BytesIO(export_bytes(scene, ".npz", result))) as data:
        assert np.array_equal(data["paths"], result.paths)
        assert np.array_equal(data["times"], result.times)
        assert float(data["metric_kl"]) == pytest.approx(result.metrics["kl"])
        assert yaml.safe_load(str(data["parameters_yaml"]))["params"]["sampler"] == "mala"


def test_yaml_round_trips_to_identical_numbers(scene_and_result):
    scene, result = scene_and_result
    params = params_from_yaml(export_bytes(scene, "yaml").decode(), LangevinScene)
    again = LangevinScene(**params).run()
    assert np.array_equal(again.paths, result.paths)


def test_unknown_format_is_refused_and_nothing_is_written(tmp_path, scene_and_result):
    with pytest.raises(ExportError, match="unknown export format"):
        export_scene(scene_and_result[0], tmp_path / "view.bmp", result=scene_and_result[1])
    assert list(tmp_path.iterdir()) == []


def test_every_shipped_preset_is_valid_and_named_in_its_title():
    presets = list_presets("langevin")
    assert len(presets) >= 4
    for name, preset in presets.items():
        assert preset["title"] and preset["description"]
        LangevinScene().update(**preset["params"])  # every value within bounds


def test_bad_presets_are_named(tmp_path):
    with pytest.raises(PresetError, match="no preset 'nope'"):
        load_preset("langevin", "nope")
    bad = tmp_path / "bad.yaml"
    bad.write_text("title: x\nparms: {}\n")
    with pytest.raises(PresetError, match="unknown key.*parms"):
        read_preset_file(bad)
    with pytest.raises(SceneError, match="step_size"):
        params_from_yaml("params: {step_size: 1000}", LangevinScene)
    with pytest.raises(PresetError, match="not valid YAML"):
        params_from_yaml("params: [unclosed", LangevinScene)


def test_cli_exports_a_preset_to_png(tmp_path):
    out = tmp_path / "fig.png"
    assert cli(["export", "langevin", "--preset", "mala_removes_bias", *SMALL, "--out", str(out)]) == 0
    assert out.read_bytes().startswith(b"\x89PNG")


def test_cli_export_yaml_loads_back_to_the_same_run(tmp_path):
    out = tmp_path / "state.yaml"
    assert cli(["export", "langevin", "--set", "sampler=hmc", "--set", "step_size=0.2", *SMALL, "--out", str(out)]) == 0
    params = params_from_yaml(out.read_text(), LangevinScene)
    assert params["sampler"] == "hmc" and params["step_size"] == 0.2 and params["n_particles"] == 300


@pytest.mark.parametrize("argv,message", [
    (["export", "nosuch", "--out", "x.png"], "unknown scene"),
    (["export", "langevin", "--preset", "nosuch", "--out", "x.png"], "unknown preset"),
    (["export", "langevin", "--set", "step_size=-3", "--out", "x.png"], "step_size"),
    (["export", "langevin", "--set", "colour=red", "--out", "x.png"], "unknown parameter"),
    (["export", "langevin", "--out", "x.docx"], "extension"),
    (["export", "langevin", "--set", "step_size=9", "--set", "target=gauss", *SMALL, "--out", "x.png"], "diverged"),
])
def test_cli_bad_input_is_one_clear_line_and_exit_2(tmp_path, capsys, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    assert cli(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []  # nothing written half-way


def test_gif_has_one_frame_per_requested_frame(scene_and_result):
    import imageio.v3 as iio

    from explorer.export import ExportOptions

    data = export_bytes(scene_and_result[0], "gif", scene_and_result[1], ExportOptions(first=1, last=3, fps=5))
    frames = iio.imread(data, index=None, extension=".gif")
    assert frames.shape[0] == 3 and frames.shape[1] > 100


def test_mp4_decodes_to_every_frame(tmp_path, scene_and_result):
    import imageio.v2 as imageio

    path = export_scene(scene_and_result[0], tmp_path / "run.mp4", result=scene_and_result[1])
    reader = imageio.get_reader(path)
    try:
        assert reader.count_frames() == len(scene_and_result[1].times)
        assert reader.get_data(0).ndim == 3
    finally:
        reader.close()


def test_html_is_standalone_and_holds_the_plot(scene_and_result):
    html = export_bytes(scene_and_result[0], "html", scene_and_result[1]).decode()
    assert html.lstrip().lower().startswith("<!doctype html")
    assert "Bokeh" in html and "docs_json" in html and "cdn.bokeh.org" not in html  # inlined: opens offline


def test_csv_has_a_row_per_frame_and_particle(scene_and_result):
    scene, result = scene_and_result
    lines = export_bytes(scene, "csv", result).decode().splitlines()
    assert lines[0] == "frame,time,particle,x,y"
    assert len(lines) == 1 + result.paths.shape[0] * result.paths.shape[1]
    frame, time, particle, x, y = lines[-1].split(",")
    assert int(frame) == 4 and int(particle) == 299 and float(x) == pytest.approx(result.paths[4, 299, 0], rel=1e-6)


def test_frame_range_outside_the_run_is_refused(scene_and_result):
    from explorer.export import ExportOptions

    with pytest.raises(ExportError, match="frame range"):
        export_bytes(scene_and_result[0], "gif", scene_and_result[1], ExportOptions(first=2, last=99))


@pytest.mark.skipif(not __import__("pathlib").Path("/usr/bin/chromium").exists(), reason="needs /usr/bin/chromium")
def test_screen_png_is_the_browser_drawing(scene_and_result):
    from explorer.export import ExportOptions

    data = export_bytes(scene_and_result[0], "png", scene_and_result[1], ExportOptions(screen=True))
    with Image.open(io.BytesIO(data)) as image:
        assert image.width >= 1000 and len(set(image.convert("L").getdata())) > 20


def test_batch_export_writes_a_file_per_preset_named_after_it(tmp_path):
    assert cli(["export", "--all-presets", "--format", "yaml", "--out", str(tmp_path)]) == 0
    written = sorted(p.stem for p in (tmp_path / "langevin").iterdir())
    assert written == sorted(list_presets("langevin"))
    assert (tmp_path / "langevin" / "ula_bias.yaml").read_text().count("sampler: ula") == 1
