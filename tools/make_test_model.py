"""Makes tests/data/models/tiny: a small deterministic model (4 features, 8 relu units, one
sigmoid output, weights from a seeded generator) for the gateway runtime's tests, with its
weights in weights.npz so that the tests can check every variant against numpy.

Run from the repository root in the training environment:
    .venv-train/bin/python -m tools.make_test_model
"""

from pathlib import Path

import numpy as np

from tools.modelkit.export import DenseLayer, export_mlp

OUT_DIR = Path(__file__).resolve().parent.parent / "tests" / "data" / "models" / "tiny"
FEATURES = ["rr_mean_ms", "rr_sd_ms", "rmssd_ms", "pnn50"]
# Features of RR-interval windows differ in magnitude by four orders: the reason the runtime
# standardizes before a full-integer model.
MEAN = np.array([800.0, 60.0, 40.0, 0.2])
SCALE = np.array([120.0, 30.0, 25.0, 0.15])
SEED = 20261129
CALIBRATION_ROWS = 256


def tiny_layers(rng: np.random.Generator) -> list[DenseLayer]:
    return [
        DenseLayer(rng.normal(0, 0.8, (4, 8)).astype(np.float32),
                   rng.normal(0, 0.2, 8).astype(np.float32), "relu"),
        DenseLayer(rng.normal(0, 0.8, (8, 1)).astype(np.float32),
                   np.array([-0.5], dtype=np.float32), "sigmoid"),
    ]


def main() -> None:
    rng = np.random.default_rng(SEED)
    layers = tiny_layers(rng)
    representative = MEAN + SCALE * rng.normal(size=(CALIBRATION_ROWS, len(FEATURES)))
    manifest = export_mlp(
        name="tiny", version="1.0.0", layers=layers, feature_names=FEATURES,
        feature_mean=MEAN, feature_scale=SCALE, representative=representative,
        output_names=["score"], thresholds={"score": 0.5},
        card={
            "description": "A test fixture: random weights with no clinical meaning.",
            "training_data": f"none: weights drawn from numpy's default_rng({SEED})",
            "preprocessing": "features standardized by the runtime with inputs.standardize",
            "licence": "Apache-2.0",
            "attribution": "edge project, tools/make_test_model.py",
        },
        out_dir=OUT_DIR,
    )
    np.savez(OUT_DIR / "weights.npz", **{
        f"{part}{index}": getattr(layer, part)
        for index, layer in enumerate(layers) for part in ("weights", "bias")})
    print(f"wrote {manifest}")


if __name__ == "__main__":
    main()
