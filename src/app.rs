//! `Application`: builds the whole server from a [`Config`] (store, writer
//! thread, Registry, HTTP server), and runs it until a signal or a
//! [`ShutdownHandle`] asks it to stop, then shuts down in order: refuse new
//! work, close sockets with 1001, flush the writer, return.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use actix::{Actor, Addr, AsyncContext, Context};
use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use tokio::sync::watch;

use crate::accounts::{Accounts, SessionPolicy};
use crate::auth::{AgentToken, IdentitySecret};
use crate::cluster::Cluster;
use crate::config::Config;
use crate::conversation::{Registry, SessionSettings, ShutdownAll};
use crate::inbound::{self, Inbound, INBOUND_BURST, INBOUND_RATE};
use crate::inbox::{CloseAll, Inbox};
use crate::limits::{IpLimits, KeyedBuckets};
use crate::mail::{MailConfigError, MailFlags, MailSender, MailSettings, ReopenKey};
use crate::retention::{Retention, RetentionPolicy, UnsentFiles};
use crate::routing::{Router, RouterSettings};
use crate::store::{
    Backend, DataDirLock, PgOpenError, PostgresBackend, SqliteBackend, StartupError, Store,
    StoreError, Writer,
};
use crate::transport::{Heartbeat, MessageRates, SocketLimits};
use crate::web::{
    admit, metrics_server, observe_requests, routes, security_headers, Admission, AppState,
    FileLimits, Security,
};

/// How long open connections get to close during a graceful shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// How long a connection may linger once its response (or socket) is done:
/// not at all. actix's default of 1 s, on a 500 ms cached clock, made every
/// client-initiated WebSocket close take 0.5 to 1 s; and a short linger is
/// worse, because actix arms its timer from that cached clock, a deadline
/// already past when armed never fires, and the connection then stays open
/// until the client acts (every refused slow request would keep its file
/// descriptor). Zero closes at once.
const CLIENT_DISCONNECT_TIMEOUT: Duration = Duration::ZERO;

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Store(#[from] StartupError),
    #[error(transparent)]
    Postgres(#[from] PgOpenError),
    #[error("--require-identity needs --identity-secret (SUPPORT_CHAT_IDENTITY_SECRET): without it no customer can be verified")]
    IdentityRequired,
    #[error("cannot issue the setup link: {0}")]
    Setup(StoreError),
    #[error(transparent)]
    Mail(#[from] MailConfigError),
    #[error("cannot read or make the key of reopen links: {0}")]
    ReopenKey(StoreError),
    #[error("--nats-url joins several nodes on one PostgreSQL database: give it with --database-url (SUPPORT_CHAT_DATABASE_URL)")]
    ClusterWithoutDatabase,
    #[error("--smtp-inbound-bind needs email on (--smtp-url and --mail-from): replies answer our emails")]
    InboundWithoutMail,
    #[error("cannot start the mail sender: {0}")]
    MailSender(std::io::Error),
    #[error("cannot listen on {addr}: {source}; choose another --bind")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
}

pub struct Application {
    server: Server,
    addr: SocketAddr,
    /// The `--metrics-bind` listener, if any.
    metrics: Option<(Server, SocketAddr)>,
    registry: Addr<Registry>,
    inbox: Addr<Inbox>,
    store: Store,
    writer: Writer,
    /// The outbox's sender, when email is on.
    mail: Option<MailSender>,
    shutdown: watch::Sender<bool>,
    setup_url: Option<String>,
    _lock: Option<DataDirLock>,
}

/// Asks a running [`Application`] to shut down gracefully.
#[derive(Clone)]
pub struct ShutdownHandle(watch::Sender<bool>);

impl ShutdownHandle {
    pub fn shutdown(&self) {
        let _ = self.0.send(true);
    }
}

impl Application {
    /// Opens the database (PostgreSQL at `config.database_url`, else SQLite
    /// in `config.data_dir`) and binds `config.bind`. Must be called inside
    /// an actix System.
    pub fn build(config: &Config) -> Result<Application, BuildError> {
        if config.require_identity && config.identity_secret.is_none() {
            return Err(BuildError::IdentityRequired);
        }
        if let Some(url) = &config.database_url {
            let backend = PostgresBackend::open(url)?;
            log::info!("conversations are stored in PostgreSQL");
            return Self::build_with_backend(config, Arc::new(backend), None);
        }
        if config.nats_url.is_some() {
            // Nodes must share one store; a SQLite file belongs to one.
            return Err(BuildError::ClusterWithoutDatabase);
        }
        let (backend, lock) = SqliteBackend::open(&config.data_dir, config.durability)?;
        log::info!("conversations are stored in {}", config.data_dir.display());
        Self::build_with_backend(config, Arc::new(backend), Some(lock))
    }

    /// Like [`Application::build`] on any store backend (tests use this to
    /// inject failures).
    pub fn build_with_backend(
        config: &Config,
        backend: Arc<dyn Backend>,
        lock: Option<DataDirLock>,
    ) -> Result<Application, BuildError> {
        let mut mail_settings = MailSettings::from_flags(MailFlags {
            smtp_url: config.smtp_url.as_deref(),
            from: config.mail_from.as_deref(),
            retry_after: config.mail_retry_after,
            max_attempts: config.mail_max_attempts,
            unseen_after: config.notify_unseen_after,
            waiting_after: config.notify_waiting_after,
            public_url: config.public_url.clone().unwrap_or_default(),
            link_ttl: config.reopen_link_ttl,
            replies: config.smtp_inbound_bind.is_some(),
        })?;
        let (store, writer) = Store::start(backend);
        let limits = SocketLimits {
            max_text_chars: config.max_text_chars as usize,
            max_frame_bytes: config.max_frame_bytes as usize,
            rate_limit: config.rate_limit.max(0.0),
            rate_burst: config.rate_burst,
            heartbeat: Heartbeat {
                interval: config.heartbeat_interval,
                timeout: config.client_timeout,
            },
        };
        let settings = SessionSettings {
            idle_timeout: config.idle_timeout,
            max_text_chars: limits.max_text_chars,
            transcripts: mail_settings.is_some(),
        };
        // The Registry and the Router tell each other things: their
        // addresses exist before they start, so each gets the other's.
        let registry_context = Context::<Registry>::new();
        let router_context = Context::<Router>::new();
        let router_addr = router_context.address();
        let inbox = Inbox::new(store.clone()).start();
        let mut roster = None;
        let mut registry = Registry::new(store.clone(), settings)
            .with_inbox(inbox.clone().recipient())
            .with_router(
                router_addr.clone().recipient(),
                router_addr.clone().recipient(),
            );
        match &config.nats_url {
            Some(url) => {
                let cluster = Cluster::new(
                    url.clone(),
                    registry_context.address().recipient(),
                    inbox.clone().recipient(),
                    router_addr.clone().recipient(),
                    router_addr.clone().recipient(),
                )
                .start();
                roster = Some(cluster.clone().recipient());
                // Commits reach the inbox through the cluster, which also
                // tells the other nodes' inboxes.
                store.watch(cluster.clone().recipient());
                registry = registry.with_cluster(cluster.recipient());
            }
            None => store.watch(inbox.clone().recipient()),
        }
        let registry = registry_context.run(registry);
        let mut router = Router::new(
            store.clone(),
            registry.clone(),
            inbox.clone(),
            RouterSettings {
                strategy: config.auto_assign,
                away_after: config.away_after,
                offline_grace: config.offline_grace,
            },
        );
        if let Some(roster) = roster {
            router = router.with_cluster(roster);
        }
        let router = router_context.run(router);
        let bind_err = |source| BuildError::Bind {
            addr: config.bind.clone(),
            source,
        };
        if config.retention.is_some() || config.audit_retention.0.is_some() {
            let policy = RetentionPolicy {
                conversations: config.retention,
                mode: config.retention_mode,
                audit: config.audit_retention.0,
                interval: config.retention_interval,
            };
            Retention::new(store.clone(), registry.clone(), policy).start();
        }
        UnsentFiles {
            store: store.clone(),
            expiry: config.unsent_file_expiry,
        }
        .start();
        let listener = TcpListener::bind(&config.bind).map_err(bind_err)?;
        let addr = listener.local_addr().map_err(bind_err)?;
        if let Some(settings) = mail_settings.as_mut().filter(|s| s.public_url.is_empty()) {
            settings.public_url = format!("http://{addr}");
        }
        let reopen = match &mail_settings {
            Some(_) => Some(Arc::new(
                ReopenKey::load_or_create(&store).map_err(BuildError::ReopenKey)?,
            )),
            None => None,
        };
        let accounts = Accounts::new(
            store.clone(),
            SessionPolicy {
                idle: config.session_idle,
                absolute: config.session_max_age,
            },
        );
        let setup_url = accounts
            .issue_setup_code()
            .map_err(BuildError::Setup)?
            .map(|code| format!("http://{addr}/setup?code={}", code.reveal()));
        let security = Arc::new(Security {
            agent_token: config.agent_token.clone().map(AgentToken::new),
            accounts,
            identity: config.identity_secret.clone().map(IdentitySecret::new),
            allowed_origins: config.allowed_origins.clone(),
            trust_proxy: config.trust_proxy,
            ip_limits: Arc::new(IpLimits::new(
                config.max_connections_per_ip,
                config.new_conversations_per_ip,
            )),
            api_rate: KeyedBuckets::new(limits.rate_limit, limits.rate_burst),
        });
        let admission = Arc::new(Admission::new(
            config.max_requests_per_ip,
            config.request_timeout,
            config.max_connections,
            config.client_timeout,
        ));
        let state = AppState {
            registry: registry.clone(),
            inbox: inbox.clone(),
            router,
            store: store.clone(),
            limits,
            rates: Arc::new(MessageRates::new(limits.rate_limit, limits.rate_burst)),
            security,
            admission: Arc::clone(&admission),
            read_probe: Arc::default(),
            widget: Arc::new(config.widget_settings()),
            files: Arc::new(FileLimits {
                max_file_bytes: config.max_file_bytes,
                quota_bytes: config.file_quota_bytes,
                max_image_pixels: config.max_image_pixels,
                rate: KeyedBuckets::new(config.upload_rate, config.upload_burst),
            }),
            reopen: reopen.clone(),
        };
        let workers = config.workers.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        });
        let counted = Arc::clone(&admission);
        let mut server = HttpServer::new(move || {
            App::new()
                .wrap(from_fn(admit))
                .wrap(security_headers(&state.security))
                .wrap(from_fn(observe_requests))
                .app_data(web::Data::new(state.clone()))
                .configure(routes)
        })
        .disable_signals()
        .on_connect(move |io, extensions| counted.on_connect(io, extensions))
        .client_request_timeout(config.request_timeout)
        .client_disconnect_timeout(CLIENT_DISCONNECT_TIMEOUT)
        .shutdown_timeout(SHUTDOWN_GRACE.as_secs())
        .workers(workers);
        if let Some(cap) = admission.per_worker_cap(workers) {
            server = server.max_connections(cap);
        }
        let server = server.listen(listener).map_err(bind_err)?.run();
        let metrics = match &config.metrics_bind {
            None => None,
            Some(bind) => {
                let bind_err = |source| BuildError::Bind {
                    addr: bind.clone(),
                    source,
                };
                let listener = TcpListener::bind(bind).map_err(bind_err)?;
                let addr = listener.local_addr().map_err(bind_err)?;
                let server =
                    metrics_server(listener, Arc::clone(store.metrics())).map_err(bind_err)?;
                Some((server, addr))
            }
        };
        if let Some(bind) = &config.smtp_inbound_bind {
            if reopen.is_none() {
                return Err(BuildError::InboundWithoutMail);
            }
            let bind_err = |source| BuildError::Bind {
                addr: bind.clone(),
                source,
            };
            let listener = TcpListener::bind(bind).map_err(bind_err)?;
            let inbound_addr = listener.local_addr().map_err(bind_err)?;
            inbound::start(
                listener,
                Inbound {
                    registry: registry.clone(),
                    store: store.clone(),
                    max_bytes: config.smtp_inbound_max_bytes as usize,
                    max_text_chars: config.max_text_chars as usize,
                    rate: Arc::new(KeyedBuckets::new(INBOUND_RATE, INBOUND_BURST)),
                },
            )
            .map_err(bind_err)?;
            log::info!("support-chat inbound smtp on {inbound_addr}");
        }
        let mail = match (mail_settings, reopen) {
            (Some(settings), Some(key)) => {
                log::info!("email is on: the outbox is sent through --smtp-url");
                Some(
                    MailSender::start(
                        store.clone(),
                        settings,
                        key,
                        config.identity_secret.clone().map(IdentitySecret::new),
                    )
                    .map_err(BuildError::MailSender)?,
                )
            }
            _ => {
                log::info!("email is off (no --smtp-url)");
                None
            }
        };
        let (shutdown, _) = watch::channel(false);
        Ok(Application {
            server,
            addr,
            metrics,
            registry,
            inbox,
            store,
            writer,
            mail,
            shutdown,
            setup_url,
            _lock: lock,
        })
    }

    /// The first start's setup link (`/setup?code=…`), while no agent
    /// account exists (the binary logs it).
    pub fn setup_url(&self) -> Option<&str> {
        self.setup_url.as_deref()
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where `--metrics-bind` listens, if set.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(|(_, addr)| *addr)
    }

    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle(self.shutdown.clone())
    }

    /// Serves until SIGINT, SIGTERM or the shutdown handle, then shuts down
    /// gracefully. Returns once every acknowledged message is on disk.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let Application {
            server,
            metrics,
            registry,
            inbox,
            store,
            writer,
            mail,
            shutdown,
            _lock,
            ..
        } = self;
        // Serves on its own until the end; stopped with the main server.
        let metrics = metrics.map(|(server, _)| {
            let handle = server.handle();
            actix_web::rt::spawn(server);
            handle
        });
        let handle = server.handle();
        let mut server = actix_web::rt::spawn(server);
        let mut requested = shutdown.subscribe();
        tokio::select! {
            result = &mut server => {
                if let Some(metrics) = metrics {
                    metrics.stop(true).await;
                }
                stop_mail(mail);
                writer.shutdown(&store);
                return result.map_err(std::io::Error::other)?;
            }
            _ = signal() => log::info!("signal received, shutting down"),
            _ = requested.wait_for(|stop| *stop) => log::info!("shutdown requested"),
        }
        let _ = registry.send(ShutdownAll).await;
        let _ = inbox.send(CloseAll).await;
        handle.stop(true).await;
        let _ = server.await;
        if let Some(metrics) = metrics {
            metrics.stop(true).await;
        }
        stop_mail(mail);
        writer.shutdown(&store);
        log::info!("stopped; every acknowledged message is stored");
        Ok(())
    }
}

/// Stops the mail sender (off the async threads: it may be in the middle
/// of an SMTP exchange) before the writer, whose connection it uses.
fn stop_mail(mail: Option<MailSender>) {
    if let Some(mail) = mail {
        mail.shutdown();
    }
}

async fn signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            },
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
