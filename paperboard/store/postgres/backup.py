"""PostgreSQL's side of backups (store/backup.py): pg_dump, an atomic checked restore, checks.

Snapshot: a REPEATABLE READ transaction exports its snapshot and ``pg_dump --snapshot``
dumps exactly that state while the transaction computes the manifest's per-table counts and
checksums in it, so the archive and the manifest describe the same moment however much the
site writes meanwhile. Checksums are computed by the server (the sum of a 64-bit slice of
each row's md5, with the session's output settings pinned), so they cost no transfer and
come out the same wherever the rows are restored.

Restore: ``pg_restore`` turns the archive into SQL and ``psql --single-transaction`` runs it
between two blocks of our own: the first re-checks, inside the transaction, that the store
is empty and clears what a migrated-but-empty store has (its empty tables and functions);
the last recomputes every table's count and checksum and raises if any differs from the
manifest. Any error rolls the whole transaction back, so the store is left as it was.

The client binaries must be at least the server's major version (and the archive's):
they are looked for where Debian and the PGDG packages put them (``/usr/lib/postgresql/N/bin``,
``/usr/pgsql-N/bin``), in ``PAPERBOARD_PG_BIN_DIR`` first when set, then on ``PATH``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from ..backup import (
    BOOKKEEPING,
    MASK,
    NOT_CONTENT,
    BackupError,
    Finding,
    Manifest,
    NotEmptyError,
    Snapshot,
    TableSum,
)
from .database import redact

CHECKSUM_SETTINGS = (
    "SET TIME ZONE 'UTC'; SET DateStyle = 'ISO, MDY'; SET IntervalStyle = 'postgres';"
    " SET extra_float_digits = 1; SET bytea_output = 'hex'"
)
"""Every setting a row's text form depends on, pinned so both sides print rows alike."""
ROW_SUM = "COALESCE(sum(('x' || substr(md5(t::text), 1, 16))::bit(64)::bigint), 0)"
NOT_EMPTY = "paperboard-restore: the store is not empty"
MISMATCH = "paperboard-restore: the restored data does not match the manifest"


# -- client binaries --------------------------------------------------------------------
def _tool_major(path: Path) -> int | None:
    try:
        out = subprocess.run([str(path), "--version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r"\(PostgreSQL\)\s+(\d+)", out)
    return int(m.group(1)) if m else None


def find_tool(name: str, major: int, configured: str = "", *, near: Path | None = None) -> Path:
    """The ``name`` binary of PostgreSQL ``major`` or newer (a client older than the server
    cannot dump it; an exact match is looked for first, where the packages install it)."""
    dirs = [Path(configured)] if configured else []
    if near is not None:
        dirs.append(near)
    dirs += [Path(f"/usr/lib/postgresql/{major}/bin"), Path(f"/usr/pgsql-{major}/bin")]
    candidates = [d / name for d in dirs]
    on_path = shutil.which(name)
    if on_path:
        candidates.append(Path(on_path))
    for c in candidates:
        if c.is_file() and os.access(c, os.X_OK):
            found = _tool_major(c)
            if found is not None and found >= major:
                return c
    raise BackupError(
        f"no {name} for PostgreSQL {major} or newer (looked in {', '.join(str(d) for d in dirs)} and PATH):"
        f" install postgresql-client-{major}, or point PAPERBOARD_PG_BIN_DIR at its bin directory"
    )


def _client(url: str) -> tuple[str, dict[str, str]]:
    """The connection string without its password, and an environment carrying it (a
    password on a command line is visible to every user of the machine)."""
    info = psycopg.conninfo.conninfo_to_dict(url)
    password = info.pop("password", None)
    env = dict(os.environ)
    if password:
        env["PGPASSWORD"] = str(password)
    return psycopg.conninfo.make_conninfo(**info), env


def _tail(path: Path, limit: int = 1500) -> str:
    text = path.read_text(errors="replace").strip()
    return text[-limit:]


# -- checksums ----------------------------------------------------------------------------
def content_tables(conn: psycopg.Connection, schema: str) -> list[str]:
    rows = conn.execute(
        "SELECT c.relname AS name FROM pg_class c WHERE c.relnamespace = %s::regnamespace"
        " AND c.relkind IN ('r', 'p') AND NOT c.relispartition"
        " AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass"
        "                 AND d.objid = c.oid AND d.deptype = 'e')"
        " ORDER BY c.relname",
        (schema,),
    ).fetchall()
    return [r["name"] for r in rows if r["name"] not in NOT_CONTENT]


def table_sums(conn: psycopg.Connection, schema: str) -> dict[str, TableSum]:
    conn.execute(CHECKSUM_SETTINGS)
    out = {}
    for table in content_tables(conn, schema):
        row = conn.execute(
            sql.SQL("SELECT count(*) AS n, " + ROW_SUM + " AS s FROM {}.{} AS t").format(
                sql.Identifier(schema), sql.Identifier(table)
            )
        ).fetchone()
        out[table] = TableSum(int(row["n"]), f"{int(row['s']) & MASK:016x}")
    return out


def _schema_version(conn: psycopg.Connection, schema: str) -> int:
    exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL AS e", (f'"{schema}".schema_migrations',)).fetchone()
    if not exists["e"]:
        return 0
    return int(conn.execute(
        sql.SQL("SELECT COALESCE(MAX(version), 0) AS v FROM {}.schema_migrations").format(sql.Identifier(schema))
    ).fetchone()["v"])  # fmt: skip


def _connect(url: str, **kwargs) -> psycopg.Connection:
    try:
        return psycopg.connect(url, row_factory=dict_row, connect_timeout=10, **kwargs)
    except psycopg.Error as exc:
        raise BackupError(f"cannot connect to PostgreSQL at {redact(url)}: {str(exc).strip()}") from None


# -- backup -----------------------------------------------------------------------------
def snapshot(url: str, dest: Path, *, pg_bin_dir: str = "") -> Snapshot:
    conn = _connect(url)
    try:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        snapshot_id = conn.execute("SELECT pg_export_snapshot() AS s").fetchone()["s"]
        major = conn.info.server_version // 10000
        pg_dump = find_tool("pg_dump", major, pg_bin_dir)
        conninfo, env = _client(url)
        with tempfile.TemporaryFile() as err:
            proc = subprocess.Popen(
                [str(pg_dump), "--format=custom", f"--snapshot={snapshot_id}", "--no-password",
                 "--file", str(dest), "--dbname", conninfo],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, env=env,
            )  # fmt: skip
            try:
                # The manifest is read in the exported snapshot while pg_dump dumps it.
                schema = conn.execute("SELECT current_schema() AS s").fetchone()["s"]
                version = _schema_version(conn, schema)
                database_id = conn.execute(
                    sql.SQL("SELECT id FROM {}.database_identity").format(sql.Identifier(schema))
                ).fetchone()["id"]
                tables = table_sums(conn, schema)
            except BaseException:
                proc.kill()
                proc.wait()
                raise
            code = proc.wait()
            err.seek(0)
            message = err.read().decode(errors="replace").strip()
        if code != 0:
            raise BackupError(f"pg_dump failed (exit {code}): {message[-1500:]}")
        extra = {"schema": schema, "server_version": conn.info.server_version, "pg_dump_major": _tool_major(pg_dump)}
        return Snapshot(version, str(database_id), tables, extra)
    except psycopg.Error as exc:
        raise BackupError(f"the PostgreSQL backup failed: {str(exc).strip()}") from None
    finally:
        conn.close()


# -- restore ----------------------------------------------------------------------------
def tables_with_data(conn: psycopg.Connection, schema: str) -> list[str]:
    return [
        t for t in content_tables(conn, schema)
        if t not in BOOKKEEPING and conn.execute(
            sql.SQL("SELECT EXISTS (SELECT 1 FROM {}.{}) AS e").format(sql.Identifier(schema), sql.Identifier(t))
        ).fetchone()["e"]
    ]  # fmt: skip


def _prologue(schema: str) -> str:
    """Inside the restore's transaction: refuse data, then clear a migrated-but-empty store
    (its tables, views, sequences and functions; extensions stay) so the archive's objects
    can be created as they were."""
    ns = "'" + schema.replace("'", "''") + "'"
    keep = ", ".join("'" + t + "'" for t in sorted(BOOKKEEPING))
    return f"""
DO $pb_prologue$
DECLARE r record; found boolean; busy text := '';
BEGIN
  FOR r IN SELECT c.oid::regclass AS rel, c.relname FROM pg_class c
           WHERE c.relnamespace = {ns}::regnamespace AND c.relkind IN ('r', 'p')
             AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e') LOOP
    IF r.relname NOT IN ({keep}) THEN
      EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s)', r.rel) INTO found;
      IF found THEN busy := busy || ' ' || r.relname; END IF;
    END IF;
  END LOOP;
  IF busy <> '' THEN RAISE EXCEPTION '{NOT_EMPTY} (data in:%)', busy; END IF;
  -- Names, not oids: a relation a CASCADE already dropped is skipped by IF EXISTS.
  FOR r IN SELECT format('%I.%I', {ns}, c.relname) AS rel, c.relkind FROM pg_class c
           WHERE c.relnamespace = {ns}::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
             AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                             AND d.deptype IN ('e', 'a', 'i'))  -- extension members, owned sequences
           ORDER BY CASE c.relkind WHEN 'v' THEN 0 WHEN 'm' THEN 0 WHEN 'S' THEN 2 ELSE 1 END LOOP
    EXECUTE format('DROP %s IF EXISTS %s CASCADE',
      CASE r.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'S' THEN 'SEQUENCE'
                     ELSE 'TABLE' END, r.rel);
  END LOOP;
  FOR r IN SELECT p.oid::regprocedure::text AS fn FROM pg_proc p
           WHERE p.pronamespace = {ns}::regnamespace AND p.prokind IN ('f', 'p')
             AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e') LOOP
    EXECUTE format('DROP ROUTINE IF EXISTS %s CASCADE', r.fn);
  END LOOP;
END $pb_prologue$;
"""


def _epilogue(schema: str, manifest: Manifest) -> str:
    """Inside the restore's transaction, last: every table against the manifest, then a
    new identity (a restored store is a database of its own; see store/backup.py)."""
    ident = '"' + schema.replace('"', '""') + '"'
    checks = []
    for table, expected in sorted(manifest.tables.items()):
        rel = f'{ident}."{table.replace(chr(34), chr(34) * 2)}"'
        want = int(expected.checksum, 16)
        checks.append(
            f"  SELECT count(*), {ROW_SUM} INTO n, s FROM {rel} AS t;\n"
            f"  IF n <> {expected.rows} OR mod(mod(s, m) + m, m) <> {want} THEN\n"
            f"    bad := bad || format(' {table}: %s rows (manifest {expected.rows})', n);\n"
            "  END IF;"
        )
    body = "\n".join(checks)
    return f"""
{CHECKSUM_SETTINGS};
DO $pb_verify$
DECLARE n bigint; s numeric; m numeric := 18446744073709551616; bad text := '';
BEGIN
{body}
  IF bad <> '' THEN RAISE EXCEPTION '{MISMATCH}:%', bad; END IF;
END $pb_verify$;
UPDATE {ident}.database_identity SET id = replace(gen_random_uuid()::text, '-', '');
"""


def restore(url: str, data: Path, manifest: Manifest, *, pg_bin_dir: str = "") -> dict[str, TableSum]:
    schema = str(manifest.extra.get("schema") or "public")
    conn = _connect(url, autocommit=True)
    try:
        major = conn.info.server_version // 10000
        busy = tables_with_data(conn, schema)
        if busy:
            raise NotEmptyError(
                f"the store at {redact(url)} is not empty (data in {', '.join(busy)}):"
                " restore into an empty database (createdb) or one only migrated"
            )
    finally:
        conn.close()
    need = max(major, int(manifest.extra.get("pg_dump_major") or 0))
    pg_restore = find_tool("pg_restore", need, pg_bin_dir)
    psql = find_tool("psql", need, pg_bin_dir, near=pg_restore.parent)
    conninfo, env = _client(url)
    with tempfile.TemporaryDirectory(prefix="paperboard-restore-") as tmp:
        listing = subprocess.run([str(pg_restore), "--list", str(data)], capture_output=True, text=True, env=env)
        if listing.returncode != 0:
            raise BackupError(f"pg_restore cannot read {data}: {listing.stderr.strip()[-800:]}; nothing was restored")
        # The extension's comment belongs to its owner: restoring it fails for anyone else.
        entries = [line for line in listing.stdout.splitlines() if " COMMENT - EXTENSION " not in line]
        list_file = Path(tmp) / "restore.list"
        list_file.write_text("\n".join(entries) + "\n")
        out_err, sql_err = Path(tmp) / "pg_restore.err", Path(tmp) / "psql.err"
        with open(out_err, "wb") as e1, open(sql_err, "wb") as e2:
            runner = subprocess.Popen(
                [str(psql), "-X", "-q", "--no-password", "-v", "ON_ERROR_STOP=1", "--single-transaction",
                 "--dbname", conninfo, "-f", "-"],
                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=e2, env=env,
            )  # fmt: skip
            reader = subprocess.Popen(
                [str(pg_restore), "--no-owner", "--no-privileges", "--use-list", str(list_file), "--file", "-",
                 str(data)],
                stdout=subprocess.PIPE, stderr=e1, env=env,
            )  # fmt: skip
            assert runner.stdin is not None and reader.stdout is not None
            try:
                runner.stdin.write(_prologue(schema).encode())
                shutil.copyfileobj(reader.stdout, runner.stdin, 1 << 20)
                if reader.wait() != 0:
                    # The script may end anywhere, even inside a COPY: closing psql's input
                    # would commit what it got. Killed, its session ends and the server
                    # rolls the transaction back.
                    runner.kill()
                else:
                    runner.stdin.write(_epilogue(schema, manifest).encode())
                    runner.stdin.close()
            except BrokenPipeError:  # psql stopped at an error: the transaction is rolled back
                pass
            finally:
                reader.stdout.close()
                try:
                    runner.stdin.close()
                except BrokenPipeError:
                    pass
            reader_code, runner_code = reader.wait(), runner.wait()
        if reader_code != 0:
            raise BackupError(f"pg_restore cannot read {data} ({_tail(out_err)}); the store is unchanged")
        if runner_code != 0:
            message = _tail(sql_err)
            if NOT_EMPTY in message:
                raise NotEmptyError(f"the store at {redact(url)} is not empty; nothing was restored ({message})")
            if MISMATCH in message:
                detail = message.split(MISMATCH, 1)[1].split("\n", 1)[0].strip(": ")
                raise BackupError(f"the restored data does not match the manifest ({detail}); the store is unchanged")
            raise BackupError(f"the restore failed and was rolled back, the store is unchanged: {message}")
    conn = _connect(url, autocommit=True)
    try:
        return table_sums(conn, schema)
    finally:
        conn.close()


# -- integrity --------------------------------------------------------------------------
def integrity(url: str) -> list[Finding]:
    """What PostgreSQL can be asked about its own data, in one transaction rolled back at
    the end (so the check leaves nothing behind, an extension it created included):

    - amcheck, where the role may create it (a superuser's; it is not a trusted extension):
      every B-tree index verified against its table (``bt_index_check`` with
      ``heapallindexed``) and every table's pages (``verify_heapam``);
    - indexes left invalid by a failed ``CREATE INDEX CONCURRENTLY`` and constraints
      added ``NOT VALID`` (neither is enforced for the rows before them);
    - every foreign key re-checked row by row (rows loaded with triggers disabled, or
      damage, can break one without PostgreSQL noticing);
    - the full-text side table (``paper_search``) against ``papers``: one row per paper,
      the same hidden flag, and the tsvector the paper's text gives now.
    """
    conn = _connect(url)
    findings: list[Finding] = []
    try:
        schema = conn.execute("SELECT current_schema() AS s").fetchone()["s"]
        findings += _amcheck(conn, schema)
        findings += _catalog_checks(conn, schema)
        findings += _foreign_keys(conn, schema)
        findings += _search_table(conn, schema)
    except psycopg.Error as exc:
        findings.append(Finding("postgresql", "fail", f"the check could not run: {str(exc).strip()}"))
    finally:
        conn.rollback()
        conn.close()
    return findings


def _amcheck(conn: psycopg.Connection, schema: str) -> list[Finding]:
    try:
        with conn.transaction():
            conn.execute("CREATE EXTENSION IF NOT EXISTS amcheck")
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[0]
        return [Finding("amcheck", "note", f"not run: amcheck unavailable to this role ({reason})")]
    ext = conn.execute(
        "SELECT n.nspname AS s FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
        " WHERE e.extname = 'amcheck'"
    ).fetchone()["s"]
    fn = sql.Identifier(ext)
    indexes = conn.execute(
        "SELECT i.indexrelid::regclass::text AS name, i.indexrelid AS oid FROM pg_index i"
        " JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam"
        " WHERE c.relnamespace = %s::regnamespace AND am.amname = 'btree' AND i.indisvalid AND i.indisready"
        " ORDER BY 1",
        (schema,),
    ).fetchall()
    bad: list[str] = []
    for ix in indexes:
        try:
            with conn.transaction():
                conn.execute(sql.SQL("SELECT {}.bt_index_check(%s::oid, true)").format(fn), (ix["oid"],))
        except psycopg.Error as exc:
            bad.append(f"{ix['name']}: {str(exc).strip().splitlines()[0]}")
    tables = conn.execute(
        "SELECT c.oid, c.relname FROM pg_class c WHERE c.relnamespace = %s::regnamespace AND c.relkind = 'r'"
        " ORDER BY c.relname",
        (schema,),
    ).fetchall()
    for t in tables:
        rows = conn.execute(
            sql.SQL("SELECT blkno, offnum, msg FROM {}.verify_heapam(%s::oid, on_error_stop => false) LIMIT 5").format(fn),
            (t["oid"],),
        ).fetchall()
        bad += [f"{t['relname']} block {r['blkno']} item {r['offnum']}: {r['msg']}" for r in rows]
    if bad:
        return [Finding("amcheck", "fail", "; ".join(bad[:20]))]
    return [Finding("amcheck", "ok", f"{len(indexes)} B-tree indexes and {len(tables)} tables verified")]


def _catalog_checks(conn: psycopg.Connection, schema: str) -> list[Finding]:
    invalid = [r["name"] for r in conn.execute(
        "SELECT i.indexrelid::regclass::text AS name FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
        " WHERE c.relnamespace = %s::regnamespace AND NOT (i.indisvalid AND i.indisready)",
        (schema,),
    )]  # fmt: skip
    unvalidated = [f"{r['tbl']}.{r['name']}" for r in conn.execute(
        "SELECT conrelid::regclass::text AS tbl, conname AS name FROM pg_constraint"
        " WHERE connamespace = %s::regnamespace AND NOT convalidated",
        (schema,),
    )]  # fmt: skip
    out = [
        Finding("indexes", "fail", f"invalid (rebuild with REINDEX): {', '.join(invalid)}") if invalid
        else Finding("indexes", "ok", "every index valid and ready"),
        Finding("constraints", "fail", f"not validated: {', '.join(unvalidated)}") if unvalidated
        else Finding("constraints", "ok", "every constraint validated"),
    ]  # fmt: skip
    return out


def _foreign_keys(conn: psycopg.Connection, schema: str) -> list[Finding]:
    fks = conn.execute(
        "SELECT c.conname, c.conrelid::regclass::text AS child, c.confrelid::regclass::text AS parent,"
        " ARRAY(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY k(n, i)"
        "       JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.i)::text[] AS cols,"
        " ARRAY(SELECT a.attname FROM unnest(c.confkey) WITH ORDINALITY k(n, i)"
        "       JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.i)::text[] AS refs"
        " FROM pg_constraint c WHERE c.contype = 'f' AND c.connamespace = %s::regnamespace ORDER BY 1",
        (schema,),
    ).fetchall()
    broken = []
    for fk in fks:
        child = sql.SQL(fk["child"])  # regclass text: already quoted where needed
        parent = sql.SQL(fk["parent"])
        not_null = sql.SQL(" AND ").join(sql.SQL("c.{} IS NOT NULL").format(sql.Identifier(col)) for col in fk["cols"])
        match = sql.SQL(" AND ").join(
            sql.SQL("p.{} = c.{}").format(sql.Identifier(r), sql.Identifier(col))
            for col, r in zip(fk["cols"], fk["refs"], strict=True)
        )
        n = conn.execute(
            sql.SQL("SELECT count(*) AS n FROM {} c WHERE {} AND NOT EXISTS (SELECT 1 FROM {} p WHERE {})").format(
                child, not_null, parent, match
            )
        ).fetchone()["n"]
        if n:
            broken.append(f"{fk['child']} -> {fk['parent']} ({fk['conname']}): {n} rows")
    if broken:
        return [Finding("foreign keys", "fail", "rows pointing at nothing: " + "; ".join(broken))]
    return [Finding("foreign keys", "ok", f"{len(fks)} foreign keys, every reference resolves")]


def _search_table(conn: psycopg.Connection, schema: str) -> list[Finding]:
    if not conn.execute("SELECT to_regclass(%s) IS NOT NULL AS e", (f'"{schema}".paper_search',)).fetchone()["e"]:
        return []
    row = conn.execute(
        "SELECT count(*) FILTER (WHERE s.paper_rowid IS NULL) AS missing,"
        " count(*) FILTER (WHERE s.hidden IS DISTINCT FROM p.hidden) AS hidden,"
        " count(*) FILTER (WHERE s.search_vector IS DISTINCT FROM"
        "                  paperboard_search_vector(p.title, p.abstract, p.authors)) AS stale,"
        " count(*) AS papers"
        " FROM papers p LEFT JOIN paper_search s ON s.paper_rowid = p.rowid"
    ).fetchone()
    problems = [f"{row[k]} {label}" for k, label in
                (("missing", "papers without a row"), ("hidden", "with the wrong hidden flag"),
                 ("stale", "with a tsvector that differs from their text"))
                if row[k]]  # fmt: skip
    if problems:
        return [Finding("full-text table", "fail", "paper_search: " + ", ".join(problems))]
    return [Finding("full-text table", "ok", f"paper_search matches all {row['papers']} papers")]
