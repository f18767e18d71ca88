//! Test actors standing in for the customer and agent WebSockets.

use super::*;

/// What a test socket was told, in order.
#[derive(Debug, Clone)]
pub(super) enum Got {
    Frame(Value),
    Replaced,
    Shutdown,
    Unavailable,
    Erased,
}

/// Records everything it is sent; stands in for a `ChatSocket`, and like
/// one gives each item back to its link's backlog as it takes it.
pub(super) struct Recorder {
    pub(super) log: Arc<Mutex<Vec<Got>>>,
    pub(super) link: SocketLink,
}

impl Actor for Recorder {
    type Context = Context<Self>;
}

impl Handler<ToSocket> for Recorder {
    type Result = ();

    fn handle(&mut self, msg: ToSocket, _ctx: &mut Context<Self>) {
        self.link.taken(&msg);
        let got = match msg {
            ToSocket::Frame(bytes) => Got::Frame(
                serde_json::from_str(&bytes).expect("the server sends valid JSON frames"),
            ),
            ToSocket::Replaced => Got::Replaced,
            ToSocket::Shutdown => Got::Shutdown,
            ToSocket::Unavailable => Got::Unavailable,
            ToSocket::Erased => Got::Erased,
        };
        self.log.lock().unwrap().push(got);
    }
}

/// Stops the recorder, as when a client disconnects.
#[derive(Message)]
#[rtype(result = "()")]
pub(super) struct Hangup;

impl Handler<Hangup> for Recorder {
    type Result = ();

    fn handle(&mut self, _: Hangup, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

/// A socket that never reads its mailbox, like a client that stopped reading.
pub(super) struct StalledSocket;

impl Actor for StalledSocket {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        // Holds the mailbox forever: no message is ever handled.
        ctx.wait(std::future::pending::<()>().into_actor(self));
    }
}

impl Handler<ToSocket> for StalledSocket {
    type Result = ();

    fn handle(&mut self, _: ToSocket, _ctx: &mut Context<Self>) {
        unreachable!("a stalled socket never reads its mailbox");
    }
}

/// A stalled socket whose mailbox holds `capacity` messages. The capacity is
/// set before the actor runs, so it is in force for the very first message.
pub(super) fn stalled_socket(capacity: usize) -> SocketLink {
    let mut ctx = Context::new();
    ctx.set_mailbox_capacity(capacity);
    let addr = ctx.run(StalledSocket);
    SocketLink::new(addr.recipient())
}

/// The test's handle on one recording socket.
pub(super) struct TestSocket {
    pub(super) link: SocketLink,
    pub(super) log: Arc<Mutex<Vec<Got>>>,
    pub(super) addr: Addr<Recorder>,
}

impl TestSocket {
    pub(super) fn new() -> TestSocket {
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut ctx = Context::new();
        ctx.set_mailbox_capacity(ROOMY_MAILBOX);
        let link = SocketLink::new(ctx.address().recipient());
        let addr = ctx.run(Recorder {
            log: Arc::clone(&log),
            link: link.clone(),
        });
        TestSocket { link, log, addr }
    }

    pub(super) fn events(&self) -> Vec<Got> {
        self.log.lock().unwrap().clone()
    }

    pub(super) fn frames(&self) -> Vec<Value> {
        frames_of(&self.log.lock().unwrap())
    }

    pub(super) fn frames_of_type(&self, kind: &str) -> Vec<Value> {
        of_type(&self.frames(), kind)
    }

    /// Every live `message` frame received, in order.
    pub(super) fn messages(&self) -> Vec<Value> {
        self.frames_of_type("message")
    }

    pub(super) fn errors(&self) -> Vec<Value> {
        self.frames_of_type("error")
    }

    /// `(role, online)` of every `presence` frame, in order.
    pub(super) fn presence(&self) -> Vec<(String, bool)> {
        self.frames_of_type("presence")
            .iter()
            .map(|p| {
                (
                    p["role"].as_str().unwrap().to_owned(),
                    p["online"].as_bool().unwrap(),
                )
            })
            .collect()
    }

    pub(super) fn was_replaced(&self) -> bool {
        self.events().iter().any(|g| matches!(g, Got::Replaced))
    }

    pub(super) fn was_shut_down(&self) -> bool {
        self.events().iter().any(|g| matches!(g, Got::Shutdown))
    }

    /// Polls the log until `check` finds what it wants; fails after `WAIT`.
    pub(super) async fn wait_until<T>(
        &self,
        what: &str,
        mut check: impl FnMut(&[Got]) -> Option<T>,
    ) -> T {
        eventually(what, WAIT, || {
            let found = check(&self.log.lock().unwrap());
            async move { found }
        })
        .await
    }

    /// The first two frames, which must be `welcome` then `history`.
    pub(super) async fn greeting(&self) -> (Value, Value) {
        let frames = self
            .wait_until("welcome and history", |log| {
                let frames = frames_of(log);
                (frames.len() >= 2).then_some(frames)
            })
            .await;
        assert_eq!(frames[0]["type"], "welcome", "welcome comes first");
        assert_eq!(frames[1]["type"], "history", "history comes second");
        (frames[0].clone(), frames[1].clone())
    }

    /// The first `message` frame with `seq`.
    pub(super) async fn message(&self, seq: u64) -> Value {
        self.wait_until(&format!("message {seq}"), |log| {
            of_type(&frames_of(log), "message")
                .into_iter()
                .find(|m| m["seq"] == seq)
        })
        .await
    }

    /// Every `message` frame, once the one with `seq` has arrived.
    pub(super) async fn messages_through(&self, seq: u64) -> Vec<Value> {
        self.message(seq).await;
        self.messages()
    }

    /// The `n`th `error` frame (1-based).
    pub(super) async fn error(&self, n: usize) -> Value {
        self.wait_until(&format!("error frame #{n}"), |log| {
            of_type(&frames_of(log), "error").into_iter().nth(n - 1)
        })
        .await
    }

    /// The `n`th `presence` frame (1-based).
    pub(super) async fn presence_frame(&self, n: usize) -> Value {
        self.wait_until(&format!("presence frame #{n}"), |log| {
            of_type(&frames_of(log), "presence").into_iter().nth(n - 1)
        })
        .await
    }

    pub(super) async fn replaced(&self) {
        self.wait_until("replaced", |log| {
            log.iter().any(|g| matches!(g, Got::Replaced)).then_some(())
        })
        .await
    }

    pub(super) async fn shut_down(&self) {
        self.wait_until("shutdown", |log| {
            log.iter().any(|g| matches!(g, Got::Shutdown)).then_some(())
        })
        .await
    }
}

pub(super) fn frames_of(log: &[Got]) -> Vec<Value> {
    log.iter()
        .filter_map(|g| match g {
            Got::Frame(v) => Some(v.clone()),
            _ => None,
        })
        .collect()
}

pub(super) fn of_type(frames: &[Value], kind: &str) -> Vec<Value> {
    frames
        .iter()
        .filter(|f| f["type"] == kind)
        .cloned()
        .collect()
}

pub(super) fn seqs(messages: &[Value]) -> Vec<u64> {
    messages
        .iter()
        .map(|m| m["seq"].as_u64().unwrap())
        .collect()
}

pub(super) fn texts(messages: &[Value]) -> Vec<String> {
    messages
        .iter()
        .map(|m| m["text"].as_str().unwrap().to_owned())
        .collect()
}

/// The messages of a `history` frame.
pub(super) fn history_messages(history: &Value) -> Vec<Value> {
    assert_eq!(history["type"], "history");
    history["messages"].as_array().unwrap().clone()
}

/// A live `message` frame as it appears inside `history` (no `type`).
pub(super) fn as_history_entry(frame: &Value) -> Value {
    let mut entry = frame.clone();
    entry.as_object_mut().unwrap().remove("type");
    entry
}

pub(super) fn range(from: u64, to: u64) -> Vec<u64> {
    (from..=to).collect()
}
