"""quotebot: answers questions with quoted, sourced sentences from a folder of news articles."""
