"""Garden: a TensorFlow/Keras model garden for recommender systems."""
import setuptools

setuptools.setup(
    name="garden-recsys",
    version="0.1.0",
    description="Recall and ranking models for recommender systems on TensorFlow (Keras 2).",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=setuptools.find_packages(include=["garden", "garden.*", "input", "input.*",
                                               "layers", "layers.*", "experiments"]),
    package_data={"experiments": ["*.yaml"]},
    install_requires=[
        "tensorflow==2.21.*",
        "tf-keras==2.21.*",
        "tensorflow-recommenders==0.7.7",
        "tensorflow-datasets==4.9.10",
        "tensorboard==2.21.*",
        "tensorflow-serving-api==2.21.*",  # PredictionLog protos of the export's warm-up file
        "absl-py>=2.1",
        "numpy>=1.26",
        "pyyaml>=6.0",
    ],
    extras_require={
        "test": ["pytest>=8", "pytest-xdist>=3.5"],
        # No "scann" extra: scann 1.4.2's TensorFlow ops are built for TF 2.20 and do not
        # load into 2.21 (installing it even breaks importing TFRS); see garden/index.py.
    },
    entry_points={
        "console_scripts": [
            "garden-train=garden.train:run",
            "garden-evaluate=garden.evaluate:run",
            "garden-export=garden.export:run",
            "garden-data=garden.data:run",
            "garden-check-embeddings=garden.check_embeddings:run",
        ],
    },
)
