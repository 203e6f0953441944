"""The Slack front end: the only package that imports Slack libraries."""
