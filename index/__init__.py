"""quotebot's search library: articles in, ranked quoted sentences out. No Slack here."""
