"""Adapters to other frameworks: ``ragloom.integrations.langchain`` (a LangChain retriever,
also ``ragloom.as_retriever``) and ``ragloom.integrations.llama_index`` (a LlamaIndex retriever).
Each imports its framework only when used."""
