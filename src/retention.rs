//! Retention (`--retention 365d`, off by default): every
//! `--retention-interval` the conversations whose last activity is older
//! are deleted with their messages (`--retention-mode delete`) or
//! anonymised (`anonymise`: texts replaced, numbering, times and counts
//! kept). In small batches with a pause between them, through the
//! Registry (which leaves alone any conversation someone is connected to)
//! and the store's writer, so live traffic never waits long. Each one is
//! recorded in the audit log. Audit entries older than `--audit-retention`
//! are deleted by the same sweep.

use std::time::Duration;

use actix::prelude::*;
use futures_util::future::join_all;

use crate::conversation::{Registry, Remove, Removed};
use crate::domain::{now_millis, ClientId};
use crate::store::{conversation_target, AuditAction, AuditEvent, Store, Who, WriteOp};

/// Conversations removed at once (one group commit).
const BATCH: usize = 50;
/// Pause between batches, so live writes get the writer in between.
const BATCH_PAUSE: Duration = Duration::from_millis(50);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum RetentionMode {
    #[default]
    Delete,
    Anonymise,
}

#[derive(Debug, Clone, Copy)]
pub struct RetentionPolicy {
    /// `None`: conversations are kept forever.
    pub conversations: Option<Duration>,
    pub mode: RetentionMode,
    /// `None`: audit entries are kept forever.
    pub audit: Option<Duration>,
    pub interval: Duration,
}

pub struct Retention {
    store: Store,
    registry: Addr<Registry>,
    policy: RetentionPolicy,
}

impl Retention {
    pub fn new(store: Store, registry: Addr<Registry>, policy: RetentionPolicy) -> Retention {
        Retention {
            store,
            registry,
            policy,
        }
    }
}

impl Actor for Retention {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.run_interval(self.policy.interval, |act, ctx| {
            let (store, registry, policy) = (act.store.clone(), act.registry.clone(), act.policy);
            // `wait`: a sweep never overlaps the next one.
            ctx.wait(sweep(store, registry, policy).into_actor(act));
        });
    }
}

async fn sweep(store: Store, registry: Addr<Registry>, policy: RetentionPolicy) {
    if let Some(keep) = policy.conversations {
        let removed = expire_conversations(&store, &registry, keep, policy.mode).await;
        if removed > 0 {
            log::info!("retention: {removed} conversations past {keep:?} removed");
        }
    }
    if let Some(keep) = policy.audit {
        match store.expire_audit(cutoff(keep)).await {
            Ok(0) => {}
            Ok(n) => log::info!("retention: {n} audit entries past {keep:?} deleted"),
            Err(e) => log::error!("retention of the audit log failed: {e}"),
        }
    }
}

fn cutoff(keep: Duration) -> i64 {
    let keep = i64::try_from(keep.as_millis()).unwrap_or(i64::MAX);
    now_millis().timestamp_millis().saturating_sub(keep)
}

/// Removes every expired conversation nobody is connected to; returns how
/// many.
async fn expire_conversations(
    store: &Store,
    registry: &Addr<Registry>,
    keep: Duration,
    mode: RetentionMode,
) -> usize {
    let (op, action) = match mode {
        RetentionMode::Delete => (WriteOp::Erase, AuditAction::RetentionDelete),
        RetentionMode::Anonymise => (WriteOp::Anonymise, AuditAction::RetentionAnonymise),
    };
    let detail = format!("no activity for {}", humantime::format_duration(keep));
    let mut total = 0;
    loop {
        let batch = match store
            .expired(cutoff(keep), mode == RetentionMode::Anonymise, BATCH)
            .await
        {
            Ok(batch) => batch,
            Err(e) => {
                log::error!("retention: cannot list expired conversations: {e}");
                return total;
            }
        };
        let removals = batch
            .iter()
            .map(|client| remove(registry, client, op.clone()));
        let removed: Vec<&ClientId> = batch
            .iter()
            .zip(join_all(removals).await)
            .filter_map(|(client, done)| done.then_some(client))
            .collect();
        for client in &removed {
            let event = AuditEvent::new(Who::named("server", None), action)
                .target(conversation_target(client))
                .detail(detail.clone());
            store.audit(event).await;
        }
        total += removed.len();
        // Only conversations in use are left in a batch that made no progress.
        if removed.is_empty() || batch.len() < BATCH {
            return total;
        }
        tokio::time::sleep(BATCH_PAUSE).await;
    }
}

async fn remove(registry: &Addr<Registry>, client: &ClientId, op: WriteOp) -> bool {
    let removal = Remove {
        client: client.clone(),
        op,
        if_idle: true,
    };
    match registry.send(removal).await {
        Ok(Ok(Removed::Done)) => true,
        Ok(Ok(Removed::InUse)) => false,
        Ok(Err(e)) => {
            log::warn!("retention: {client} not removed: {e}");
            false
        }
        Err(_) => false,
    }
}

/// Deletes uploads that no message sent within `expiry`, checking a few
/// times per `expiry` (at least every five minutes).
pub struct UnsentFiles {
    pub store: Store,
    pub expiry: Duration,
}

impl Actor for UnsentFiles {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let every = (self.expiry / 4).clamp(Duration::from_millis(200), Duration::from_secs(300));
        ctx.run_interval(every, |act, ctx| {
            let (store, expiry) = (act.store.clone(), act.expiry);
            ctx.wait(
                async move {
                    match store.sweep_unsent(cutoff(expiry)).await {
                        Ok(0) => {}
                        Ok(n) => log::info!("{n} unsent uploads older than {expiry:?} deleted"),
                        Err(e) => log::error!("deleting unsent uploads failed: {e}"),
                    }
                }
                .into_actor(act),
            );
        });
    }
}
