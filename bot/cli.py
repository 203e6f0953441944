"""The `quotebot` command: index, ask, repl, sources, serve. Turns errors into clear messages."""

from __future__ import annotations

import gc
import getpass
import json
import logging
import os
import shutil
import signal
import sqlite3
import sys
import textwrap
import threading
from contextlib import ExitStack
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from index.analysis import Analyzer
from index.corpus import Corpus, CorpusConfig, EngineError, IndexBusy
from index.feedback import NONE_OF_THESE, FeedbackLog, Rating, gold_questions
from index.ingest import IndexPlan, prepare_file
from index.models import Found, IndexReport
from index.store import Store, StoreError

from .config import ConfigError, Settings
from .core import Answerer
from .interrupt import Interrupted, interrupts_raise
from .render import answer_dict, describe_source, no_answer_text, render_text
from .repl import run_repl
from .scopes import ChannelScopes, ScopesError

MAX_WIDTH = 120  # columns: answers wrap to the terminal, but no wider than this


def corpus_config(settings: Settings) -> CorpusConfig:
    return CorpusConfig(
        folder=settings.data_dir,
        db_path=settings.database,
        engine=settings.engine,
        synonyms=settings.synonyms,
        semantic=settings.semantic,
        deep=settings.rerank,
    )


def open_corpus(settings: Settings) -> Corpus:
    if not settings.data_dir.is_dir():
        raise click.ClickException(
            f"no articles folder at {settings.data_dir}; pass --data PATH or set QUOTEBOT_DATA"
        )
    try:
        corpus = Corpus.open(corpus_config(settings))
    except EngineError as error:
        raise click.ClickException(f"{error} (QUOTEBOT_ENGINE)") from error
    except StoreError as error:
        raise click.ClickException(str(error)) from error
    except (OSError, sqlite3.Error) as error:
        raise click.ClickException(f"cannot open the index {settings.database}: {error}; pass --db with another file") from error
    if corpus.semantic_problem:
        click.echo(f"warning: {corpus.semantic_problem}", err=True)
    return corpus


def make_answerer(corpus: Corpus, settings: Settings) -> Answerer:
    return Answerer(corpus.find, corpus.article_count, settings.top_k, corpus.resolve_scope)


ASK_READS_AT_MOST = 400  # sentences the transformer reads before an answer (about 3 s); more: `quotebot index`


def refresh_quietly(corpus: Corpus, note_unread: bool = True) -> None:
    """Index new or changed articles before answering; say only what went wrong, and answer anyway."""
    if corpus.read_only:
        if not corpus.plan().is_empty:
            click.echo("note: the index is read-only; new or changed articles are not indexed", err=True)
        return
    try:
        report = corpus.refresh(deep_backlog=ASK_READS_AT_MOST)
        if note_unread and (unread := corpus.deep_missing()) is not None:
            click.echo(
                f"note: the transformer has read {unread[0]:,} of {unread[1]:,} sentences; answers among the rest are "
                "ranked without it until `quotebot index` (or a running bot) reads them",
                err=True,
            )
    except IndexBusy:
        click.echo(
            f"note: another quotebot process is indexing; answering from the {corpus.article_count()} articles indexed so far",
            err=True,
        )
        return
    except (OSError, sqlite3.Error) as error:
        click.echo(f"warning: could not index new articles ({error}); answering from the index as it was", err=True)
        return
    if report:
        echo_problems(report)


def write_failure(error: BaseException, done: int, total: int) -> click.ClickException:
    """A failed index run, in one line: the cause, what was kept, and what to do."""
    cause = str(error)
    if "disk I/O error" in cause:
        cause += " (is the disk full, or failing?)"
    return click.ClickException(f"indexing stopped: {cause}. {kept(done, total)} Free some space or fix the cause, then run it again.")


def remaining(corpus: Corpus, total: int) -> int:
    """How many files of an interrupted run are still to do, read from what the store committed."""
    if total == 0:
        return 0
    try:
        return min(len(corpus.plan().files), total)
    except (OSError, sqlite3.Error):
        return total


class Progress:
    """How many files a run has to do; drives the progress bar."""

    def __init__(self) -> None:
        self.total = 0
        self.bar: Any = None

    def advance(self, _: Path) -> None:
        if self.bar is not None:
            self.bar.update(1)


def kept(done: int, total: int) -> str:
    if total == 0:
        return "Nothing was changed."
    return f"{done:,} of {total:,} files were indexed and kept; `quotebot index` does the rest."


def echo_problems(report: IndexReport) -> None:
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    for skipped in report.skipped:
        click.echo(f"warning: skipped {skipped.path}: {skipped.reason}", err=True)


def summary(report: IndexReport) -> str:
    lines = [
        f"Indexed {report.articles} article{'s' if report.articles != 1 else ''}, {report.sentences} sentences "
        f"({len(report.added)} added, {len(report.updated)} updated, {len(report.removed)} removed, "
        f"{report.unchanged} unchanged).",
        f"Repeated sentences stored once: {report.repeats_dropped}. "
        f"Sentences grouped with a copy in another article: {report.copies}. "
        f"Duplicate files (a story already filed under another name, answered as one): {report.duplicates}.",
    ]
    if report.skipped:
        lines.append(f"Skipped {len(report.skipped)} file{'s' if len(report.skipped) != 1 else ''}:")
        lines.extend(f"  {s.path}: {s.reason}" for s in report.skipped)
    return "\n".join(lines)


def list_sources(corpus: Corpus) -> str:
    rows = corpus.sources()
    if not rows:
        return "No articles are indexed."
    copies = corpus.duplicate_files()
    lines = [f"{len(rows)} article{'s' if len(rows) != 1 else ''}:"]
    for source, count in rows:
        known = describe_source(source)
        line = f"  {source.article_id}: {known}" if known else f"  {source.article_id}"
        if source.article_id in copies:
            line += f" (same story as {copies[source.article_id]})"
        lines.append(f"{line} ({count} sentences)")
    if copies:
        lines.append(f"{len(copies)} file{'s' if len(copies) != 1 else ''} repeat a story filed under another name; each story is answered once.")
    return "\n".join(lines)


class Quotebot(click.Group):
    """The command group; a database error met halfway through any command becomes one line."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except sqlite3.DatabaseError as error:
            database = ctx.obj.database if isinstance(ctx.obj, Settings) else "the index"
            if isinstance(error, sqlite3.OperationalError) and not _damaged(error):
                raise click.ClickException(f"{database}: {error}") from error
            raise click.ClickException(
                f"the index {database} is damaged ({error}); delete it, then run `quotebot index` to rebuild it"
            ) from error


def _damaged(error: sqlite3.Error) -> bool:
    text = str(error).lower()
    return any(sign in text for sign in ("malformed", "not a database", "disk image", "corrupt"))


@click.group(cls=Quotebot)
@click.option("--data", "data_dir", type=click.Path(path_type=Path), help="Articles folder [QUOTEBOT_DATA, default ./data].")
@click.option("--db", "db_path", type=click.Path(path_type=Path, readable=False), help="Index database [QUOTEBOT_DB, default DATA/quotebot.db].")
@click.option("--no-semantic", is_flag=True, help="BM25 alone, without sentence embeddings [QUOTEBOT_SEMANTIC=off].")
@click.option("-v", "--verbose", is_flag=True, help="Log what happens.")
@click.version_option(package_name="quotebot")
@click.pass_context
def cli(ctx: click.Context, data_dir: Path | None, db_path: Path | None, no_semantic: bool, verbose: bool) -> None:
    """quotebot answers questions with sentences quoted from your news articles."""
    logging.basicConfig(level=logging.INFO if verbose else logging.ERROR, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = Settings.from_env(os.environ)
    except ConfigError as error:
        raise click.ClickException(str(error)) from error
    if data_dir:
        settings = replace(settings, data_dir=data_dir)
    if db_path:
        settings = replace(settings, db_path=db_path)
    if no_semantic:
        settings = replace(settings, semantic=False)
    ctx.obj = settings


@cli.command()
@click.argument("path", required=False, type=click.Path(path_type=Path, file_okay=False))
@click.pass_obj
def index(settings: Settings, path: Path | None) -> None:
    """Index the articles in PATH (default: the articles folder): new and changed files in, deleted ones out.

    Safe to interrupt: what was indexed is kept, and the next run does the rest.
    """
    if path:
        settings = replace(settings, data_dir=path)
    corpus = open_corpus(settings)
    if corpus.read_only:
        raise click.ClickException(f"the index {settings.database} is read-only; pass --db with a file that can be written")
    if corpus.index_busy():
        click.echo(f"Another quotebot process is indexing into {settings.database}; waiting for it to finish…", err=True)
    progress = Progress()
    with ExitStack() as stack:

        def start(plan: IndexPlan) -> None:
            progress.total = len(plan.files)
            if plan.files:
                progress.bar = stack.enter_context(click.progressbar(length=len(plan.files), label="Indexing", file=sys.stderr))

        try:
            report = corpus.index(on_file=progress.advance, on_plan=start, deep=False)
        except Interrupted as stop:
            stop.kept = kept(progress.total - remaining(corpus, progress.total), progress.total)
            raise
        except (OSError, sqlite3.Error) as error:
            raise write_failure(error, progress.total - remaining(corpus, progress.total), progress.total) from error
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    try:
        corpus.sync_engine()  # now, not at the first question
    except Interrupted as stop:
        stop.kept = f"All {report.articles:,} articles are indexed; the search engine catches up at the next question."
        raise
    read_deep(corpus, report.articles)
    click.echo(summary(report))


def read_deep(corpus: Corpus, articles: int) -> None:
    """Let the transformer read the sentences it has not read, with a progress bar; Ctrl-C keeps what it read."""
    missing = corpus.deep_missing()
    if missing is None:
        return
    done, total = missing
    with click.progressbar(length=total, label="Reading sentences for re-ranking", file=sys.stderr) as bar:
        bar.update(done)

        def advance(now: int, _: int) -> None:
            bar.update(now - bar.pos)

        try:
            corpus.read_deep(advance)
        except Interrupted as stop:
            stop.kept = (
                f"All {articles:,} articles are indexed and answer questions; the transformer read {bar.pos:,} of "
                f"{total:,} sentences, and `quotebot index` or a running bot reads the rest."
            )
            raise


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--replace", is_flag=True, help="Overwrite articles of the same name in the articles folder.")
@click.pass_obj
def add(settings: Settings, files: tuple[Path, ...], replace: bool) -> None:
    """Copy FILES into the articles folder and index them, without re-reading the rest.

    Every file is checked first: if any cannot be used, nothing is copied.
    """
    corpus = open_corpus(settings)
    if corpus.read_only:
        raise click.ClickException(f"the index {settings.database} is read-only; pass --db with a file that can be written")
    folder = settings.data_dir.resolve()
    problems = [f"{path}: {problem}" for path in files if (problem := unusable(path))]
    for path in files:
        target = folder / path.name
        if path.resolve().parent != folder and target.exists() and not replace and target.read_bytes() != path.read_bytes():
            problems.append(f"{target} exists and differs from {path}; use --replace to overwrite it")
    if problems:
        for problem in problems[:-1]:
            click.echo(f"Error: {problem}", err=True)
        raise click.ClickException(f"{problems[-1]}. Nothing was added.")
    targets = []
    for path in files:
        target = folder / path.name
        if path.resolve().parent != folder:
            try:
                shutil.copy2(path, target)
            except OSError as error:
                raise click.ClickException(f"cannot copy {path} into {folder}: {error.strerror}") from error
        targets.append(target)
    try:
        report = corpus.add(targets)
    except Interrupted as stop:
        stop.kept = "The files are in the articles folder; `quotebot index` indexes what was not."
        raise
    except (OSError, sqlite3.Error) as error:
        raise click.ClickException(f"indexing stopped: {error}; the files are in the articles folder, run `quotebot index`") from error
    echo_problems(report)
    corpus.sync_engine()
    click.echo(f"Added {len(report.added)}, updated {len(report.updated)}; the index has {report.articles} articles, {report.sentences} sentences.")


@cli.command()
@click.argument("question", nargs=-1, required=True)
@click.option("-k", "top_k", type=click.IntRange(1, 50), help="How many quotes at most [default 3].")
@click.option("--context", "-c", is_flag=True, help="Add the sentences before and after each quote.")
@click.option("--in", "scope", multiple=True, metavar="FOLDER", help="Answer only from the articles in FOLDER (a desk); repeatable.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
def ask(settings: Settings, question: tuple[str, ...], top_k: int | None, context: bool, scope: tuple[str, ...], as_json: bool) -> None:
    """Answer QUESTION with quoted sentences and their sources."""
    corpus = open_corpus(settings)
    refresh_quietly(corpus)
    answer = make_answerer(corpus, settings).answer(" ".join(question), k=top_k, context=1 if context else 0, scope=scope)
    if as_json:
        click.echo(json.dumps(answer_dict(answer), ensure_ascii=False, indent=2))
    elif answer.status != "unknown_scope":
        click.echo(render_text(answer, width=terminal_width(), dim=True))
    if answer.status == "unknown_scope":
        raise click.ClickException(no_answer_text(answer))


def terminal_width() -> int:
    return min(shutil.get_terminal_size((100, 24)).columns - 1, MAX_WIDTH)


def unusable(path: Path) -> str | None:
    """Why a file cannot be added as an article, or None: read, cleaned and split exactly as the index will."""
    ready = prepare_file(path, path.name, None, Analyzer())
    return ready.error


@cli.command()
@click.pass_obj
def repl(settings: Settings) -> None:
    """Ask questions one after another, with line editing and history."""
    corpus = open_corpus(settings)
    refresh_quietly(corpus)
    read_line = _line_reader(settings.data_dir / ".quotebot_history")
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C clears the line, as in a shell
    try:
        run_repl(
            make_answerer(corpus, settings), read_line, click.echo, lambda: list_sources(corpus), terminal_width, dim=True,
            feedback=open_feedback(settings, corpus), user=f"local:{getpass.getuser()}",
        )
    finally:
        signal.signal(signal.SIGINT, previous)


@cli.command()
@click.pass_obj
def sources(settings: Settings) -> None:
    """List the indexed articles and what is known of each."""
    corpus = open_corpus(settings)
    refresh_quietly(corpus)
    click.echo(list_sources(corpus))


@cli.command()
@click.pass_obj
def serve(settings: Settings) -> None:
    """Run the Slack bot: Socket Mode when SLACK_APP_TOKEN is set, else HTTP on $PORT at /slack/events."""
    from .slack.app import build_app
    from .slack.server import SlackLink, check_settings, serve_http, serve_socket_mode, start_refresher

    try:
        mode = check_settings(settings)
    except ConfigError as error:
        raise click.ClickException(str(error)) from error
    logging.getLogger().setLevel(logging.INFO)
    logging.getLogger("waitress").setLevel(logging.WARNING)  # its INFO lines are about clients that hung up
    logging.getLogger("slack_sdk").setLevel(logging.WARNING)  # its INFO lines name response URLs, which grant posting
    try:
        channel_scopes = ChannelScopes(settings.data_dir).load()
    except ScopesError as error:
        raise click.ClickException(f"{error}; fix it, or remove it to search every folder from every channel") from error
    corpus = open_corpus(settings)
    refresh_quietly(corpus)
    stop = threading.Event()
    refresher = start_refresher(lambda: refresh_in_background(corpus), settings.refresh_seconds, stop)
    app = build_app(settings, make_answerer(corpus, settings), channel_scopes.for_channel, open_feedback(settings, corpus))
    link = SlackLink(app.client.auth_test)
    link.start(stop)
    try:
        if mode == "socket":
            click.echo("Connecting to Slack in Socket Mode…", err=True)
            serve_socket_mode(app, settings.slack_app_token or "")
        else:
            serve_http(app, settings, link, lambda url: click.echo(f"Listening on {url}", err=True))
    except Interrupted as interrupted:
        stop.set()
        corpus.stop_indexing()
        refresher.join(timeout=30)
        interrupted.kept = f"The index keeps its last commit: {corpus.article_count():,} articles."
        raise


def refresh_in_background(corpus: Corpus) -> IndexReport | None:
    try:
        return corpus.refresh()
    except IndexBusy:
        return None  # another process is indexing; its commits are served as they land


@cli.command(name="eval")
@click.argument("gold_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-k", "top_k", type=click.IntRange(1, 50), default=5, show_default=True, help="Quotes judged per question.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@click.option("--as-is", "as_is", is_flag=True, help="Measure at once, without letting the transformer read its backlog first.")
@click.option("--fail-under", "fail_under", type=click.FloatRange(0, 1), help="Exit with status 1 if P@1 is below this.")
@click.pass_obj
def evaluate_command(
    settings: Settings, gold_file: Path, top_k: int, as_json: bool, as_is: bool, fail_under: float | None
) -> None:
    """Measure answer quality on GOLD_FILE (JSON lines: id, question, answers, kind, and optionally scope).

    New articles are indexed first, and the transformer reads every sentence it has not read (with a progress
    bar), so the figures are those of the full ranking; `--as-is` measures at once. `--fail-under 0.8` makes a
    drop in quality fail a CI job."""
    from index.evaluate import GoldFileError, evaluate, format_table, load_gold

    try:
        gold = load_gold(gold_file)
    except GoldFileError as error:
        raise click.ClickException(str(error)) from error
    corpus = open_corpus(settings)
    refresh_quietly(corpus, note_unread=as_is)
    if not as_is and not corpus.read_only:  # measure the ranking as it is once the transformer has read every sentence
        read_deep(corpus, corpus.article_count())
    answerer = make_answerer(corpus, settings)

    def search(question: str, k: int, scope: tuple[str, ...] = ()) -> Found:
        answer = answerer.answer(question, k=k, scope=scope)
        return Found(answer.hits, answer.confident)

    result = evaluate(gold, search, top_k)
    if as_json:
        click.echo(json.dumps(result.as_dict(), ensure_ascii=False, indent=2))
    else:
        click.echo(format_table(result))
        wrong = result.wrong()
        if wrong:
            click.echo(f"\nWrong at rank 1 ({len(wrong)}):")
        for r in wrong:
            got = r.returned[0] if r.returned else "(declined)"
            expected = r.expected or "(decline)"
            click.echo(f"- [{r.id}] {r.question}\n    expected: {expected[:110]}\n    got:      {got[:110]}")
    p_at_1 = result.overall.p_at_1
    if fail_under is not None and result.overall.answerable and not p_at_1 >= fail_under:
        raise click.ClickException(f"P@1 is {p_at_1:.2f} on {gold_file}, below the {fail_under:.2f} asked for")


def open_feedback(settings: Settings, corpus: Corpus) -> FeedbackLog | None:
    """Where ratings are kept: the index file, through a connection of its own. None when they are turned off
    (QUOTEBOT_FEEDBACK=off) or the index is read-only."""
    if not settings.feedback or corpus.read_only:
        return None
    return FeedbackLog(Store(corpus.config.db_path))


@cli.group(invoke_without_command=True)
@click.option("--bad", is_flag=True, help="Only 👎 ratings.")
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), help="Only ratings given on or after this day (YYYY-MM-DD).")
@click.option("-n", "limit", type=click.IntRange(1), default=20, show_default=True, help="How many ratings at most.")
@click.pass_context
def feedback(ctx: click.Context, bad: bool, since: datetime | None, limit: int) -> None:
    """List the ratings given to answers (👍/👎 in Slack, + and - in the REPL), newest first."""
    if ctx.invoked_subcommand:
        return
    ratings = read_ratings(ctx.obj, bad, since)
    if not ratings:
        click.echo("No ratings yet." if not (bad or since) else "No ratings match.")
        return
    click.echo(f"{len(ratings)} rating{'s' if len(ratings) != 1 else ''}" + (f", the newest {limit}:" if len(ratings) > limit else ":"))
    for rating in ratings[:limit]:
        click.echo(describe_rating(rating))


@feedback.command("export")
@click.argument("file", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@click.option("--answerable-only", is_flag=True, help="Leave out questions rated 'none of these'.")
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), help="Only ratings given on or after this day (YYYY-MM-DD).")
@click.pass_obj
def feedback_export(settings: Settings, file: Path, answerable_only: bool, since: datetime | None) -> None:
    """Write the rated questions to FILE as gold questions for `quotebot eval`: a 👍 accepts its first quote (or the
    one chosen), a 👎 the quote chosen as closest, or none of them. Most votes win; ties are left out."""
    ratings = read_ratings(settings, False, since)
    gold = gold_questions(ratings, answerable_only=answerable_only)
    try:
        file.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in gold), encoding="utf-8")
    except OSError as error:
        raise click.ClickException(f"cannot write {file}: {error.strerror}") from error
    answerable = sum(1 for row in gold if row["answers"])
    click.echo(
        f"Wrote {len(gold)} questions to {file} ({answerable} with an answer, {len(gold) - answerable} with none) "
        f"from {len(ratings)} ratings. Review them, then measure: quotebot eval {file}"
    )


def read_ratings(settings: Settings, bad: bool, since: datetime | None) -> list[Rating]:
    if not settings.database.exists():
        return []
    try:
        log = FeedbackLog(Store(settings.database))
    except StoreError as error:
        raise click.ClickException(str(error)) from error
    try:
        return log.ratings(bad_only=bad, since=since.replace(tzinfo=UTC) if since else None)
    finally:
        log.close()


def describe_rating(rating: Rating) -> str:
    vote = "👍" if rating.vote == "up" else "👎"
    if rating.chosen == NONE_OF_THESE:
        vote += " none of the quotes came close"
    elif rating.chosen:
        vote += f" quote {rating.chosen} came closest"
    where = f" in {rating.channel_id}" if rating.channel_id else ""
    scope = f" (in {', '.join(f + '/' for f in rating.scope)})" if rating.scope else ""
    quote = rating.chosen_quote or (rating.quotes[0] if rating.quotes else None)
    lines = [f"{rating.created}  {vote}  by {rating.user_id}{where}", f"  Q: {rating.question}{scope}"]
    if quote:
        text = textwrap.shorten(quote.text, 100, placeholder="…")
        lines.append(f"  {'chosen' if rating.chosen_quote else 'first'} quote: “{text}” ({quote.article_id})")
    return "\n".join(lines)


def _line_reader(history: Path):  # type: ignore[no-untyped-def]
    """input() with readline's editing and a history file, where readline is available."""
    try:
        import atexit
        import readline
    except ImportError:
        return input
    try:
        readline.read_history_file(history)
    except OSError:
        pass
    readline.set_history_length(1000)

    def save() -> None:
        try:
            readline.write_history_file(history)
        except OSError:
            pass

    atexit.register(save)
    return input


def main() -> None:
    """The console script: Ctrl-C and SIGTERM stop any command with one line saying what was kept, and 130 or 143."""
    with interrupts_raise():
        try:
            cli()
        except Interrupted as stop:
            click.echo(f"\nStopped ({stop.name}). {stop.kept}".rstrip(), err=True)
            code = stop.exit_code
            del stop  # and with it the frames of the stopped run: its worker pool's semaphores are released now
            gc.collect()
            sys.exit(code)
