from ragloom.retrieval.chunking import ChunkingConfig, chunk_sections
from ragloom.retrieval.types import Section

LONG = " ".join(f"Sentence number {i} talks about tea harvests and weighing." for i in range(120))


def _chunks(sections, **cfg):
    return chunk_sections(sections, source="/d/a.md", file_hash="f" * 64,
                          cfg=ChunkingConfig(**cfg))


def test_ids_are_stable_and_ordered() -> None:
    first = _chunks([Section(text=LONG, page=1)], chunk_size=64, chunk_overlap=8)
    again = _chunks([Section(text=LONG, page=1)], chunk_size=64, chunk_overlap=8)
    assert [c.id for c in first] == [c.id for c in again]
    assert [c.chunk_index for c in first] == list(range(len(first))) and len(first) > 5
    assert all(c.page == 1 and c.metadata["content_hash"] == "f" * 64 for c in first)


def test_tiny_fragments_merge_into_the_previous_chunk_of_the_same_page() -> None:
    chunks = _chunks([Section(text=LONG, page=1), Section(text="Short tail.", page=1),
                      Section(text="Another short one.", page=2)], chunk_size=64, chunk_overlap=8)
    assert chunks[-2].text.endswith("Short tail.")  # merged on page 1
    assert chunks[-1].text == "Another short one." and chunks[-1].page == 2  # new page stays


def test_tiny_fragments_never_merge_across_headings_of_pageless_files() -> None:
    chunks = _chunks([Section(text=LONG, heading="Brewing"), Section(text="Call us.", heading="Contact"),
                      Section(text="Tiny.", heading="Contact")], chunk_size=64, chunk_overlap=8)
    assert chunks[-1].text == "Call us.\nTiny." and chunks[-1].metadata["heading"] == "Contact"
    assert "Call us." not in chunks[-2].text and chunks[-2].metadata["heading"] == "Brewing"


def test_structure_chunker_prefixes_heading_paths_once() -> None:
    sections = [Section(text="Scope\nWhat this covers.", heading="Intro > Scope"),
                Section(text="Intro\nWelcome to the guide.", heading="Intro")]
    chunks = _chunks(sections, chunker="structure", min_chunk_chars=0)
    assert chunks[0].text == "Intro > Scope\nWhat this covers."
    assert chunks[1].text == "Intro\nWelcome to the guide."
    assert chunks[0].metadata["heading"] == "Intro > Scope"


def test_sentence_chunker_keeps_text_as_is() -> None:
    chunks = _chunks([Section(text="Scope\nWhat this covers.", heading="Intro > Scope")],
                     min_chunk_chars=0)
    assert chunks[0].text == "Scope\nWhat this covers."
