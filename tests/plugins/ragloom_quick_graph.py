"""A graph and a model provider shipped by another package, declared in the entry point groups
``ragloom.graphs`` (retrieve -> answer -> check claims, no grading) and ``ragloom.providers`` by
the dist-info beside this file. Tests put this folder on ``sys.path`` / ``PYTHONPATH`` the way an
installed package would be."""

from ragloom.agents.generation import check_claims, generate_answer
from ragloom.agents.graphs import new_graph


def build_quick(checkpointer=None):  # type: ignore[no-untyped-def]
    graph = new_graph()
    graph.add_node(generate_answer)
    graph.add_node(check_claims)
    graph.add_edge("start_turn", "retrieve_documents")
    graph.add_edge("retrieve_documents", "generate_answer")
    graph.add_edge("generate_answer", "check_claims")
    graph.add_edge("check_claims", "record_turn")
    return graph.compile(name="quick", checkpointer=checkpointer)


class EchoProvider:
    """A model provider from another package (entry point group ``ragloom.providers``): its chat
    model replies with the first sentence of the first document it is shown, its embeddings are
    hashed bags of words. No server, no weights: what a plugin needs to be is all it is."""

    def chat(self, model, settings):  # type: ignore[no-untyped-def]
        from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
        from langchain_core.messages import AIMessage

        class Echo(GenericFakeChatModel):
            def _generate(self, messages, stop=None, run_manager=None, **kw):  # type: ignore[no-untyped-def]
                text = str(messages[-1].content)
                quoted = text.split(">>>")[0].split("<<<")[-1].strip() if "<<<" in text else text
                first = quoted.split(". ")[0].rstrip(".")
                self.messages = iter([AIMessage(content=f"{first} [1].")])
                return super()._generate(messages, stop, run_manager, **kw)

        return Echo(messages=iter([]))

    def embeddings(self, model, settings):  # type: ignore[no-untyped-def]
        import hashlib

        from langchain_core.embeddings import Embeddings

        class Hashed(Embeddings):
            def _vector(self, text):  # type: ignore[no-untyped-def]
                v = [0.0] * 64
                for word in text.lower().split():
                    v[hashlib.sha256(word.strip(".,?!").encode()).digest()[0] % 64] += 1.0
                norm = sum(x * x for x in v) ** 0.5 or 1.0
                return [x / norm for x in v]

            def embed_documents(self, texts):  # type: ignore[no-untyped-def]
                return [self._vector(t) for t in texts]

            def embed_query(self, text):  # type: ignore[no-untyped-def]
                return self._vector(text)

        return Hashed()
