"""`leadmaster vin read IMAGE…`: one line per image, or JSON lines; bad files reported, the rest still read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import cli

REPO_ROOT = Path(__file__).resolve().parents[3]
SAMPLE = REPO_ROOT / 'app' / 'static' / 'simulator' / 'vin-sample.jpg'


@pytest.fixture
def run_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv('LEADMASTER_VAR_DIR', str(tmp_path / 'var'))
    monkeypatch.setenv('LEADMASTER_VIN_TIMEOUT_SECONDS', '60')
    runner = CliRunner()

    def run(*args: str, expect_exit: int = 0) -> tuple[str, str]:
        result = runner.invoke(cli, ['vin', 'read', *args], catch_exceptions=False)
        assert result.exit_code == expect_exit, result.output
        return result.stdout, result.stderr

    return run


def test_one_tab_separated_line_per_image(run_cli, tmp_path: Path) -> None:
    blank = tmp_path / 'blank.png'
    from PIL import Image

    Image.new('RGB', (400, 300), 'white').save(blank)

    out, _ = run_cli(str(SAMPLE), str(blank))

    sample_line, blank_line = out.splitlines()
    file, vin, status, vehicle, seconds = sample_line.split('\t')
    assert (file, vin, status, vehicle) == (
        str(SAMPLE),
        '9BWAB45U5FP012345',
        'unverified',
        'Volkswagen Gol / Voyage / Saveiro 2015',
    )
    assert float(seconds) > 0
    assert blank_line.split('\t')[1:4] == ['-', 'none', '-']


def test_json_lines_with_file_vin_status_vehicle_seconds(run_cli) -> None:
    out, _ = run_cli('--json', str(SAMPLE))

    line = json.loads(out)
    assert set(line) == {'file', 'vin', 'status', 'vehicle', 'seconds'}
    assert (line['vin'], line['status'], line['vehicle']) == (
        '9BWAB45U5FP012345',
        'unverified',
        'Volkswagen Gol / Voyage / Saveiro 2015',
    )


def test_missing_and_non_image_files_are_errors_and_the_others_are_still_read(run_cli, tmp_path: Path) -> None:
    text = tmp_path / 'notes.txt'
    text.write_text('no image here')

    out, err = run_cli('--json', str(tmp_path / 'missing.jpg'), str(text), str(SAMPLE), expect_exit=1)

    assert 'missing.jpg' in err and 'notes.txt' in err and 'not a readable image' in err
    lines = [json.loads(line) for line in out.splitlines()]
    assert [(line['file'], line['vin']) for line in lines] == [(str(text), None), (str(SAMPLE), '9BWAB45U5FP012345')]
