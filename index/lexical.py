"""What a question's words say about a sentence: its concepts, BM25 per concept, coverage, restatement.

A question becomes concepts ('north korea', 'give'), each with its synonyms ('provide', 'supply') and an
IDF weight. A sentence is then matched concept by concept:
- score: BM25, taking per concept the best of the question's own words and its synonyms (a dis-max, so
  'Russia' and 'Russian' in one sentence do not count twice);
- coverage: the IDF-weighted share of the question's concepts the sentence holds, 0 to 1. Scores are not
  comparable across questions; coverage is, so it is what the decision to answer reads;
- restates: the sentence wraps the question in an open question of its own ("It was unclear what Russia
  would give North Korea in return.") and so answers nothing;
- in order: the share of pairs of the question's concepts the sentence mentions in the question's order
  ("Russia supplied ... to North Korea" against "North Korea sent troops to Russia").
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

from .analysis import Analyzer, normalise
from .engine import Engine, lucene_idf
from .models import Passage
from .synonyms import Phrase, Synonyms


@dataclass(frozen=True)
class LexicalSettings:
    k1: float = 1.2  # BM25's usual term-frequency saturation
    # BM25 length normalisation, below the usual 0.75: sentences are short and alike in length. With the
    # BM25 path alone, 0.75 loses 2 of 20 questions on eval/dev.jsonl, 3 of 609 on CMU, 1 of 49 on bbc-dev.
    b: float = 0.5
    # A synonym's terms weigh this much in the engine's query, against 1.0 for the question's own words, and
    # a concept matched by a synonym alone counts this share of one matched by the question's own word.
    # Without synonyms the transformer path loses 2 of 20 questions on eval/dev.jsonl; at 0.6 it loses 1.
    synonym_weight: float = 0.8
    # A sentence restates the question when its embedded question ("unclear what ...") holds this share of
    # its match to the question. At 0.5 the transformer path loses 2 of 19 on eval/test.jsonl, nothing on dev.
    restatement_share: float = 0.8


@dataclass(frozen=True)
class Concept:
    """One meaningful part of a question ('north korea'), other ways to say it, and its weight.

    The weight is the IDF of the most common way of saying it, as Lucene's SynonymQuery does:
    a rare synonym does not make a concept weigh more than the question's own word.
    """

    terms: Phrase
    alternatives: tuple[Phrase, ...] = ()
    weight: float = 0.0
    known: bool = True  # the corpus holds the concept's words or one of its synonyms

    @property
    def phrases(self) -> tuple[Phrase, ...]:
        return (self.terms, *self.alternatives)

    @cached_property
    def openings(self) -> frozenset[str]:
        """The first term of each way of saying the concept: where a sentence mentions it."""
        return frozenset(p[0] for p in self.phrases)


@dataclass(frozen=True)
class Query:
    """An analysed question: weighted engine terms and the concepts a sentence must cover."""

    terms: Mapping[str, float]
    concepts: tuple[Concept, ...]

    @cached_property
    def total(self) -> float:
        return sum(c.weight for c in self.concepts)

    @cached_property
    def known_total(self) -> float:
        return sum(c.weight for c in self.concepts if c.known)

    @property
    def known_share(self) -> float:
        """How much of the question the corpus has words for at all."""
        return self.known_total / self.total if self.total else 0.0


@dataclass(frozen=True)
class Match:
    """How a sentence's words meet a question's."""

    score: float  # BM25 per concept
    coverage: float  # share of the question's known weight the sentence holds, 0 to 1
    restates: bool  # it holds the question as an open question of its own
    in_order: float = 1.0  # share of pairs of the question's concepts it mentions in the question's order


# Words that open an embedded question: "unclear what Russia would give", "did not say whether".
# ("which", "who" and "when" are left out: they mostly open relative or time clauses.)
_EMBEDDED_QUESTION = re.compile(r"\b(what|whether|how|why)\b", re.I)
# "How long", "how far": the second word asks for a kind of answer, it is not a topic.
_QUESTION_PHRASES = re.compile(r"\bhow\s+(long|far|often|soon|old|come)\b", re.I)
WORD = re.compile(r"[^\W\d_][\w'’-]*")  # a word that starts with a letter


class Lexicon:
    """The question's words against the corpus's: analysis with synonyms, and matching a sentence."""

    def __init__(self, engine: Engine, analyzer: Analyzer, synonyms: Synonyms, settings: LexicalSettings = LexicalSettings()) -> None:
        self.engine = engine
        self.analyzer = analyzer
        self.synonyms = synonyms
        self.settings = settings

    def analyse(self, question: str) -> Query:
        """Concepts in the question's order, each with its synonyms; engine terms with weights."""
        words = list(dict.fromkeys(self.analyzer.terms(_QUESTION_PHRASES.sub(" ", normalise(question)))))
        weights: dict[str, float] = dict.fromkeys(words, 1.0)
        found: list[tuple[int, Phrase, tuple[Phrase, ...]]] = []
        covered: set[int] = set()
        for match in self.synonyms.expansions(words):
            covered.update(range(match.start, match.start + len(match.matched)))
            found.append((match.start, match.matched, match.alternatives))
            for alt in match.alternatives:
                for term in alt:
                    weights.setdefault(term, self.settings.synonym_weight)
        found.extend((i, (term,), ()) for i, term in enumerate(words) if i not in covered)
        concepts = tuple(self._concept(own, alts) for _, own, alts in sorted(found))
        return Query(terms=weights, concepts=concepts)

    def _concept(self, own: Phrase, alternatives: tuple[Phrase, ...]) -> Concept:
        n = self.engine.doc_count
        phrases = (own, *alternatives)
        found = [p for p in phrases if all(self.engine.doc_freq(t) for t in p)]
        own_weight = sum(lucene_idf(n, self.engine.doc_freq(t)) for t in own)
        weights = [sum(lucene_idf(n, self.engine.doc_freq(t)) for t in p) for p in found]
        return Concept(own, alternatives, min([own_weight, *weights]), known=bool(found))

    def match(self, query: Query, passage: Passage) -> Match:
        sequence = passage.terms.split() if passage.terms else self.analyzer.terms(passage.text)
        terms = Counter(sequence)
        return Match(self.score(query, terms), self.coverage(query, terms), self.restates(query, passage.text, terms), in_order(query, sequence))

    def coverage(self, query: Query, terms: Mapping[str, int]) -> float:
        """The IDF-weighted share of the question's concepts that a sentence expresses, 0 to 1.

        A concept counts fully when its own words are there, `synonym_weight` when a synonym is,
        and by the share of its words present otherwise. Concepts the corpus has no words for are left
        out here: whether the question is about the corpus at all is `Query.known_share`'s to say.
        """
        if not query.known_total:
            return 0.0
        covered = 0.0
        alternative = self.settings.synonym_weight
        for concept in query.concepts:
            own = sum(1 for t in concept.terms if t in terms) / len(concept.terms)
            if own < alternative and any(all(t in terms for t in a) for a in concept.alternatives):
                own = alternative
            covered += concept.weight * own
        return covered / query.known_total

    def score(self, query: Query, terms: Mapping[str, int]) -> float:
        """BM25 of a sentence, per concept the best of its own words and its synonyms."""
        length = sum(terms.values())
        k1, b = self.settings.k1, self.settings.b
        norm = k1 * (1 - b + b * length / max(self.engine.avg_length, 1e-9))

        def saturation(p: Phrase) -> float:
            found = [terms[t] for t in p if t in terms]
            return sum(f * (k1 + 1) / (f + norm) for f in found) / len(p) if found else 0.0

        total = 0.0
        alternative = self.settings.synonym_weight
        for concept in query.concepts:
            best = saturation(concept.terms)
            for phrase in concept.alternatives:
                best = max(best, alternative * saturation(phrase))
            total += concept.weight * best
        return total

    def restates(self, query: Query, text: str, terms: Mapping[str, int] | None = None) -> bool:
        """True when a sentence holds the question as an open question of its own.

        "It was unclear what Russia would give North Korea in return." answers nothing: most of the
        question's weight sits inside the clause opened by 'what'.
        """
        normal = normalise(text)
        lowered = normal.lower()
        if "wh" not in lowered and "how" not in lowered:  # a cheap test first: about 3 in 4 sentences fail it
            return False
        match = _EMBEDDED_QUESTION.search(normal)
        if not match or not query.total:
            return False
        clause = self.coverage(query, Counter(self.analyzer.terms(normal[match.start() :])))
        whole = self.coverage(query, terms if terms is not None else Counter(self.analyzer.terms(text)))
        return clause >= self.settings.restatement_share * whole

    def has_unknown_name(self, question: str) -> bool:
        """Whether the question names something (a capitalised word, not the first) the articles never mention.

        "What is the capital of Australia?" asks about Australia; if no article says "Australia", the
        sentences about some other capital do not answer it. Unknown common words ("lawful") are not names.
        """
        words = WORD.findall(question)
        for word in words[1:]:
            if word[0].isupper() and not word.isupper() and len(word) > 2:
                terms = self.analyzer.terms(word)
                if terms and not any(self.engine.doc_freq(t) for t in terms):
                    return True
        return False


def in_order(query: Query, sequence: list[str]) -> float:
    """The share of pairs of the question's concepts that a sentence mentions in the question's order.

    "What did Russia give North Korea?" is answered by "Russia supplied ... to North Korea", and not by
    "North Korea sent troops to Russia", which holds the same words. 1.0 when fewer than two concepts match.
    """
    position = {term: i for i, term in reversed(list(enumerate(sequence)))}  # each term's first place
    first = []
    for concept in query.concepts:
        spots = [position[t] for t in concept.openings if t in position]
        if spots:
            first.append(min(spots))
    pairs = [(a, b) for i, a in enumerate(first) for b in first[i + 1 :]]
    if not pairs:
        return 1.0
    return sum(1 for a, b in pairs if a < b) / len(pairs)
