"""`indexguard serve`, `db upgrade`, `audit verify`, `apikey create`, `user create`."""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import TYPE_CHECKING, Annotated

import typer

from indexguard.errors import IndexguardError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from indexguard.crypto import Cipher
    from indexguard.settings import Settings

DatabaseOpt = Annotated[
    str | None, typer.Option("--database", metavar="URL", help="sqlite:///path.db or postgresql://user@host/db")
]
ConfigOpt = Annotated[str | None, typer.Option("--config", metavar="FILE", help="TOML settings file")]


def _fail(e: Exception) -> typer.Exit:
    typer.echo(f"error: {e}", err=True)
    return typer.Exit(2)


def _prepare(
    database: str | None, config: str | None, create_key: bool, create_db: bool = False
) -> tuple[Settings, sessionmaker[Session], Cipher]:
    """Settings, migrated engine's session factory and cipher (creating the key file if allowed). Only
    `serve` creates a missing SQLite database: elsewhere a new one would come with a key the service rejects."""
    from indexguard.crypto import Cipher, resolve_key
    from indexguard.settings import load
    from indexguard.store import audit, db, migrate

    settings = load(config, {"database_url": database})
    engine = db.open_engine(settings.database_url, create=create_db)
    key = resolve_key(settings.key_file, db.sqlite_path(settings.database_url), create=create_key)
    migrate.upgrade(engine, cipher=Cipher(key.key))
    if key.created:
        typer.echo(
            f"indexguard: created encryption key file {key.origin.split(':', 1)[1]} (mode 0600). "
            "Back it up: without it the stored lists cannot be read.",
            err=True,
        )
    cipher = Cipher(key.key)
    return settings, audit.bind(db.session_factory(engine), audit.chain_for(settings, cipher, key.origin)), cipher


def serve(
    host: Annotated[str | None, typer.Option(metavar="ADDRESS", help="Address to bind (default 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8080)")] = None,
    workers: Annotated[int | None, typer.Option(help="uvicorn worker processes (default 1)")] = None,
    database: DatabaseOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Run the HTTP service: migrate, create the admin and demo list on first start, then serve."""
    import uvicorn

    from indexguard import logs as jlog
    from indexguard.demo.first_start import start_service
    from indexguard.settings import load

    try:
        settings = load(config, {"database_url": database, "host": host, "port": port, "workers": workers})
        jlog.setup(settings.log_level)
        _, factory, cipher = _prepare(settings.database_url, config, create_key=True, create_db=True)
        boot = start_service(factory, cipher, settings)
    except IndexguardError as e:
        raise _fail(e) from None
    if boot.admin_password:
        typer.echo(
            f"indexguard: first start - created user 'admin' with one-time password: {boot.admin_password}\n"
            "            (shown once; sign in at /login and create named accounts)",
            err=True,
        )
    if boot.demo_version:
        typer.echo("indexguard: loaded the placeholder demo list and demo cases (hotline ncmec-xml --case 1)", err=True)
    _worker_env(settings, config)
    uvicorn.run(
        "indexguard.web.app:app_from_env",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        timeout_worker_healthcheck=settings.worker_healthcheck_seconds,
        access_log=False,
        log_config=None,
        timeout_graceful_shutdown=15,
        proxy_headers=True,
        forwarded_allow_ips=settings.trusted_proxies,
    )


def _worker_env(settings: Settings, config: str | None) -> None:
    """Workers re-read settings from the environment; they neither migrate nor bootstrap."""
    from indexguard.crypto import KEY_ENV, KEY_FILE_ENV
    from indexguard.store import db

    os.environ["INDEXGUARD_DATABASE_URL"] = settings.database_url
    os.environ["INDEXGUARD_AUTO_MIGRATE"] = "0"
    os.environ["INDEXGUARD_BOOTSTRAP"] = "0"
    if config:
        os.environ["INDEXGUARD_CONFIG"] = os.path.abspath(config)
    path = db.sqlite_path(settings.database_url)
    if not os.environ.get(KEY_ENV) and not settings.key_file and path is not None:
        os.environ[KEY_FILE_ENV] = str(path.with_name(path.name + ".key"))
    if settings.workers > 1:
        mp = settings.metrics_dir or tempfile.mkdtemp(prefix="indexguard-metrics-")
        shutil.rmtree(mp, ignore_errors=True)
        os.makedirs(mp, exist_ok=True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = mp


def db_upgrade(database: DatabaseOpt = None, config: ConfigOpt = None) -> None:
    """Apply the database migrations (the server also does this on start)."""
    from indexguard.crypto import Cipher, KeyUnavailable, resolve_key
    from indexguard.settings import load
    from indexguard.store import db, migrate

    try:
        settings = load(config, {"database_url": database})
        engine = db.open_engine(settings.database_url, create=True)
        try:  # a migration that converts stored values (0008: keyed URLs) needs the key
            cipher: Cipher | None = Cipher(resolve_key(settings.key_file, db.sqlite_path(settings.database_url),
                                                       create=False).key)
        except KeyUnavailable:
            cipher = None
        rev = migrate.upgrade(engine, cipher=cipher)
    except IndexguardError as e:
        raise _fail(e) from None
    typer.echo(f"database at revision {rev}")


def audit_verify(database: DatabaseOpt = None, config: ConfigOpt = None) -> None:
    """Check the audit log's keyed chain and its anchored head. Exit 0: intact; 1: broken (edited,
    deleted anywhere including the end, wiped, or recomputed); 2: could not check (no key, no
    anchor, database unreachable)."""
    from sqlalchemy.exc import SQLAlchemyError

    from indexguard.crypto import Cipher, KeyUnavailable, resolve_key
    from indexguard.settings import load
    from indexguard.store import audit, db

    try:
        settings = load(config, {"database_url": database})
        factory = db.session_factory(db.open_engine(settings.database_url, create=False))
        try:
            key = resolve_key(settings.key_file, db.sqlite_path(settings.database_url), create=False)
            chain: audit.Chain | None = audit.chain_for(settings, Cipher(key.key), key.origin)
        except KeyUnavailable as e:
            typer.echo(f"note: {e}; only unkeyed rows can be checked", err=True)
            chain = None
        result = audit.verify(factory, chain=chain)
    except IndexguardError as e:
        raise _fail(e) from None
    except SQLAlchemyError as e:  # e.g. a database never migrated: nothing to check
        reason = (str(getattr(e, "orig", None) or e).splitlines() or [type(e).__name__])[0]
        typer.echo(f"error: could not check the audit log: {reason}", err=True)
        raise typer.Exit(2) from None
    if result.ok:
        how = "anchored head matches" if result.anchored else "unkeyed rows only, end not anchored"
        typer.echo(f"audit log intact: {result.checked} rows ({how})")
        return
    if not result.checkable:
        typer.echo(f"audit log could not be checked: {result.reason} ({result.checked} rows read)")
        raise typer.Exit(2)
    typer.echo(f"audit log BROKEN at row {result.broken_seq}: {result.reason} ({result.checked} rows intact)")
    raise typer.Exit(1)


def audit_seal(database: DatabaseOpt = None, config: ConfigOpt = None) -> None:
    """Key an existing (unkeyed) chain now and write its anchor: one `audit.seal` row is appended,
    signed with the key, which seals every earlier row. Later appends do this by themselves."""
    from indexguard.store import audit

    try:
        _, factory, _ = _prepare(database, config, create_key=False)
        seq = audit.append(factory, "cli", "audit.seal", "audit", {})
    except IndexguardError as e:
        raise _fail(e) from None
    typer.echo(f"audit log keyed and anchored at row {seq}")


def apikey_create(
    name: Annotated[str, typer.Option(metavar="NAME", help="What the key is for, e.g. the site back end")],
    scope: Annotated[
        list[str], typer.Option(metavar="SCOPE", help="screen, lists, cases, admin or report (repeatable)")
    ],
    database: DatabaseOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Create an API key and print it once; only its hash is stored."""
    from indexguard.store import accounts, audit

    try:
        _, factory, _ = _prepare(database, config, create_key=True)
        with factory() as s, s.begin():
            token = accounts.create_api_key(s, name, scope, "cli")
            detail = {"name": name, "scopes": sorted(scope)}
            audit.append_in(s, "cli", "apikey.create", token.split("_")[1], detail)
    except IndexguardError as e:
        raise _fail(e) from None
    typer.echo(token)


def user_create(
    username: Annotated[str, typer.Argument(help="Sign-in name")],
    role: Annotated[str, typer.Option(metavar="ROLE", help="moderator, child_safety_lead or admin")] = "moderator",
    database: DatabaseOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Create a user with a random one-time password, printed once."""
    from indexguard.store import accounts, audit

    password = accounts.new_password()
    try:
        _, factory, _ = _prepare(database, config, create_key=True)
        with factory() as s, s.begin():
            accounts.create_user(s, username, password, role, one_time=True)
            audit.append_in(s, "cli", "user.create", username, {"role": role})
    except IndexguardError as e:
        raise _fail(e) from None
    typer.echo(f"created {role} {username!r}; one-time password: {password}")


def user_password(
    username: Annotated[str, typer.Argument(metavar="USERNAME", help="Sign-in name")],
    database: DatabaseOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Reset a user's password to a new random one-time password, printed once; it must be changed
    at the next sign-in (the recovery path for a lost admin password)."""
    from indexguard.store import accounts, audit

    try:
        _, factory, _ = _prepare(database, config, create_key=False)
        with factory() as s, s.begin():
            password = accounts.reset_password(s, username)
            audit.append_in(s, "cli", "user.password_reset", username, {})
    except IndexguardError as e:
        raise _fail(e) from None
    typer.echo(f"new one-time password for {username!r}: {password} (change it at the first sign-in)")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    for name, help_text, command, fn in (
        ("db", "Database maintenance.", "upgrade", db_upgrade),
        ("audit", "The hash-chained audit log.", "verify", audit_verify),
        ("apikey", "API keys for site back ends.", "create", apikey_create),
        ("user", "User accounts for people.", "create", user_create),
    ):
        sub = typer.Typer(help=help_text, no_args_is_help=True)
        sub.command(command)(fn)
        if name == "audit":
            sub.command("seal")(audit_seal)
        if name == "user":
            sub.command("password")(user_password)
        app.add_typer(sub, name=name)
