//! Who is served at all, decided before any handler runs: a cap on open
//! connections for the whole server (503 over it), a cap on HTTP requests in
//! progress per client IP (429), and a deadline on reading a request body
//! (408). Without them, clients that send a `Content-Length` and then
//! nothing held a connection and its buffers each for as long as they liked,
//! until the server ran out of file descriptors and nobody else got in.
//! And a deadline on data a client leaves unread (`TCP_USER_TIMEOUT`): a
//! client that floods and never reads is dropped after the client timeout;
//! and no Nagle delay on what the server sends (`TCP_NODELAY`).

use std::any::Any;
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Extensions, Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::{header, ConnectionType};
use actix_web::middleware::Next;
use actix_web::rt::net::TcpStream;
use actix_web::web::{self, Bytes};
use actix_web::{Error, ResponseError};
use futures_util::Stream;
use socket2::SockRef;

use super::AppState;
use crate::error::AppError;
use crate::limits::IpLimits;
use crate::metrics::Refusal;

/// Connections accepted beyond `--max-connections`, per worker, only to be
/// answered 503 and closed; past these, new connections wait in the kernel's
/// listen backlog instead of taking file descriptors.
const BUSY_HEADROOM_PER_WORKER: usize = 64;

/// The server-wide connection limits and the body deadline.
#[derive(Debug)]
pub struct Admission {
    requests_per_ip: Arc<IpLimits>,
    body_timeout: Duration,
    max_connections: usize,
    open: Arc<AtomicUsize>,
    /// How long the kernel may hold data for a client that does not take it.
    unread_timeout: Duration,
}

/// Kept in each connection's extensions while it is open.
struct OpenConnection {
    open: Arc<AtomicUsize>,
    /// Accepted over the cap: every request on it is answered 503.
    over_cap: bool,
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.open.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Admission {
    /// `0` turns a cap off. `unread_timeout` is the clients' silence
    /// timeout (`--client-timeout`).
    pub fn new(
        max_requests_per_ip: usize,
        body_timeout: Duration,
        max_connections: usize,
        unread_timeout: Duration,
    ) -> Self {
        Admission {
            requests_per_ip: Arc::new(IpLimits::new(max_requests_per_ip, 0)),
            body_timeout,
            max_connections,
            open: Arc::default(),
            unread_timeout,
        }
    }

    /// For `HttpServer::on_connect`: counts the new connection, and has the
    /// kernel drop it once data for the client has waited unread (its
    /// window closed) for the silence timeout. A socket actor cannot do
    /// that itself: while the client reads nothing, actix stops running the
    /// actor along with the writes, so its heartbeat never fires and the
    /// connection's buffers would stay pinned for as long as the client
    /// liked.
    pub fn on_connect(&self, io: &dyn Any, extensions: &mut Extensions) {
        if let Some(tcp) = io.downcast_ref::<TcpStream>() {
            let timeout = Some(self.unread_timeout).filter(|t| !t.is_zero());
            if let Err(e) = SockRef::from(tcp).set_tcp_user_timeout(timeout) {
                log::warn!("cannot set TCP_USER_TIMEOUT: {e}");
            }
            // Chat frames are small and wanted at once. actix leaves Nagle's
            // algorithm on, which held a customer's acknowledgement until the
            // TCP ack of the frame before came back: 7 ms at the median under
            // load, instead of 1.3 (README, Performance).
            if let Err(e) = tcp.set_nodelay(true) {
                log::warn!("cannot set TCP_NODELAY: {e}");
            }
        }
        let open = self.open.fetch_add(1, Ordering::Relaxed) + 1;
        extensions.insert(OpenConnection {
            open: Arc::clone(&self.open),
            over_cap: self.max_connections > 0 && open > self.max_connections,
        });
    }

    /// For `HttpServer::max_connections`, which actix counts per worker:
    /// this worker's share of the cap, plus room to answer 503.
    pub fn per_worker_cap(&self, workers: usize) -> Option<usize> {
        (self.max_connections > 0)
            .then(|| self.max_connections.div_ceil(workers.max(1)) + BUSY_HEADROOM_PER_WORKER)
    }
}

/// The middleware (`middleware::from_fn`).
pub async fn admit(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    let admission = &state.admission;
    if req
        .conn_data::<OpenConnection>()
        .is_some_and(|conn| conn.over_cap)
    {
        state.store.metrics().refused(Refusal::ServerBusy);
        return Ok(refuse(req, &AppError::ServerBusy));
    }
    let ip: IpAddr = state.security.client_ip(req.request());
    // Held until the response is ready, so a request stuck in its body counts.
    let Some(_slot) = admission.requests_per_ip.open_connection(ip) else {
        state.store.metrics().refused(Refusal::RequestsPerIp);
        return Ok(refuse(req, &AppError::TooManyConnections));
    };
    let expired = Arc::new(AtomicBool::new(false));
    if declares_body(&req) {
        let (_, payload) = req.parts_mut();
        let inner = payload.take();
        let allowed = admission.body_timeout + transfer_time(&req, state.files.max_file_bytes);
        let deadline = Deadline {
            inner,
            sleep: Box::pin(tokio::time::sleep(allowed)),
            expired: Arc::clone(&expired),
        };
        req.set_payload(Payload::from(
            Box::pin(deadline) as actix_http::BoxedPayloadStream
        ));
    }
    let response = next.call(req).await;
    if expired.load(Ordering::Acquire) {
        let mut timed_out = AppError::RequestTimeout.error_response();
        timed_out
            .head_mut()
            .set_connection_type(ConnectionType::Close);
        return match response {
            Ok(response) => Ok(response.into_response(timed_out).map_into_right_body()),
            Err(error) => Err(error),
        };
    }
    Ok(response?.map_into_left_body())
}

/// The slowest upload speed a body is given time for, in bytes a second.
const MIN_BODY_RATE: u64 = 32 * 1024;

/// Time to send the declared body at [`MIN_BODY_RATE`], for at most `max`
/// bytes (the largest body any route takes): a 10 MiB file on a slow line
/// gets minutes, a small JSON body nothing more, and a body claiming more
/// than any route takes no more than the largest may.
fn transfer_time(req: &ServiceRequest, max: u64) -> Duration {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    Duration::from_secs(declared.min(max) / MIN_BODY_RATE)
}

/// A request with a body to read (a WebSocket upgrade's "body" is the
/// socket, which has its own heartbeat).
fn declares_body(req: &ServiceRequest) -> bool {
    let headers = req.headers();
    let sized = headers
        .get(header::CONTENT_LENGTH)
        .is_some_and(|length| length != "0");
    (sized || headers.contains_key(header::TRANSFER_ENCODING)) && !req.head().upgrade()
}

/// Answers `error` and closes the connection.
fn refuse<B>(req: ServiceRequest, error: &AppError) -> ServiceResponse<EitherBody<B>> {
    let mut response = error.error_response();
    response
        .head_mut()
        .set_connection_type(ConnectionType::Close);
    req.into_response(response).map_into_right_body()
}

/// A request body that must have arrived by a deadline.
struct Deadline {
    inner: Payload,
    sleep: Pin<Box<tokio::time::Sleep>>,
    expired: Arc<AtomicBool>,
}

impl Stream for Deadline {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if let Poll::Ready(next) = Pin::new(&mut this.inner).poll_next(cx) {
            return Poll::Ready(next);
        }
        match this.sleep.as_mut().poll(cx) {
            Poll::Ready(()) => {
                this.expired.store(true, Ordering::Release);
                Poll::Ready(Some(Err(PayloadError::Io(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "request body did not arrive in time",
                )))))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[actix_web::test]
    async fn a_new_connection_gets_no_nagle_delay_and_the_unread_deadline() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let client = std::net::TcpStream::connect(listener.local_addr().expect("addr"));
        let (accepted, _) = listener.accept().expect("accept");
        accepted.set_nonblocking(true).expect("nonblocking");
        let server_side = TcpStream::from_std(accepted).expect("tokio stream");
        assert!(!server_side.nodelay().expect("nodelay"), "the OS default");
        let admission = Admission::new(0, Duration::from_secs(5), 0, Duration::from_secs(30));

        let mut extensions = Extensions::new();
        admission.on_connect(&server_side, &mut extensions);

        assert!(server_side.nodelay().expect("nodelay"));
        let deadline = SockRef::from(&server_side)
            .tcp_user_timeout()
            .expect("timeout");
        assert_eq!(deadline, Some(Duration::from_secs(30)));
        assert_eq!(
            admission.open.load(Ordering::Relaxed),
            1,
            "counted while open"
        );
        drop(extensions);
        assert_eq!(admission.open.load(Ordering::Relaxed), 0);
        drop(client);
    }
}
