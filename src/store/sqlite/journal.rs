//! The redo journal, which lets the database commit rarely.
//!
//! A commit writes every page it touched, and a batch of chat messages
//! touches pages of every conversation in it, so committing each batch (one
//! every half millisecond under load) wrote kilobytes per message. Instead
//! the writer keeps its transaction open for up to `SETTLE_AFTER` and, before
//! it acknowledges a batch, appends the batch's messages and read marks to
//! this file (fsynced first with `--durability full`). The commit that ends
//! the transaction then writes each page once for thousands of messages, and
//! the journal starts over.
//!
//! After a crash the journal holds what the open transaction lost: start-up
//! replays it, and so does a backup taken while the server runs. Its header
//! names the transaction (an epoch) and the commit records that epoch in
//! `store_state`, so a journal whose transaction did commit is never applied
//! twice (an erase committed after it would otherwise be undone).
//!
//! Format: the epoch (8 bytes, little-endian), then records of a length and
//! a CRC-32 (4 bytes each, little-endian) and a JSON payload. Reading stops
//! at the first incomplete or damaged record: a write torn by a power loss
//! was never acknowledged.

use std::borrow::Cow;
use std::fs::{File, OpenOptions};
use std::io::{self, Read as _, Seek, SeekFrom, Write as _};
use std::path::{Path, PathBuf};

use chrono::{TimeZone, Utc};
use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::StartupError;
use crate::domain::{Attachment, Author, ChatMessage, ClientId, Event, Role};
use crate::store::{Write, WriteOp};

/// The journal's file name in the data directory.
pub(super) const JOURNAL_FILE: &str = "support-chat.journal";
/// The header: the epoch.
const EPOCH_BYTES: usize = 8;
/// A record's length and CRC-32.
const RECORD_HEAD_BYTES: usize = 8;
/// Longest record read back: larger lengths can only be damage.
const MAX_RECORD_BYTES: usize = 64 * 1024 * 1024;

/// Whether a write may wait in the journal (the frequent ones); any other
/// write commits the transaction before it is acknowledged.
pub(super) fn journaled(op: &WriteOp) -> bool {
    matches!(op, WriteOp::Message(_) | WriteOp::Read { .. })
}

/// One journaled write as the file holds it. Written from borrowed parts
/// (no copy of a message to write it), read back as owned ones.
#[derive(Serialize, Deserialize)]
struct Record<'a> {
    #[serde(rename = "c", borrow)]
    client: &'a str,
    #[serde(flatten)]
    op: RecordOp<'a>,
}

// One lives at a time, on the stack: boxing the large variant would add an
// allocation per message.
#[allow(clippy::large_enum_variant)]
#[derive(Serialize, Deserialize)]
#[serde(tag = "k")]
enum RecordOp<'a> {
    #[serde(rename = "m")]
    // Short names, and nothing for what is absent: every byte is written
    // for every message.
    Message {
        #[serde(rename = "s")]
        seq: u64,
        #[serde(rename = "f")]
        from: Role,
        #[serde(rename = "t")]
        text: Cow<'a, str>,
        /// Unix ms, as the database keeps it.
        ts: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<Cow<'a, str>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        author: Option<Cow<'a, Author>>,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        private: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        event: Option<Cow<'a, Event>>,
        #[serde(default, skip_serializing_if = "<[_]>::is_empty")]
        attachments: Cow<'a, [Attachment]>,
        #[serde(rename = "p")]
        prev_public: u64,
    },
    #[serde(rename = "r")]
    Read {
        #[serde(rename = "f")]
        role: Role,
        #[serde(rename = "s")]
        seq: u64,
    },
}

impl<'a> RecordOp<'a> {
    fn of(op: &'a WriteOp) -> Option<RecordOp<'a>> {
        match op {
            WriteOp::Message(m) => Some(RecordOp::Message {
                seq: m.seq,
                from: m.from,
                text: Cow::Borrowed(&m.text),
                ts: m.ts.timestamp_millis(),
                id: m.id.as_deref().map(Cow::Borrowed),
                author: m.author.as_ref().map(Cow::Borrowed),
                private: m.private,
                event: m.event.as_deref().map(Cow::Borrowed),
                attachments: Cow::Borrowed(&m.attachments),
                prev_public: m.prev_public,
            }),
            WriteOp::Read { role, seq } => Some(RecordOp::Read {
                role: *role,
                seq: *seq,
            }),
            _ => None,
        }
    }

    fn into_op(self) -> Option<WriteOp> {
        Some(match self {
            RecordOp::Message {
                seq,
                from,
                text,
                ts,
                id,
                author,
                private,
                event,
                attachments,
                prev_public,
            } => WriteOp::Message(ChatMessage {
                seq,
                from,
                text: text.into_owned(),
                ts: Utc.timestamp_millis_opt(ts).single()?,
                id: id.map(Cow::into_owned),
                author: author.map(Cow::into_owned),
                private,
                event: event.map(|e| Box::new(e.into_owned())),
                attachments: attachments.into_owned(),
                prev_public,
            }),
            RecordOp::Read { role, seq } => WriteOp::Read { role, seq },
        })
    }
}

/// What a journal file holds: its epoch and its complete records.
#[derive(Debug, Default)]
pub(super) struct Pending {
    pub epoch: u64,
    pub writes: Vec<(ClientId, WriteOp)>,
}

impl Pending {
    /// Reads the journal of `data_dir`; an absent or empty file holds nothing.
    pub(super) fn read(data_dir: &Path) -> io::Result<Pending> {
        Pending::read_file(&data_dir.join(JOURNAL_FILE), u64::MAX)
    }

    /// Reads no further than `length` bytes of the file at `path`.
    fn read_file(path: &Path, length: u64) -> io::Result<Pending> {
        let mut bytes = Vec::new();
        match File::open(path) {
            Ok(file) => file.take(length).read_to_end(&mut bytes)?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Pending::default()),
            Err(e) => return Err(e),
        };
        Ok(Pending::decode(&bytes))
    }

    fn decode(bytes: &[u8]) -> Pending {
        let Some((header, mut rest)) = bytes.split_first_chunk::<EPOCH_BYTES>() else {
            return Pending::default();
        };
        let mut pending = Pending {
            epoch: u64::from_le_bytes(*header),
            writes: Vec::new(),
        };
        while let Some((write, after)) = next_record(rest) {
            pending.writes.push(write);
            rest = after;
        }
        pending
    }

    /// Applies the writes in one transaction on `conn` unless the database
    /// says their epoch committed already; returns how many were applied.
    pub(super) fn replay(&self, conn: &Connection) -> rusqlite::Result<usize> {
        if self.writes.is_empty() || self.epoch <= committed_epoch(conn)? {
            return Ok(0);
        }
        let writes: Vec<Write<'_>> = self
            .writes
            .iter()
            .map(|(client, op)| Write { client, op })
            .collect();
        conn.execute_batch("BEGIN")?;
        let applied = super::write::apply(conn, &writes)
            .and_then(|accepted| {
                record_epoch(conn, self.epoch)?;
                conn.execute_batch("COMMIT")?;
                Ok(accepted.iter().filter(|a| **a).count())
            })
            .inspect_err(|_| {
                let _ = conn.execute_batch("ROLLBACK");
            })?;
        Ok(applied)
    }
}

/// The next record of `bytes` and what follows it, or `None` at the end or
/// at damage.
fn next_record(bytes: &[u8]) -> Option<((ClientId, WriteOp), &[u8])> {
    let (head, rest) = bytes.split_first_chunk::<RECORD_HEAD_BYTES>()?;
    let len = u32::from_le_bytes(head[..4].try_into().ok()?) as usize;
    let crc = u32::from_le_bytes(head[4..].try_into().ok()?);
    if len > MAX_RECORD_BYTES || rest.len() < len {
        return None;
    }
    let (payload, rest) = rest.split_at(len);
    if crc32fast::hash(payload) != crc {
        return None;
    }
    let record: Record<'_> = serde_json::from_slice(payload).ok()?;
    let client = ClientId::parse(record.client).ok()?;
    Some(((client, record.op.into_op()?), rest))
}

/// At start: replays what the journal of `data_dir` holds for a
/// transaction a crash lost, and opens it anew for the next epoch.
pub(super) fn recover(
    conn: &Connection,
    data_dir: &Path,
    sync: bool,
) -> Result<Journal, StartupError> {
    let path = data_dir.join(JOURNAL_FILE);
    let io_err = |source| StartupError::DataDir {
        path: path.clone(),
        source,
    };
    let sqlite_err = |source| StartupError::Sqlite {
        path: path.clone(),
        source,
    };
    let pending = Pending::read(data_dir).map_err(io_err)?;
    let replayed = pending.replay(conn).map_err(sqlite_err)?;
    if replayed > 0 {
        log::info!("replayed {replayed} journaled writes a stop left uncommitted");
    }
    let epoch = committed_epoch(conn).map_err(sqlite_err)?;
    Journal::open(data_dir, epoch.max(pending.epoch) + 1, sync).map_err(io_err)
}

/// The epoch of the last transaction that committed a journal.
pub(super) fn committed_epoch(conn: &Connection) -> rusqlite::Result<u64> {
    let epoch: Option<i64> = conn
        .query_row("SELECT journal_epoch FROM store_state", [], |r| r.get(0))
        .optional()?;
    Ok(epoch.map_or(0, |e| u64::try_from(e).unwrap_or(0)))
}

/// Records, inside the transaction about to commit, that `epoch` committed.
pub(super) fn record_epoch(conn: &Connection, epoch: u64) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE store_state SET journal_epoch = ?1")?
        .execute([i64::try_from(epoch).unwrap_or(i64::MAX)])
        .map(drop)
}

/// The open journal file, written only by the writer thread.
pub(super) struct Journal {
    file: File,
    path: PathBuf,
    epoch: u64,
    /// fsync each append (`--durability full`).
    sync: bool,
    /// Records since the last start-over.
    records: usize,
    /// Bytes of the header and the whole records appended since.
    length: u64,
    /// An append failed part-way: its bytes are cut off before the next
    /// one, or a replay would stop at them and miss every record after.
    torn: bool,
    /// A start-over that failed, to finish before the next append: appending
    /// behind the old epoch's records would hide the new ones from replay.
    unfinished: Option<u64>,
    /// Reused for every append.
    buffer: Vec<u8>,
}

impl Journal {
    /// Opens the journal of `data_dir` and starts it over at `epoch`: what
    /// it held must have been replayed (or committed) before.
    pub(super) fn open(data_dir: &Path, epoch: u64, sync: bool) -> io::Result<Journal> {
        let path = data_dir.join(JOURNAL_FILE);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)?;
        let mut journal = Journal {
            file,
            path,
            epoch,
            sync,
            records: 0,
            length: 0,
            torn: false,
            unfinished: None,
            buffer: Vec::new(),
        };
        journal.start_over(epoch)?;
        if sync {
            // The file's name must survive a power loss as well as its bytes.
            File::open(data_dir)?.sync_all()?;
        }
        Ok(journal)
    }

    /// The epoch of the transaction the journal's records belong to.
    pub(super) fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Whether records wait for the transaction's commit.
    pub(super) fn is_empty(&self) -> bool {
        self.records == 0
    }

    /// What the file holds now (after a failed transaction): the records
    /// appended whole, not what a failed append left.
    pub(super) fn pending(&self) -> io::Result<Pending> {
        Pending::read_file(&self.path, self.length)
    }

    /// Appends the journaled writes that were `accepted` (those refused
    /// changed nothing) in one write, then fsyncs if asked to.
    pub(super) fn append(&mut self, writes: &[Write<'_>], accepted: &[bool]) -> io::Result<()> {
        if let Some(next) = self.unfinished {
            self.start_over(next)?;
        }
        if self.torn {
            self.file.set_len(self.length)?;
            self.file.seek(SeekFrom::Start(self.length))?;
            self.torn = false;
        }
        self.buffer.clear();
        let mut added = 0;
        for (write, _) in writes.iter().zip(accepted).filter(|(_, ok)| **ok) {
            let Some(op) = RecordOp::of(write.op) else {
                continue;
            };
            let record = Record {
                client: write.client.as_str(),
                op,
            };
            let start = self.buffer.len();
            self.buffer.extend_from_slice(&[0; RECORD_HEAD_BYTES]);
            serde_json::to_writer(&mut self.buffer, &record).map_err(io::Error::other)?;
            let payload = &self.buffer[start + RECORD_HEAD_BYTES..];
            let len = u32::try_from(payload.len()).map_err(io::Error::other)?;
            let crc = crc32fast::hash(payload);
            self.buffer[start..start + 4].copy_from_slice(&len.to_le_bytes());
            self.buffer[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
            added += 1;
        }
        if added == 0 {
            return Ok(());
        }
        self.torn = true;
        self.file.write_all(&self.buffer)?;
        if self.sync {
            self.file.sync_data()?;
        }
        self.torn = false;
        self.records += added;
        self.length += self.buffer.len() as u64;
        Ok(())
    }

    /// After the commit that recorded the current epoch: empties the file
    /// (the erased texts it held go with it) and begins `next`. The records
    /// are committed even if this fails, so none is left to replay.
    pub(super) fn start_over(&mut self, next: u64) -> io::Result<()> {
        self.unfinished = Some(next);
        self.records = 0;
        self.file.set_len(0)?;
        self.file.seek(SeekFrom::Start(0))?;
        self.file.write_all(&next.to_le_bytes())?;
        if self.sync {
            self.file.sync_data()?;
        }
        self.length = EPOCH_BYTES as u64;
        self.torn = false;
        self.epoch = next;
        self.unfinished = None;
        Ok(())
    }

    /// Removes the file at a clean stop, after the last commit.
    pub(super) fn remove(self) -> io::Result<()> {
        std::fs::remove_file(&self.path)
    }
}

#[cfg(test)]
mod failure_tests;
#[cfg(test)]
mod tests;
