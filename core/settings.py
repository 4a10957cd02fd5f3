"""One settings object, resolved at the edge.

Precedence (lowest to highest): defaults < ``ragloom.toml`` < ``RAGLOOM_*`` environment < flags.
Nested sections use ``__`` in environment names, e.g. ``RAGLOOM_OLLAMA__HOST``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

DEFAULT_CHAT = "local/qwen2.5-coder-0.5b"
DEFAULT_EMBEDDING = "local/minilm-l6-v2"


class Price(BaseModel):
    prompt_per_m: float = Field(0.0, ge=0, description="USD per million prompt tokens.")
    completion_per_m: float = Field(0.0, ge=0, description="USD per million completion tokens.")


class LocalSettings(BaseModel):
    """The embedded llama.cpp runtime."""

    n_ctx: int = Field(4096, ge=512, description="Context window of the embedded chat model.")
    n_threads: int | None = Field(None, description="CPU threads; None uses every core.")
    max_tokens: int = Field(384, ge=16)
    temperature: float = Field(0.0, ge=0.0, le=2.0)


class OllamaSettings(BaseModel):
    host: str = "http://localhost:11434"
    # Ollama's own default (4096) silently truncates RAG prompts.
    num_ctx: int = Field(8192, ge=512)
    timeout_s: float = Field(120.0, gt=0)
    temperature: float = 0.0


class OpenAISettings(BaseModel):
    base_url: str | None = Field(None, description="None means api.openai.com.")
    api_key: SecretStr | None = None
    timeout_s: float = Field(60.0, gt=0)
    max_retries: int = Field(2, ge=0)
    temperature: float = 0.0
    stream_usage: bool = Field(True, description="Ask for token counts in streamed answers "
                               "(stream_options.include_usage: OpenAI, vLLM); turn off for a "
                               "server that refuses the option.")


class ChromaSettings(BaseModel):
    mode: Literal["embedded", "server"] = "embedded"
    host: str = "localhost"
    port: int = 8000


class RetrievalSettings(BaseModel):
    top_k: int = Field(4, ge=1, le=100)
    chunker: Literal["sentence", "structure"] = "sentence"
    chunk_size: int = Field(256, ge=64, description="Tokens per chunk.")
    chunk_overlap: int = Field(32, ge=0)
    min_chunk_chars: int = Field(80, ge=0, description="Shorter fragments merge into the previous chunk.")
    max_file_mb: float = Field(200.0, gt=0, description="Larger files are refused.")
    max_pages: int = Field(5000, ge=1, description="PDFs with more pages are refused.")
    # Decompression-bomb guards for ZIP-based documents (DOCX), checked before a reader opens one.
    max_unpacked_mb: float = Field(256.0, gt=0, description="Largest total uncompressed size of "
                                   "a DOCX (python-docx holds all of it in memory).")
    max_archive_members: int = Field(10_000, ge=1, description="Most files inside one DOCX.")
    max_compression_ratio: float = Field(100.0, gt=1, description="Highest uncompressed:compressed "
                                         "ratio of a DOCX member over 1 MB (text XML is ~10:1).")
    ingest_workers: int | None = Field(None, ge=1, description="Parser processes; None = CPU count.")
    # Below this cosine similarity nothing counts as relevant and ragloom says it does not know.
    min_relevance: float = Field(0.15, ge=-1.0, le=1.0)
    mode: Literal["hybrid", "dense", "bm25"] = "hybrid"
    rrf_k: int = Field(60, ge=1, description="Reciprocal-rank-fusion constant.")
    dense_weight: float = Field(1.0, ge=0.0)
    lexical_weight: float = Field(1.0, ge=0.0)
    candidates: int = Field(50, ge=1, description="Hits each retriever contributes to fusion.")
    mmr: bool = Field(False, description="Diversify results with maximal marginal relevance.")
    mmr_lambda: float = Field(0.7, ge=0.0, le=1.0, description="1 = relevance only, 0 = diversity.")
    rerank: bool = Field(False, description="Reorder candidates with the chat model (one call).")
    context_order: Literal["best-last", "best-first"] = Field(
        "best-last", description="Order of the chunks in the answer prompt: 'best-last' puts the "
        "closest chunk next to the question, where a small model reads it best (measured: "
        "benchmarks/ablation.py, docs/agents.md).")
    bm25_k1: float = Field(0.9, gt=0.0)
    bm25_b: float = Field(0.4, ge=0.0, le=1.0)
    redact_pii: bool = Field(False, description="Redact emails, phones, cards, IBANs, national ids "
                             "at ingest (see retrieval/redaction.py).")
    embed_batch_size: int = Field(64, ge=1)
    store_batch_size: int = Field(128, ge=1)


class AgentSettings(BaseModel):
    graph: str = Field("corrective", pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$",
                       description="simple, corrective, adaptive, or any registered graph "
                       "(ragloom.register_graph, entry point group ragloom.graphs); an unknown "
                       "name is refused, with the list, when a question is asked.")
    step_budget: int = Field(40, ge=5, description="Graph steps per question (LangGraph recursion limit).")
    max_rewrites: int = Field(1, ge=0, description="Query rewrites when nothing relevant is found.")
    max_generations: int = Field(2, ge=1, description="Answers per question, incl. regenerations.")
    max_sub_questions: int = Field(3, ge=1, le=4)
    step_timeout_s: float = Field(600.0, gt=0, description="Longest a single graph step may take.")
    min_supported_share: float = Field(
        1.0, ge=0, le=1, description="Share of an answer's claims the claim check must support "
        "for it to count as grounded.")
    claim_threshold: float = Field(
        0.6, gt=0, le=1, description="IDF-weighted share of a claim's new words (beyond the "
        "question) a chunk must contain to support it; its numbers and names must all be there.")
    condense: Literal["auto", "always"] = Field(
        "auto", description="Rewrite a follow-up into a stand-alone question with a model call: "
        "'auto' only when it refers back to the conversation or names nothing by itself.")
    grade: Literal["auto", "model", "scores"] = Field(
        "auto", description="Relevance grading in corrective/adaptive: 'model' asks the chat "
        "model, 'scores' keeps what passed retrieval.min_relevance; 'auto' is 'scores' for the "
        "embedded local models and 'model' for servers (measured in docs/agents.md).")
    ground: Literal["auto", "model", "claims"] = Field(
        "auto", description="After the claim check passed: 'model' also asks the chat model "
        "(it can only downgrade), 'claims' trusts the claim check alone; 'auto' is 'claims' for "
        "the embedded local models and 'model' for servers.")
    # One limit for the CLI, the web app, the API and the library (agents.service.ask_stream).
    max_question_chars: int = Field(4000, ge=1, description="Longest question, in characters.")


class OtelSettings(BaseModel):
    endpoint: str | None = Field(None, description="OTLP/HTTP endpoint (http://localhost:6006 for "
                                 "Phoenix, http://localhost:4318 for a Collector or Jaeger); "
                                 "unset: no spans.")
    headers: dict[str, SecretStr] = Field(default_factory=dict, description="Sent with every "
                                          "export, e.g. Langfuse's Authorization: Basic …")
    service_name: str = "ragloom"
    capture_content: bool = Field(False, description="Put prompts and completions in the spans "
                                  "(they hold your documents' text).")


class ApiSettings(BaseModel):
    """The HTTP service (`ragloom serve`); see docs/security.md."""

    auth: bool = Field(True, description="Require API keys; off is allowed on loopback only.")
    cors_origins: list[str] = Field(default_factory=list, description="Closed by default.")
    max_body_kb: int = Field(256, ge=1, description="Largest JSON request body.")
    max_upload_mb: float = Field(50.0, gt=0, description="Largest upload request (all files).")
    max_upload_files: int = Field(50, ge=1)
    max_header_kb: int = Field(16, ge=1, description="Largest request head (all headers); "
                               "larger -> 431.")
    # At most 256: the body limit then always answers before Python's JSON parser would recurse
    # out of stack (~1,000 levels).
    max_json_depth: int = Field(32, ge=4, le=256, description="Deepest JSON nesting of a request "
                                "body; deeper -> 400 (a filter needs about 2 levels per level).")
    # A client that declares more body than it sends would hold a worker until it gives up.
    body_timeout_s: float = Field(10.0, gt=0, description="Longest wait for the next piece of "
                                  "a request body, and for a whole JSON body; then 408.")
    # Measured (benchmarks/load.py, 50 clients): 4 at once gave 2.7x the throughput of 32 and a
    # quarter of the p95; more threads only contend for the GIL. Run more processes instead.
    metrics: Literal["auth", "open", "off"] = Field("auth", description="/metrics for Prometheus: "
                                                    "an admin key (auth), no key (open), or none.")
    ask_concurrency: int = Field(4, ge=1, description="Questions answered at once per process.")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="RAGLOOM_",
        env_nested_delimiter="__",
        toml_file="ragloom.toml",
        extra="forbid",
    )

    chat: str = Field(DEFAULT_CHAT, description="Chat model as provider/model.")
    embedding: str = Field(DEFAULT_EMBEDDING, description="Embedding model as provider/model.")
    judge: str = Field(DEFAULT_CHAT, description="Evaluation judge as provider/model.")
    home: Path = Field(Path(".ragloom"), description="Where indexes, manifests and traces live.")
    model_cache: Path = Field(
        Path.home() / ".cache" / "ragloom" / "models",
        description="Where verified model files are assembled once.",
    )
    database_url: SecretStr | None = Field(
        None, description="postgresql://USER:PASSWORD@HOST/DB: keys, audit log, traces and "
        "feedback shared by every replica; unset: SQLite files under home.")
    collection: str = "default"
    prompt_label: str = "production"
    prompts_dir: Path | None = Field(None, description="Your prompt versions; default HOME/prompts.")
    prices: dict[str, Price] = Field(default_factory=dict, description="USD per million tokens "
                                     "per provider/model, for cost estimates; local and ollama "
                                     "models cost nothing unless listed, others are 'not priced'.")

    @property
    def user_prompts_dir(self) -> Path:
        return self.prompts_dir or self.home / "prompts"

    @field_validator("database_url")
    @classmethod
    def _postgresql_only(cls, url: SecretStr | None) -> SecretStr | None:
        if url is not None and not url.get_secret_value().startswith(
                ("postgresql://", "postgresql+psycopg://", "postgres://")):
            raise ValueError("must be a postgresql:// URL (unset it for SQLite files under home)")
        return url

    @property
    def database(self) -> str | None:
        """The shared database's URL (with its password), or None: SQLite files under home."""
        return self.database_url.get_secret_value() if self.database_url else None

    local: LocalSettings = LocalSettings()
    ollama: OllamaSettings = OllamaSettings()
    openai: OpenAISettings = OpenAISettings()
    chroma: ChromaSettings = ChromaSettings()
    retrieval: RetrievalSettings = RetrievalSettings()
    agent: AgentSettings = AgentSettings()
    api: ApiSettings = ApiSettings()
    otel: OtelSettings = OtelSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # First wins: flags (init) > environment > ragloom.toml > defaults.
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build settings from all sources; ``overrides`` are command-line flags (None = not given)."""
    flags = {k: v for k, v in overrides.items() if v is not None}
    if config_file is None:
        return Settings(**flags)

    class _FromFile(Settings):
        model_config = SettingsConfigDict(toml_file=config_file)

    return _FromFile(**flags)
