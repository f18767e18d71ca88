//! The PostgreSQL schema: every table of the SQLite schema (version 10 in
//! `sqlite/schema.rs`), as versioned forward migrations recorded in
//! `schema_migrations`. Several nodes may start at once on an empty
//! database: each takes `pg_advisory_xact_lock(MIGRATION_LOCK)` first, so
//! one migrates while the others wait, then see the version it reached.
//!
//! Type decisions, kept in every table so the same SQL text runs on both
//! engines (the plain-SQL modules bind the same values to both):
//! - every integer (ids, seqs, unix-ms times, counters, roles) is BIGINT;
//! - flags stay BIGINT 0/1, as SQLite stores them (`disabled = 0`,
//!   `email_optout = 1` in SQL text work unchanged); no BOOLEAN column;
//! - blobs (hashes, files, keys) are BYTEA; JSON kept as TEXT, as written;
//! - client ids are TEXT COLLATE "C": byte order, as SQLite compares them,
//!   so the list's order and cursors, and the writers' lock order, agree;
//! - SQLite's COLLATE NOCASE columns (agent emails, shortcuts, label
//!   names) are CITEXT: equal and unique regardless of case;
//! - INTEGER PRIMARY KEY becomes an identity column (BY DEFAULT, so the
//!   migration from SQLite can keep ids; it then moves the sequences on).
//!
//! What differs from SQLite on purpose:
//! - the list's order columns (`list_group`, `list_key`) are generated
//!   from the row (SQLite keeps them by hand and by trigger, for speed);
//! - the console's totals are summed on read over an index of the open
//!   conversations, not kept in a one-row table: that row would be written
//!   by nearly every commit of every node, serialising them all;
//! - search is a generated `tsvector` column with a GIN index (see
//!   `search.rs`), so it is never behind and needs no queue;
//! - no in-use mark (`store_state`): PostgreSQL owns its durability.

use super::conn::Conn;
use super::OpenError;

/// The PostgreSQL schema version this build writes. Its own numbering: it
/// says nothing about the SQLite file's `SCHEMA_VERSION`.
pub const PG_SCHEMA_VERSION: i64 = 1;

/// Key of the advisory lock held while migrating ("sc-migr").
const MIGRATION_LOCK: i64 = 0x0073_632d_6d69_6772;

/// Forward migrations; entry `i` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[r#"
    CREATE EXTENSION IF NOT EXISTS citext;
    CREATE EXTENSION IF NOT EXISTS unaccent;
    -- Search: lowercased, accents removed, any script, no stemming nor
    -- stop words (as SQLite's unicode61 tokenizer with remove_diacritics).
    CREATE TEXT SEARCH CONFIGURATION support_chat (COPY = pg_catalog.simple);
    ALTER TEXT SEARCH CONFIGURATION support_chat
        ALTER MAPPING FOR asciiword, asciihword, hword_asciipart, word, hword, hword_part
        WITH unaccent, simple;

    CREATE TABLE conversations (
        client_id         TEXT COLLATE "C" PRIMARY KEY,
        created_at        BIGINT NOT NULL,   -- unix ms
        last_activity_at  BIGINT NOT NULL,   -- unix ms of the newest chat message
        last_seq          BIGINT NOT NULL DEFAULT 0,
        last_from         BIGINT,            -- role of the newest chat message: 0 customer, 1 agent
        waiting_since     BIGINT,            -- unix ms of the first unanswered customer message
        customer_read_seq BIGINT NOT NULL DEFAULT 0,
        agent_read_seq    BIGINT NOT NULL DEFAULT 0,
        status            TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
        agent_unread      BIGINT NOT NULL DEFAULT 0,  -- customer messages after agent_read_seq
        assignee_id       BIGINT,            -- NULL: in the queue
        anonymised_at     BIGINT,
        -- The list's order: waiting conversations first by the longest
        -- wait, then the rest by newest activity.
        list_group BIGINT GENERATED ALWAYS AS
            (CASE WHEN status = 'open' AND waiting_since IS NOT NULL THEN 0 ELSE 1 END) STORED,
        list_key BIGINT GENERATED ALWAYS AS
            (CASE WHEN status = 'open' AND waiting_since IS NOT NULL
                  THEN waiting_since ELSE -last_activity_at END) STORED
    );
    CREATE INDEX conversations_by_list ON conversations (list_group, list_key, client_id);
    CREATE INDEX conversations_by_status ON conversations (status, list_group, list_key, client_id);
    CREATE INDEX conversations_by_assignee
        ON conversations (assignee_id, list_group, list_key, client_id);
    CREATE INDEX conversations_by_status_assignee
        ON conversations (status, assignee_id, list_group, list_key, client_id);
    -- The totals, summed from the index alone.
    CREATE INDEX conversations_open ON conversations (client_id)
        INCLUDE (agent_unread, waiting_since) WHERE status = 'open';

    CREATE TABLE messages (
        client_id     TEXT COLLATE "C" NOT NULL,
        seq           BIGINT NOT NULL,
        from_role     BIGINT NOT NULL,
        text          TEXT NOT NULL,
        ts            BIGINT NOT NULL,   -- unix ms
        client_msg_id TEXT,
        author_id     BIGINT,
        author_name   TEXT,
        private       BIGINT NOT NULL DEFAULT 0,
        event         TEXT,              -- an event's JSON
        prev_public   BIGINT,
        attachments   TEXT,              -- the files' metadata, JSON
        -- What people wrote (not events) for full-text search.
        search TSVECTOR GENERATED ALWAYS AS
            (CASE WHEN event IS NULL THEN to_tsvector('support_chat', text) END) STORED,
        PRIMARY KEY (client_id, seq)
    );
    CREATE UNIQUE INDEX messages_by_client_msg_id
        ON messages (client_id, from_role, client_msg_id)
        WHERE client_msg_id IS NOT NULL;
    CREATE INDEX messages_search ON messages USING GIN (search);

    CREATE TABLE agents (
        id            BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        name          TEXT NOT NULL,
        email         CITEXT NOT NULL UNIQUE,   -- stored lowercased
        role          TEXT NOT NULL CHECK (role IN ('admin', 'agent')),
        password_hash TEXT,
        created_at    BIGINT NOT NULL,
        last_seen_at  BIGINT,
        disabled      BIGINT NOT NULL DEFAULT 0,
        capacity      BIGINT NOT NULL DEFAULT 10,
        email_waiting_alerts BIGINT NOT NULL DEFAULT 0
    );
    CREATE TABLE sessions (
        id           BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        hash         BYTEA NOT NULL UNIQUE,
        agent_id     BIGINT NOT NULL REFERENCES agents (id),
        created_at   BIGINT NOT NULL,
        last_used_at BIGINT NOT NULL,
        expires_at   BIGINT NOT NULL
    );
    CREATE INDEX sessions_by_agent ON sessions (agent_id);
    CREATE TABLE invites (
        hash       BYTEA PRIMARY KEY,
        agent_id   BIGINT NOT NULL REFERENCES agents (id),
        expires_at BIGINT NOT NULL,
        used       BIGINT NOT NULL DEFAULT 0
    );
    CREATE TABLE setup_codes (
        hash       BYTEA PRIMARY KEY,
        created_at BIGINT NOT NULL,
        used       BIGINT NOT NULL DEFAULT 0
    );
    CREATE TABLE api_tokens (
        id           BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        hash         BYTEA NOT NULL UNIQUE,
        agent_id     BIGINT NOT NULL REFERENCES agents (id),
        name         TEXT NOT NULL,
        created_at   BIGINT NOT NULL,
        last_used_at BIGINT
    );
    CREATE INDEX api_tokens_by_agent ON api_tokens (agent_id);

    CREATE TABLE contacts (
        client_id    TEXT COLLATE "C" PRIMARY KEY,
        name         TEXT,
        email        TEXT,
        updated_at   BIGINT NOT NULL,
        email_optout BIGINT NOT NULL DEFAULT 0,
        lang         TEXT,
        transcript   BIGINT NOT NULL DEFAULT 0
    );

    CREATE TABLE saved_replies (
        id         BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        shortcut   CITEXT NOT NULL UNIQUE,
        name       TEXT NOT NULL,
        text       TEXT NOT NULL,
        created_at BIGINT NOT NULL
    );
    CREATE TABLE labels (
        id    BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        name  CITEXT NOT NULL UNIQUE,
        color TEXT NOT NULL
    );
    CREATE TABLE conversation_labels (
        client_id TEXT COLLATE "C" NOT NULL,
        label_id  BIGINT NOT NULL,
        PRIMARY KEY (client_id, label_id)
    );
    CREATE INDEX conversation_labels_by_label ON conversation_labels (label_id, client_id);

    -- Append-only: no UPDATE ever; rows leave only by retention's DELETE.
    CREATE TABLE audit_log (
        id       BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        at       BIGINT NOT NULL,
        agent_id BIGINT,
        actor    TEXT NOT NULL,
        action   TEXT NOT NULL,
        target   TEXT,
        detail   TEXT,
        ip       TEXT
    );
    CREATE INDEX audit_log_by_time ON audit_log (at);
    CREATE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$;
    CREATE TRIGGER audit_log_is_append_only BEFORE UPDATE ON audit_log
        FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();

    CREATE TABLE attachments (
        id         TEXT PRIMARY KEY,
        client_id  TEXT COLLATE "C" NOT NULL,
        uploader   BIGINT NOT NULL,   -- role: 0 customer, 1 agent
        name       TEXT NOT NULL,
        mime       TEXT NOT NULL,
        size       BIGINT NOT NULL,
        width      BIGINT,
        height     BIGINT,
        created_at BIGINT NOT NULL,
        seq        BIGINT,            -- the message that sent it; NULL until one does
        data       BYTEA NOT NULL,
        thumbnail  BYTEA
    );
    CREATE INDEX attachments_by_conversation ON attachments (client_id, seq);
    CREATE INDEX attachments_unsent ON attachments (created_at) WHERE seq IS NULL;

    CREATE TABLE outbox (
        id              BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        client_id       TEXT COLLATE "C" NOT NULL,
        kind            TEXT NOT NULL,
        seq             BIGINT NOT NULL,
        recipient       TEXT NOT NULL,
        created_at      BIGINT NOT NULL,
        next_attempt_at BIGINT NOT NULL,
        attempts        BIGINT NOT NULL DEFAULT 0,
        last_error      TEXT,
        sent_at         BIGINT,
        failed_at       BIGINT,
        UNIQUE (client_id, kind, seq)
    );
    CREATE INDEX outbox_due ON outbox (next_attempt_at)
        WHERE sent_at IS NULL AND failed_at IS NULL;
    CREATE TABLE reply_tokens (
        token      TEXT PRIMARY KEY,
        client_id  TEXT COLLATE "C" NOT NULL,
        expires_at BIGINT NOT NULL
    );
    CREATE INDEX reply_tokens_by_client ON reply_tokens (client_id);
    CREATE TABLE server_secrets (
        name  TEXT PRIMARY KEY,
        value BYTEA NOT NULL
    );
"#];

/// Brings the database to [`PG_SCHEMA_VERSION`] under the migration lock;
/// returns the version found before. Refuses a newer schema and a database
/// holding another application's tables.
pub(super) async fn migrate(conn: &mut Conn) -> Result<i64, OpenError> {
    conn.batch("BEGIN").await?;
    let result = migrate_locked(conn).await;
    let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
    conn.batch(end).await?;
    result
}

async fn migrate_locked(conn: &mut Conn) -> Result<i64, OpenError> {
    // Held until this transaction ends: the other nodes wait here.
    conn.query("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    let tracked: bool = conn
        .query_one("SELECT to_regclass('schema_migrations') IS NOT NULL", &[])
        .await?
        .get(0);
    let found = if tracked {
        conn.query_one(
            "SELECT coalesce(max(version), 0) FROM schema_migrations",
            &[],
        )
        .await?
        .get::<_, i64>(0)
    } else {
        let tables: i64 = conn
            .query_one(
                "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()",
                &[],
            )
            .await?
            .get(0);
        if tables > 0 {
            return Err(OpenError::Foreign { tables });
        }
        conn.batch(
            "CREATE TABLE schema_migrations (
                 version    BIGINT PRIMARY KEY,
                 applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
             )",
        )
        .await?;
        0
    };
    if found > PG_SCHEMA_VERSION {
        return Err(OpenError::TooNew { found });
    }
    for (from, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let to = from as i64 + 1;
        conn.batch(sql).await?;
        conn.execute(
            "INSERT INTO schema_migrations (version) VALUES ($1)",
            &[&to],
        )
        .await?;
        log::info!("migrated the PostgreSQL database to schema version {to}");
    }
    Ok(found)
}
