//! The versioned schema: forward migrations, refusing files that are not
//! ours (or are newer), and the in-use mark that tells a database copied
//! without its `-wal` file from one stopped cleanly.

use std::path::Path;

use rusqlite::{Connection, ErrorCode, OptionalExtension};

use super::StartupError;

/// The schema version this build writes (`PRAGMA user_version`).
pub const SCHEMA_VERSION: i64 = 11;

/// The list's order of a conversation from its own columns, as a SET
/// clause: one definition for the trigger and the migration.
macro_rules! set_list_order {
    () => {
        "list_group = CASE WHEN status = 'open' AND waiting_since IS NOT NULL
                           THEN 0 ELSE 1 END,
         list_key = CASE WHEN status = 'open' AND waiting_since IS NOT NULL
                         THEN waiting_since ELSE -last_activity_at END"
    };
}

/// Forward migrations; entry `i` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    r#"
    CREATE TABLE conversations (
        client_id         TEXT PRIMARY KEY,
        created_at        INTEGER NOT NULL,  -- unix ms
        last_activity_at  INTEGER NOT NULL,  -- unix ms of the newest message
        last_seq          INTEGER NOT NULL DEFAULT 0,
        last_from         INTEGER,           -- role of the newest message: 0 customer, 1 agent
        waiting_since     INTEGER,           -- unix ms of the first unanswered customer message
        customer_read_seq INTEGER NOT NULL DEFAULT 0,
        agent_read_seq    INTEGER NOT NULL DEFAULT 0,
        status            TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved'))
    ) WITHOUT ROWID;
    CREATE INDEX conversations_by_activity ON conversations (last_activity_at);
    CREATE TABLE messages (
        client_id     TEXT NOT NULL,
        seq           INTEGER NOT NULL,
        from_role     INTEGER NOT NULL,
        text          TEXT NOT NULL,
        ts            INTEGER NOT NULL,      -- unix ms
        client_msg_id TEXT,
        PRIMARY KEY (client_id, seq)
    ) WITHOUT ROWID;
    CREATE UNIQUE INDEX messages_by_client_msg_id
        ON messages (client_id, from_role, client_msg_id)
        WHERE client_msg_id IS NOT NULL;
"#,
    // Counters kept on write instead of counted on read, the list's sort
    // keys as indexed columns, and the in-use mark.
    concat!(
        r#"
    -- An agent's own message counts as read by the agents (issue 10, item 8);
    -- applied to what is already stored, so old replies leave no badge.
    UPDATE conversations SET agent_read_seq = max(agent_read_seq, coalesce(
        (SELECT max(seq) FROM messages m
         WHERE m.client_id = conversations.client_id AND m.from_role = 1), 0));
    -- Customer messages after the agents' read mark.
    ALTER TABLE conversations ADD COLUMN agent_unread INTEGER NOT NULL DEFAULT 0;
    UPDATE conversations SET agent_unread =
        (SELECT count(*) FROM messages m
         WHERE m.client_id = conversations.client_id AND m.from_role = 0
           AND m.seq > conversations.agent_read_seq);
    -- The list's order: waiting conversations first by the longest wait,
    -- then the rest by newest activity. Plain columns, not generated ones:
    -- SQLite recomputes a virtual column from the row even when walking its
    -- index, which made a search scan five times slower. A message sets them
    -- itself (write.rs); a change of status alone, through this trigger.
    ALTER TABLE conversations ADD COLUMN list_group INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE conversations ADD COLUMN list_key INTEGER NOT NULL DEFAULT 0;
    CREATE TRIGGER list_order AFTER UPDATE OF status ON conversations
        WHEN OLD.status IS NOT NEW.status BEGIN
        UPDATE conversations SET "#,
        set_list_order!(),
        r#" WHERE client_id = NEW.client_id;
    END;
    UPDATE conversations SET "#,
        set_list_order!(),
        r#";
    DROP INDEX conversations_by_activity;
    CREATE INDEX conversations_by_list ON conversations (list_group, list_key, client_id);
    CREATE INDEX conversations_by_status ON conversations (status, list_group, list_key, client_id);

    -- The console's totals over open conversations, kept by triggers in the
    -- transaction of every change.
    CREATE TABLE totals (
        id      INTEGER PRIMARY KEY CHECK (id = 1),
        unread  INTEGER NOT NULL,
        waiting INTEGER NOT NULL
    );
    INSERT INTO totals (id, unread, waiting)
        SELECT 1, coalesce(sum(agent_unread), 0), coalesce(sum(waiting_since IS NOT NULL), 0)
        FROM conversations WHERE status = 'open';
    CREATE TRIGGER totals_on_insert AFTER INSERT ON conversations BEGIN
        UPDATE totals SET
            unread = unread + (NEW.status = 'open') * NEW.agent_unread,
            waiting = waiting + (NEW.status = 'open' AND NEW.waiting_since IS NOT NULL);
    END;
    CREATE TRIGGER totals_on_update AFTER UPDATE OF status, waiting_since, agent_unread
        ON conversations BEGIN
        UPDATE totals SET
            unread = unread + (NEW.status = 'open') * NEW.agent_unread
                            - (OLD.status = 'open') * OLD.agent_unread,
            waiting = waiting + (NEW.status = 'open' AND NEW.waiting_since IS NOT NULL)
                              - (OLD.status = 'open' AND OLD.waiting_since IS NOT NULL);
    END;
    CREATE TRIGGER totals_on_delete AFTER DELETE ON conversations BEGIN
        UPDATE totals SET
            unread = unread - (OLD.status = 'open') * OLD.agent_unread,
            waiting = waiting - (OLD.status = 'open' AND OLD.waiting_since IS NOT NULL);
    END;

    -- 1 while a server has the database open. It is written through to the
    -- database file at start, and cleared only by a clean stop, so a file
    -- that says 1 without a -wal file beside it has lost that log.
    CREATE TABLE store_state (
        id     INTEGER PRIMARY KEY CHECK (id = 1),
        in_use INTEGER NOT NULL
    );
    INSERT INTO store_state (id, in_use) VALUES (1, 0);
"#
    ),
    // Who wrote an agent's message. The name is kept with the message, as
    // written: history reads need no join, and a renamed or removed agent
    // does not rewrite what customers were told. Older replies have none.
    r#"
    ALTER TABLE messages ADD COLUMN author_id INTEGER;
    ALTER TABLE messages ADD COLUMN author_name TEXT;
"#,
    // Agent accounts (`accounts` module). Every secret is kept only as its
    // SHA-256 (random 256-bit values) or its argon2id hash (passwords).
    // Times are unix ms. Agent ids start at 1: 0 is the built-in API agent.
    r#"
    CREATE TABLE agents (
        id            INTEGER PRIMARY KEY,
        name          TEXT NOT NULL,
        email         TEXT NOT NULL UNIQUE COLLATE NOCASE,  -- stored lowercased
        role          TEXT NOT NULL CHECK (role IN ('admin', 'agent')),
        password_hash TEXT,                                 -- NULL until an invite is accepted
        created_at    INTEGER NOT NULL,
        last_seen_at  INTEGER,
        disabled      INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE sessions (
        id           INTEGER PRIMARY KEY,
        hash         BLOB NOT NULL UNIQUE,
        agent_id     INTEGER NOT NULL REFERENCES agents (id),
        created_at   INTEGER NOT NULL,
        last_used_at INTEGER NOT NULL,   -- idle expiry counts from here
        expires_at   INTEGER NOT NULL    -- absolute expiry
    );
    CREATE INDEX sessions_by_agent ON sessions (agent_id);
    CREATE TABLE invites (
        hash       BLOB PRIMARY KEY,
        agent_id   INTEGER NOT NULL REFERENCES agents (id),
        expires_at INTEGER NOT NULL,
        used       INTEGER NOT NULL DEFAULT 0
    ) WITHOUT ROWID;
    CREATE TABLE setup_codes (
        hash       BLOB PRIMARY KEY,
        created_at INTEGER NOT NULL,
        used       INTEGER NOT NULL DEFAULT 0
    ) WITHOUT ROWID;
    CREATE TABLE api_tokens (
        id           INTEGER PRIMARY KEY,
        hash         BLOB NOT NULL UNIQUE,
        agent_id     INTEGER NOT NULL REFERENCES agents (id),
        name         TEXT NOT NULL,
        created_at   INTEGER NOT NULL,
        last_used_at INTEGER
    );
    CREATE INDEX api_tokens_by_agent ON api_tokens (agent_id);
"#,
    // A customer's contact details (the widget's pre-chat and offline
    // forms, `identify`, agents' corrections). A table of its own, keyed by
    // client id, because a pre-chat form is filled before the first
    // message creates the conversation's row.
    r#"
    CREATE TABLE contacts (
        client_id  TEXT PRIMARY KEY,
        name       TEXT,
        email      TEXT,
        updated_at INTEGER NOT NULL  -- unix ms
    ) WITHOUT ROWID;
"#,
    // Routing and teamwork (issue 13). Private notes and events are items
    // of the history with their own seq: `private` ones never reach the
    // customer; `event` holds an event's JSON (its `text` is the agents'
    // line); `prev_public` is, for an item the customer sees, the seq of the
    // previous one they see (NULL: seq - 1, as for every older item).
    r#"
    ALTER TABLE messages ADD COLUMN private INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE messages ADD COLUMN event TEXT;
    ALTER TABLE messages ADD COLUMN prev_public INTEGER;
    -- Who has the conversation: an agent, or NULL (the queue). Indexed in
    -- the list's order for the views Mine and Unassigned, with and without
    -- a status filter, and for the counts per assignee.
    ALTER TABLE conversations ADD COLUMN assignee_id INTEGER;
    CREATE INDEX conversations_by_assignee
        ON conversations (assignee_id, list_group, list_key, client_id);
    CREATE INDEX conversations_by_status_assignee
        ON conversations (status, assignee_id, list_group, list_key, client_id);
    -- Open conversations automatic assignment gives an agent at most.
    ALTER TABLE agents ADD COLUMN capacity INTEGER NOT NULL DEFAULT 10;
    -- Saved replies, shared by the team; `/shortcut` in the composer.
    CREATE TABLE saved_replies (
        id         INTEGER PRIMARY KEY,
        shortcut   TEXT NOT NULL UNIQUE COLLATE NOCASE,
        name       TEXT NOT NULL,
        text       TEXT NOT NULL,
        created_at INTEGER NOT NULL
    );
    -- Labels admins define, and the conversations agents put them on.
    CREATE TABLE labels (
        id    INTEGER PRIMARY KEY,
        name  TEXT NOT NULL UNIQUE COLLATE NOCASE,
        color TEXT NOT NULL
    );
    CREATE TABLE conversation_labels (
        client_id TEXT NOT NULL,
        label_id  INTEGER NOT NULL,
        PRIMARY KEY (client_id, label_id)
    ) WITHOUT ROWID;
    CREATE INDEX conversation_labels_by_label ON conversation_labels (label_id, client_id);
    -- Full-text search over what people wrote (not events), filled from
    -- what is already stored. Case-insensitive, any script (unicode61).
    -- A new message is only queued for it (search_pending) by a trigger in
    -- its own transaction; the writer indexes the queue in bulk
    -- (write.rs, `index_pending`): indexing every small commit alone made
    -- storing a message three times as costly.
    CREATE VIRTUAL TABLE messages_fts USING fts5(
        text, client_id UNINDEXED, seq UNINDEXED, private UNINDEXED,
        tokenize = 'unicode61 remove_diacritics 2'
    );
    INSERT INTO messages_fts (text, client_id, seq, private)
        SELECT text, client_id, seq, private FROM messages WHERE event IS NULL;
    CREATE TABLE search_pending (
        client_id TEXT NOT NULL,
        seq       INTEGER NOT NULL,
        PRIMARY KEY (client_id, seq)
    ) WITHOUT ROWID;
    CREATE TRIGGER search_pending_insert AFTER INSERT ON messages
        WHEN NEW.event IS NULL BEGIN
        INSERT INTO search_pending (client_id, seq) VALUES (NEW.client_id, NEW.seq);
    END;
"#,
    // Operations and privacy (issue 19): the audit log, append-only (no
    // UPDATE ever; rows leave only by the audit retention's DELETE of old
    // ones), and the mark of a conversation that retention anonymised.
    r#"
    CREATE TABLE audit_log (
        id       INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: a gap shows a deletion
        at       INTEGER NOT NULL,                   -- unix ms
        agent_id INTEGER,                            -- NULL: not an agent (a failed login, the customer, the server)
        actor    TEXT NOT NULL,                      -- name as it was, or the email tried
        action   TEXT NOT NULL,
        target   TEXT,                               -- what it was done to: agent id, conversation id, token id
        detail   TEXT,
        ip       TEXT
    );
    CREATE INDEX audit_log_by_time ON audit_log (at);
    CREATE TRIGGER audit_log_is_append_only BEFORE UPDATE ON audit_log BEGIN
        SELECT RAISE(ABORT, 'the audit log is append-only');
    END;
    ALTER TABLE conversations ADD COLUMN anonymised_at INTEGER;
    -- An erased or anonymised text leaves the search index at once, not at
    -- the next merge of its segments (FTS5 otherwise only marks it deleted).
    INSERT INTO messages_fts (messages_fts, rank) VALUES ('secure-delete', 1);
"#,
    // Attachments (issue 16): the files themselves as blobs in this file,
    // so a commit, a backup, an erase and secure_delete cover them like
    // the texts; a message keeps its files' metadata as JSON, read with it.
    r#"
    CREATE TABLE attachments (
        id         TEXT PRIMARY KEY,
        client_id  TEXT NOT NULL,
        uploader   INTEGER NOT NULL,   -- role: 0 customer, 1 agent
        name       TEXT NOT NULL,
        mime       TEXT NOT NULL,
        size       INTEGER NOT NULL,
        width      INTEGER,
        height     INTEGER,
        created_at INTEGER NOT NULL,   -- unix ms
        seq        INTEGER,            -- the message that sent it; NULL until one does
        data       BLOB NOT NULL,
        thumbnail  BLOB
    );
    CREATE INDEX attachments_by_conversation ON attachments (client_id, seq);
    CREATE INDEX attachments_unsent ON attachments (created_at) WHERE seq IS NULL;
    ALTER TABLE messages ADD COLUMN attachments TEXT;
"#,
    // Email (issue 15): the durable outbox. A row is queued in the
    // transaction of the write that causes it; the key keeps a notice from
    // being queued twice. The mail sender takes the due ones, records each
    // attempt, and marks them sent, or failed for good.
    r#"
    CREATE TABLE outbox (
        id              INTEGER PRIMARY KEY,
        client_id       TEXT NOT NULL,
        kind            TEXT NOT NULL,
        seq             INTEGER NOT NULL,
        recipient       TEXT NOT NULL,
        created_at      INTEGER NOT NULL,  -- unix ms
        next_attempt_at INTEGER NOT NULL,  -- unix ms
        attempts        INTEGER NOT NULL DEFAULT 0,
        last_error      TEXT,
        sent_at         INTEGER,           -- unix ms; NULL: not yet
        failed_at       INTEGER,           -- unix ms; given up
        UNIQUE (client_id, kind, seq)
    );
    CREATE INDEX outbox_due ON outbox (next_attempt_at)
        WHERE sent_at IS NULL AND failed_at IS NULL;
    -- Agents who want an email when a customer waits too long (their
    -- own conversations, and unassigned ones).
    ALTER TABLE agents ADD COLUMN email_waiting_alerts INTEGER NOT NULL DEFAULT 0;
    -- A customer who unsubscribed (List-Unsubscribe) gets no more email.
    ALTER TABLE contacts ADD COLUMN email_optout INTEGER NOT NULL DEFAULT 0;
    -- Reply addresses (reply+<token>@…) of the emails sent to customers:
    -- random, so short enough for an address's local part, and expiring.
    CREATE TABLE reply_tokens (
        token      TEXT PRIMARY KEY,
        client_id  TEXT NOT NULL,
        expires_at INTEGER NOT NULL  -- unix ms
    ) WITHOUT ROWID;
    CREATE INDEX reply_tokens_by_client ON reply_tokens (client_id);
    -- Keys the server makes for itself once (the reopen links' HMAC key).
    CREATE TABLE server_secrets (
        name  TEXT PRIMARY KEY,
        value BLOB NOT NULL
    ) WITHOUT ROWID;
"#,
    // The customer's language ('en', 'zh'; NULL: unknown, English), which
    // their emails speak, and whether they asked for a transcript when the
    // conversation is resolved.
    r#"
    ALTER TABLE contacts ADD COLUMN lang TEXT;
    ALTER TABLE contacts ADD COLUMN transcript INTEGER NOT NULL DEFAULT 0;
"#,
    // The epoch of the last transaction that committed the writer's journal
    // (`journal.rs`): a journal of that epoch or older is not replayed.
    r#"
    ALTER TABLE store_state ADD COLUMN journal_epoch INTEGER NOT NULL DEFAULT 0;
"#,
];

pub(super) fn classify(path: &Path, source: rusqlite::Error) -> StartupError {
    match source.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) | Some(ErrorCode::DatabaseCorrupt) => StartupError::Corrupt {
            path: path.to_owned(),
            reason: source.to_string(),
        },
        _ => StartupError::Sqlite {
            path: path.to_owned(),
            source,
        },
    }
}

/// The schema version of the file, refusing newer and foreign databases.
pub(super) fn check_schema(conn: &Connection, path: &Path) -> Result<i64, StartupError> {
    let err = |e| classify(path, e);
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(err)?;
    if version > SCHEMA_VERSION {
        return Err(StartupError::TooNew {
            path: path.to_owned(),
            found: version,
        });
    }
    if version == 0 {
        let objects: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
            .map_err(err)?;
        if objects > 0 {
            return Err(StartupError::Corrupt {
                path: path.to_owned(),
                reason: "it holds tables of another application".into(),
            });
        }
    }
    Ok(version)
}

/// Refuses a file whose `-wal` is missing although its data may live there:
/// it was marked in use (a copy taken while running, or after a crash), or
/// it is in WAL mode without even a schema (an older build never moved its
/// data out of the log).
pub(super) fn check_log_present(
    conn: &Connection,
    path: &Path,
    version: i64,
    wal_mode: bool,
) -> Result<(), StartupError> {
    let err = |e| classify(path, e);
    let in_use = match version {
        0 => wal_mode,
        // Schema 1 had no mark; its files are taken as they are.
        1 => false,
        _ => {
            conn.query_row("SELECT in_use FROM store_state", [], |r| r.get::<_, i64>(0))
                .optional()
                .map_err(err)?
                .unwrap_or(0)
                != 0
        }
    };
    if !in_use {
        return Ok(());
    }
    let conversations = if version == 0 {
        0
    } else {
        conn.query_row("SELECT count(*) FROM conversations", [], |r| r.get(0))
            .map_err(err)?
    };
    Err(StartupError::LogMissing {
        path: path.to_owned(),
        conversations,
    })
}

/// Runs the migrations from version `from` to `to`, one transaction each.
pub(super) fn migrate(
    conn: &Connection,
    path: &Path,
    from: i64,
    to: i64,
) -> Result<(), StartupError> {
    let steps = MIGRATIONS.iter().enumerate().take(to as usize);
    for (from, sql) in steps.skip(from as usize) {
        let to = from + 1;
        conn.execute_batch(&format!(
            "BEGIN IMMEDIATE; {sql}; PRAGMA user_version = {to}; COMMIT;"
        ))
        .map_err(|e| classify(path, e))?;
        log::info!("migrated {} to schema version {to}", path.display());
    }
    Ok(())
}

/// Sets the in-use mark and copies the whole log into the database file, so
/// the file alone says whether it is complete.
pub(super) fn mark_in_use(conn: &Connection, in_use: bool) -> rusqlite::Result<()> {
    conn.execute("UPDATE store_state SET in_use = ?1", [i64::from(in_use)])?;
    let busy: i64 = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
    if busy != 0 {
        log::warn!(
            "the log could not be copied into the database file: another process has it open"
        );
    }
    Ok(())
}
