"""Telegram adapter benchmark against the fake Bot API (tests/integration/telegram/fakeapi.py).

1. Updates handled per second end to end in polling mode, flood limits off: N text updates
   over 100 chats are queued on the fake server; the bot polls them and answers each with
   sendMessage. Measured on the fake's clock from the first getUpdates to the N-th reply.
   - ours: ``manage.py runadapter telegram`` (durable inbox/outbox, exactly once) with the
     default echo consumer, on SQLite and on PostgreSQL (a database created and dropped here);
   - PTB: python-telegram-bot's own ``Application.run_polling`` echo bot (same package, its
     default sequential update processing), which confirms offsets before handling.
2. Outbound pacing: 300 replies over 100 chats with the default limits (30/s overall, 1/s per
   chat, 10 % margin) while the fake answers 429 to anything past Telegram's nominal limits:
   messages/s held and 429s received.

Run: ``BENCH=telegram make bench`` or ``DEBUG=1 .venv/bin/python bench/bench_telegram.py``;
``BENCH_TELEGRAM_UPDATES`` (default 2000) and ``BENCH_REPEATS`` (default 1).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.integration.telegram.fakeapi import TOKEN, FakeBotApiThread  # noqa: E402

UPDATES = int(os.environ.get("BENCH_TELEGRAM_UPDATES", "2000"))
REPEATS = int(os.environ.get("BENCH_REPEATS", "1"))
CHATS = 100
PG = "postgres://postgres@127.0.0.1:5432/"

PTB_ECHO = """
import os
from telegram import Update
from telegram.ext import Application, ContextTypes, MessageHandler, filters

async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.message.reply_text("You said: " + update.message.text)

app = Application.builder().token(os.environ["TOKEN"]).base_url(os.environ["URL"] + "/bot").build()
app.add_handler(MessageHandler(filters.TEXT, echo))
app.run_polling(poll_interval=0.0, timeout=1)
"""


def env(**extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DATABASE_URL"))}
    base.update(DEBUG="1", SECRET_KEY="bench-only", PYTHONPATH=str(REPO), LOG_LEVEL="WARNING")
    base.update(extra)
    return base


def queue(server: FakeBotApiThread, count: int, chats: int = CHATS) -> None:
    def add() -> None:
        for n in range(count):
            chat = 1000 + n % chats
            server.api.add_update(
                {
                    "update_id": 10_000 + n,
                    "message": {
                        "message_id": n + 1,
                        "date": 0,
                        "chat": {"id": chat, "type": "private", "first_name": "u"},
                        "from": {"id": chat, "is_bot": False, "first_name": "u"},
                        "text": f"message {n}",
                    },
                }
            )

    server.call(add)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(
    server: FakeBotApiThread, command: list[str], environ: dict[str, str], count: int
) -> dict[str, Any]:
    """Start the bot, wait for ``count`` accepted replies, stop it; rates on the fake's clock."""
    log = tempfile.TemporaryFile()  # noqa: SIM115  (closed with the process, below)
    process = subprocess.Popen(command, cwd=REPO, env=environ, stderr=log)
    deadline = time.monotonic() + 600
    try:
        while True:
            calls = server.call(lambda: list(server.api.calls))
            replies = [c for c in calls if c.method == "sendMessage" and c.status == 200]
            if len(replies) >= count:
                break
            if process.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                raise RuntimeError(f"bot stopped or too slow: {log.read()[-3000:]!r}")
            time.sleep(0.05)
        cpu = cpu_seconds(process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
    start = min(c.at for c in calls if c.method == "getUpdates")
    first, last = replies[0].at, replies[count - 1].at
    throttled = sum(1 for c in calls if c.status == 429)
    return {
        "per_s": count / (last - start),
        "sending_per_s": (count - 1) / (last - first) if last > first else 0.0,
        "cpu_ms_per_update": 1000 * cpu / count,
        "throttled": throttled,
    }


def migrate(database_url: str) -> None:
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=REPO,
        env=env(DATABASE_URL=database_url),
        check=True,
    )


def ours(database_url: str, count: int, limits: bool = False) -> dict[str, Any]:
    settings = {
        "DATABASE_URL": database_url,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_POLL_TIMEOUT": "1",
    }
    if not limits:
        settings.update(
            TELEGRAM_RATE_OVERALL="0", TELEGRAM_RATE_PER_CHAT="0", TELEGRAM_RATE_PER_GROUP="0"
        )
    with FakeBotApiThread() as server:
        if limits:
            server.call(lambda: setattr(server.api, "flood", (30, 1)))
        queue(server, count, chats=CHATS)
        command = [sys.executable, "manage.py", "runadapter", "telegram"]
        return run(server, command, env(TELEGRAM_API_URL=server.url, **settings), count)


def ptb(count: int) -> dict[str, Any]:
    with FakeBotApiThread() as server:
        queue(server, count)
        return run(
            server, [sys.executable, "-c", PTB_ECHO], env(TOKEN=TOKEN, URL=server.url), count
        )


def main() -> None:
    print(
        f"load average before: {os.getloadavg()[0]:.2f} (2 CPUs); {UPDATES} updates, {CHATS} chats"
    )
    directory = Path(tempfile.mkdtemp(prefix="bench-telegram-"))
    pg_name = f"bench_telegram_{uuid.uuid4().hex[:8]}"
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", pg_name], check=True)
    try:
        sqlite_template = directory / "template.sqlite3"
        migrate(f"sqlite:///{sqlite_template}")
        migrate(PG + pg_name)
        results: dict[str, list[dict[str, Any]]] = {
            "ours sqlite": [],
            "ours postgres": [],
            "ptb": [],
        }
        for repeat in range(REPEATS):
            database = directory / f"run{repeat}.sqlite3"
            shutil.copy(sqlite_template, database)
            results["ours sqlite"].append(ours(f"sqlite:///{database}", UPDATES))
            subprocess.run(
                [
                    "psql",
                    "-h",
                    "127.0.0.1",
                    "-U",
                    "postgres",
                    "-q",
                    "-d",
                    pg_name,
                    "-c",
                    "TRUNCATE telegram_inboxupdate, telegram_outboxmessage, telegram_lease, "
                    "telegram_pause",
                ],
                check=True,
            )
            results["ours postgres"].append(ours(PG + pg_name, UPDATES))
            results["ptb"].append(ptb(UPDATES))
        best = {name: max(runs, key=lambda r: r["per_s"]) for name, runs in results.items()}
        reference = best["ptb"]["per_s"]
        print("| system | updates/s end to end | ratio to PTB | CPU ms per update |")
        print("| --- | ---: | ---: | ---: |")
        for name, result in best.items():
            print(
                f"| {name} | {result['per_s']:,.0f} | {result['per_s'] / reference:.2f}x "
                f"| {result['cpu_ms_per_update']:.2f} |"
            )
        database = directory / "paced.sqlite3"
        shutil.copy(sqlite_template, database)
        paced = ours(f"sqlite:///{database}", 300, limits=True)
        print(
            f"paced: {paced['sending_per_s']:.1f} messages/s held (limit 30/s, 10 % margin: 27/s), "
            f"{paced['throttled']} answers 429"
        )
        print(f"load average after: {os.getloadavg()[0]:.2f}")
    finally:
        subprocess.run(
            ["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", pg_name], check=False
        )
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
