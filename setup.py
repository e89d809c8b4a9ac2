"""chainer-vae: variational autoencoders in Chainer for MNIST digits and MIDI music."""
from setuptools import find_packages, setup

setup(
    name="chainer-vae",
    version="0.1.0",
    description="Variational autoencoders in Chainer 7.8.1 on today's Python stack: "
                "MNIST and MIDI music, from training to generated MIDI.",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    packages=find_packages(include=["chainer_vae", "chainer_vae.*", "midi", "midi.*"]),
    # the shipped models: chainer_vae/pretrained/NAME/{config.json, log, model.npz, card.json}
    package_data={"chainer_vae.pretrained": ["*/config.json", "*/log", "*/model.npz",
                                             "*/card.json", "*/attributes.json"]},
    python_requires=">=3.9",
    install_requires=[
        "chainer==7.8.1",
        "numpy>=1.22",
        "mido>=1.3",
        "matplotlib>=3.5",
        "scipy>=1.8",
        "tqdm>=4.60",
        "scikit-learn>=1.1",
        "packaging>=20",
    ],
    extras_require={
        "test": ["pytest>=7", "hypothesis>=6.100"],
        "notebooks": ["nbclient>=0.7", "nbformat>=5", "ipykernel>=6"],
        "bench": ["pretty_midi>=0.2.10"],
        "mpi": ["mpi4py>=3.1"],
        # music21's corpus as training data (--dataset corpus:NAME, midi-roll corpus)
        "corpus": ["music21>=9"],
        "gpu": ["cupy>=12"],
    },
    entry_points={
        "console_scripts": [
            "chainer-vae=chainer_vae.cli:main",
            "midi-roll=midi.cli:main",
        ],
    },
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
        "Topic :: Multimedia :: Sound/Audio :: MIDI",
    ],
)
