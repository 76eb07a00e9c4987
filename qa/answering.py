"""Old import path of the extractive answerer (now `qa.answerers`): `from qa.answering import Answerer` still works."""

from qa.answerers import AnswerSettings, check_question
from qa.answerers.extractive import ABSTAIN_TEXT, EMPTY_INDEX_TEXT, FILTERED_TEXT, MAX_QUESTION_CHARS
from qa.answerers.extractive import ExtractiveAnswerer as Answerer

__all__ = ["ABSTAIN_TEXT", "EMPTY_INDEX_TEXT", "FILTERED_TEXT", "MAX_QUESTION_CHARS", "AnswerSettings", "Answerer", "check_question"]
