"""Article QA: question answering over news articles, with the evidence."""

from qa.answerers import AnswerSettings
from qa.answerers import ExtractiveAnswerer as Answerer
from qa.errors import QAError
from qa.retrieval import Retriever, SearchSettings
from qa.types import Answer, Article, Chunk, Citation, Hit, SearchFilter

__all__ = ["Answer", "Answerer", "AnswerSettings", "Article", "Chunk", "Citation", "Hit", "QAError", "Retriever", "SearchFilter", "SearchSettings"]
__version__ = "0.1.0"
