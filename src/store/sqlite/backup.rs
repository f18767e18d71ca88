//! `support-chat backup` and `support-chat restore`: a consistent copy of the
//! database through SQLite's online backup API, taken from a separate
//! process while the server keeps writing, and putting such a copy back.
//!
//! A backup is one read transaction on the live file (WAL mode: the server's
//! writer never waits for it), copied whole into `FILE.partial`, made
//! self-contained (rollback journal instead of WAL, in-use mark cleared),
//! checked, and only then renamed over `FILE`: a failed backup leaves the
//! previous one untouched. What the server has acknowledged but not yet
//! committed is in its journal, read before the copy and replayed into it.
//!
//! A restore takes the data directory's lock (so it refuses while a server
//! runs there), checks the copy (a support-chat database, not newer than
//! this build, intact, not a live file copied without its log), moves a
//! database already there aside (only with `--force`; never deleted), and
//! copies the backup in the same way. Older schemas are migrated on the
//! next start, as for any file.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};

use super::journal::{Pending, JOURNAL_FILE};
use super::schema::{check_log_present, check_schema};
use super::{in_wal_mode, lock_data_dir, StartupError, DB_FILE, WAL_FILE};

/// How long a copy waits for a moment the source is not locked.
const BUSY_PATIENCE: Duration = Duration::from_secs(30);
const BUSY_PAUSE: Duration = Duration::from_millis(50);

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("there is no database at {0}; is --data-dir right?")]
    NoDatabase(PathBuf),
    #[error("{0}")]
    Refused(#[from] StartupError),
    #[error("{path} is not a usable support-chat backup: {reason}")]
    BadBackup { path: PathBuf, reason: String },
    #[error("{path} already holds a database; restore refuses to replace it without --force (which moves it aside, never deletes it)")]
    WouldReplace { path: PathBuf },
    #[error("--to {0} is the live database itself; choose another file")]
    SameFile(PathBuf),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Sqlite {
        path: PathBuf,
        source: rusqlite::Error,
    },
}

/// What a backup or restore copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    pub schema_version: i64,
    pub conversations: u64,
    pub messages: u64,
    /// Where restore put the database it replaced, if any.
    pub moved_aside: Option<PathBuf>,
}

/// Copies the database of `data_dir` (the server may be running) to `to`.
pub fn backup(data_dir: &Path, to: &Path) -> Result<Copied, BackupError> {
    let source_path = data_dir.join(DB_FILE);
    if !source_path.exists() {
        return Err(BackupError::NoDatabase(source_path));
    }
    if same_file(&source_path, to) {
        return Err(BackupError::SameFile(to.to_owned()));
    }
    // A running server always has its log. Without one, nothing writes the
    // file: it is read as immutable, which creates no -wal or -shm beside it
    // (an empty -wal would hide a log lost by copying, see
    // `check_log_present`), and a file that lost its log is refused.
    let log_present = data_dir.join(WAL_FILE).exists();
    // Read before the copy: records the server commits meanwhile are then
    // in the copy, which says so by its journal epoch.
    let journal = Pending::read(data_dir).map_err(io(&source_path))?;
    let source = if log_present {
        // Read-only: this connection never checkpoints or removes the log.
        open(&source_path, OpenFlags::SQLITE_OPEN_READ_ONLY)?
    } else {
        open_immutable(&source_path)?
    };
    let version = check_schema(&source, &source_path)?;
    if !log_present {
        check_log_present(&source, &source_path, version, in_wal_mode(&source_path))?;
    }
    copy_checked(&source, &source_path, to, Some(&journal), None)
}

/// Puts the backup `from` in place as the database of `data_dir`.
pub fn restore(from: &Path, data_dir: &Path, force: bool) -> Result<Copied, BackupError> {
    let _lock = lock_data_dir(data_dir)?;
    if !from.is_file() {
        return Err(BackupError::NoDatabase(from.to_owned()));
    }
    let source = open(from, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let bad = |reason: String| BackupError::BadBackup {
        path: from.to_owned(),
        reason,
    };
    let version = check_schema(&source, from)?;
    if version == 0 {
        return Err(bad("it is empty".into()));
    }
    // A live file copied by hand holds only part of the data (the rest was
    // in its log); a backup made by `support-chat backup` is never marked.
    check_log_present(&source, from, version, false).map_err(|e| bad(e.to_string()))?;
    let target = data_dir.join(DB_FILE);
    // A journal left beside the old database belongs to it, never to the
    // backup: replayed into it, it would bring back what the backup lacks.
    let journal = data_dir.join(JOURNAL_FILE);
    if journal.exists() && !target.exists() {
        std::fs::remove_file(&journal).map_err(io(&journal))?;
    }
    let moved_aside = if target.exists() {
        if !force {
            return Err(BackupError::WouldReplace { path: target });
        }
        Some(move_aside(data_dir)?)
    } else {
        None
    };
    copy_checked(&source, from, &target, None, moved_aside)
}

fn open(path: &Path, flags: OpenFlags) -> Result<Connection, BackupError> {
    let conn = Connection::open_with_flags(path, flags | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(sqlite(path))?;
    conn.busy_timeout(BUSY_PATIENCE).map_err(sqlite(path))?;
    Ok(conn)
}

/// Opens a file nothing else writes without creating anything beside it.
fn open_immutable(path: &Path) -> Result<Connection, BackupError> {
    let escaped = path
        .display()
        .to_string()
        .replace('%', "%25")
        .replace('?', "%3f")
        .replace('#', "%23");
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI;
    open(Path::new(&format!("file:{escaped}?immutable=1")), flags)
}

fn sqlite(path: &Path) -> impl Fn(rusqlite::Error) -> BackupError + '_ {
    move |source| BackupError::Sqlite {
        path: path.to_owned(),
        source,
    }
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io {
        path: path.to_owned(),
        source,
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Copies `source` into `to` through `to.partial`, with what `journal`
/// holds for it, checks the copy and renames it into place.
fn copy_checked(
    source: &Connection,
    source_path: &Path,
    to: &Path,
    journal: Option<&Pending>,
    moved_aside: Option<PathBuf>,
) -> Result<Copied, BackupError> {
    let mut partial = to.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    if partial.exists() {
        std::fs::remove_file(&partial).map_err(io(&partial))?;
    }
    let copied = copy_into(source, source_path, &partial, journal);
    let copied = match copied {
        Ok(copied) => copied,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    File::open(&partial)
        .and_then(|f| f.sync_all())
        .map_err(io(&partial))?;
    std::fs::rename(&partial, to).map_err(io(to))?;
    if let Some(dir) = to.parent().filter(|d| !d.as_os_str().is_empty()) {
        // The rename itself must survive a crash too.
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io(dir))?;
    }
    Ok(Copied {
        moved_aside,
        ..copied
    })
}

fn copy_into(
    source: &Connection,
    source_path: &Path,
    to: &Path,
    journal: Option<&Pending>,
) -> Result<Copied, BackupError> {
    let mut copy = Connection::open(to).map_err(sqlite(to))?;
    {
        let backup = Backup::new(source, &mut copy).map_err(sqlite(to))?;
        let give_up = std::time::Instant::now() + BUSY_PATIENCE;
        // All pages in one step: one read transaction, so one consistent
        // moment of the source however long the copy takes.
        loop {
            match backup.step(-1).map_err(sqlite(source_path))? {
                StepResult::Done => break,
                StepResult::Busy | StepResult::Locked if std::time::Instant::now() < give_up => {
                    std::thread::sleep(BUSY_PAUSE);
                }
                other => {
                    return Err(BackupError::BadBackup {
                        path: source_path.to_owned(),
                        reason: format!("the copy did not finish ({other:?})"),
                    })
                }
            }
        }
    }
    let version = check_schema(&copy, to)?;
    if let Some(journal) = journal {
        journal.replay(&copy).map_err(sqlite(to))?;
    }
    if version >= 2 {
        // The source was marked in use by its running server; the copy is
        // complete on its own.
        copy.execute("UPDATE store_state SET in_use = 0", [])
            .map_err(sqlite(to))?;
    }
    let mode: String = copy
        .query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0))
        .map_err(sqlite(to))?;
    let check: String = copy
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(sqlite(to))?;
    let bad = |reason: String| BackupError::BadBackup {
        path: source_path.to_owned(),
        reason,
    };
    if check != "ok" {
        return Err(bad(format!("integrity check: {check}")));
    }
    if !mode.eq_ignore_ascii_case("delete") {
        return Err(bad(format!("unexpected copy (journal {mode})")));
    }
    let count = |sql: &str| -> Result<u64, BackupError> {
        copy.query_row(sql, [], |r| r.get(0)).map_err(sqlite(to))
    };
    let copied = Copied {
        schema_version: version,
        conversations: count("SELECT count(*) FROM conversations")?,
        messages: count("SELECT count(*) FROM messages")?,
        moved_aside: None,
    };
    copy.close().map_err(|(_, e)| sqlite(to)(e))?;
    Ok(copied)
}

/// Renames the database of `data_dir` (with its log and journal) to
/// `support-chat.db.replaced-<time>`, and returns that path.
fn move_aside(data_dir: &Path) -> Result<PathBuf, BackupError> {
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
    let aside = data_dir.join(format!("{DB_FILE}.replaced-{stamp}"));
    let db = data_dir.join(DB_FILE);
    std::fs::rename(&db, &aside).map_err(io(&db))?;
    for (from, suffix) in [
        (format!("{DB_FILE}-wal"), "-wal"),
        (format!("{DB_FILE}-shm"), "-shm"),
        (JOURNAL_FILE.to_owned(), ".journal"),
    ] {
        let from = data_dir.join(from);
        if from.exists() {
            let mut to = aside.as_os_str().to_owned();
            to.push(suffix);
            std::fs::rename(&from, PathBuf::from(to)).map_err(io(&from))?;
        }
    }
    Ok(aside)
}
