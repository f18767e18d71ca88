//! Connections to PostgreSQL usable from any thread, async or not.
//!
//! The client is `tokio-postgres`: its socket is driven by a task on a
//! small runtime of the backend's own (one thread), and a caller waits for
//! its query with [`block_on`], a plain park-and-wake loop. The sync
//! `postgres` crate would instead `block_on` a tokio runtime in the calling
//! thread, which panics on an actor thread ("Cannot start a runtime from
//! within a runtime") — and `Application::build`, the setup link and the
//! reopen key all query the store from one.

use std::collections::HashMap;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::Duration;

use tokio::sync::oneshot;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Config, NoTls, Row, Statement};

use crate::store::StoreError;

/// How long connecting may take before the store is reported down.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Idle time before TCP keepalive probes start.
const KEEPALIVE_IDLE: Duration = Duration::from_secs(30);

/// Waits on the calling thread for `future`, which must not need a tokio
/// context of its own (the connection tasks run on [`Driver`]).
pub(super) fn block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        thread::park();
    }
}

/// The thread that drives every connection's socket.
pub(super) struct Driver {
    handle: tokio::runtime::Handle,
    stop: Option<oneshot::Sender<()>>,
}

impl Driver {
    pub(super) fn start() -> std::io::Result<Driver> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        thread::Builder::new()
            .name("postgres-io".into())
            .spawn(move || {
                let _ = runtime.block_on(stopped);
            })?;
        Ok(Driver {
            handle,
            stop: Some(stop),
        })
    }

    /// Opens a connection; its socket task runs on the driver thread.
    pub(super) fn connect(&self, config: &Config) -> Result<Conn, StoreError> {
        let mut config = config.clone();
        config.connect_timeout(CONNECT_TIMEOUT);
        // A server that vanished without closing (network, host crash) is
        // noticed within a minute instead of the system's two hours.
        config.keepalives(true);
        config.keepalives_idle(KEEPALIVE_IDLE);
        if config.get_application_name().is_none() {
            config.application_name("support-chat");
        }
        let connecting = self.handle.spawn(async move {
            let (client, connection) = config.connect(NoTls).await?;
            tokio::spawn(async move {
                if let Err(e) = connection.await {
                    log::warn!("PostgreSQL connection ended: {e}");
                }
            });
            // Acknowledged means committed: whatever the server's default.
            client.batch_execute("SET synchronous_commit = on").await?;
            Ok::<_, tokio_postgres::Error>(client)
        });
        let client = block_on(connecting)
            .map_err(|e| StoreError::Backend(format!("PostgreSQL connection task failed: {e}")))?
            .map_err(|e| {
                StoreError::Backend(format!(
                    "cannot connect to PostgreSQL: {}",
                    super::describe(&e)
                ))
            })?;
        Ok(Conn {
            client,
            statements: HashMap::new(),
        })
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// One connection and the statements prepared on it (a query by its text
/// costs a round trip more for the parse each time).
pub(super) struct Conn {
    client: Client,
    statements: HashMap<String, Statement>,
}

pub(super) type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

impl Conn {
    /// Whether the server side went away (restart, network): such a
    /// connection is replaced instead of used again.
    pub(super) fn is_broken(&self) -> bool {
        self.client.is_closed()
    }

    async fn statement(&mut self, sql: &str) -> Result<Statement, tokio_postgres::Error> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client.prepare(sql).await?;
        self.statements.insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }

    pub(super) async fn query(
        &mut self,
        sql: &str,
        params: Params<'_>,
    ) -> Result<Vec<Row>, tokio_postgres::Error> {
        let statement = self.statement(sql).await?;
        self.client.query(&statement, params).await
    }

    pub(super) async fn query_opt(
        &mut self,
        sql: &str,
        params: Params<'_>,
    ) -> Result<Option<Row>, tokio_postgres::Error> {
        let statement = self.statement(sql).await?;
        self.client.query_opt(&statement, params).await
    }

    pub(super) async fn query_one(
        &mut self,
        sql: &str,
        params: Params<'_>,
    ) -> Result<Row, tokio_postgres::Error> {
        let statement = self.statement(sql).await?;
        self.client.query_one(&statement, params).await
    }

    pub(super) async fn execute(
        &mut self,
        sql: &str,
        params: Params<'_>,
    ) -> Result<u64, tokio_postgres::Error> {
        let statement = self.statement(sql).await?;
        self.client.execute(&statement, params).await
    }

    /// Runs statements pipelined: every request is sent before the first
    /// answer is awaited, so they cost one round trip, not one each. The
    /// server runs them in the order sent (the protocol keeps it), which
    /// is the order of `items`; an error aborts the transaction, so the
    /// ones after it fail too. Returns each one's changed rows.
    pub(super) async fn execute_pipelined(
        &mut self,
        items: &[(&str, Params<'_>)],
    ) -> Result<Vec<u64>, tokio_postgres::Error> {
        let mut statements = Vec::with_capacity(items.len());
        for (sql, _) in items {
            statements.push(self.statement(sql).await?);
        }
        let client = &self.client;
        let mut calls: Vec<_> = items
            .iter()
            .zip(&statements)
            .map(|((_, params), statement)| Box::pin(client.execute(statement, params)))
            .collect();
        // A call sends its request when first polled: poll them once each,
        // in order, then wait for the answers.
        let mut cx = Context::from_waker(futures_util::task::noop_waker_ref());
        let mut answers: Vec<Option<Result<u64, tokio_postgres::Error>>> = calls
            .iter_mut()
            .map(|call| match call.as_mut().poll(&mut cx) {
                Poll::Ready(answer) => Some(answer),
                Poll::Pending => None,
            })
            .collect();
        let mut changed = Vec::with_capacity(calls.len());
        for (call, answer) in calls.iter_mut().zip(&mut answers) {
            changed.push(match answer.take() {
                Some(answer) => answer?,
                None => call.await?,
            });
        }
        Ok(changed)
    }

    /// Runs statements without parameters (transaction control, DDL).
    pub(super) async fn batch(&mut self, sql: &str) -> Result<(), tokio_postgres::Error> {
        self.client.batch_execute(sql).await
    }
}
